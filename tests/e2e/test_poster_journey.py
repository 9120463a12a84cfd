"""Rallies on paper in Chromium: a poster whose QR code a phone can read, a signature sheet, and
the paper count on the petition page.

An organizer opens the poster from the panel; its QR code is read back from a screenshot of the
page (the pixels Chromium drew, decoded by zxing-cpp) and must lead to the petition. The same
holds when printing (print media emulated: the site's menus disappear). The signature sheet is
reached from the event page; afterwards the organizer enters the count collected on paper and
the petition page shows it apart from the online signatures. The campaign is made for this test,
so the demo's counts stay as the other browser tests expect them.
"""

from __future__ import annotations

import re
import time

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    Page = expect = None

from tests.qr_reading import read_png_qr

pytestmark = pytest.mark.e2e

SLUG = "paper-rally"
TITLE = "Safe bike lanes on Harbour Road"

SETUP = """
from datetime import timedelta
from sqlalchemy import select
from campaign import create_app
from campaign.extensions import db
from campaign.models import (
    Campaign, CampaignStatus, CampaignTranslation, Event, EventMode, EventStatus, Membership,
    Organizer, Role,
)
from campaign.models.types import utcnow

app = create_app()
with app.app_context():
    campaign = Campaign(slug="paper-rally", status=CampaignStatus.OPEN, goal=5000,
                        default_language="en", signature_count=1234)
    campaign.translations.append(CampaignTranslation(
        language="en", title="Safe bike lanes on Harbour Road", target="The mayor of Riverside",
        summary="Paint and protect a bike lane on Harbour Road before the school year starts.",
        body_markdown="Children cycle to school on Harbour Road.",
        call_to_action="Sign for safe bike lanes"))
    db.session.add(campaign)
    db.session.flush()
    organizer = db.session.scalar(
        select(Organizer).where(Organizer.email == "organizer@example.org"))
    db.session.add(Membership(campaign_id=campaign.id, organizer_id=organizer.id,
                              role=Role.OWNER))
    starts = utcnow() + timedelta(days=2)
    event = Event(campaign_id=campaign.id, title="Ride along Harbour Road", description="",
                  language="en", starts_at=starts, ends_at=starts + timedelta(hours=2),
                  timezone="Europe/Berlin", mode=EventMode.IN_PERSON, venue="Harbour Square",
                  city="Riverside", country="DE", status=EventStatus.SCHEDULED)
    db.session.add(event)
    db.session.commit()
    print(event.id)
"""


def log_in(page: Page) -> None:
    page.goto("/admin/login")
    page.get_by_label("Email", exact=True).fill("organizer@example.org")
    page.get_by_label("Password", exact=True).fill("demo-organizer")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def qr_codes_on_screen(page: Page) -> list[str]:
    """What a phone pointed at the screen would read: the QR codes in a screenshot."""
    return read_png_qr(page.screenshot(full_page=True))


def test_poster_sheet_and_paper_count(browser, live_server, screenshot, screenshot_dir):
    event_id = int(live_server.run_python(SETUP).strip())
    petition_url = f"{live_server.url}/en/c/{SLUG}"
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        # The organizer finds the poster on the campaign's overview in the panel.
        log_in(page)
        page.goto(f"/admin/c/{SLUG}/")
        page.get_by_role("link", name="Print a poster").click()
        expect(page).to_have_url(f"{petition_url}/poster")
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
        expect(page.get_by_text("The mayor of Riverside")).to_be_visible()
        expect(page.get_by_text(petition_url, exact=True)).to_be_visible()
        # site.js reveals the Print button; without it the browser's own command remains.
        expect(page.get_by_role("button", name="Print")).to_be_visible()
        screenshot(page, "poster")
        assert qr_codes_on_screen(page) == [petition_url]

        # On paper: the site's menus and the instructions are left out, the code still reads.
        page.emulate_media(media="print")
        expect(page.locator(".site-header")).to_be_hidden()
        expect(page.locator(".print-toolbar")).to_be_hidden()
        png = page.screenshot(full_page=True, path=str(screenshot_dir / "poster-print.png"))
        assert read_png_qr(png) == [petition_url]
        page.emulate_media(media="screen")

        # Hosts and attendees find the signature sheet on the event page.
        page.goto(f"/en/e/{event_id}")
        page.get_by_role("link", name="Print a signature sheet").click()
        expect(page).to_have_url(f"{petition_url}/clipboard")
        sheet = page.locator("table.sheet__lines")
        expect(sheet.locator("tbody tr")).to_have_count(15)
        for header in ("Full name", "Email", "Country / city", "Public name", "Send me updates"):
            expect(sheet.get_by_role("columnheader", name=header, exact=True)).to_be_visible()
        expect(page.get_by_text("By signing this sheet you add your name")).to_be_visible()
        screenshot(page, "signature-sheet")
        assert qr_codes_on_screen(page) == [petition_url]
        page.emulate_media(media="print")
        expect(page.locator(".site-header")).to_be_hidden()
        page.screenshot(full_page=True, path=str(screenshot_dir / "signature-sheet-print.png"))
        page.emulate_media(media="screen")

        # After the rally: a mistaken count is explained, then the right one is entered.
        page.goto(f"/admin/c/{SLUG}/")
        page.get_by_role("navigation", name="Campaign menu").get_by_role(
            "link", name="Paper signatures"
        ).click()
        page.get_by_label("Number of signatures").fill("0")
        page.get_by_role("button", name="Add to the count").click()
        expect(
            page.get_by_role("alert").filter(has_text="Enter a whole number from 1")
        ).to_be_visible()
        page.get_by_label("Number of signatures").fill("320")
        at_event = page.get_by_label("At the event")
        at_event.select_option(index=1)  # the campaign's only event, after "No event"
        expect(at_event.locator("option:checked")).to_contain_text("Ride along Harbour Road")
        page.get_by_label("Note (optional)").fill("Harbour Square clipboards")
        page.get_by_role("button", name="Add to the count").click()
        expect(page.locator(".flash")).to_contain_text(
            "320 paper signatures added. The total on paper is now 320."
        )
        expect(page.get_by_role("cell", name="Harbour Square clipboards")).to_be_visible()
        screenshot(page, "admin-paper-signatures")

        # The petition page shows them apart; the progress bar counts the online ones only.
        page.goto(petition_url)
        channels = page.locator(".progress__channels")
        deadline = time.monotonic() + 15  # the page may be cached for a few seconds
        while channels.count() == 0 and time.monotonic() < deadline:
            time.sleep(1)
            page.reload()
        expect(channels).to_contain_text("1,234 signed online")
        expect(channels).to_contain_text("320 on paper")
        expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "1234")
        screenshot(page, "petition-with-paper")
    finally:
        context.close()
