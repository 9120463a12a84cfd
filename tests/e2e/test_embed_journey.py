"""Another website embeds the petition widget in an iframe, in Chromium.

The host page is served from a different origin (a small http.server on another port and host
name), as a blog or a partner organisation's site would be. The widget must load there (it alone
may be framed), show the count and the progress bar in the language asked for, and its Sign button
must open the petition in that language in a new tab. The petition page itself must refuse to be
framed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from babel.support import Translations

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    Page = expect = None

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SLUG = "aleppo"
TITLES = {
    "en": "Stop the bombing of civilians in Aleppo",
    "ar": "أوقفوا قصف المدنيين في حلب",
    "ru": "Остановите бомбардировки мирных жителей Алеппо",
}


def gettext(language: str):
    return Translations.load(str(ROOT / "campaign" / "translations"), [language]).gettext


class HostSite:
    """A stranger's web page at http://localhost:<port>/<lang>.html embedding our widget."""

    def __init__(self, app_url: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                lang = self.path.strip("/").removesuffix(".html") or "en"
                body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A friendly blog</title></head>
<body>
  <h1>A friendly blog</h1>
  <p>Please support this petition:</p>
  <iframe name="widget" src="{app_url}/embed/{SLUG}?lang={lang}" title="Petition"
          width="360" height="260" style="border:0"></iframe>
  <iframe name="petition" src="{app_url}/{lang}/c/{SLUG}" title="Framed petition"
          width="360" height="200"></iframe>
</body></html>""".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HostSite:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def host_site(live_server) -> Iterator[HostSite]:
    with HostSite(live_server.url) as site:
        yield site


def api_count(page: Page) -> int:
    response = page.request.get(f"/api/v1/campaigns/{SLUG}")
    assert response.ok, response.status
    return response.json()["signature_count"]


@pytest.mark.parametrize(("language", "direction"), [("ar", "rtl"), ("ru", "ltr")])
def test_a_blog_embeds_the_widget_and_a_reader_signs_from_it(
    page: Page, context, host_site, screenshot, language, direction
):
    _ = gettext(language)
    count = api_count(page)
    page.goto(f"{host_site.url}/{language}.html")

    widget = page.frame_locator("iframe[name=widget]")
    expect(widget.locator("h1")).to_have_text(TITLES[language])
    expect(widget.locator("html")).to_have_attribute("lang", language)
    expect(widget.locator("html")).to_have_attribute("dir", direction)
    # The count and the bar, as the API reports them.
    bar = widget.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", str(count))
    expect(bar).to_be_visible()
    shown = widget.locator(".progress__signed strong").inner_text()
    assert re.sub(r"\D", "", shown) == str(count)
    sign = widget.get_by_role("link", name=_("Sign"), exact=True)
    expect(sign).to_be_visible()

    # The petition page itself is not frameable: its frame stays empty.
    petition_frame = page.frame(name="petition")
    assert petition_frame is not None
    petition_frame.wait_for_load_state()
    assert petition_frame.url.startswith("chrome-error://"), petition_frame.url
    assert petition_frame.locator("#sign form").count() == 0
    screenshot(page, f"embed-host-{language}")

    with context.expect_page() as new_tab:
        sign.click()
    petition = new_tab.value
    petition.wait_for_load_state()
    assert petition.url.endswith(f"/{language}/c/{SLUG}#sign")
    expect(petition.locator("html")).to_have_attribute("lang", language)
    expect(petition.locator("html")).to_have_attribute("dir", direction)
    expect(petition.get_by_role("button", name=_("Sign"), exact=True)).to_be_visible()
    assert not petition.evaluate("window.opener"), "rel=noopener: the blog cannot reach the tab"
    petition.close()


def test_the_widget_alone_at_phone_width(page: Page, screenshot):
    page.goto(f"/embed/{SLUG}?lang=en")
    expect(page.locator("h1")).to_have_text(TITLES["en"])
    widths = screenshot(page, "embed-widget-en")
    assert widths["phone"] <= 390, "the widget does not overflow a phone's width"
