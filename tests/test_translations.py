"""Every catalog translates every string the code and templates use, with the same placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = sorted((ROOT / "campaign" / "translations").glob("*/LC_MESSAGES/messages.po"))


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The strings in the code right now (not the committed .pot, which may be stale)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    CommandLineInterface().run(
        ["pybabel", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
         "-k", "lazy_gettext", "-o", str(pot), str(ROOT)]
    )  # fmt: skip
    with pot.open("rb") as f:
        return {message.id for message in read_po(f) if message.id}


def test_there_are_catalogs():
    assert CATALOGS, "no catalogs under campaign/translations"


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.parts[-3])
def test_catalog_is_complete_and_consistent(path, extracted):
    with path.open("rb") as f:
        catalog = read_po(f)
    by_id = {message.id: message for message in catalog if message.id}
    missing = sorted(str(m) for m in extracted - set(by_id))
    assert not missing, f"{path.parts[-3]}: strings not in the catalog (run make translations)"
    untranslated = sorted(
        str(message.id)
        for message in by_id.values()
        if message.id in extracted
        and (
            "fuzzy" in message.flags
            or not all(message.string if isinstance(message.string, tuple) else [message.string])
        )
    )
    assert not untranslated, f"{path.parts[-3]}: untranslated or fuzzy: {untranslated}"
    problems = [(message.id, errors) for message, errors in catalog.check()]
    assert not problems, f"{path.parts[-3]}: placeholder problems: {problems}"
