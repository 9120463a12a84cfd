# campaign: `make run` serves the demo at http://127.0.0.1:5000, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
CATALOGS := $(wildcard campaign/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test audit lint translations compile-translations install clean bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(RUNTIME_STAMP) $@

install: $(RUNTIME_STAMP)

%.mo: %.po | $(RUNTIME_STAMP)
	$(BIN)/pybabel compile -i $< -o $@

compile-translations: $(COMPILED)

# Extract every string, merge it into each catalog, compile. Run after changing user-visible text.
translations: $(RUNTIME_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o campaign/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i campaign/translations/messages.pot -d campaign/translations --no-fuzzy-matching --ignore-obsolete
	$(MAKE) compile-translations

run: export CAMPAIGN_ENV ?= development
run: export BASE_URL ?= http://$(HOST):$(PORT)
run: $(RUNTIME_STAMP) compile-translations
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "campaign is serving on http://$(HOST):$(PORT)/ (Ctrl-C stops it and its mail worker)"
	@$(FLASK) worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host $(HOST) --port $(PORT)

test: $(DEV_STAMP) compile-translations audit
	$(BIN)/ruff check .
	$(BIN)/pytest

# Known vulnerabilities in the pinned requirements (pip-audit); see .ci/audit for what happens
# when no vulnerability service is reachable.
audit: $(DEV_STAMP)
	BIN=$(BIN) .ci/audit

# The load benchmark (see bench/run.py): `make bench BENCH_ARGS="--seconds 60 --big 1000000"`.
bench: $(DEV_STAMP) compile-translations
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts $(COMPILED)
