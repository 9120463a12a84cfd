"""A supporter signs, confirms, asks for the link to their signature, and withdraws it.

Shares the e2e server with the other journeys (see conftest.py): the signature made here is
withdrawn before the test ends, so the demo petition's count is back where it started.
"""

from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    Page = expect = None

pytestmark = pytest.mark.e2e

SLUG = "aleppo"
PHONE_WIDTH = 390


def api_count(page: Page) -> int:
    response = page.request.get(f"/api/v1/campaigns/{SLUG}")
    assert response.ok, response.status
    return response.json()["signature_count"]


def test_sign_confirm_request_the_link_and_withdraw(page: Page, live_server, screenshot):
    email = "noor.privacy+e2e@example.org"
    before = api_count(page)

    # The privacy page, from the footer.
    page.goto("/en/")
    page.locator(".site-footer").get_by_role("link", name="Privacy", exact=True).click()
    expect(page).to_have_url(re.compile(r"/en/privacy$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your privacy")
    widths = screenshot(page, "privacy")
    assert widths["phone"] <= PHONE_WIDTH, f"privacy page scrolls sideways: {widths}"

    # Sign and confirm.
    page.goto(f"/en/c/{SLUG}")
    form = page.locator("#sign form")
    expect(form.get_by_role("link", name="How we handle your data")).to_be_visible()
    page.get_by_label("Full name", exact=True).fill("Noor Saleh")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Country", exact=True).select_option(label="Jordan")
    page.get_by_label("City or postal code (optional)").fill("Amman")
    page.get_by_label("Show my first name").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("One more step")
    assert "/signature/" not in page.content()  # only the mailbox gets the link

    (confirmation,) = live_server.mail.wait_for(email, timeout=15)
    (confirm_url,) = [link for link in confirmation.links() if "/confirm/" in link]
    page.goto(confirm_url)
    page.get_by_role("button", name="Confirm my signature").click()
    expect(page).to_have_url(re.compile(rf"/en/c/{SLUG}/thanks$"))
    assert api_count(page) == before + 1

    # Lost the email? Ask for the links.
    page.goto("/en/")
    page.locator(".site-footer").get_by_role("link", name="See or withdraw your signature").click()
    expect(page).to_have_url(re.compile(r"/en/my-signatures$"))
    page.get_by_label("Email", exact=True).fill(email)
    screenshot(page, "my-signatures")
    page.get_by_role("button", name="Email me the links").click()
    expect(page).to_have_url(re.compile(r"/en/my-signatures/sent$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    links_mail = live_server.mail.wait_for(email, count=2, timeout=15)[-1]
    (manage_url,) = [link for link in links_mail.links() if "/signature/" in link]
    assert manage_url.startswith(f"{live_server.url}/en/signature/")

    # What they signed, with the consent in the words shown.
    page.goto(manage_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your signature")
    for words in ("Noor Saleh", email, "Jordan", "Amman"):
        expect(page.locator("main")).to_contain_text(words)
    consent = page.get_by_role("region", name="What you agreed to")
    expect(consent).to_contain_text("“Show my first name and city on the petition page”: ticked")
    widths = screenshot(page, "my-signature")
    assert widths["phone"] <= PHONE_WIDTH, f"signature page scrolls sideways: {widths}"

    # Withdraw.
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    page.get_by_role("button", name="Withdraw my signature").click()
    expect(page).to_have_url(re.compile(r"/en/my-signatures/withdrawn\?c=aleppo$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your signature is withdrawn")
    widths = screenshot(page, "signature-withdrawn")
    assert widths["phone"] <= PHONE_WIDTH, f"withdrawn page scrolls sideways: {widths}"
    assert api_count(page) == before

    # The link now says the signature is gone.
    response = page.goto(manage_url)
    assert response is not None
    assert response.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This signature is no longer here")
