"""Rallies in Chromium: from "Where to rally" to a full event, its waitlist and a freed place.

An organizer sees "Berlin: 240 supporters, no event" and starts a rally there with 2 places;
three supporters RSVP, the third is waitlisted; reminders go out once even though the job runs
twice; one person cancels from the reminder email and the waitlisted one is offered the place.
The campaign is made for this test (through the app's own models), so the demo's counts stay
as the other browser tests expect them.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    Page = expect = None

pytestmark = pytest.mark.e2e

SLUG = "berlin-rally"
TITLE = "Rally for Aleppo at the Brandenburg Gate"

SETUP = """
from sqlalchemy import select
from campaign import create_app
from campaign.extensions import db
from campaign.models import (
    Campaign, CampaignStatus, CampaignTranslation, Membership, Organizer, Role, Signature,
)
from campaign.models.types import utcnow

app = create_app()
with app.app_context():
    campaign = Campaign(slug="berlin-rally", status=CampaignStatus.OPEN, goal=10000,
                        default_language="en")
    campaign.translations.append(CampaignTranslation(
        language="en", title="Berlin stands with Aleppo", target="The Bundestag",
        summary="Berliners ask for an end to the bombing.", body_markdown="Stop the bombing.",
        call_to_action="Sign"))
    db.session.add(campaign)
    db.session.flush()
    organizer = db.session.scalar(
        select(Organizer).where(Organizer.email == "organizer@example.org"))
    db.session.add(Membership(campaign_id=campaign.id, organizer_id=organizer.id,
                              role=Role.OWNER))
    now = utcnow()
    for n in range(240):
        db.session.add(Signature(
            campaign_id=campaign.id, full_name=f"Berliner {n}", email=f"b{n}@example.org",
            email_key=f"b{n}@example.org", country="DE", city="Berlin", language="de",
            confirmed_at=now))
    for n in range(30):
        db.session.add(Signature(
            campaign_id=campaign.id, full_name=f"Hamburger {n}", email=f"h{n}@example.org",
            email_key=f"h{n}@example.org", country="DE", city="Hamburg", language="de",
            confirmed_at=now))
    campaign.signature_count = 270
    db.session.commit()
"""


def log_in(page: Page) -> None:
    page.goto("/admin/login")
    page.get_by_label("Email", exact=True).fill("organizer@example.org")
    page.get_by_label("Password", exact=True).fill("demo-organizer")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def rsvp(page: Page, event_url: str, name: str, email: str) -> None:
    page.goto(event_url)
    page.get_by_label("Full name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label(re.compile("may use my name")).check()
    page.locator("form input[type=submit][name=submit]").click()
    expect(page.locator(".flash")).to_be_visible()


def confirm(page: Page, live_server, email: str) -> None:
    (message,) = live_server.mail.wait_for(email, timeout=15)
    (link,) = [link for link in message.links() if "/rsvp/confirm/" in link]
    page.goto(link)
    page.get_by_role("button", name="Confirm I am coming").click()


def mails(live_server, email: str, subject_start: str) -> list:
    return [m for m in live_server.mail.to(email) if m.subject.startswith(subject_start)]


def test_where_to_rally_to_a_full_event_and_a_freed_place(browser, live_server, screenshot):
    live_server.run_python(SETUP)

    def new_page() -> Page:
        context = browser.new_context(base_url=live_server.url, locale="en-US")
        context.set_default_timeout(10_000)
        return context.new_page()

    # The organizer sees where support is and no event there, and starts one in one step.
    organizer = new_page()
    log_in(organizer)
    organizer.goto(f"/admin/c/{SLUG}/where-to-rally")
    expect(organizer.get_by_text("Berlin: 240 supporters, no event").first).to_be_visible()
    screenshot(organizer, "where-to-rally")
    organizer.get_by_role("link", name="Start an event in Berlin").first.click()
    expect(organizer.get_by_label("City", exact=True)).to_have_value("Berlin")
    expect(organizer.get_by_label("Country", exact=True)).to_have_value("DE")

    # Tomorrow, less than a day ahead so that the reminder is due; Berlin time.
    berlin = ZoneInfo("Europe/Berlin")
    starts = (datetime.now(berlin) + timedelta(hours=20)).replace(minute=0, second=0)
    ends = starts + timedelta(hours=2)
    organizer.get_by_label("Title", exact=True).fill(TITLE)
    organizer.get_by_label("Date", exact=True).fill(starts.strftime("%Y-%m-%d"))
    organizer.get_by_label("Starts at", exact=True).fill(starts.strftime("%H:%M"))
    organizer.get_by_label("Ends at", exact=True).fill(ends.strftime("%H:%M"))
    if ends.date() != starts.date():
        organizer.get_by_label("Ends on another day", exact=True).fill(ends.strftime("%Y-%m-%d"))
    organizer.get_by_label("Time zone", exact=True).select_option("Europe/Berlin")
    organizer.get_by_label("Venue", exact=True).fill("Pariser Platz")
    organizer.get_by_label("Places", exact=True).fill("2")
    organizer.get_by_role("button", name="Save the event").click()
    expect(organizer).to_have_url(re.compile(rf"/admin/c/{SLUG}/events/\d+/attendees$"))
    event_id = int(re.search(r"/events/(\d+)/", organizer.url).group(1))
    event_url = f"/en/e/{event_id}"
    organizer.goto(f"/admin/c/{SLUG}/where-to-rally")
    expect(organizer.get_by_text("Berlin: 240 supporters, no event")).to_have_count(0)

    # Three supporters RSVP and confirm; the third finds the event full.
    people = [("Anna Weber", "anna.rally@example.org"), ("Jonas Kurz", "jonas.rally@example.org"),
              ("Lea Voss", "lea.rally@example.org")]  # fmt: skip
    pages = []
    for name, email in people:
        page = new_page()
        rsvp(page, event_url, name, email)
        confirm(page, live_server, email)
        pages.append(page)
    expect(pages[0].get_by_text("You are going", exact=False).first).to_be_visible()
    expect(pages[1].get_by_text("You are going", exact=False).first).to_be_visible()
    expect(pages[2].get_by_text("waitlist", exact=False).first).to_be_visible()
    screenshot(pages[2], "rsvp-waitlisted")
    pages[2].goto(event_url)
    expect(pages[2].get_by_role("heading", name="Join the waitlist")).to_be_visible()
    screenshot(pages[2], "event-full")

    # The reminder job runs twice (two cron runs, or two machines): one reminder each.
    live_server.cli("events", "remind")
    live_server.cli("events", "remind")
    for _name, email in people[:2]:
        live_server.mail.wait_for(email, count=3, timeout=15)  # confirm, going, reminder
    time.sleep(1.0)  # anything sent twice would have arrived by now
    for _name, email in people[:2]:
        assert len(mails(live_server, email, "Tomorrow:")) == 1
    assert mails(live_server, people[2][1], "Tomorrow:") == []

    # Anna cannot come after all: one click from the reminder.
    (reminder,) = mails(live_server, people[0][1], "Tomorrow:")
    manage = [
        link
        for link in reminder.links()
        if f"/e/{event_id}/rsvp/" in link and "/confirm/" not in link
    ]
    assert manage, reminder.text
    pages[0].goto(manage[0])
    pages[0].get_by_role("button", name="I can't come").click()
    expect(pages[0].locator(".flash")).to_be_visible()

    # Lea, first on the waitlist, is offered the place and takes it.
    deadline = time.monotonic() + 15
    while not mails(live_server, people[2][1], "A place is free") and time.monotonic() < deadline:
        time.sleep(0.1)
    (offer,) = mails(live_server, people[2][1], "A place is free")
    (take,) = {link for link in offer.links() if f"/e/{event_id}/rsvp/" in link}
    pages[2].goto(take)
    pages[2].get_by_role("button", name="Take the place").click()
    expect(pages[2].get_by_text("You are going", exact=False).first).to_be_visible()

    # The organizer's list agrees: Jonas and Lea going, Anna cancelled.
    organizer.goto(f"/admin/c/{SLUG}/events/{event_id}/attendees")
    rows = organizer.locator("tbody tr")
    expect(rows.filter(has_text="Jonas Kurz")).to_contain_text("Going")
    expect(rows.filter(has_text="Lea Voss")).to_contain_text("Going")
    expect(rows.filter(has_text="Anna Weber")).to_contain_text("Cancelled")
    screenshot(organizer, "event-attendees")
    for page in (organizer, *pages):
        page.context.close()


def test_the_rallies_list_has_a_map_and_still_lists_without_it(browser, live_server, screenshot):
    # The demo's London, Paris and Istanbul rallies have coordinates; its online one has none.
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.goto("/en/c/aleppo/events")
    expect(page.locator("#events-map")).to_have_attribute("data-ready", "3")
    expect(page.locator("#events-map .leaflet-marker-icon")).to_have_count(3)
    screenshot(page, "events-map")
    context.close()

    without_script = browser.new_context(
        base_url=live_server.url, locale="en-US", java_script_enabled=False
    )
    page = without_script.new_page()
    page.goto("/en/c/aleppo/events")
    expect(page.locator("#events-map")).to_be_hidden()
    expect(page.locator(".event-card")).to_have_count(4)
    without_script.close()
