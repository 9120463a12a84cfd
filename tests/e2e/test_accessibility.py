"""axe-core in Chromium on every public page and the main panel pages, in English and Arabic.

A page fails on any violation of WCAG 2.0/2.1 A and AA rules whose impact is serious or
critical; the message lists each rule with its help text and the elements it found.
axe-core is vendored under tests/e2e/vendor/axe-core (test-only: the app never serves it).
The pages are in tests/e2e/pages.py.

The app's Content-Security-Policy forbids inline scripts, so `page.add_script_tag` (which
inserts the library as an inline <script>) is blocked; axe is evaluated through the DevTools
protocol instead (`page.evaluate` of the file), which CSP does not govern. The page under test
keeps its real CSP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.pages import (
    ALL_PAGES,
    LANGUAGES,
    Audited,
    open_page,
    open_tabs,
    reach_site,
)

try:
    from playwright.sync_api import Page
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    Page = None

pytestmark = pytest.mark.e2e

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    # The event map is a third-party page in an iframe; it is not ours to audit.
    "iframes": False,
    "resultTypes": ["violations"],
}
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def readers(browser, live_server) -> Iterator[dict[str, Page]]:
    """Per language, a supporter's tab and a logged-in organizer's, reused for every page."""
    site = reach_site(live_server)
    contexts, tabs = open_tabs(browser, live_server)
    yield site, tabs
    for context in contexts:
        context.close()


def run_axe(page: Page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:8]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary'][:300]}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    ... and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("audited", ALL_PAGES, ids=lambda audited: audited.name)
def test_no_serious_accessibility_violations(readers, audited: Audited, lang: str):
    site, tabs = readers
    page = tabs[lang, audited.admin]
    response = open_page(page, site, audited, lang)
    assert response is not None
    assert response.status == audited.status, f"{page.url} answered {response.status}"
    html = page.locator("html")
    assert html.get_attribute("lang") == lang, f"{page.url} is not in {lang}"
    assert html.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr"), page.url
    violations = [v for v in run_axe(page) if v["impact"] in BLOCKING]
    assert not violations, f"{audited.name} ({lang}, {page.url}):\n{describe(violations)}"
