"""The whole supporter journey with the keyboard alone: skip to the content, sign, confirm from
the email, comment and confirm, RSVP and confirm. No mouse clicks: Tab moves the focus, Enter or
Space acts. Every control the focus lands on must show it (an outline or a ring of box-shadow).

Runs on the `reach` campaign of tests/e2e/pages.py, so the demo's counts stay as they were.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.pages import SLUG, new_reader_context, reach_site

try:
    from playwright.sync_api import Page, expect
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    Page = expect = None

pytestmark = pytest.mark.e2e

EMAIL = "keyboard.only@example.org"
COMMENT = "I signed with the keyboard alone, and it worked."
MAX_TABS = 150

# The focused element, how its focus shows, and whether it is the one we are looking for.
FOCUS_STATE = """
selector => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== 'none';
  const box = el.getBoundingClientRect();
  const classes = typeof el.className === 'string' ? el.className.trim() : '';
  const label = el.innerText || el.value || el.getAttribute('aria-label') || '';
  return {
    description: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (classes ? '.' + classes.split(/\\s+/).join('.') : '')
      + ' "' + label.trim().slice(0, 40) + '"',
    visible: outline || shadow,
    onScreen: box.width > 0 && box.height > 0,
    matches: el.matches(selector),
  };
}
"""


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until `selector` has the focus, checking each stop shows its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE, selector)
        if state is None:
            continue
        assert state["visible"], f"the focus on {state['description']} is invisible ({page.url})"
        assert state["onScreen"], f"the focus went to {state['description']}, which is not shown"
        if state["matches"]:
            return
    pytest.fail(f"{selector} was not reached with Tab on {page.url}")


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def link_in_mail(live_server, email: str, count: int, part: str) -> str:
    """The last link containing `part` once `count` messages reached `email`."""
    messages = live_server.mail.wait_for(email, count=count, timeout=15)
    links = [link for message in messages for link in message.links() if part in link]
    assert links, f"no {part} link in the mail to {email}"
    return links[-1]


def mail_count(live_server) -> int:
    return len(live_server.mail.to(EMAIL))


def test_skip_link_leads_to_the_main_content(browser, live_server):
    reach_site(live_server)
    context = new_reader_context(browser, live_server, "en")
    try:
        page = context.new_page()
        page.goto(f"/en/c/{SLUG}")
        page.keyboard.press("Tab")
        skip = page.locator(":focus")
        expect(skip).to_have_class(re.compile(r"\bskip-link\b"))
        expect(skip).to_be_in_viewport()
        assert page.evaluate(FOCUS_STATE, ".skip-link")["visible"]
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"#main$"))
        assert page.evaluate("document.activeElement.id") == "main"
        # The next Tab goes on from the content, not back to the header.
        page.keyboard.press("Tab")
        assert page.evaluate("!!document.activeElement.closest('main')")
    finally:
        context.close()


def test_sign_confirm_comment_and_rsvp_with_the_keyboard(browser, live_server, screenshot_dir):
    site = reach_site(live_server)
    context = new_reader_context(browser, live_server, "en")
    try:
        page = context.new_page()

        # Sign.
        page.goto(f"/en/c/{SLUG}")
        type_into(page, "#full_name", "Kim Keyboard")
        type_into(page, "#email", EMAIL)
        tab_to(page, "#country")
        page.keyboard.type("Germany")  # a closed select picks the option typed
        expect(page.locator("#country")).to_have_value("DE")
        type_into(page, "#city", "Leipzig")
        tab_to(page, "#is_public")
        page.keyboard.press("Space")
        expect(page.locator("#is_public")).to_be_checked()
        tab_to(page, "#sign form [type=submit]")
        page.screenshot(path=str(screenshot_dir / "keyboard-sign-focus.png"))
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(rf"/en/c/{SLUG}/signed(#sign)?$"))

        # Confirm from the email.
        page.goto(link_in_mail(live_server, EMAIL, 1, f"/c/{SLUG}/confirm/"))
        tab_to(page, "main form [type=submit]")
        page.keyboard.press("Space")
        expect(page).to_have_url(re.compile(rf"/en/c/{SLUG}/thanks$"))

        # Comment: open the form (a <details>), write, send, confirm if asked.
        page.goto(f"/en/c/{SLUG}")
        tab_to(page, "summary.comment-form__summary")
        page.keyboard.press("Enter")
        expect(page.locator("details.comment-form")).to_have_attribute("open", "")
        type_into(page, "#comment-author_name", "Kim")
        type_into(page, "#comment-email", EMAIL)
        type_into(page, "#comment-body", COMMENT)
        tab_to(page, "#comment-submit")
        before = mail_count(live_server)
        page.keyboard.press("Enter")
        expect(page.locator(".flash")).to_be_visible()
        comment = page.locator("article.comment").filter(has_text=COMMENT)
        if comment.count() == 0:  # a new commenter confirms by email first
            page.goto(link_in_mail(live_server, EMAIL, before + 1, "/comments/confirm/"))
            tab_to(page, "main form [type=submit]")
            page.keyboard.press("Enter")
        expect(page.locator("article.comment").filter(has_text=COMMENT)).to_be_visible()

        # RSVP to a rally and confirm.
        page.goto(f"/en/e/{site.event}")
        type_into(page, "#full_name", "Kim Keyboard")
        type_into(page, "#email", EMAIL)
        tab_to(page, "#consent")
        page.keyboard.press("Space")
        expect(page.locator("#consent")).to_be_checked()
        tab_to(page, "#rsvp form [type=submit]")
        before = mail_count(live_server)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        # This browser proved the address by confirming the signature, so the RSVP stands at
        # once; a browser that had not would confirm from the email first.
        going = page.get_by_role("heading", level=1, name="You are going")
        if not going.is_visible():
            page.goto(link_in_mail(live_server, EMAIL, before + 1, "/rsvp/confirm/"))
            tab_to(page, "main form [type=submit]")
            page.keyboard.press("Enter")
        expect(going).to_be_visible()
    finally:
        context.close()
