"""An organizer runs a campaign from the panel in Chromium, the way a person would.

One journey, in order: log in, create a campaign, translate it (with a preview), open it, see a
supporter's signature in the list, the statistics and the CSV, invite an editor who joins from
the emailed link (and finds the owner's screens closed to them), post a victory, erase the
supporter on request, and read it all back in the audit log.

The e2e database is shared with the other browser tests (see conftest.py). This test changes
only a campaign it creates under a slug of its own; the demo campaign is only looked at.
Every panel screen is photographed at phone and desktop width and must not scroll sideways
on a 390px phone.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

try:
    from playwright.sync_api import BrowserContext, Page, expect
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    BrowserContext = Page = expect = None

from tests.e2e.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.e2e

ORGANIZER_EMAIL = "organizer@example.org"
ORGANIZER_PASSWORD = "demo-organizer"  # noqa: S105 - printed by `flask demo`
DEMO_TITLE = "Stop the bombing of civilians in Aleppo"
PHONE_WIDTH = PHONE["width"]

TITLE_EN = "Clean air for the schools of Riverside"
TITLE_RU = "Чистый воздух для школ Риверсайда"
APPEAL_RU = (
    "## Почему это важно\n\n"
    "**Дети** дышат выхлопами у ворот школы.\n\n"
    "- закрыть улицу для машин в часы занятий\n"
    "- посадить деревья вдоль ограды\n"
)
CSV_HEADER = [
    "name",
    "email",
    "country",
    "city",
    "reason",
    "language",
    "public",
    "update_consent",
    "signed_at",
    "confirmed_at",
]


@pytest.fixture
def new_context(browser, live_server) -> Iterator[Callable[..., BrowserContext]]:
    """More browser profiles (a supporter, an invitee), closed at the end of the test."""
    made: list[BrowserContext] = []

    def make(viewport: dict[str, int] = DESKTOP) -> BrowserContext:
        context = browser.new_context(
            base_url=live_server.url,
            locale="en-US",
            viewport=viewport,
            timezone_id="Europe/Berlin",
        )
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def shoot(screenshot) -> Callable[[Page, str], None]:
    """`screenshot` plus the check that the page does not scroll sideways on a phone."""

    def take(page: Page, name: str) -> None:
        widths = screenshot(page, name)
        assert widths["phone"] <= PHONE_WIDTH, (
            f"{name} ({page.url}) scrolls sideways on a {PHONE_WIDTH}px phone: "
            f"scrollWidth {widths['phone']}px"
        )

    return take


def api_count(page: Page, slug: str) -> int:
    response = page.request.get(f"/api/v1/campaigns/{slug}")
    assert response.ok, response.status
    return response.json()["signature_count"]


def flash(page: Page):
    return page.locator(".flash")


def field_error(page: Page, field_id: str):
    """The message under a field, inside the field's own block, after checking it points to it."""
    field = page.locator(f"#{field_id}")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", re.compile(rf"\b{field_id}-error\b"))
    return page.locator(f".field:has(#{field_id}) #{field_id}-error")


def campaign_tab(page: Page, name: str):
    return page.get_by_role("navigation", name="Campaign menu").get_by_role(
        "link", name=name, exact=True
    )


def log_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def link_in_mail(live_server, address: str, part: str, count: int = 1) -> str:
    messages = live_server.mail.wait_for(address, count=count, timeout=15)
    links = [link for link in messages[count - 1].links() if part in link]
    assert len(links) == 1, messages[count - 1].text
    assert links[0].startswith(live_server.url)
    return links[0]


def test_organizer_journey(page: Page, new_context, live_server, shoot, tmp_path: Path):
    run = uuid.uuid4().hex[:8]
    slug = f"clean-air-{run}"
    signer_name = f"Zofia Nowak{run}"
    signer_email = f"zofia.nowak+{run}@example.org"
    editor_email = f"editor.{run}@example.org"
    editor_password = f"editor-pass-{run}"

    # 1. Log in: a wrong password is explained at the password field, then the right one.
    page.goto("/admin/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Organizer login")
    log_in(page, ORGANIZER_EMAIL, "not-the-password")
    expect(field_error(page, "password")).to_have_text(
        "That email and password do not match an account."
    )
    expect(page.get_by_label("Email", exact=True)).to_have_value(ORGANIZER_EMAIL)
    shoot(page, "admin-login")
    log_in(page, ORGANIZER_EMAIL, ORGANIZER_PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your campaigns")
    expect(page.get_by_role("link", name=DEMO_TITLE, exact=True)).to_be_visible()
    shoot(page, "admin-dashboard")

    # 2. A new campaign: a bad slug is refused beside the field, what was typed stays.
    page.get_by_role("link", name="New campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New campaign")
    page.get_by_label("Slug", exact=True).fill("Clean Air!")
    page.get_by_label("Goal", exact=True).fill("500")
    page.get_by_label("Default language", exact=True).select_option(label="English")
    page.get_by_label("Title", exact=True).fill(TITLE_EN)
    page.get_by_label("Target (the decision makers)").fill("The Riverside city council")
    page.get_by_label("Summary", exact=True).fill("Close the school streets to cars at 8 and 3.")
    page.get_by_label("Appeal", exact=True).fill("Our children breathe **exhaust** at the gate.")
    page.get_by_label("Call to action", exact=True).fill("Add your name")
    page.get_by_role("button", name="Create the campaign").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(field_error(page, "slug")).to_have_text(
        "Use only lowercase letters, digits and single hyphens between them, like clean-air-2025."
    )
    expect(page.get_by_label("Title", exact=True)).to_have_value(TITLE_EN)
    expect(page.get_by_label("Goal", exact=True)).to_have_value("500")
    page.get_by_label("Slug", exact=True).fill(slug)
    page.get_by_role("button", name="Create the campaign").click()
    expect(page).to_have_url(re.compile(rf"/admin/c/{slug}/$"))
    expect(flash(page)).to_contain_text("The campaign is created as a draft")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE_EN)
    status_card = page.get_by_role("region", name=re.compile("^Status"))
    expect(status_card.locator(".badge")).to_have_text("Draft")
    shoot(page, "admin-overview")

    # 3. Russian texts: the preview renders the Markdown and saves nothing; then Save.
    campaign_tab(page, "Settings and texts").click()
    page.get_by_role("link", name="Add the Russian texts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add the Russian texts")
    expect(page.get_by_role("complementary", name="In English, for reference")).to_contain_text(
        TITLE_EN
    )
    page.get_by_label("Title", exact=True).fill(TITLE_RU)
    page.get_by_label("Target (the decision makers)").fill("Городской совет Риверсайда")
    page.get_by_label("Summary", exact=True).fill("Закройте школьные улицы для машин.")
    page.get_by_label("Appeal", exact=True).fill(APPEAL_RU)
    page.get_by_label("Call to action", exact=True).fill("Подписать")
    page.get_by_role("button", name="Preview", exact=True).click()
    preview = page.get_by_role("region", name="Preview of the appeal")
    expect(preview).to_be_visible()
    expect(preview.get_by_role("status")).to_contain_text("nothing is saved")
    rendered = preview.locator(".prose")
    expect(rendered.get_by_role("heading", name="Почему это важно")).to_be_visible()
    expect(rendered.locator("strong")).to_have_text("Дети")
    expect(rendered.get_by_role("listitem")).to_have_count(2)
    expect(rendered).not_to_contain_text("**")
    expect(page.get_by_label("Appeal", exact=True)).to_have_value(APPEAL_RU.strip())
    expect(page.get_by_label("Title", exact=True)).to_have_value(TITLE_RU)
    # Not saved: in another tab, the Russian texts are still to be written.
    other_tab = page.context.new_page()
    other_tab.goto(f"/admin/c/{slug}/edit")
    expect(other_tab.get_by_role("link", name="Add the Russian texts")).to_be_visible()
    other_tab.close()
    shoot(page, "admin-texts-preview")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(flash(page)).to_have_text("The Russian texts are saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Russian texts")
    expect(page.get_by_label("Title", exact=True)).to_have_value(TITLE_RU)

    # 4. Open it: the step must be confirmed with the box; then the public page is there.
    supporter = new_context(PHONE).new_page()
    assert supporter.request.get(f"/en/c/{slug}").status == 404  # a draft is not public
    campaign_tab(page, "Overview").click()
    page.get_by_role("link", name="Open for signatures…").click()
    expect(page.get_by_role("heading", name="Open the campaign for signatures")).to_be_visible()
    page.get_by_role("button", name="Open the campaign").click()
    expect(field_error(page, "understand")).to_have_text("Tick the box to confirm.")
    expect(page.get_by_label("I understand")).not_to_be_checked()
    shoot(page, "admin-status")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Open the campaign").click()
    expect(page).to_have_url(re.compile(rf"/admin/c/{slug}/$"))
    expect(flash(page)).to_have_text("The campaign is open: anyone can sign it now.")
    expect(status_card.locator(".badge")).to_have_text("Open")
    expect(page.get_by_role("link", name="See the petition page")).to_have_attribute(
        "href", f"/en/c/{slug}"
    )
    assert supporter.request.get(f"/en/c/{slug}").status == 200

    # 5. A supporter signs on their phone and confirms from the email.
    supporter.goto(f"/en/c/{slug}")
    expect(supporter.get_by_role("heading", level=1)).to_have_text(TITLE_EN)
    supporter.get_by_label("Full name", exact=True).fill(signer_name)
    supporter.get_by_label("Email", exact=True).fill(signer_email)
    supporter.get_by_label("Country", exact=True).select_option(label="Poland")
    supporter.get_by_label("City or postal code (optional)").fill("Kraków")
    supporter.get_by_label("Send me updates").check()
    supporter.get_by_role("button", name="Sign", exact=True).click()
    expect(supporter.get_by_role("heading", level=1)).to_contain_text("One more step")
    supporter.goto(link_in_mail(live_server, signer_email, "/confirm/"))
    supporter.get_by_role("button", name="Confirm my signature").click()
    expect(supporter).to_have_url(re.compile(rf"/en/c/{slug}/thanks$"))
    assert api_count(supporter, slug) == 1

    # ... and the organizer finds them in Signatures, by name.
    campaign_tab(page, "Signatures").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signatures")
    search = page.get_by_role("search", name="Search signatures")
    search.get_by_label("Name, email, city or country").fill("nowak" + run)
    search.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"[?&]q=nowak"))
    expect(page.get_by_text("1 signature matches")).to_be_visible()
    row = page.locator("table.signatures tbody tr")
    expect(row).to_have_count(1)
    expect(row.get_by_role("rowheader")).to_have_text(signer_name)
    expect(row).to_contain_text(signer_email)
    expect(row).to_contain_text("Kraków")
    expect(row).to_contain_text("Poland")
    shoot(page, "admin-signatures")
    search.get_by_label("Name, email, city or country").fill("nobody-signed-like-this")
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No signatures match your search.")).to_be_visible()
    page.get_by_role("link", name="Show all signatures").first.click()

    # The CSV: the header, then the supporter's row.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download all as CSV").click()
    download = download_info.value
    assert re.fullmatch(
        rf"signatures-{slug}-\d{{4}}-\d{{2}}-\d{{2}}\.csv", download.suggested_filename
    )
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0] == CSV_HEADER
    assert len(rows) == 2, rows
    record = dict(zip(CSV_HEADER, rows[1], strict=True))
    assert record["name"] == signer_name
    assert record["email"] == signer_email
    assert (record["country"], record["city"], record["language"]) == ("PL", "Kraków", "en")
    assert (record["public"], record["update_consent"]) == ("no", "yes")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["confirmed_at"])

    # Statistics: the charts are images with names, the rate is shown.
    campaign_tab(page, "Statistics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statistics")
    expect(page.get_by_role("img", name="Confirmed signatures per day")).to_be_visible()
    expect(
        page.get_by_role("img", name="Confirmed signatures per hour, last 48 hours")
    ).to_be_visible()
    rate = page.get_by_role("region", name="Confirmation rate")
    expect(rate).to_contain_text("100%")
    expect(rate).to_contain_text("1 of 1 signature confirmed by email")
    expect(page.get_by_role("region", name="By country")).to_contain_text("Poland")
    expect(page.get_by_role("region", name="By city")).to_contain_text("Kraków")
    shoot(page, "admin-statistics")

    # 6. Team: a bad address is refused; then an editor is invited.
    campaign_tab(page, "Team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    invite = page.get_by_role("region", name="Invite someone")
    invite.get_by_label("Email", exact=True).fill("not-an-address")
    invite.get_by_role("button", name="Send invitation").click()
    expect(field_error(page, "email")).to_have_text("Enter a valid email address.")
    invite = page.get_by_role("region", name="Invite someone")
    invite.get_by_label("Email", exact=True).fill(editor_email)
    expect(invite.get_by_label("Role", exact=True)).to_have_value("editor")
    invite.get_by_role("button", name="Send invitation").click()
    expect(flash(page)).to_have_text(f"Invitation sent to {editor_email} as editor.")
    pending = page.get_by_role("region", name="Invitations not yet accepted")
    expect(pending.get_by_role("heading", name=editor_email)).to_be_visible()
    shoot(page, "admin-team")

    # The invitee joins from the emailed link in their own browser, choosing name and password.
    editor = new_context().new_page()
    editor.goto(link_in_mail(live_server, editor_email, "/admin/invitation/"))
    expect(editor.get_by_role("heading", level=1)).to_have_text("Join the team")
    expect(editor.locator("main")).to_contain_text(f"“{slug}” as editor")
    editor.get_by_label("Your name").fill("Eda Editor")
    editor.get_by_label("New password", exact=True).fill("short")
    editor.get_by_label("Repeat the new password").fill("short")
    editor.get_by_role("button", name="Join the team").click()
    expect(field_error(editor, "password")).to_have_text("Use at least 10 characters.")
    editor.get_by_label("New password", exact=True).fill(editor_password)
    editor.get_by_label("Repeat the new password").fill(editor_password)
    editor.get_by_role("button", name="Join the team").click()
    expect(editor).to_have_url(re.compile(rf"/admin/c/{slug}/$"))
    expect(flash(editor)).to_have_text("Welcome to the team.")

    # Logged out and in again with what they chose, they see an editor's menu only.
    editor.get_by_role("button", name="Log out").click()
    expect(flash(editor)).to_have_text("You are logged out.")
    log_in(editor, editor_email, editor_password)
    expect(editor).to_have_url(re.compile(r"/admin/$"))
    expect(editor.get_by_role("link", name=TITLE_EN)).to_be_visible()
    expect(editor.get_by_role("link", name=DEMO_TITLE, exact=True)).to_have_count(0)
    editor.get_by_role("link", name=TITLE_EN).click()
    menu = editor.get_by_role("navigation", name="Campaign menu")
    expect(menu.get_by_role("link")).to_have_text(
        [
            "Overview",
            "Settings and texts",
            "Statistics",
            "Comments",
            "Suspicious activity",
            "Events",
            "Updates",
            "Paper signatures",
        ]
    )
    for closed in ("Team", "Signatures", "People", "Audit log"):
        expect(menu.get_by_role("link", name=closed, exact=True)).to_have_count(0)
    response = editor.goto(f"/admin/c/{slug}/team")
    assert response is not None
    assert response.status == 403
    expect(editor.get_by_role("heading", level=1)).to_have_text("You cannot do this")
    assert editor.request.get(f"/admin/c/{slug}/signatures.csv").status == 403

    # The owner sees the editor on the team, the invitation gone.
    page.reload()
    expect(page.get_by_role("heading", name="Eda Editor")).to_be_visible()
    expect(page.get_by_text("No invitations are waiting.")).to_be_visible()

    # 7. A victory, on the petition page. The default language's text is required.
    campaign_tab(page, "Overview").click()
    page.get_by_role("link", name="Post an outcome").click()
    page.get_by_label("What happened").select_option(label="Victory: the demand was met")
    page.get_by_role("button", name="Save the outcome").click()
    expect(field_error(page, "text_en")).to_have_text("Write the outcome in the default language.")
    page.get_by_label("Text in English").fill("The council closed **both** school streets.")
    page.get_by_label("Text in Russian").fill("Совет закрыл **обе** школьные улицы.")
    page.get_by_role("button", name="Save the outcome").click()
    expect(flash(page)).to_have_text("The outcome is on the petition page.")
    expect(page.get_by_role("region", name=re.compile("^Victory"))).to_contain_text(
        "The council closed both school streets."
    )
    supporter.goto(f"/en/c/{slug}")
    victory = supporter.get_by_role("region", name="Victory!")
    expect(victory).to_be_visible()
    expect(victory.locator("strong")).to_have_text("both")
    supporter.goto(f"/ru/c/{slug}")
    expect(supporter.get_by_role("heading", level=1)).to_have_text(TITLE_RU)
    expect(supporter.locator(".outcome")).to_contain_text("Совет закрыл обе школьные улицы.")

    # 8. People: find the supporter by email (in capitals: the same mailbox), export, erase.
    campaign_tab(page, "People").click()
    page.get_by_role("search").get_by_label("Email", exact=True).fill(signer_email.upper())
    page.get_by_role("button", name="Find", exact=True).click()
    holds = page.get_by_role("region", name="What this campaign holds")
    expect(holds).to_contain_text(signer_name)
    expect(holds).to_contain_text("Kraków")
    erase = page.get_by_role("region", name="Erase")
    expect(erase).to_contain_text("The public count drops by 1.")
    shoot(page, "admin-people")
    # The person asked for their data first: a JSON file with what the screen shows.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export as JSON").click()
    download = download_info.value
    assert re.fullmatch(rf"{slug}-person-[0-9a-f]+\.json", download.suggested_filename)
    exported = tmp_path / download.suggested_filename
    download.save_as(exported)
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert document["campaign"] == slug
    assert signer_email in exported.read_text(encoding="utf-8")
    assert signer_name in exported.read_text(encoding="utf-8")
    # Erasing needs the box ticked.
    erase.get_by_role("button", name="Erase", exact=True).click()
    expect(field_error(page, "erase-confirm")).to_have_text("Tick the box to confirm the erasure.")
    erase = page.get_by_role("region", name="Erase")
    erase.get_by_label("I understand that this deletes").check()
    erase.get_by_role("button", name="Erase", exact=True).click()
    expect(flash(page)).to_contain_text("Erased 1 signature")
    assert api_count(page, slug) == 0
    supporter.goto(f"/en/c/{slug}")
    expect(supporter.locator(".progress__signed strong").first).to_have_text("0")
    # Searching again finds nothing left.
    page.get_by_role("search").get_by_label("Email", exact=True).fill(signer_email)
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        "No signature in this campaign matches that address."
    )

    # 9. The audit log tells the story, newest first, without the erased person's address.
    campaign_tab(page, "Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    log = page.locator("table.audit-log tbody")
    expected = [
        "Erased a person's data",
        "Exported a person's data",
        "Posted an outcome",
        "Joined the team",
        "Invited someone to the team",
        "Exported the signatures",
        "Changed the campaign's status",
        "Changed the campaign's texts",
        "Created the campaign",
    ]
    expect(log.locator("tr td:first-child > strong")).to_have_text(expected)
    expect(log).to_contain_text(ORGANIZER_EMAIL)
    expect(log).to_contain_text(editor_email)
    expect(log).not_to_contain_text(signer_email)
    expect(log).not_to_contain_text(signer_name)
    shoot(page, "admin-audit-log")
