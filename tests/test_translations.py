"""Every catalog translates every string the code and templates use, with the same placeholders."""

from __future__ import annotations

import re
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


PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]")


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.parts[-3])
def test_translations_keep_every_placeholder(path):
    """Babel's check misses a translation that drops a placeholder ("Hello %(name)s" →
    "Привет"): the reader would lose the name. Every singular keeps all of the source's; of a
    plural, every form uses only the source's and the last (general) form keeps them all (the
    forms for one or two may spell the number out, as Arabic does)."""
    with path.open("rb") as f:
        catalog = read_po(f)
    dropped = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        if isinstance(message.id, tuple):
            source = set(PLACEHOLDER.findall(message.id[0] + message.id[1]))
            forms = [set(PLACEHOLDER.findall(form)) for form in message.string]
            if any(form - source for form in forms) or forms[-1] != set(
                PLACEHOLDER.findall(message.id[1])
            ):
                dropped.append(message.id[0])
        elif set(PLACEHOLDER.findall(message.string)) != set(PLACEHOLDER.findall(message.id)):
            dropped.append(message.id)
    assert not dropped, f"{path.parts[-3]}: placeholders lost or added: {dropped}"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "ar",
            {
                0: "لا تعليقات",
                1: "تعليق واحد",
                2: "تعليقان",
                3: "3 تعليقات",
                11: "11 تعليقًا",
                100: "100 تعليق",
            },
        ),
        (
            "ru",
            {
                1: "1 комментарий",
                3: "3 комментария",
                5: "5 комментариев",
                11: "11 комментариев",
                21: "21 комментарий",
                22: "22 комментария",
            },
        ),
    ],
)
def test_plural_forms_follow_the_language(language, expected):
    """Arabic has six plural forms and Russian three; the compiled catalog picks the right one."""
    from flask_babel import force_locale, ngettext

    from campaign import create_app

    app = create_app({"SECRET_KEY": "x", "LANGUAGES": ["en", language], "TESTING": True})
    with app.test_request_context(), force_locale(language):
        for n, words in expected.items():
            assert ngettext("%(num)s comment", "%(num)s comments", n) == words
