"""Every page of tests/e2e/pages.py fits a 320px screen without scrolling sideways, in English
and Arabic; and screenshots at 390px and 1280px of the petition, events and panel pages, for
people to look at, named `<page>-<lang>-<width>.png` in the screenshot directory.

A wide data table may scroll inside its own region (`.table-wrap`); the page itself must not.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.pages import ALL_PAGES, LANGUAGES, Audited, open_page, open_tabs, reach_site

try:
    from playwright.sync_api import Page
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    Page = None

pytestmark = pytest.mark.e2e

NARROWEST = {"width": 320, "height": 640}
SCREENSHOT_WIDTHS = (390, 1280)
SCREENSHOT_PAGES = {
    "petition",
    "events",
    "event",
    "admin-dashboard",
    "admin-campaign",
    "admin-signatures",
    "admin-comments",
    "admin-events",
    "admin-updates",
}

# What sticks out past the right (or, in Arabic, left) edge: the culprits, for the message.
OVERFLOWING = """
() => {
  const width = document.documentElement.clientWidth;
  const scrolls = el => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX);
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (!box.width || (box.right <= width + 1 && box.left >= -1)) continue;
    let inside = false;
    for (let p = el.parentElement; p && !inside; p = p.parentElement) inside = scrolls(p);
    if (inside) continue;
    const classes = typeof el.className === 'string' ? el.className.trim() : '';
    out.push(el.tagName.toLowerCase() + (classes ? '.' + classes.split(/\\s+/).join('.') : '')
      + ` (${Math.round(box.left)}..${Math.round(box.right)})`);
  }
  return out.slice(0, 10);
}
"""


@pytest.fixture(scope="module")
def narrow(browser, live_server) -> Iterator[tuple]:
    site = reach_site(live_server)
    contexts, tabs = open_tabs(browser, live_server, viewport=NARROWEST)
    yield site, tabs
    for context in contexts:
        context.close()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("audited", ALL_PAGES, ids=lambda audited: audited.name)
def test_fits_a_320px_screen(narrow, audited: Audited, lang: str):
    site, tabs = narrow
    page = tabs[lang, audited.admin]
    open_page(page, site, audited, lang)
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, (
        f"{audited.name} ({lang}, {page.url}) is {scroll_width}px wide on a {inner_width}px "
        f"screen; sticking out: {page.evaluate(OVERFLOWING)}"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    "audited",
    [audited for audited in ALL_PAGES if audited.name in SCREENSHOT_PAGES],
    ids=lambda audited: audited.name,
)
def test_screenshots(narrow, screenshot_dir, audited: Audited, lang: str):
    site, tabs = narrow
    page: Page = tabs[lang, audited.admin]
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        open_page(page, site, audited, lang)
        path = screenshot_dir / f"{audited.name}-{lang}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
    page.set_viewport_size(NARROWEST)
