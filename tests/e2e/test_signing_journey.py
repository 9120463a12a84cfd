"""A supporter signs the demo petition in Chromium, confirms from the email, and is counted.

These tests share one server and database (see conftest.py). Only `test_sign_confirm_and_count`
adds a signature; the others leave the count alone, so it can start from zero in any order.
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
TITLE_EN = "Stop the bombing of civilians in Aleppo"
TITLE_RU = "Остановите бомбардировки мирных жителей Алеппо"
PHONE_WIDTH = 390


def api_count(page: Page) -> int:
    response = page.request.get(f"/api/v1/campaigns/{SLUG}")
    assert response.ok, response.status
    return response.json()["signature_count"]


def shown_count(page: Page) -> str:
    return page.locator(".progress__signed strong").first.inner_text().strip()


def sign_form(page: Page):
    return page.locator("#sign form")


def test_sign_confirm_and_count(page: Page, context, live_server, screenshot):
    email = "amina.haddad+e2e@example.org"
    context.grant_permissions(["clipboard-read", "clipboard-write"])  # for "Copy link"
    assert api_count(page) == 0

    # From the front door to the petition, as a person arrives.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/en/$"))
    page.get_by_role("link", name=TITLE_EN, exact=True).first.click()
    expect(page).to_have_url(re.compile(rf"/en/c/{SLUG}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE_EN)
    assert shown_count(page) == "0"
    widths = screenshot(page, "petition")
    assert widths["phone"] <= PHONE_WIDTH, f"petition page scrolls sideways: {widths}"

    # Sign.
    page.get_by_label("Full name", exact=True).fill("Amina Haddad")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Country", exact=True).select_option(label="Germany")
    page.get_by_label("Show my first name").check()
    page.get_by_role("button", name="Sign", exact=True).click()

    # One more step: check your email, meanwhile share.
    # The form posts to ...#sign, and browsers carry that fragment through the redirect.
    expect(page).to_have_url(re.compile(rf"/en/c/{SLUG}/signed(#sign)?$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("One more step")
    for network in ("WhatsApp", "Telegram", "X", "Facebook", "VK"):
        expect(page.get_by_role("link", name=network, exact=True)).to_be_visible()
    share_url = page.get_by_label("Link to the petition")
    expect(share_url).to_have_value(f"{live_server.url}/en/c/{SLUG}")
    copy = page.get_by_role("button", name="Copy link")
    expect(copy).to_be_visible()  # shown by site.js: without JavaScript it stays hidden
    widths = screenshot(page, "signed")
    assert widths["phone"] <= PHONE_WIDTH, f"one-more-step page scrolls sideways: {widths}"
    copy.click()
    # The button says so for a moment (it is then named "Copied", so find it by that name).
    expect(page.get_by_role("button", name="Copied", exact=True)).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == f"{live_server.url}/en/c/{SLUG}"
    assert api_count(page) == 0

    # The email, delivered by the worker through the SendGrid API.
    (message,) = live_server.mail.wait_for(email, timeout=15)
    assert message.to_name == "Amina Haddad"
    confirm_links = [link for link in message.links() if "/confirm/" in link]
    assert len(confirm_links) == 1, message.text
    confirm_url = confirm_links[0]
    assert confirm_url.startswith(f"{live_server.url}/en/c/{SLUG}/confirm/")
    assert confirm_url in message.html

    # Opening the link only shows a button: mail scanners open links too.
    page.goto(confirm_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your signature")
    button = page.get_by_role("button", name="Confirm my signature")
    expect(button).to_be_visible()
    assert api_count(page) == 0
    widths = screenshot(page, "confirm")
    assert widths["phone"] <= PHONE_WIDTH, f"confirm page scrolls sideways: {widths}"

    button.click()
    expect(page).to_have_url(re.compile(rf"/en/c/{SLUG}/thanks$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
    assert shown_count(page) == "1"
    assert api_count(page) == 1
    widths = screenshot(page, "thanks")
    assert widths["phone"] <= PHONE_WIDTH, f"thank-you page scrolls sideways: {widths}"

    # The link used again leads to the thanks page and counts nothing more.
    page.goto(confirm_url)
    expect(page).to_have_url(re.compile(rf"/en/c/{SLUG}/thanks$"))
    assert api_count(page) == 1

    # The petition now shows the signature and the signer's first name, never the full name.
    page.goto(f"/en/c/{SLUG}")
    assert shown_count(page) == "1"
    expect(page.locator(".progress__signed")).to_contain_text("1 signature")
    signers = page.get_by_role("region", name="Recent signers")
    expect(signers.get_by_role("listitem")).to_have_count(1)
    expect(signers.get_by_role("listitem")).to_contain_text("Amina")
    expect(signers.get_by_role("listitem")).to_contain_text("Germany")
    expect(signers).not_to_contain_text("Haddad")
    screenshot(page, "petition-signed")


def test_invalid_input_is_explained_beside_the_fields_and_kept(page: Page, live_server, screenshot):
    page.goto(f"/en/c/{SLUG}")
    before = api_count(page)
    page.get_by_label("Full name", exact=True).fill("   ")
    page.get_by_label("Email", exact=True).fill("not-an-email")
    page.get_by_label("Country", exact=True).select_option(label="France")
    page.get_by_label("City or postal code (optional)").fill("Lyon")
    page.get_by_label("Why are you signing? (optional)").fill("Hospitals are not targets.")
    page.get_by_role("button", name="Sign", exact=True).click()

    # Back on the petition, scrolled to the form (the form posts to #sign).
    expect(page).to_have_url(re.compile(rf"/en/c/{SLUG}#sign$"))
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator(".error-summary")).to_be_in_viewport()

    name = page.get_by_label("Full name", exact=True)
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#full_name-error")).to_have_text("Enter your name.")
    expect(name).to_have_attribute("aria-describedby", re.compile(r"\bfull_name-error\b"))

    email = page.get_by_label("Email", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_value("not-an-email")
    expect(page.locator("#email-error")).to_have_text(
        "Enter an email address like name@example.org."
    )
    expect(email).to_have_attribute("aria-describedby", re.compile(r"\bemail-error\b"))

    # Each message sits in the same field block as its input, right under it.
    for field_id in ("full_name", "email"):
        block = page.locator(f".field:has(#{field_id})")
        expect(block.locator(f"#{field_id}-error")).to_be_visible()
        input_box = page.locator(f"#{field_id}").bounding_box()
        error_box = page.locator(f"#{field_id}-error").bounding_box()
        assert error_box["y"] >= input_box["y"] + input_box["height"] - 1

    # What was typed is still there.
    expect(page.get_by_label("Country", exact=True)).to_have_value("FR")
    expect(page.get_by_label("City or postal code (optional)")).to_have_value("Lyon")
    expect(page.get_by_label("Why are you signing? (optional)")).to_have_value(
        "Hospitals are not targets."
    )
    expect(page.get_by_label("Country", exact=True)).not_to_have_attribute("aria-invalid", "true")

    screenshot(page, "petition-invalid")
    assert api_count(page) == before

    # The fields in error stand out by more than the message: their border changes too.
    def border(selector: str) -> str:
        return page.locator(selector).evaluate(
            "e => getComputedStyle(e).borderTopWidth + ' ' + getComputedStyle(e).borderTopColor"
        )

    valid = border("#city")
    for field_id in ("full_name", "email"):
        assert border(f"#{field_id}") != valid, f"#{field_id} in error looks like a valid field"


def test_russian_petition_page(page: Page, live_server, screenshot):
    page.goto(f"/ru/c/{SLUG}")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE_RU)
    expect(page).to_have_title(re.compile(TITLE_RU))
    # The form speaks Russian too, and the language switcher leads back to English.
    expect(page.get_by_label("Имя и фамилия", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Подписать", exact=True)).to_be_visible()
    expect(page.locator('link[rel="alternate"][hreflang="en"]')).to_have_attribute(
        "href", f"{live_server.url}/en/c/{SLUG}"
    )
    widths = screenshot(page, "petition-ru")
    assert widths["phone"] <= PHONE_WIDTH, f"Russian petition page scrolls sideways: {widths}"


def test_petition_page_fits_a_phone(browser, live_server):
    """On a 390px phone (touch, mobile viewport) nothing makes the page scroll sideways."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        viewport={"width": PHONE_WIDTH, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = context.new_page()
        for path in (f"/en/c/{SLUG}", f"/ru/c/{SLUG}", "/en/"):
            page.goto(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE_WIDTH, f"{path} is {width}px wide on a {PHONE_WIDTH}px phone"
        # The sign button is within the screen, not cut off at the edge.
        page.goto(f"/en/c/{SLUG}")
        box = page.get_by_role("button", name="Sign", exact=True).bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE_WIDTH
    finally:
        context.close()
