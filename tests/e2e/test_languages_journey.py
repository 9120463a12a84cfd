"""The petition in all eight languages in Chromium, and signing in Arabic.

For each language: `<html lang dir>`, the sign button in that language, and no interface text
left in English (text inside an element marked with another `lang`, such as an appeal shown in
its default language, is content, not interface). Then a supporter signs in Arabic and gets the
confirmation email in Arabic.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from babel.support import Translations

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    Page = expect = None

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "campaign" / "translations"
LANGUAGES = ["en", "ar", "ru", "fr", "es", "de", "tr", "eo"]
SLUG = "aleppo"
PHONE_WIDTH = 390

# The page's interface text: every text node whose nearest `lang` is the page's own.
INTERFACE_TEXT = """() => {
  const lang = document.documentElement.lang;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!element || element.closest("script, style, [hidden]")) continue;
    if (element.closest("[lang]").getAttribute("lang") !== lang) continue;
    parts.push(node.textContent);
  }
  return parts.join(" ").replace(/\\s+/g, " ");
}"""


def gettext(language: str):
    return Translations.load(str(TRANSLATIONS), [language]).gettext


@pytest.fixture(scope="module")
def english_sentences() -> list[str]:
    """English interface strings long enough that finding one on a page cannot be chance."""
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        ids = [m.id for m in read_po(f) if isinstance(m.id, str)]
    return [s for s in ids if "%" not in s and "<" not in s and len(s.split()) >= 3]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_petition_speaks_each_language(page: Page, language, english_sentences):
    _ = gettext(language)
    page.goto(f"/{language}/c/{SLUG}")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", language)
    expect(html).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
    sign = page.locator("#sign input[type=submit]")
    expect(sign).to_have_value(_("Sign"))
    if language != "en":
        assert _("Sign") != "Sign"
        interface = page.evaluate(INTERFACE_TEXT)
        left = [s for s in english_sentences if s in interface]
        assert left == [], f"English left on the {language} page: {left}"
    # Every other language is one click away, on the same page.
    for other in LANGUAGES:
        link = page.locator(f'.languages a[hreflang="{other}"]')
        expect(link).to_have_attribute("href", re.compile(rf"/{other}/c/{SLUG}$"))


def test_sign_in_arabic_and_get_an_arabic_email(page: Page, live_server, screenshot):
    _ = gettext("ar")
    page.goto(f"/ar/c/{SLUG}")
    widths = screenshot(page, "petition-ar")
    assert widths["phone"] <= PHONE_WIDTH, f"the Arabic page scrolls sideways: {widths}"
    form = page.locator("#sign form")
    # Right to left in layout, not only in text: the form's start edge is on the right.
    box = form.bounding_box()
    label = page.locator('label[for="full_name"]').bounding_box()
    assert label["x"] + label["width"] >= box["x"] + box["width"] - 40

    form.get_by_label(_("Full name"), exact=True).fill("ليلى حداد")
    form.get_by_label(_("Email"), exact=True).fill("layla.e2e@example.org")
    form.get_by_label(_("Country"), exact=True).select_option(value="LB")
    form.get_by_role("button", name=_("Sign"), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/ar/c/{SLUG}/signed"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")

    (message,) = live_server.mail.wait_for("layla.e2e@example.org", timeout=15)
    title = "أوقفوا قصف المدنيين في حلب"
    assert message.subject == _("Please confirm your signature: %(title)s") % {"title": title}
    assert 'lang="ar"' in message.html
    assert 'dir="rtl"' in message.html
    (link,) = [link for link in message.links() if "/confirm/" in link]
    assert "/ar/c/aleppo/confirm/" in link


def test_russian_page_at_phone_width(page: Page, screenshot):
    page.goto(f"/ru/c/{SLUG}")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    widths = screenshot(page, "petition-ru")
    assert widths["phone"] <= PHONE_WIDTH, f"the Russian page scrolls sideways: {widths}"
