"""The discussion on the petition page, through the test client: post, confirm, reply, support,
flag, sort, filter, and the cheap defenses in front of it all."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaign.models import Comment, CommentPolicy, CommentStatus, OutboxMessage
from tests.conftest import test_config as config_for
from tests.factories import make_campaign, make_comment
from tests.test_public import (
    deliver_mail,
    path_of,
    sign_data,
    tag,
    text,
)

SLUG = "open-letter"
PAGE = f"/en/c/{SLUG}"


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug=SLUG, languages=("en", "ru"), title="Open letter on Aleppo")
    db.session.commit()
    return campaign


def comment_data(**overrides) -> dict[str, str]:
    data = {
        "comment-author_name": "Anna",
        "comment-email": "anna@example.org",
        "comment-body": "Stop the bombing of civilians, now and for good.",
        "comment-started": "",
    }
    data.update({f"comment-{key}": value for key, value in overrides.items()})
    return data


def post(client, path: str = PAGE, lang_path: str | None = None, **overrides):
    """Post the comment form the way a browser does: read the page, then send it back."""
    page_path = lang_path or PAGE
    html = client.get(page_path if "/reply" not in path else path).text
    started = tag(html, "input", name="comment-started")["value"]
    target = f"{path}/comments" if "/reply" not in path else path
    return client.post(target, data=comment_data(started=started, **overrides))


def confirm_link(mail, address: str) -> str:
    (message,) = mail.to(address)[-1:]
    links = [link for link in message.links() if "/comments/confirm/" in link]
    assert len(links) == 1, message.text
    return path_of(links[0])


def comments(db) -> list[Comment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Comment).order_by(Comment.id)))


def article(html: str, comment_id: int) -> str:
    match = re.search(rf'<article[^>]*id="comment-{comment_id}".*?</article>', html, re.S)
    assert match, f"comment {comment_id} is not on the page"
    return match.group(0)


# --- the page ---------------------------------------------------------------------------------


def test_the_petition_page_has_a_comment_form_with_visible_labels(client, campaign):
    html = client.get(PAGE).text
    assert re.search(r'<label for="comment-body">\s*Comment\s*</label>', html)
    textarea = tag(html, "textarea", id="comment-body")
    assert textarea["maxlength"] == "2000"
    assert textarea["data-counter"] == "Characters left: {count}"
    assert tag(html, "input", name="comment-website")["tabindex"] == "-1"
    assert "No comments yet" in text(html)


def test_discussion_off_shows_nothing_and_refuses_posts(client, campaign, db):
    campaign.comment_policy = CommentPolicy.OFF
    make_comment(campaign, body="Visible before discussion was turned off")
    db.session.commit()
    html = client.get(PAGE).text
    assert 'id="comments"' not in html
    assert "Visible before" not in html
    response = client.post(f"{PAGE}/comments", data=comment_data())
    assert response.status_code == 302
    assert len(comments(db)) == 1


def test_a_closed_campaign_shows_its_discussion_without_a_form(client, campaign, db):
    from campaign.models import CampaignStatus

    make_comment(campaign, body="Said while it was open")
    campaign.status = CampaignStatus.CLOSED
    db.session.commit()
    html = client.get(PAGE).text
    assert "Said while it was open" in html
    assert 'id="comment-body"' not in html
    assert "closed to new comments" in text(html)
    assert "/reply" not in html


# --- posting and confirming -------------------------------------------------------------------


def test_a_new_commenter_confirms_by_email_then_the_comment_is_public(
    app, client, campaign, db, mail
):
    response = post(client)
    assert response.status_code == 302
    assert path_of(response.location) == PAGE
    (comment,) = comments(db)
    assert comment.status == CommentStatus.UNCONFIRMED
    assert "Stop the bombing" not in client.get(PAGE).text

    deliver_mail(app, db)
    (message,) = mail.to("anna@example.org")
    assert "Please confirm your comment" in message.subject
    assert "Stop the bombing of civilians" in message.text
    path = confirm_link(mail, "anna@example.org")

    # Opening the link shows a button and publishes nothing (mail scanners open links).
    page = client.get(path)
    assert page.status_code == 200
    assert tag(page.text, "input", type="submit")["value"] == "Publish my comment"
    assert comments(db)[0].status == CommentStatus.UNCONFIRMED

    response = client.post(path)
    assert response.status_code == 302
    assert response.location.endswith(f"#comment-{comment.id}")
    html = client.get(PAGE).text
    assert "Stop the bombing of civilians" in article(html, comment.id)
    assert "1 comment" in text(html)
    # A second click changes nothing and still lands on the comment.
    assert client.post(path).status_code == 302
    assert comments(db)[0].status == CommentStatus.VISIBLE


def test_the_confirmation_email_is_in_the_language_of_the_page(app, client, campaign, db, mail):
    post(client, f"/ru/c/{SLUG}", lang_path=f"/ru/c/{SLUG}", body="Остановите бомбардировки!")
    deliver_mail(app, db)
    (message,) = mail.to("anna@example.org")
    assert message.subject.startswith("Подтвердите")
    assert confirm_link(mail, "anna@example.org").startswith(f"/ru/c/{SLUG}/comments/confirm/")


def test_a_bad_link_says_so(client, campaign):
    response = client.get(f"{PAGE}/comments/confirm/not-a-token")
    assert response.status_code == 404
    assert "does not work" in text(response.text)


def test_a_confirmed_signer_comments_without_a_second_confirmation(app, client, campaign, db, mail):
    client.post(PAGE, data=sign_data(email="signer@example.org"))
    deliver_mail(app, db)
    (message,) = mail.to("signer@example.org")
    (link,) = [link for link in message.links() if "/confirm/" in link]
    assert client.post(path_of(link)).status_code == 302

    response = post(client, email="Signer@Example.org", body="I signed, and here is why.")
    assert response.status_code == 302
    (comment,) = [c for c in comments(db) if c.signature_id is None]
    assert comment.status == CommentStatus.VISIBLE
    assert response.location.endswith(f"#comment-{comment.id}")
    deliver_mail(app, db)
    assert [m.subject for m in mail.to("signer@example.org") if "comment" in m.subject] == []

    # Another browser typing the same address is not trusted.
    other = app.test_client()
    post(other, email="signer@example.org", body="Someone else typing the signer's address.")
    assert comments(db)[-1].status == CommentStatus.UNCONFIRMED


def test_a_signers_reason_joins_the_discussion_once_confirmed(app, client, campaign, db, mail):
    client.post(PAGE, data=sign_data(email="why@example.org", reason="My family lived in Aleppo."))
    assert "My family lived in Aleppo" not in client.get(PAGE).text
    deliver_mail(app, db)
    (message,) = mail.to("why@example.org")
    (link,) = [link for link in message.links() if "/confirm/" in link]
    client.post(path_of(link))
    html = client.get(PAGE).text
    (comment,) = comments(db)
    assert "My family lived in Aleppo." in article(html, comment.id)
    assert "signed" in text(article(html, comment.id))


def test_pre_moderated_comments_wait_for_a_moderator(client, campaign, db, app, mail):
    campaign.comment_policy = CommentPolicy.PRE_MODERATED
    db.session.commit()
    post(client)
    deliver_mail(app, db)
    response = client.post(confirm_link(mail, "anna@example.org"), follow_redirects=True)
    assert "once a moderator has approved it" in response.text
    assert comments(db)[0].status == CommentStatus.PENDING
    assert "Stop the bombing" not in client.get(PAGE).text


# --- validation and defenses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"author_name": ""}, "comment-author_name", "Enter your name."),
        ({"email": "not-an-address"}, "comment-email", "Enter an email address like"),
        ({"body": "   "}, "comment-body", "Write your comment."),
        ({"body": "x" * 2001}, "comment-body", "2000 characters"),
        (
            {"body": "See https://a.example and https://b.example and https://c.example"},
            "comment-body",
            "at most 2",
        ),
    ],
)
def test_invalid_comments_come_back_with_a_message_and_what_was_typed(
    client, campaign, db, overrides, field, message
):
    response = post(client, **{"body": "Keep this text please.", **overrides})
    assert response.status_code == 422
    html = response.text
    assert tag(html, id=field)["aria-invalid"] == "true"
    error = re.search(rf'id="{field}-error"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert message in text(error)
    if "body" not in overrides:
        assert "Keep this text please." in html
    assert tag(html, "details", class_="card comment-form").get("open") is not None
    assert comments(db) == []
    # The language links of the re-rendered page point at the petition, not at the POST URL.
    assert tag(html, "link", hreflang="ru")["href"].endswith(f"/ru/c/{SLUG}")


def test_a_form_sent_back_too_quickly_is_refused_kindly(app, client, campaign, db):
    app.config["COMMENT_MIN_SECONDS"] = 60
    response = post(client, body="Typed at the speed of a script.")
    assert response.status_code == 422
    assert "That was quick" in text(response.text)
    assert "Typed at the speed of a script." in response.text
    assert comments(db) == []


def test_a_form_without_a_genuine_start_time_is_refused(app, client, campaign, db):
    app.config["COMMENT_MIN_SECONDS"] = 1
    response = client.post(f"{PAGE}/comments", data=comment_data(started="forged"))
    assert response.status_code == 422
    assert comments(db) == []


def test_the_spam_trap_swallows_the_comment_silently(client, campaign, db, app, mail):
    response = post(client, website="http://spam.example")
    assert response.status_code == 302
    assert comments(db) == []
    deliver_mail(app, db)
    assert mail.sent == []


def test_the_same_text_twice_is_refused_once_published(client, campaign, db):
    assert post(client).status_code == 302
    # Not confirmed yet: the same words again send the link again, and add nothing.
    assert post(client).status_code == 302
    assert len(comments(db)) == 1
    assert db.session.scalars(select(OutboxMessage.kind)).all() == ["comment_confirmation"] * 2
    comments(db)[0].status = CommentStatus.VISIBLE
    db.session.commit()
    response = post(client)
    assert response.status_code == 422
    assert "already been posted" in text(response.text)
    assert len(comments(db)) == 1


def test_a_blocked_address_cannot_comment(client, campaign, db):
    from campaign.models import CommentBlock

    db.session.add(CommentBlock(campaign_id=campaign.id, email_key="anna@example.org"))
    db.session.commit()
    response = post(client, email="Anna+news@example.org")
    assert response.status_code == 422
    assert "may not comment" in text(response.text)
    assert comments(db) == []


def test_posting_is_rate_limited_per_address(database_url, sendgrid, db, campaign):
    from campaign import create_app

    app = create_app(
        config_for(
            database_url, sendgrid, RATELIMIT_ENABLED=True, COMMENT_RATE_LIMIT="2 per minute"
        )
    )
    client = app.test_client()
    statuses = [
        post(client, body=f"Comment number {n} about the appeal.").status_code for n in range(3)
    ]
    assert statuses == [302, 302, 429]


def test_comment_text_is_escaped_and_links_are_nofollow(client, campaign, db):
    comment = make_comment(
        campaign, body='<script>alert("x")</script>\nRead https://example.org/report now.'
    )
    db.session.commit()
    html = article(client.get(PAGE).text, comment.id)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<br>" in html
    link = tag(html, "a", href="https://example.org/report")
    assert link["rel"] == "nofollow ugc noopener"


# --- replies ----------------------------------------------------------------------------------


def test_a_reply_to_a_reply_joins_the_thread_and_quotes_whom_it_answers(client, campaign, db):
    top = make_comment(
        campaign, author_name="Olga", body="Остановите бомбардировки.", language="ru"
    )
    first = make_comment(campaign, reply_to=top, author_name="Jean", body="D'accord avec toi.")
    db.session.commit()

    page = client.get(f"{PAGE}/comments/{first.id}/reply")
    assert page.status_code == 200
    assert "Reply to Jean" in text(page.text)
    response = post(
        client, f"{PAGE}/comments/{first.id}/reply", email="sam@example.org", body="And I agree."
    )
    assert response.status_code == 302
    reply = comments(db)[-1]
    assert reply.parent_id == top.id
    assert reply.reply_to_id == first.id

    reply.status = CommentStatus.VISIBLE
    db.session.commit()
    html = article(client.get(PAGE).text, reply.id)
    assert "replying to Jean" in text(html)
    assert "D&#39;accord avec toi." in html or "D'accord avec toi." in html


def test_reply_is_offered_only_where_the_model_accepts_one(client, campaign, db):
    visible = make_comment(campaign, body="Visible comment")
    hidden = make_comment(campaign, body="Hidden comment", status=CommentStatus.HIDDEN)
    make_comment(campaign, reply_to=hidden, body="A reply that stays")
    db.session.commit()
    html = client.get(PAGE).text
    assert f"/comments/{visible.id}/reply" in html
    assert f"/comments/{hidden.id}/reply" not in html
    assert "hidden by a moderator" in text(article(html, hidden.id))
    assert "Hidden comment" not in html
    assert "A reply that stays" in html

    # Going there anyway: back to the discussion, and a post is refused with a message.
    response = client.get(f"{PAGE}/comments/{hidden.id}/reply")
    assert response.status_code == 302
    assert response.location.endswith(f"#comment-{hidden.id}")
    response = client.post(
        f"{PAGE}/comments/{hidden.id}/reply", data=comment_data(), follow_redirects=True
    )
    assert "can no longer be answered" in text(response.text)
    assert len(comments(db)) == 3


# --- support and flags ------------------------------------------------------------------------


def test_support_is_once_per_reader_and_can_be_taken_back(app, client, campaign, db):
    comment = make_comment(campaign)
    db.session.commit()
    url = f"{PAGE}/comments/{comment.id}/support"
    client.post(url)
    html = article(client.get(PAGE).text, comment.id)
    assert tag(html, "button", aria_pressed="true")
    assert "Supported · 1" in text(html)

    other = app.test_client()
    other.post(url)
    assert comments(db)[0].support_count == 2

    client.post(url)  # the same button takes it back
    assert comments(db)[0].support_count == 1
    assert "Support · 1" in text(article(client.get(PAGE).text, comment.id))


def test_three_readers_flagging_hide_the_comment_pending_review(app, client, campaign, db):
    comment = make_comment(campaign, body="A call for violence")
    db.session.commit()
    page = client.get(f"{PAGE}/comments/{comment.id}/flag")
    assert "Incitement to violence" in page.text

    # Without a reason: the form says so.
    response = client.post(f"{PAGE}/comments/{comment.id}/flag", data={})
    assert response.status_code == 422
    assert "Choose a reason." in text(response.text)

    readers = [client, app.test_client(), app.test_client()]
    for n, reader in enumerate(readers):
        response = reader.post(f"{PAGE}/comments/{comment.id}/flag", data={"reason": "violence"})
        assert response.status_code == 302
        if n < 2:
            assert comments(db)[0].status == CommentStatus.VISIBLE
    # The same reader again counts once.
    client.post(f"{PAGE}/comments/{comment.id}/flag", data={"reason": "violence"})
    (flagged,) = comments(db)
    assert flagged.status == CommentStatus.HIDDEN
    assert flagged.flag_count == 3
    html = client.get(PAGE).text
    assert "A call for violence" not in html
    assert "while moderators review" in text(article(html, comment.id))


def test_a_reader_sees_that_they_reported_a_comment(client, campaign, db):
    comment = make_comment(campaign)
    db.session.commit()
    client.post(f"{PAGE}/comments/{comment.id}/flag", data={"reason": "spam"})
    assert "You reported this comment." in text(article(client.get(PAGE).text, comment.id))


def test_comments_of_another_campaign_are_not_found_here(client, campaign, db):
    other = make_campaign(slug="other-campaign")
    foreign = make_comment(other)
    db.session.commit()
    for url in ("support", "flag", "reply"):
        assert client.post(f"{PAGE}/comments/{foreign.id}/{url}").status_code == 404


# --- reading the discussion -------------------------------------------------------------------


def test_sorting_by_support_and_filtering_by_language(client, campaign, db):
    old_popular = make_comment(campaign, body="Popular English comment", support_count=5)
    make_comment(campaign, body="Свежий русский комментарий", language="ru")
    db.session.commit()

    newest = text(client.get(PAGE).text)
    assert newest.index("Свежий") < newest.index("Popular English")
    supported = text(client.get(f"{PAGE}?sort=supported").text)
    assert supported.index("Popular English") < supported.index("Свежий")

    russian = client.get(f"/ru/c/{SLUG}?show=mine").text
    assert "Свежий русский комментарий" in russian
    assert "Popular English comment" not in russian
    assert tag(article(client.get(PAGE).text, old_popular.id), "span", class_="tag")["lang"] == "en"


def test_comments_are_paginated_without_javascript(app, client, campaign, db):
    app.config["COMMENTS_PER_PAGE"] = 2
    for n in range(5):
        make_comment(campaign, body=f"Numbered comment {n}")
    db.session.commit()
    first = client.get(PAGE).text
    assert "Page 1 of 3" in text(first)
    next_link = tag(first, "a", rel="next")["href"]
    assert "page=2" in next_link
    assert next_link.endswith("#comments")
    third = client.get(f"{PAGE}?page=3").text
    assert "Numbered comment 0" in third
    assert "Numbered comment 4" not in third
    # Out of range pages show the last one rather than nothing.
    assert "Numbered comment 0" in client.get(f"{PAGE}?page=99").text


def test_the_queued_email_row_is_the_only_trace_of_an_unconfirmed_comment(client, campaign, db):
    post(client)
    assert db.session.scalars(select(OutboxMessage.kind)).all() == ["comment_confirmation"]


def test_the_flag_threshold_is_configurable(app, client, campaign, db):
    app.config["COMMENT_FLAG_THRESHOLD"] = 2
    comment = make_comment(campaign)
    db.session.commit()
    for reader in (client, app.test_client()):
        reader.post(f"{PAGE}/comments/{comment.id}/flag", data={"reason": "spam"})
    assert comments(db)[0].status == CommentStatus.HIDDEN


def test_line_breaks_count_once_as_the_counter_counts_them(app, client, campaign, db, mail):
    # Browsers send each line break as CR LF; the counter and maxlength count it as one.
    app.config["COMMENT_MAX_LENGTH"] = 40
    body = "\r\n".join(["Stop the bombing."] * 2) + "\r\nNow!"  # 17 + 1 + 17 + 1 + 4 = 40
    response = post(client, body=body)
    assert response.status_code == 302, text(response.text)
    assert comments(db)[0].body == "Stop the bombing.\nStop the bombing.\nNow!"
    too_long = post(client, body=body + "!", email="other@example.org")
    assert too_long.status_code == 422
