"""Email updates in Chromium: a Russian reader subscribes from the petition page and confirms;
an editor writes an update in English and Russian, checks the count and the previews, sends a
test and then the update; the reader gets the Russian version once, with a one-click
unsubscribe that works. The campaign is made for this test, so its audience is exact.
"""

from __future__ import annotations

import re
import time

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    Page = expect = None

pytestmark = pytest.mark.e2e

SLUG = "council-hearing"
READER = "olga.updates@example.org"

SETUP = """
from sqlalchemy import select
from campaign import create_app
from campaign.extensions import db
from campaign.models import (
    Campaign, CampaignStatus, CampaignTranslation, Membership, Organizer, Role,
)

app = create_app()
with app.app_context():
    campaign = Campaign(slug="council-hearing", status=CampaignStatus.OPEN, goal=1000,
                        default_language="en")
    campaign.translations.append(CampaignTranslation(
        language="en", title="A hearing at the council", target="The city council",
        summary="Ask the council to hear Aleppo's doctors.", body_markdown="Hear them.",
        call_to_action="Sign"))
    campaign.translations.append(CampaignTranslation(
        language="ru", title="Слушания в городском совете", target="Городской совет",
        summary="Попросите совет выслушать врачей Алеппо.", body_markdown="Выслушайте их.",
        call_to_action="Подпишите"))
    db.session.add(campaign)
    db.session.flush()
    organizer = db.session.scalar(
        select(Organizer).where(Organizer.email == "organizer@example.org"))
    db.session.add(Membership(campaign_id=campaign.id, organizer_id=organizer.id,
                              role=Role.OWNER))
    db.session.commit()
"""


def new_page(browser, live_server, locale: str) -> Page:
    context = browser.new_context(base_url=live_server.url, locale=locale)
    context.set_default_timeout(10_000)
    return context.new_page()


def test_subscribe_write_send_and_unsubscribe(browser, live_server, screenshot):
    live_server.run_python(SETUP)

    # A Russian reader subscribes from the petition page and confirms by email.
    reader = new_page(browser, live_server, "ru-RU")
    reader.goto(f"/ru/c/{SLUG}")
    reader.locator("#subscribe-campaign-email").fill(READER)
    reader.locator("#subscribe-campaign-submit").click()
    (confirmation,) = live_server.mail.wait_for(READER, timeout=15)
    (link,) = [link for link in confirmation.links() if "/subscribe/confirm/" in link]
    reader.goto(link)
    reader.locator("main form [type=submit]").click()
    expect(reader.locator("main form [type=submit]")).to_have_count(0)  # subscribed: no button
    expect(reader.locator("html")).to_have_attribute("lang", "ru")

    # The editor writes the update in two languages and previews it.
    editor = new_page(browser, live_server, "en-US")
    editor.goto("/admin/login")
    editor.get_by_label("Email", exact=True).fill("organizer@example.org")
    editor.get_by_label("Password", exact=True).fill("demo-organizer")
    editor.get_by_role("button", name="Log in").click()
    editor.goto(f"/admin/c/{SLUG}/updates")
    expect(editor.get_by_text("No updates yet")).to_be_visible()
    editor.get_by_role("link", name="New update").first.click()
    editor.get_by_label("Subject (English)").fill("The council will hear us")
    editor.get_by_label("Message (English)").fill("Thanks to **your signatures**, it is Monday.")
    editor.get_by_label("Subject (Russian)").fill("Совет нас выслушает")
    editor.get_by_label("Message (Russian)").fill("Благодаря **вашим подписям** — в понедельник.")
    editor.get_by_role("button", name="Preview").click()
    expect(editor.locator("strong", has_text="вашим подписям")).to_be_visible()
    editor.get_by_role("button", name="Save the draft").click()

    # The exact count, by language, and both versions as they will read.
    expect(editor.locator("#recipient-count")).to_have_text("1 person gets this update.")
    expect(editor.get_by_text("Russian: 1")).to_be_visible()
    screenshot(editor, "admin-update-draft")

    editor.get_by_label("Version").select_option("ru")
    editor.get_by_role("button", name="Send me a test").click()
    # The organizer gets other mail too (a digest, say): look for the test among it.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        tests = [m for m in live_server.mail.to("organizer@example.org") if "[" in m.subject]
        if tests:
            break
        time.sleep(0.1)
    assert [m.subject for m in tests] == ["[Тест] Совет нас выслушает"]

    editor.get_by_role("button", name="Send now").click()
    expect(editor.locator(".flash")).to_contain_text("Sending to 1 person.")
    (_, update) = live_server.mail.wait_for(READER, count=2, timeout=20)
    assert update.subject == "Совет нас выслушает"
    assert update.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    deadline = time.monotonic() + 15
    while editor.locator(".badge--broadcast-sent").count() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        editor.reload()
    expect(editor.locator("#progress-sent")).to_have_text("1")
    screenshot(editor, "admin-update-sent")

    # The update is on the petition page in Russian; the reader leaves with one click.
    reader.goto(f"/ru/c/{SLUG}")
    expect(reader.get_by_role("link", name="Совет нас выслушает")).to_be_visible()
    time.sleep(0.5)  # a duplicate would have arrived by now
    assert len(live_server.mail.to(READER)) == 2
    (unsubscribe,) = [link for link in update.links() if re.search(r"/u/[^/]+$", link)]
    reader.goto(unsubscribe)
    reader.locator("main form [type=submit]").click()
    expect(reader.locator("main form [type=submit]")).to_have_count(0)
    screenshot(reader, "unsubscribed-ru")

    # The next update finds nobody to write to.
    editor.goto(f"/admin/c/{SLUG}/updates/new")
    editor.get_by_label("Subject (English)").fill("One more thing")
    editor.get_by_label("Message (English)").fill("Nobody should get this.")
    editor.get_by_role("button", name="Save the draft").click()
    expect(editor.get_by_text("Nobody is in this audience yet")).to_be_visible()

    for page in (reader, editor):
        page.context.close()
