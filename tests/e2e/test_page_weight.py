"""The petition page is light: under 100 KB of HTML, CSS, JavaScript and fonts as transferred
(images aside), no front-end framework, and signing works with JavaScript turned off."""

from __future__ import annotations

import re

import pytest

from tests.e2e.pages import SLUG, new_reader_context, reach_site

try:
    from playwright.sync_api import expect
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    expect = None

pytestmark = pytest.mark.e2e

BUDGET = 100 * 1024
COUNTED = {"document", "stylesheet", "script", "font", "fetch", "xhr"}
FRAMEWORK_GLOBALS = ["React", "Vue", "angular", "ng", "jQuery", "Alpine", "htmx", "Svelte", "$"]


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_petition_page_weighs_under_100_kb(browser, live_server, lang):
    reach_site(live_server)
    context = new_reader_context(browser, live_server, lang)
    try:
        page = context.new_page()
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(f"/{lang}/c/{SLUG}", wait_until="networkidle")
        sizes: dict[str, int] = {}
        for response in responses:
            if response.request.resource_type not in COUNTED:
                continue
            transferred = response.request.sizes()
            body = transferred["responseBodySize"]
            if body <= 0:  # not reported (e.g. served from memory): count the decoded body
                body = len(response.body())
            sizes[response.url] = body + transferred["responseHeadersSize"]
        total = sum(sizes.values())
        listing = "\n".join(f"  {size:>8} {url}" for url, size in sorted(sizes.items()))
        assert any("/c/" in url for url in sizes), f"the page itself was not counted:\n{listing}"
        assert total < BUDGET, f"the petition page weighs {total} bytes:\n{listing}"
        print(f"petition page ({lang}): {total} bytes\n{listing}")

        # No framework: our one small script, and no framework's global.
        scripts = page.evaluate("[...document.scripts].map(s => s.src)")
        assert all(re.search(r"/static/js/[\w.-]+\.js(\?v=\w+)?$", src) for src in scripts), scripts
        present = page.evaluate(
            "names => names.filter(name => typeof window[name] !== 'undefined')",
            FRAMEWORK_GLOBALS,
        )
        assert not present, f"framework globals on the petition page: {present}"
    finally:
        context.close()


def test_signing_works_without_javascript(browser, live_server):
    reach_site(live_server)
    context = new_reader_context(browser, live_server, "en", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"/en/c/{SLUG}")
        page.get_by_label("Full name", exact=True).fill("Noor Noscript")
        page.get_by_label("Email", exact=True).fill("noor.noscript@example.org")
        page.get_by_label("Country", exact=True).select_option("FR")
        page.get_by_role("button", name="Sign", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/en/c/{SLUG}/signed(#sign)?$"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        # Without JavaScript the copy button stays hidden; the link itself is there to copy.
        expect(page.get_by_role("button", name="Copy link")).to_be_hidden()
        expect(page.locator("#share-url")).to_be_visible()
    finally:
        context.close()
