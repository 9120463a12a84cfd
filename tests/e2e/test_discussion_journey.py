"""The discussion in Chromium: a supporter comments in Russian and confirms, a reader replies in
English, three readers flag the first comment, a moderator reviews and approves it.

Runs against the shared live server of conftest.py, whose demo campaign already has a few
comments; everything here finds its own comments by their text.
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
RUSSIAN_COMMENT = "Прекратите бомбить больницы и школы. Мы не молчим, и нас много."
ENGLISH_REPLY = "Agreed. I will bring this to my city council on Monday."


def comment_article(page: Page, text: str):
    return page.locator("article.comment").filter(has_text=text)


def post_comment(page: Page, name: str, email: str, body: str) -> None:
    page.locator("#comment-author_name").fill(name)
    page.locator("#comment-email").fill(email)
    page.locator("#comment-body").fill(body)
    page.locator("#comment-submit").click()


def confirm_from_email(page: Page, live_server, email: str) -> None:
    (message,) = live_server.mail.wait_for(email, timeout=15)
    (link,) = [link for link in message.links() if "/comments/confirm/" in link]
    page.goto(link)
    page.locator("form input[type=submit]").click()


def test_comment_reply_flag_and_moderate(browser, live_server, screenshot):
    def new_page(width: int = 1280) -> Page:
        context = browser.new_context(
            base_url=live_server.url, locale="en-US", viewport={"width": width, "height": 900}
        )
        context.set_default_timeout(10_000)
        return context.new_page()

    # A supporter, reading in Russian on a phone, comments and confirms by email.
    supporter = new_page(PHONE_WIDTH)
    supporter.goto(f"/ru/c/{SLUG}")
    supporter.locator("summary.comment-form__summary").click()
    counter = supporter.locator(".counter")
    expect(counter).to_be_visible()
    # The counter counts down as the supporter types, a line break as one character.
    limit = int(supporter.locator("#comment-body").get_attribute("maxlength"))
    supporter.locator("#comment-body").fill("Да\nнет")
    left = supporter.evaluate(f"new Intl.NumberFormat('ru').format({limit - 6})")
    expect(counter).to_contain_text(left)
    post_comment(supporter, "Ольга", "olga.e2e@example.org", RUSSIAN_COMMENT)
    expect(supporter.locator(".flash")).to_be_visible()
    expect(comment_article(supporter, RUSSIAN_COMMENT)).to_have_count(0)
    confirm_from_email(supporter, live_server, "olga.e2e@example.org")
    expect(supporter).to_have_url(re.compile(rf"/ru/c/{SLUG}(\?.*)?#comment-\d+$"))
    russian = comment_article(supporter, RUSSIAN_COMMENT)
    expect(russian).to_be_visible()
    expect(russian.locator(".tag", has_text="RU")).to_be_visible()
    widths = screenshot(supporter, "discussion-ru")
    assert widths["phone"] <= PHONE_WIDTH, f"discussion scrolls sideways: {widths}"

    # A reader in English replies to it.
    reader = new_page()
    reader.goto(f"/en/c/{SLUG}")
    comment_article(reader, RUSSIAN_COMMENT).get_by_role("link", name="Reply").click()
    expect(reader.get_by_role("heading", level=1)).to_have_text("Reply to Ольга")
    expect(reader.get_by_label("Comment", exact=True)).to_be_visible()
    post_comment(reader, "Sam", "sam.e2e@example.org", ENGLISH_REPLY)
    confirm_from_email(reader, live_server, "sam.e2e@example.org")
    thread = reader.locator("li.thread").filter(has_text=RUSSIAN_COMMENT)
    expect(thread.locator(".replies")).to_contain_text(ENGLISH_REPLY)
    expect(comment_article(reader, ENGLISH_REPLY).locator(".tag", has_text="EN")).to_be_visible()

    # Three readers, each in a session of their own, flag the Russian comment.
    for n in range(3):
        flagger = new_page()
        flagger.goto(f"/en/c/{SLUG}")
        comment_article(flagger, RUSSIAN_COMMENT).get_by_role("link", name="Report").click()
        flagger.get_by_label("Abuse or harassment").check()
        flagger.get_by_role("button", name="Report to moderators").click()
        expect(flagger.locator(".flash")).to_be_visible()
        if n < 2:
            expect(comment_article(flagger, RUSSIAN_COMMENT)).to_be_visible()
        flagger.context.close()

    # Hidden pending review; the reply stays in its thread.
    reader.goto(f"/en/c/{SLUG}")
    expect(comment_article(reader, RUSSIAN_COMMENT)).to_have_count(0)
    expect(reader.get_by_text("hidden while moderators review")).to_be_visible()
    expect(comment_article(reader, ENGLISH_REPLY)).to_be_visible()

    # The moderator finds it in the queue and approves it.
    moderator = new_page()
    moderator.goto("/admin/login")
    moderator.get_by_label("Email", exact=True).fill("organizer@example.org")
    moderator.get_by_label("Password", exact=True).fill("demo-organizer")
    moderator.get_by_role("button", name="Log in").click()
    moderator.goto(f"/admin/c/{SLUG}/comments?tab=flagged")
    item = moderator.locator(".queue-item").filter(has_text=RUSSIAN_COMMENT)
    expect(item).to_be_visible()
    expect(item).to_contain_text("Abuse or harassment")
    screenshot(moderator, "moderation-queue")
    item.get_by_role("button", name=re.compile("visible", re.I)).click()
    expect(moderator.locator(".flash")).to_be_visible()
    expect(moderator.locator(".queue-item").filter(has_text=RUSSIAN_COMMENT)).to_have_count(0)

    # Back for everyone.
    reader.goto(f"/en/c/{SLUG}")
    expect(comment_article(reader, RUSSIAN_COMMENT)).to_be_visible()
    for page in (supporter, reader, moderator):
        page.context.close()
