"""The discussion under a petition: posting, confirming, replying, supporting, flagging, listing
(campaign/services/comments.py).

Every test here runs on SQLite and on PostgreSQL (the `app` fixture is parametrized).
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from campaign.models import (
    Campaign,
    CampaignStatus,
    Comment,
    CommentBlock,
    CommentFlag,
    CommentPolicy,
    CommentStatus,
    CommentSupport,
    FlagReason,
    OutboxMessage,
    Signature,
)
from campaign.models.types import utcnow
from campaign.services import moderation, signing
from campaign.services.comments import (
    CONFIRM_PURPOSE,
    DUPLICATE_MIN_LENGTH,
    UNKNOWN,
    CommentData,
    CommentRules,
    SortOrder,
    accepts_comments,
    body_hash,
    can_reply,
    comment_for_token,
    confirm_comment,
    confirmation_token,
    discussion,
    flag_comment,
    flagged_by,
    normalized_body,
    post_comment,
    reader_reference,
    shown_comment,
    shown_count,
    shows_comments,
    supported_by,
    toggle_support,
)
from campaign.services.email_addresses import mailbox_digest, mailbox_key
from campaign.services.errors import (
    CannotReply,
    CommentNotFound,
    CommentRejected,
    CommentsClosed,
    InvalidEmail,
    InvalidToken,
    TokenExpired,
)
from campaign.services.signing import SignatureData
from campaign.services.tokens import make_token
from tests.factories import add_member, make_campaign, make_comment, make_organizer

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
RULES = CommentRules(max_length=300, max_links=2, per_email_per_hour=5, flag_threshold=3)
ENGLISH = "I signed because my family lives there and they are scared every night."
RUSSIAN = "Я подписал, потому что моя семья живёт там и им страшно каждую ночь."

_bodies = iter(range(1, 1_000_000))


def _campaign(**kw) -> Campaign:
    kw.setdefault("languages", ("en", "ru"))
    return make_campaign(**kw)


def _body() -> str:
    """A body no other comment in the test has."""
    return f"Distinct comment number {next(_bodies)} about the campaign."


def _data(email: str = "alice@example.org", body: str | None = None, name: str = "Alice"):
    return CommentData(author_name=name, email=email, body=body if body is not None else _body())


def _known(*emails: str) -> list[str]:
    """What a session that proved these mailboxes carries."""
    return [mailbox_digest(mailbox_key(email)) for email in emails]


def _post(db, campaign, data=None, *, trusted: bool = True, language: str = "en", **kw):
    """Post as a reader whose mailbox is already known (no email), unless `trusted=False`."""
    data = data or _data()
    known = _known(data.email) if trusted else ()
    kw.setdefault("rules", RULES)
    return post_comment(
        db.session, campaign, data, ui_language=language, known_mailboxes=known, **kw
    )


def _comments(db) -> list[Comment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Comment).order_by(Comment.id)))


def _outbox(db) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _token_in(message: OutboxMessage) -> str:
    match = re.search(r"/comments/confirm/([A-Za-z0-9_.\-]+)", message.text_body)
    assert match, message.text_body
    return match.group(1)


def _reload(db, comment: Comment) -> Comment:
    db.session.expire_all()
    return db.session.get(Comment, comment.id)


def _moderator(campaign):
    organizer = make_organizer()
    add_member(campaign, organizer, "moderator")
    return organizer


# Reading the rules


def test_discussion_is_post_moderated_unless_told_otherwise(db):
    campaign = _campaign()
    db.session.commit()
    db.session.expire_all()
    assert campaign.comment_policy == CommentPolicy.POST_MODERATED


@pytest.mark.parametrize(
    ("policy", "status", "accepts", "shows"),
    [
        (CommentPolicy.POST_MODERATED, CampaignStatus.OPEN, True, True),
        (CommentPolicy.PRE_MODERATED, CampaignStatus.OPEN, True, True),
        (CommentPolicy.OFF, CampaignStatus.OPEN, False, False),
        (CommentPolicy.POST_MODERATED, CampaignStatus.CLOSED, False, True),
        (CommentPolicy.POST_MODERATED, CampaignStatus.ARCHIVED, False, True),
        (CommentPolicy.POST_MODERATED, CampaignStatus.DRAFT, False, True),
    ],
)
def test_accepts_and_shows_comments(db, policy, status, accepts, shows):
    campaign = _campaign(status=status)
    campaign.comment_policy = policy
    assert accepts_comments(campaign) is accepts
    assert shows_comments(campaign) is shows


def test_normalized_body_trims_and_limits_blank_lines():
    body = "  \r\n Hello,  \r\nworld \r\r\n\n\n\n\nBye \n\n  "
    assert normalized_body(body) == "Hello,\nworld\n\nBye"


def test_body_hash_ignores_case_and_spacing_only():
    assert body_hash("Stop  the\nBombing") == body_hash("stop the bombing")
    assert body_hash("STRASSE") == body_hash("straße")
    assert body_hash("stop the bombing") != body_hash("stop the bombing!")


# Posting


def test_trusted_mailbox_is_published_at_once_without_email(db):
    campaign = _campaign()
    result = _post(db, campaign, _data(body=ENGLISH))
    db.session.commit()
    assert result.needs_confirmation is False
    [comment] = _comments(db)
    assert comment.id == result.comment.id
    assert comment.status == CommentStatus.VISIBLE
    assert comment.confirmed_at is not None
    assert comment.parent_id is None
    assert comment.reply_to_id is None
    assert comment.signature_id is None
    assert _outbox(db) == []


def test_post_stores_what_was_typed_normalized(db):
    campaign = _campaign()
    data = CommentData(
        author_name="  Alice   de  Paris ",
        email="Alice.Smith+news@Example.ORG",
        body="  First line   \r\nsecond line\r\n\r\n\r\n\r\nlast  ",
    )
    _post(db, campaign, data)
    db.session.commit()
    [comment] = _comments(db)
    assert comment.author_name == "Alice de Paris"
    assert comment.email == "Alice.Smith+news@example.org"
    assert comment.email_key == "alice.smith@example.org"
    assert comment.body == "First line\nsecond line\n\nlast"
    assert comment.body_hash == body_hash(comment.body)
    assert comment.campaign_id == campaign.id


def test_author_name_is_cut_to_the_column(db):
    campaign = _campaign()
    _post(db, campaign, _data(name="N" * 500))
    db.session.commit()
    assert _comments(db)[0].author_name == "N" * 120


@pytest.mark.parametrize(
    ("body", "language"),
    [
        (ENGLISH, "en"),
        (RUSSIAN, "ru"),
        ("Yes!", UNKNOWN),
        ("Arrêtez les bombardements des civils maintenant", UNKNOWN),
    ],
)
def test_language_is_detected_among_the_site_languages(db, body, language):
    campaign = _campaign()
    _post(db, campaign, _data(body=body))
    db.session.commit()
    assert _comments(db)[0].language == language


def test_post_is_timestamped_with_now(db):
    campaign = _campaign()
    then = utcnow() - timedelta(days=3)
    _post(db, campaign, now=then)
    db.session.commit()
    [comment] = _comments(db)
    assert comment.created_at == then
    assert comment.confirmed_at == then


def test_unknown_mailbox_waits_for_its_link(db):
    campaign = _campaign()
    result = _post(db, campaign, _data("bob@example.org", name="Bob"), trusted=False)
    db.session.commit()
    assert result.needs_confirmation is True
    [comment] = _comments(db)
    assert comment.status == CommentStatus.UNCONFIRMED
    assert comment.confirmed_at is None
    [message] = _outbox(db)
    assert message.kind == "comment_confirmation"
    assert message.to_email == "bob@example.org"
    assert message.to_name == "Bob"
    assert message.language == "en"


def test_a_session_that_proved_another_mailbox_is_not_trusted_for_this_one(db):
    campaign = _campaign()
    result = post_comment(
        db.session,
        campaign,
        _data("mallory@example.org"),
        ui_language="en",
        rules=RULES,
        known_mailboxes=_known("alice@example.org"),
    )
    assert result.needs_confirmation is True
    assert result.comment.status == CommentStatus.UNCONFIRMED


def test_a_proved_mailbox_is_trusted_however_the_address_is_spelled(db):
    campaign = _campaign()
    result = post_comment(
        db.session,
        campaign,
        _data("A.lice+comments@googlemail.com"),
        ui_language="en",
        rules=RULES,
        known_mailboxes=["0" * 16, *_known("alice@gmail.com")],
    )
    assert result.needs_confirmation is False
    assert result.comment.status == CommentStatus.VISIBLE


def test_confirmation_email_shows_the_comment_and_links_to_its_confirmation(db):
    campaign = _campaign(slug="water")
    _post(db, campaign, _data(body="My <b>words</b> & more"), trusted=False)
    [message] = _outbox(db)
    assert campaign.translation("en").title in message.subject
    assert "http://campaign.test/en/c/water/comments/confirm/" in message.text_body
    assert "http://campaign.test/en/c/water/comments/confirm/" in message.html_body
    assert "My <b>words</b> & more" in message.text_body
    # The HTML part escapes what the reader typed.
    assert "<b>words</b>" not in message.html_body
    assert "&lt;b&gt;words&lt;/b&gt;" in message.html_body


def test_confirmation_email_is_in_the_commenters_language(db):
    campaign = _campaign(slug="water", languages=("en", "ru"))
    _post(db, campaign, _data(), trusted=False, language="ru")
    [message] = _outbox(db)
    assert message.language == "ru"
    assert campaign.translation("ru").title in message.subject
    assert campaign.translation("en").title not in message.subject
    assert "http://campaign.test/ru/c/water/comments/confirm/" in message.text_body


def test_russian_confirmation_email_is_translated(db):
    # Same title in both languages, so any difference comes from the message catalog.
    campaign = _campaign(languages=("en", "ru"), title="Aleppo")
    _post(db, campaign, _data("en@example.org"), trusted=False, language="en")
    _post(db, campaign, _data("ru@example.org"), trusted=False, language="ru")
    en, ru = _outbox(db)
    assert ru.subject != en.subject
    assert CYRILLIC.search(ru.subject), ru.subject
    assert CYRILLIC.search(ru.text_body), ru.text_body
    assert not CYRILLIC.search(en.subject)


def test_rolled_back_comment_leaves_no_email(db):
    campaign = _campaign()
    db.session.commit()
    _post(db, campaign, trusted=False)
    db.session.rollback()
    assert _comments(db) == []
    assert _outbox(db) == []


def test_pre_moderated_comment_from_a_trusted_mailbox_waits_for_a_moderator(db):
    campaign = _campaign()
    campaign.comment_policy = CommentPolicy.PRE_MODERATED
    result = _post(db, campaign)
    db.session.commit()
    assert result.needs_confirmation is False
    [comment] = _comments(db)
    assert comment.status == CommentStatus.PENDING
    assert comment.confirmed_at is not None


def test_pre_moderated_comment_is_pending_once_confirmed(db):
    campaign = _campaign()
    campaign.comment_policy = CommentPolicy.PRE_MODERATED
    _post(db, campaign, trusted=False)
    db.session.commit()
    [message] = _outbox(db)
    comment = confirm_comment(db.session, campaign, _token_in(message))
    db.session.commit()
    assert comment.status == CommentStatus.PENDING
    assert _comments(db)[0].status == CommentStatus.PENDING
    assert discussion(db.session, campaign).threads == []


def test_discussion_turned_off_takes_no_comments(db):
    campaign = _campaign()
    campaign.comment_policy = CommentPolicy.OFF
    with pytest.raises(CommentsClosed):
        _post(db, campaign)
    assert _comments(db) == []
    assert _outbox(db) == []


@pytest.mark.parametrize(
    "status", [CampaignStatus.CLOSED, CampaignStatus.ARCHIVED, CampaignStatus.DRAFT]
)
def test_a_campaign_that_is_not_open_takes_no_comments(db, status):
    campaign = _campaign(status=status)
    with pytest.raises(CommentsClosed):
        _post(db, campaign, trusted=False)
    assert _comments(db) == []
    assert _outbox(db) == []


@pytest.mark.parametrize("email", ["", "alice", "alice@", "alice@localhost", "al ice@example.org"])
def test_invalid_email_is_refused(db, email):
    campaign = _campaign()
    with pytest.raises(InvalidEmail):
        _post(db, campaign, _data(email), trusted=False)
    assert _comments(db) == []
    assert _outbox(db) == []


# Rejections: every reason


def _rejected(db, campaign, data, **kw) -> CommentRejected:
    db.session.commit()  # what the test set up stays when the rejection is rolled back
    comments, messages = len(_comments(db)), len(_outbox(db))
    with pytest.raises(CommentRejected) as excinfo:
        _post(db, campaign, data, trusted=False, **kw)
    # Refused before anything was written, not even for the caller to roll back.
    assert len(_comments(db)) == comments
    assert len(_outbox(db)) == messages
    db.session.rollback()
    return excinfo.value


@pytest.mark.parametrize("body", ["", "   ", "\n\n\r\n", " \t \n "])
def test_empty_body_is_rejected(db, body):
    campaign = _campaign()
    assert _rejected(db, campaign, _data(body=body)).reason == "empty"


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_empty_name_is_rejected(db, name):
    campaign = _campaign()
    assert _rejected(db, campaign, _data(name=name)).reason == "empty_name"


def test_too_long_body_is_rejected_with_the_limit(db):
    campaign = _campaign()
    rules = CommentRules(max_length=50)
    error = _rejected(db, campaign, _data(body="x" * 51), rules=rules)
    assert error.reason == "too_long"
    assert error.details == {"limit": 50}


def test_body_at_the_limit_is_accepted(db):
    campaign = _campaign()
    rules = CommentRules(max_length=50)
    _post(db, campaign, _data(body="x" * 50), rules=rules)
    assert len(_comments(db)) == 1


def test_length_is_counted_after_trimming(db):
    campaign = _campaign()
    rules = CommentRules(max_length=50)
    _post(db, campaign, _data(body="\n\n   " + "x" * 50 + "   \n\n"), rules=rules)
    assert _comments(db)[0].body == "x" * 50


def test_too_many_links_are_rejected_with_the_limit(db):
    campaign = _campaign()
    body = "See https://a.example and www.b.example and http://c.example."
    error = _rejected(db, campaign, _data(body=body))
    assert error.reason == "too_many_links"
    assert error.details == {"limit": 2}


def test_links_up_to_the_limit_are_accepted(db):
    campaign = _campaign()
    _post(db, campaign, _data(body="See https://a.example and www.b.example."))
    assert len(_comments(db)) == 1


def test_no_links_at_all_when_the_limit_is_zero(db):
    campaign = _campaign()
    rules = CommentRules(max_links=0)
    assert _rejected(db, campaign, _data(body="www.a.example"), rules=rules).reason == (
        "too_many_links"
    )


def test_blocked_mailbox_is_rejected_however_it_is_spelled(db):
    campaign = _campaign()
    db.session.add(CommentBlock(campaign_id=campaign.id, email_key="alice@gmail.com"))
    db.session.flush()
    error = _rejected(db, campaign, _data("A.Lice+x@googlemail.com"))
    assert error.reason == "blocked"


def test_a_block_on_another_campaign_does_not_apply(db):
    campaign, other = _campaign(), _campaign()
    db.session.add(CommentBlock(campaign_id=other.id, email_key="alice@example.org"))
    db.session.flush()
    _post(db, campaign, _data("alice@example.org"))
    assert len(_comments(db)) == 1


def test_blocked_is_told_before_duplicate_or_limits(db):
    campaign = _campaign()
    make_comment(campaign, email="alice@example.org", body=ENGLISH)
    db.session.add(CommentBlock(campaign_id=campaign.id, email_key="alice@example.org"))
    db.session.flush()
    assert _rejected(db, campaign, _data(body=ENGLISH)).reason == "blocked"


# Duplicates


def test_same_author_cannot_repeat_a_text_even_years_later(db):
    campaign = _campaign()
    _post(db, campaign, _data(body="Shame!"), now=utcnow() - timedelta(days=800))
    db.session.commit()
    assert _rejected(db, campaign, _data(body="Shame!")).reason == "duplicate"


def test_duplicate_ignores_case_and_spacing(db):
    campaign = _campaign()
    _post(db, campaign, _data(body="Stop the bombing now"))
    db.session.commit()
    error = _rejected(db, campaign, _data(body="  STOP   the\nbombing NOW "))
    assert error.reason == "duplicate"


def test_same_author_is_recognized_under_another_spelling(db):
    campaign = _campaign()
    _post(db, campaign, _data("alice@gmail.com", body="Shame!"))
    db.session.commit()
    error = _rejected(db, campaign, _data("a.lice+again@googlemail.com", body="Shame!"))
    assert error.reason == "duplicate"


def test_same_author_repeating_an_unconfirmed_text_gets_the_link_again(db):
    campaign = _campaign()
    first = _post(db, campaign, _data(body="Shame!"), trusted=False).comment
    db.session.commit()
    again = _post(db, campaign, _data(body="  shame! "), trusted=False)
    db.session.commit()
    assert again.needs_confirmation
    assert again.comment.id == first.id
    assert len(_comments(db)) == 1
    assert [m.kind for m in _outbox(db)] == ["comment_confirmation"] * 2
    # Once confirmed, the same words again are a duplicate.
    first.status = CommentStatus.VISIBLE
    db.session.commit()
    assert _rejected(db, campaign, _data(body="Shame!")).reason == "duplicate"


def test_short_texts_may_be_said_by_many(db):
    campaign = _campaign()
    text = "Stop the bombing now, please!"
    assert len(text) == DUPLICATE_MIN_LENGTH - 1
    for n in range(3):
        _post(db, campaign, _data(f"person{n}@example.org", body=text))
    db.session.commit()
    assert len(_comments(db)) == 3


def test_long_text_by_another_author_within_a_day_is_a_duplicate(db):
    campaign = _campaign()
    text = "Stop the bombing now, please!!"
    assert len(text) == DUPLICATE_MIN_LENGTH
    now = utcnow()
    _post(db, campaign, _data("alice@example.org", body=text), now=now - timedelta(hours=23))
    db.session.commit()
    error = _rejected(db, campaign, _data("bob@example.org", body=text), now=now)
    assert error.reason == "duplicate"


def test_long_text_by_another_author_after_a_day_is_accepted(db):
    campaign = _campaign()
    now = utcnow()
    _post(db, campaign, _data("alice@example.org", body=ENGLISH), now=now - timedelta(hours=25))
    _post(db, campaign, _data("bob@example.org", body=ENGLISH), now=now)
    db.session.commit()
    assert [c.email for c in _comments(db)] == ["alice@example.org", "bob@example.org"]


def test_long_text_by_the_same_author_after_a_day_is_still_a_duplicate(db):
    campaign = _campaign()
    now = utcnow()
    _post(db, campaign, _data(body=ENGLISH), now=now - timedelta(days=2))
    db.session.commit()
    assert _rejected(db, campaign, _data(body=ENGLISH), now=now).reason == "duplicate"


def test_a_removed_comment_does_not_count_as_a_duplicate(db):
    campaign = _campaign()
    make_comment(campaign, email="alice@example.org", body=ENGLISH, status=CommentStatus.REMOVED)
    make_comment(campaign, email="carol@example.org", body=ENGLISH, status=CommentStatus.REMOVED)
    _post(db, campaign, _data("alice@example.org", body=ENGLISH))
    assert len(_comments(db)) == 3


@pytest.mark.parametrize(
    "status", [CommentStatus.HIDDEN, CommentStatus.PENDING, CommentStatus.UNCONFIRMED]
)
def test_hidden_pending_and_unconfirmed_texts_count_as_duplicates(db, status):
    campaign = _campaign()
    make_comment(campaign, email="carol@example.org", body=ENGLISH, status=status)
    assert _rejected(db, campaign, _data(body=ENGLISH)).reason == "duplicate"


def test_the_same_text_on_another_campaign_is_no_duplicate(db):
    campaign, other = _campaign(), _campaign()
    _post(db, other, _data(body=ENGLISH))
    _post(db, campaign, _data(body=ENGLISH))
    assert len(_comments(db)) == 2


def test_a_signers_reason_counts_for_duplicates(db):
    campaign = _campaign()
    signature = signing.sign(
        db.session,
        campaign,
        SignatureData(
            email="sam@example.org",
            full_name="Sam Signer",
            country="FR",
            reason=ENGLISH,
            is_public=True,
        ),
        "en",
    ).signature
    signing.confirm(db.session, signing.confirmation_token(signature))
    db.session.commit()
    assert _rejected(db, campaign, _data("bob@example.org", body=ENGLISH)).reason == "duplicate"


# The hourly limit per mailbox


def test_hourly_limit_per_mailbox(db):
    campaign = _campaign()
    start = utcnow() - timedelta(hours=3)
    for minute in range(5):
        _post(db, campaign, now=start + timedelta(minutes=minute))
    db.session.commit()
    error = _rejected(db, campaign, _data(), now=start + timedelta(minutes=30))
    assert error.reason == "too_many"
    assert error.details == {"limit": 5}


def test_hourly_limit_counts_the_last_hour_only(db):
    campaign = _campaign()
    start = utcnow() - timedelta(hours=3)
    for minute in range(5):
        _post(db, campaign, now=start + timedelta(minutes=minute))
    db.session.commit()
    # Half a minute after the first one's hour, it no longer counts; the other four still do.
    _post(db, campaign, now=start + timedelta(minutes=60, seconds=30))
    db.session.commit()
    error = _rejected(db, campaign, _data(), now=start + timedelta(minutes=60, seconds=45))
    assert error.reason == "too_many"
    # Once the second one's hour is over too, there is room again.
    _post(db, campaign, now=start + timedelta(minutes=61, seconds=30))
    assert len(_comments(db)) == 7


def test_hourly_limit_counts_the_mailbox_not_the_spelling(db):
    campaign = _campaign()
    now = utcnow()
    for n in range(5):
        _post(db, campaign, _data(f"alice+{n}@example.org"), now=now)
    assert _rejected(db, campaign, _data("ALICE@example.org"), now=now).reason == "too_many"


def test_hourly_limit_counts_unconfirmed_and_removed_comments(db):
    campaign = _campaign()
    now = utcnow()
    for _n in range(3):
        _post(db, campaign, trusted=False, now=now)
    for comment in _comments(db)[:2]:
        comment.status = CommentStatus.REMOVED
    _post(db, campaign, now=now)
    _post(db, campaign, now=now)
    assert _rejected(db, campaign, _data(), now=now).reason == "too_many"


def test_hourly_limit_is_per_mailbox_and_per_campaign(db):
    campaign, other = _campaign(), _campaign()
    now = utcnow()
    for _n in range(5):
        _post(db, campaign, now=now)
    _post(db, campaign, _data("bob@example.org"), now=now)
    _post(db, other, _data("alice@example.org"), now=now)
    assert len(_comments(db)) == 7


# Replies


def test_reply_to_a_top_level_comment(db):
    campaign = _campaign()
    top = make_comment(campaign)
    reply = _post(db, campaign, reply_to=top).comment
    db.session.commit()
    assert reply.parent_id == top.id
    assert reply.reply_to_id == top.id
    assert reply.is_reply


def test_reply_to_a_reply_joins_the_top_level_thread(db):
    campaign = _campaign()
    top = make_comment(campaign)
    first = make_comment(campaign, reply_to=top)
    second = _post(db, campaign, reply_to=first).comment
    db.session.commit()
    second = _reload(db, second)
    assert second.parent_id == top.id
    assert second.reply_to_id == first.id
    assert second.reply_to.id == first.id
    [thread] = discussion(db.session, campaign).threads
    assert [c.id for c in thread.replies] == [first.id, second.id]


def test_reply_to_a_visible_reply_in_a_hidden_thread(db):
    # Hidden comments keep their place and their replies; the conversation may go on.
    campaign = _campaign()
    top = make_comment(campaign, status=CommentStatus.HIDDEN)
    first = make_comment(campaign, reply_to=top)
    reply = _post(db, campaign, reply_to=first).comment
    assert (reply.parent_id, reply.reply_to_id) == (top.id, first.id)


@pytest.mark.parametrize(
    "status",
    [
        CommentStatus.HIDDEN,
        CommentStatus.PENDING,
        CommentStatus.REMOVED,
        CommentStatus.UNCONFIRMED,
    ],
)
def test_cannot_reply_to_a_comment_that_is_not_visible(db, status):
    campaign = _campaign()
    target = make_comment(campaign, status=status)
    assert can_reply(campaign, target) is False
    with pytest.raises(CannotReply):
        _post(db, campaign, reply_to=target)
    assert len(_comments(db)) == 1


@pytest.mark.parametrize(
    "status", [CommentStatus.HIDDEN, CommentStatus.PENDING, CommentStatus.REMOVED]
)
def test_cannot_reply_to_a_reply_that_is_not_visible(db, status):
    campaign = _campaign()
    top = make_comment(campaign)
    reply = make_comment(campaign, reply_to=top, status=status)
    with pytest.raises(CannotReply):
        _post(db, campaign, reply_to=reply)


def test_cannot_reply_to_a_comment_of_another_campaign(db):
    campaign, other = _campaign(), _campaign()
    elsewhere = make_comment(other)
    assert can_reply(campaign, elsewhere) is False
    with pytest.raises(CannotReply):
        _post(db, campaign, reply_to=elsewhere)
    assert len(_comments(db)) == 1


def test_cannot_reply_when_the_discussion_is_closed(db):
    campaign = _campaign()
    top = make_comment(campaign)
    campaign.status = CampaignStatus.CLOSED
    assert can_reply(campaign, top) is False
    with pytest.raises(CommentsClosed):
        _post(db, campaign, reply_to=top)


def test_a_reply_obeys_the_same_rules(db):
    campaign = _campaign()
    top = make_comment(campaign)
    assert _rejected(db, campaign, _data(body="   "), reply_to=top).reason == "empty"


def test_a_reply_from_an_unknown_mailbox_waits_for_its_link(db):
    campaign = _campaign()
    top = make_comment(campaign)
    result = _post(db, campaign, reply_to=top, trusted=False)
    assert result.needs_confirmation is True
    assert result.comment.status == CommentStatus.UNCONFIRMED
    assert [m.kind for m in _outbox(db)] == ["comment_confirmation"]


# A signer's reason becomes a comment


def _sign(db, campaign, email="sam@example.org", reason=ENGLISH, **fields):
    fields.setdefault("full_name", "Sam Signer")
    fields.setdefault("country", "FR")
    fields.setdefault("is_public", True)
    language = fields.pop("language", "en")
    data = SignatureData(email=email, reason=reason, **fields)
    return signing.sign(db.session, campaign, data, language).signature


def test_reason_waits_for_the_signature_to_be_confirmed(db):
    campaign = _campaign()
    signature = _sign(db, campaign)
    db.session.commit()
    [comment] = _comments(db)
    assert comment.signature_id == signature.id
    assert comment.is_reason
    assert comment.status == CommentStatus.UNCONFIRMED
    assert comment.body == ENGLISH
    assert comment.language == "en"
    assert comment.email_key == signature.email_key
    assert discussion(db.session, campaign).threads == []
    assert shown_count(db.session, campaign) == 0
    # Only the signature's confirmation is sent, not a second email for the comment.
    assert [m.kind for m in _outbox(db)] == ["signature_confirmation"]


def test_confirming_the_signature_publishes_the_reason(db):
    campaign = _campaign()
    signature = _sign(db, campaign)
    db.session.commit()
    [message] = _outbox(db)
    token = re.search(r"/confirm/([A-Za-z0-9_.\-]+)", message.text_body).group(1)
    signature, counted = signing.confirm(db.session, token)
    db.session.commit()
    assert counted is True
    [comment] = _comments(db)
    assert comment.status == CommentStatus.VISIBLE
    assert comment.confirmed_at == signature.confirmed_at
    [thread] = discussion(db.session, campaign).threads
    assert thread.comment.id == comment.id
    assert shown_count(db.session, campaign) == 1


def test_a_reason_shows_the_signers_first_name_only(db):
    # The sign form promises "first name and city" at most; never the full name.
    campaign = _campaign()
    signature = _sign(db, campaign, full_name="Samantha  Jane Signer")
    signing.confirm(db.session, signing.confirmation_token(signature))
    db.session.commit()
    assert _comments(db)[0].author_name == "Samantha"


def test_the_reason_of_a_signer_who_stays_unlisted_is_not_published(db):
    campaign = _campaign()
    signature = _sign(db, campaign, is_public=False)
    signing.confirm(db.session, signing.confirmation_token(signature))
    db.session.commit()
    assert _comments(db) == []
    assert shown_count(db.session, campaign) == 0


def test_a_reason_in_russian_is_detected(db):
    campaign = _campaign()
    _sign(db, campaign, reason=RUSSIAN, language="ru")
    assert _comments(db)[0].language == "ru"


def test_confirming_twice_publishes_once(db):
    campaign = _campaign()
    signature = _sign(db, campaign)
    db.session.commit()
    token = signing.confirmation_token(signature)
    signing.confirm(db.session, token)
    db.session.commit()
    confirmed_at = _comments(db)[0].confirmed_at
    moderation.hide(db.session, make_organizer(), _comments(db)[0])
    db.session.commit()
    signing.confirm(db.session, token)
    db.session.commit()
    [comment] = _comments(db)
    assert comment.status == CommentStatus.HIDDEN  # the second click does not undo a moderator
    assert comment.confirmed_at == confirmed_at


def test_reason_on_a_pre_moderated_campaign_waits_for_a_moderator(db):
    campaign = _campaign()
    campaign.comment_policy = CommentPolicy.PRE_MODERATED
    signature = _sign(db, campaign)
    signing.confirm(db.session, signing.confirmation_token(signature))
    db.session.commit()
    assert _comments(db)[0].status == CommentStatus.PENDING


@pytest.mark.parametrize("reason", ["", "   ", "\n\n"])
def test_no_reason_no_comment(db, reason):
    campaign = _campaign()
    signature = _sign(db, campaign, reason=reason)
    signing.confirm(db.session, signing.confirmation_token(signature))
    db.session.commit()
    assert _comments(db) == []


def test_signing_again_adds_no_second_reason(db):
    campaign = _campaign()
    _sign(db, campaign, reason="My first reason, written with care.")
    db.session.commit()
    _sign(db, campaign, reason="A second reason, typed by someone else.")
    db.session.commit()
    assert [c.body for c in _comments(db)] == ["My first reason, written with care."]


def test_a_blocked_signer_signs_but_their_reason_is_not_a_comment(db):
    campaign = _campaign()
    db.session.add(CommentBlock(campaign_id=campaign.id, email_key="sam@example.org"))
    db.session.flush()
    signature = _sign(db, campaign, email="Sam+petition@example.org")
    signing.confirm(db.session, signing.confirmation_token(signature))
    db.session.commit()
    assert _comments(db) == []
    assert db.session.scalar(select(Signature.confirmed_at)) is not None


def test_a_rolled_back_signature_leaves_no_reason(db):
    campaign = _campaign()
    db.session.commit()
    _sign(db, campaign)
    db.session.rollback()
    assert _comments(db) == []


def test_signing_with_a_reason_works_when_discussion_is_off(db):
    # Signing never fails because of the discussion; the reason waits in case it comes back.
    campaign = _campaign()
    campaign.comment_policy = CommentPolicy.OFF
    signature = _sign(db, campaign)
    _, counted = signing.confirm(db.session, signing.confirmation_token(signature))
    db.session.commit()
    assert counted is True
    assert [c.signature_id for c in _comments(db)] == [signature.id]
    assert shows_comments(campaign) is False


# Confirming a comment by its link


def test_confirmation_link_in_the_email_publishes_the_comment(db):
    campaign = _campaign()
    posted = _post(db, campaign, trusted=False).comment
    db.session.commit()
    [message] = _outbox(db)
    comment = confirm_comment(db.session, campaign, _token_in(message))
    db.session.commit()
    assert comment.id == posted.id
    stored = _reload(db, comment)
    assert stored.status == CommentStatus.VISIBLE
    assert stored.confirmed_at is not None


def test_confirm_twice_changes_nothing(db):
    campaign = _campaign()
    posted = _post(db, campaign, trusted=False).comment
    db.session.commit()
    token = confirmation_token(posted)
    confirm_comment(db.session, campaign, token)
    db.session.commit()
    first = _reload(db, posted).confirmed_at
    confirm_comment(db.session, campaign, token, now=utcnow() + timedelta(hours=1))
    db.session.commit()
    assert _reload(db, posted).confirmed_at == first


def test_confirming_does_not_bring_back_a_comment_a_moderator_removed(db):
    campaign = _campaign()
    posted = _post(db, campaign, trusted=False).comment
    db.session.commit()
    token = confirmation_token(posted)
    posted.status = CommentStatus.REMOVED
    db.session.commit()
    assert confirm_comment(db.session, campaign, token).status == CommentStatus.REMOVED


def test_confirm_after_discussion_was_turned_off_is_refused(db):
    campaign = _campaign()
    posted = _post(db, campaign, trusted=False).comment
    db.session.commit()
    token = confirmation_token(posted)
    campaign.comment_policy = CommentPolicy.OFF
    db.session.commit()
    with pytest.raises(CommentsClosed):
        confirm_comment(db.session, campaign, token)
    db.session.rollback()
    assert _reload(db, posted).status == CommentStatus.UNCONFIRMED


def test_confirm_uses_now(db):
    campaign = _campaign()
    posted = _post(db, campaign, trusted=False).comment
    then = utcnow() + timedelta(minutes=5)
    confirm_comment(db.session, campaign, confirmation_token(posted), now=then)
    assert _reload(db, posted).confirmed_at == then


def test_tampered_token_is_invalid(db):
    campaign = _campaign()
    posted = _post(db, campaign, trusted=False).comment
    db.session.commit()
    token = confirmation_token(posted)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(InvalidToken) as excinfo:
        confirm_comment(db.session, campaign, tampered)
    assert not isinstance(excinfo.value, TokenExpired)
    assert _reload(db, posted).status == CommentStatus.UNCONFIRMED


def test_expired_token_is_refused(db, app):
    campaign = _campaign()
    posted = _post(db, campaign, trusted=False).comment
    db.session.commit()
    token = confirmation_token(posted)
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    with pytest.raises(TokenExpired):
        confirm_comment(db.session, campaign, token)
    db.session.rollback()
    assert _reload(db, posted).status == CommentStatus.UNCONFIRMED


def test_token_for_another_campaign_is_invalid(db):
    campaign, other = _campaign(), _campaign()
    posted = _post(db, campaign, trusted=False).comment
    db.session.commit()
    with pytest.raises(InvalidToken):
        confirm_comment(db.session, other, confirmation_token(posted))
    assert _reload(db, posted).status == CommentStatus.UNCONFIRMED


def test_a_signature_token_does_not_confirm_a_comment(db, app):
    campaign = _campaign()
    posted = _post(db, campaign, trusted=False).comment
    db.session.commit()
    payload = {"m": posted.id, "k": mailbox_digest(posted.email_key)}
    token = make_token(app.config["SECRET_KEY"], signing.CONFIRM_PURPOSE, payload)
    with pytest.raises(InvalidToken):
        confirm_comment(db.session, campaign, token)
    assert make_token(app.config["SECRET_KEY"], CONFIRM_PURPOSE, payload) == confirmation_token(
        posted
    )


def test_token_signed_with_another_key_is_invalid(db):
    campaign = _campaign()
    posted = _post(db, campaign, trusted=False).comment
    payload = {"m": posted.id, "k": mailbox_digest(posted.email_key)}
    token = make_token("some-other-key", CONFIRM_PURPOSE, payload)
    with pytest.raises(InvalidToken):
        confirm_comment(db.session, campaign, token)


@pytest.mark.parametrize("payload", [{"m": 1}, {"k": "x"}, [1, 2], "text", None])
def test_token_with_a_malformed_payload_is_invalid(db, app, payload):
    campaign = _campaign()
    token = make_token(app.config["SECRET_KEY"], CONFIRM_PURPOSE, payload)
    with pytest.raises(InvalidToken):
        comment_for_token(db.session, campaign, token)


def test_token_for_a_deleted_comment_is_invalid(db):
    campaign = _campaign()
    posted = _post(db, campaign, trusted=False).comment
    db.session.commit()
    token = confirmation_token(posted)
    db.session.delete(posted)
    db.session.commit()
    with pytest.raises(InvalidToken):
        confirm_comment(db.session, campaign, token)


def test_token_does_not_confirm_a_comment_that_reused_the_id(db):
    campaign = _campaign()
    posted = _post(db, campaign, _data("alice@example.org"), trusted=False).comment
    db.session.commit()
    token = confirmation_token(posted)
    comment_id = posted.id
    db.session.delete(posted)
    db.session.commit()
    make_comment(campaign, id=comment_id, email="bob@example.org", status=CommentStatus.UNCONFIRMED)
    db.session.commit()
    with pytest.raises(InvalidToken):
        confirm_comment(db.session, campaign, token)
    assert _reload(db, db.session.get(Comment, comment_id)).status == CommentStatus.UNCONFIRMED


# Readers' support


def test_reader_reference_is_stable_private_and_distinct(app):
    first = reader_reference("reader-one")
    assert first == reader_reference("reader-one")
    assert first != reader_reference("reader-two")
    assert "reader-one" not in first
    assert len(first) == 32


def test_support_and_take_it_back(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    assert toggle_support(db.session, comment, "r1") is True
    db.session.commit()
    assert _reload(db, comment).support_count == 1
    assert supported_by(db.session, [comment.id], "r1") == {comment.id}
    assert toggle_support(db.session, comment, "r1") is False
    db.session.commit()
    assert _reload(db, comment).support_count == 0
    assert supported_by(db.session, [comment.id], "r1") == set()


def test_support_updates_the_object_in_hand(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    toggle_support(db.session, comment, "r1")
    toggle_support(db.session, comment, "r2")
    assert comment.support_count == 2


def test_each_reader_counts_once(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    for reader in ("r1", "r2", "r3"):
        toggle_support(db.session, comment, reader)
    toggle_support(db.session, comment, "r2")  # taken back
    db.session.commit()
    assert _reload(db, comment).support_count == 2
    rows = db.session.scalar(select(func.count()).select_from(CommentSupport))
    assert rows == 2


def test_support_is_per_comment(db):
    campaign = _campaign()
    first, second = make_comment(campaign), make_comment(campaign)
    toggle_support(db.session, first, "r1")
    db.session.commit()
    assert (_reload(db, first).support_count, _reload(db, second).support_count) == (1, 0)
    assert supported_by(db.session, [first.id, second.id], "r1") == {first.id}
    assert supported_by(db.session, [first.id, second.id], "r2") == set()
    assert supported_by(db.session, [], "r1") == set()
    assert supported_by(db.session, [first.id], "") == set()


@pytest.mark.parametrize(
    "status",
    [CommentStatus.HIDDEN, CommentStatus.PENDING, CommentStatus.REMOVED, CommentStatus.UNCONFIRMED],
)
def test_a_comment_that_is_not_visible_gains_no_support(db, status):
    campaign = _campaign()
    comment = make_comment(campaign, status=status)
    db.session.commit()
    with pytest.raises(CommentNotFound):
        toggle_support(db.session, comment, "r1")
    db.session.rollback()
    assert _reload(db, comment).support_count == 0
    assert db.session.scalar(select(func.count()).select_from(CommentSupport)) == 0


def test_support_given_before_hiding_can_be_taken_back(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    toggle_support(db.session, comment, "r1")
    toggle_support(db.session, comment, "r2")
    comment.status = CommentStatus.HIDDEN
    db.session.commit()
    assert toggle_support(db.session, comment, "r1") is False
    db.session.commit()
    assert _reload(db, comment).support_count == 1
    with pytest.raises(CommentNotFound):
        toggle_support(db.session, comment, "r1")


# Readers' flags


def test_one_flag_is_recorded_without_hiding(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    assert flag_comment(db.session, comment, "r1", FlagReason.SPAM, rules=RULES) is False
    db.session.commit()
    stored = _reload(db, comment)
    assert stored.status == CommentStatus.VISIBLE
    assert stored.flag_count == 1
    assert stored.hidden_by_flags is False
    [flag] = db.session.scalars(select(CommentFlag)).all()
    assert (flag.comment_id, flag.reader, flag.reason) == (comment.id, "r1", FlagReason.SPAM)
    assert flag.resolved_at is None
    assert flagged_by(db.session, [comment.id], "r1") == {comment.id}
    assert flagged_by(db.session, [comment.id], "r2") == set()


def test_flags_from_enough_readers_hide_the_comment_for_review(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    results = [
        flag_comment(db.session, comment, reader, reason, rules=RULES)
        for reader, reason in [
            ("r1", FlagReason.SPAM),
            ("r2", FlagReason.ABUSE),
            ("r3", FlagReason.VIOLENCE),
        ]
    ]
    db.session.commit()
    assert results == [False, False, True]
    stored = _reload(db, comment)
    assert stored.status == CommentStatus.HIDDEN
    assert stored.hidden_by_flags is True
    assert stored.flag_count == 3
    assert comment.status == CommentStatus.HIDDEN  # the object in hand is up to date


def test_the_same_reader_flagging_twice_counts_once(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    for _ in range(5):
        flag_comment(db.session, comment, "r1", FlagReason.SPAM, rules=RULES)
    assert flag_comment(db.session, comment, "r2", FlagReason.SPAM, rules=RULES) is False
    db.session.commit()
    stored = _reload(db, comment)
    assert stored.flag_count == 2
    assert stored.status == CommentStatus.VISIBLE
    assert db.session.scalar(select(func.count()).select_from(CommentFlag)) == 2


def test_flagging_twice_keeps_the_first_reason(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    flag_comment(db.session, comment, "r1", FlagReason.SPAM, rules=RULES)
    flag_comment(db.session, comment, "r1", FlagReason.ABUSE, rules=RULES)
    assert db.session.scalar(select(CommentFlag.reason)) == FlagReason.SPAM


def test_threshold_comes_from_the_rules(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    hidden = flag_comment(
        db.session, comment, "r1", FlagReason.OTHER, rules=CommentRules(flag_threshold=1)
    )
    assert hidden is True
    assert _reload(db, comment).status == CommentStatus.HIDDEN


@pytest.mark.parametrize(
    "status",
    [CommentStatus.HIDDEN, CommentStatus.PENDING, CommentStatus.REMOVED, CommentStatus.UNCONFIRMED],
)
def test_only_visible_comments_can_be_flagged(db, status):
    campaign = _campaign()
    comment = make_comment(campaign, status=status)
    db.session.commit()
    with pytest.raises(CommentNotFound):
        flag_comment(db.session, comment, "r1", FlagReason.SPAM, rules=RULES)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CommentFlag)) == 0


def test_a_comment_hidden_by_flags_takes_no_more_flags(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    for reader in ("r1", "r2", "r3"):
        flag_comment(db.session, comment, reader, FlagReason.SPAM, rules=RULES)
    with pytest.raises(CommentNotFound):
        flag_comment(db.session, comment, "r4", FlagReason.SPAM, rules=RULES)


def test_after_a_moderator_keeps_the_comment_flags_count_afresh(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    for reader in ("r1", "r2", "r3"):
        flag_comment(db.session, comment, reader, FlagReason.SPAM, rules=RULES)
    moderation.approve(db.session, _moderator(campaign), comment)
    db.session.commit()
    stored = _reload(db, comment)
    assert stored.status == CommentStatus.VISIBLE
    assert (stored.flag_count, stored.hidden_by_flags) == (0, False)
    assert flagged_by(db.session, [comment.id], "r1") == set()

    # The old flags no longer count: two new ones do not reach the threshold of three.
    assert flag_comment(db.session, stored, "r1", FlagReason.ABUSE, rules=RULES) is False
    assert flag_comment(db.session, stored, "r4", FlagReason.SPAM, rules=RULES) is False
    db.session.commit()
    stored = _reload(db, comment)
    assert (stored.status, stored.flag_count) == (CommentStatus.VISIBLE, 2)
    assert flagged_by(db.session, [comment.id], "r1") == {comment.id}
    # A reader who flagged before may flag again, and counts once.
    assert flag_comment(db.session, stored, "r1", FlagReason.ABUSE, rules=RULES) is False
    assert flag_comment(db.session, stored, "r2", FlagReason.SPAM, rules=RULES) is True
    db.session.commit()
    stored = _reload(db, comment)
    assert (stored.status, stored.flag_count) == (CommentStatus.HIDDEN, 3)


def test_a_flag_raised_again_after_review_records_its_new_reason(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    flag_comment(db.session, comment, "r1", FlagReason.SPAM, rules=RULES)
    moderation.approve(db.session, _moderator(campaign), comment)
    db.session.commit()
    flag_comment(db.session, comment, "r1", FlagReason.VIOLENCE, rules=RULES)
    db.session.commit()
    [flag] = db.session.scalars(select(CommentFlag)).all()
    assert (flag.reason, flag.resolved_at) == (FlagReason.VIOLENCE, None)


# Concurrency: each thread has its own app context, session and connection.


def _run_in_threads(app, db, count: int, work) -> tuple[list, list[BaseException]]:
    """Run `work(index)` in `count` threads released at once; returns results and errors."""
    db.session.close()  # the test's own session must hold no transaction while threads run
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []
    lock = threading.Lock()

    def target(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results[index] = work(index)
        except BaseException as exc:  # collected: the test asserts there are none
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


def test_simultaneous_support_by_different_readers_all_count(app, db):
    campaign = _campaign()
    comment_id = make_comment(campaign).id
    db.session.commit()

    def work(index):
        comment = db.session.get(Comment, comment_id)
        supported = toggle_support(db.session, comment, f"reader-{index}")
        db.session.commit()
        return supported

    results, errors = _run_in_threads(app, db, 8, work)
    assert errors == []
    assert results == [True] * 8
    assert db.session.get(Comment, comment_id).support_count == 8


def test_simultaneous_support_by_one_reader_keeps_count_and_rows_equal(app, db):
    campaign = _campaign()
    comment_id = make_comment(campaign).id
    db.session.commit()

    def work(_index):
        comment = db.session.get(Comment, comment_id)
        supported = toggle_support(db.session, comment, "one-reader")
        db.session.commit()
        return supported

    _results, errors = _run_in_threads(app, db, 8, work)
    assert errors == []
    rows = db.session.scalar(select(func.count()).select_from(CommentSupport))
    assert rows in (0, 1)
    assert db.session.get(Comment, comment_id).support_count == rows


def test_simultaneous_flags_by_one_reader_count_once(app, db):
    campaign = _campaign()
    comment_id = make_comment(campaign).id
    db.session.commit()

    def work(_index):
        comment = db.session.get(Comment, comment_id)
        hidden = flag_comment(db.session, comment, "one-reader", FlagReason.SPAM, rules=RULES)
        db.session.commit()
        return hidden

    results, errors = _run_in_threads(app, db, 8, work)
    assert errors == []
    assert results == [False] * 8
    stored = db.session.get(Comment, comment_id)
    assert (stored.flag_count, stored.status) == (1, CommentStatus.VISIBLE)
    assert db.session.scalar(select(func.count()).select_from(CommentFlag)) == 1


@pytest.mark.parametrize("readers", [2, 6])
def test_simultaneous_flags_reaching_the_threshold_hide_the_comment(app, db, readers):
    campaign = _campaign()
    comment_id = make_comment(campaign).id
    db.session.commit()
    rules = CommentRules(flag_threshold=2)

    def work(index):
        comment = db.session.get(Comment, comment_id)
        try:
            hidden = flag_comment(
                db.session, comment, f"reader-{index}", FlagReason.SPAM, rules=rules
            )
        except CommentNotFound:
            hidden = None  # hidden by others first: too late to flag
        db.session.commit()
        return hidden

    results, errors = _run_in_threads(app, db, readers, work)
    assert errors == []
    assert results.count(True) == 1
    stored = db.session.get(Comment, comment_id)
    assert stored.status == CommentStatus.HIDDEN
    assert stored.hidden_by_flags is True
    open_flags = db.session.scalar(select(func.count()).select_from(CommentFlag))
    assert stored.flag_count == open_flags >= 2


# The public discussion


def test_empty_discussion(db):
    campaign = _campaign()
    page = discussion(db.session, campaign)
    assert (page.threads, page.page, page.pages, page.total) == ([], 1, 1, 0)
    assert page.sort == SortOrder.NEWEST
    assert page.language is None
    assert page.comment_ids == []


def _at(campaign, minutes: int, **kw) -> Comment:
    """A comment created `minutes` after a fixed start."""
    start = utcnow() - timedelta(days=1)
    return make_comment(campaign, created_at=start + timedelta(minutes=minutes), **kw)


def test_newest_threads_first_and_replies_oldest_first(db):
    campaign = _campaign()
    old = _at(campaign, 0)
    new = _at(campaign, 10)
    late_reply = _at(campaign, 30, reply_to=old)
    early_reply = _at(campaign, 20, reply_to=old)
    reply_to_reply = _at(campaign, 40, reply_to=early_reply)
    page = discussion(db.session, campaign)
    assert [t.comment.id for t in page.threads] == [new.id, old.id]
    assert [c.id for c in page.threads[1].replies] == [
        early_reply.id,
        late_reply.id,
        reply_to_reply.id,
    ]
    assert page.threads[0].replies == []
    assert page.total == 2
    assert page.comment_ids == [new.id, old.id, early_reply.id, late_reply.id, reply_to_reply.id]


def test_only_the_campaigns_own_comments(db):
    campaign, other = _campaign(), _campaign()
    mine = make_comment(campaign)
    make_comment(other)
    assert discussion(db.session, campaign).comment_ids == [mine.id]


def test_paging(db):
    campaign = _campaign()
    comments = [_at(campaign, n) for n in range(5)]
    newest_first = [c.id for c in reversed(comments)]
    pages = [discussion(db.session, campaign, page=n, per_page=2) for n in (1, 2, 3)]
    assert [[t.comment.id for t in p.threads] for p in pages] == [
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
    ]
    assert {(p.pages, p.total) for p in pages} == {(3, 5)}
    assert [p.page for p in pages] == [1, 2, 3]


def test_page_out_of_range_is_brought_back(db):
    campaign = _campaign()
    comments = [_at(campaign, n) for n in range(3)]
    beyond = discussion(db.session, campaign, page=99, per_page=2)
    assert beyond.page == 2
    assert [t.comment.id for t in beyond.threads] == [comments[0].id]
    before = discussion(db.session, campaign, page=0, per_page=2)
    assert before.page == 1
    assert discussion(db.session, campaign, page=-3, per_page=2).page == 1


def test_replies_do_not_take_places_on_a_page(db):
    campaign = _campaign()
    first = _at(campaign, 0)
    second = _at(campaign, 1)
    for n in range(5):
        _at(campaign, 10 + n, reply_to=first)
    page = discussion(db.session, campaign, per_page=2)
    assert [t.comment.id for t in page.threads] == [second.id, first.id]
    assert len(page.threads[1].replies) == 5
    assert page.total == 2


def test_most_supported_first(db):
    campaign = _campaign()
    quiet = _at(campaign, 0, support_count=0)
    popular = _at(campaign, 1, support_count=7)
    liked_old = _at(campaign, 2, support_count=3)
    liked_new = _at(campaign, 3, support_count=3)
    page = discussion(db.session, campaign, sort=SortOrder.SUPPORTED)
    assert page.sort == SortOrder.SUPPORTED
    assert [t.comment.id for t in page.threads] == [
        popular.id,
        liked_new.id,
        liked_old.id,
        quiet.id,
    ]


def test_support_through_the_service_changes_the_order(db):
    campaign = _campaign()
    first, second = _at(campaign, 0), _at(campaign, 1)
    toggle_support(db.session, first, "r1")
    page = discussion(db.session, campaign, sort=SortOrder.SUPPORTED)
    assert [t.comment.id for t in page.threads] == [first.id, second.id]
    page = discussion(db.session, campaign, sort=SortOrder.NEWEST)
    assert [t.comment.id for t in page.threads] == [second.id, first.id]


def test_most_supported_pages_do_not_overlap(db):
    campaign = _campaign()
    comments = [_at(campaign, n, support_count=n % 3) for n in range(7)]
    seen = [
        t.comment.id
        for n in (1, 2, 3, 4)
        for t in discussion(
            db.session, campaign, sort=SortOrder.SUPPORTED, page=n, per_page=2
        ).threads
    ]
    assert sorted(seen) == sorted(c.id for c in comments)


def test_unknown_sort_falls_back_to_newest(db):
    campaign = _campaign()
    old, new = _at(campaign, 0, support_count=5), _at(campaign, 1)
    page = discussion(db.session, campaign, sort="'; DROP TABLE comments; --")
    assert page.sort == SortOrder.NEWEST
    assert [t.comment.id for t in page.threads] == [new.id, old.id]


def test_language_filter(db):
    campaign = _campaign()
    english = _at(campaign, 0, language="en")
    russian = _at(campaign, 1, language="ru")
    unknown = _at(campaign, 2, language=UNKNOWN)
    english_reply = _at(campaign, 3, reply_to=russian, language="en")
    russian_reply = _at(campaign, 4, reply_to=russian, language="ru")
    page = discussion(db.session, campaign, language="ru")
    assert page.language == "ru"
    assert page.total == 1
    assert [t.comment.id for t in page.threads] == [russian.id]
    assert [c.id for c in page.threads[0].replies] == [russian_reply.id]
    everything = discussion(db.session, campaign)
    assert [t.comment.id for t in everything.threads] == [unknown.id, russian.id, english.id]
    assert [c.id for c in everything.threads[1].replies] == [english_reply.id, russian_reply.id]
    assert discussion(db.session, campaign, language="en").total == 1


def test_language_filter_pages_its_own_comments(db):
    campaign = _campaign()
    russian = [_at(campaign, n, language="ru") for n in range(3)]
    for n in range(5):
        _at(campaign, 10 + n, language="en")
    page = discussion(db.session, campaign, language="ru", page=2, per_page=2)
    assert (page.page, page.pages, page.total) == (2, 2, 3)
    assert [t.comment.id for t in page.threads] == [russian[0].id]


def test_hidden_comments_keep_their_place(db):
    campaign = _campaign()
    first = _at(campaign, 0)
    hidden = _at(campaign, 1, status=CommentStatus.HIDDEN)
    last = _at(campaign, 2)
    hidden_reply = _at(campaign, 3, reply_to=first, status=CommentStatus.HIDDEN)
    visible_reply = _at(campaign, 4, reply_to=first)
    page = discussion(db.session, campaign)
    assert [t.comment.id for t in page.threads] == [last.id, hidden.id, first.id]
    assert [c.id for c in page.threads[2].replies] == [hidden_reply.id, visible_reply.id]
    assert page.total == 3


def test_hidden_comments_keep_their_place_when_sorted_by_support(db):
    campaign = _campaign()
    hidden = _at(campaign, 0, status=CommentStatus.HIDDEN, support_count=9)
    other = _at(campaign, 1, support_count=1)
    page = discussion(db.session, campaign, sort=SortOrder.SUPPORTED)
    assert [t.comment.id for t in page.threads] == [hidden.id, other.id]


@pytest.mark.parametrize("status", [CommentStatus.PENDING, CommentStatus.UNCONFIRMED])
def test_comments_not_yet_published_are_not_shown(db, status):
    campaign = _campaign()
    shown = _at(campaign, 0)
    _at(campaign, 1, status=status)
    _at(campaign, 2, reply_to=shown, status=status)
    page = discussion(db.session, campaign)
    assert page.comment_ids == [shown.id]
    assert page.total == 1


def test_a_removed_comment_without_replies_disappears(db):
    campaign = _campaign()
    kept = _at(campaign, 0)
    _at(campaign, 1, status=CommentStatus.REMOVED)
    removed_reply = _at(campaign, 2, reply_to=kept, status=CommentStatus.REMOVED)
    page = discussion(db.session, campaign)
    assert page.comment_ids == [kept.id]
    assert removed_reply.id not in page.comment_ids
    assert page.total == 1


def test_a_removed_comment_with_replies_keeps_its_place_for_them(db):
    campaign = _campaign()
    removed = _at(campaign, 0, status=CommentStatus.REMOVED)
    reply = _at(campaign, 1, reply_to=removed)
    hidden_reply = _at(campaign, 2, reply_to=removed, status=CommentStatus.HIDDEN)
    page = discussion(db.session, campaign)
    [thread] = page.threads
    assert thread.comment.id == removed.id
    assert thread.comment.status == CommentStatus.REMOVED
    assert [c.id for c in thread.replies] == [reply.id, hidden_reply.id]
    assert page.total == 1


@pytest.mark.parametrize(
    "reply_status", [CommentStatus.REMOVED, CommentStatus.PENDING, CommentStatus.UNCONFIRMED]
)
def test_a_removed_comment_whose_replies_are_not_shown_disappears(db, reply_status):
    campaign = _campaign()
    removed = _at(campaign, 0, status=CommentStatus.REMOVED)
    _at(campaign, 1, reply_to=removed, status=reply_status)
    page = discussion(db.session, campaign)
    assert page.threads == []
    assert page.total == 0


def test_removing_the_last_reply_makes_a_removed_thread_disappear(db):
    campaign = _campaign()
    moderator = _moderator(campaign)
    top = _at(campaign, 0)
    reply = _at(campaign, 1, reply_to=top)
    moderation.remove(db.session, moderator, top)
    assert discussion(db.session, campaign).comment_ids == [top.id, reply.id]
    moderation.remove(db.session, moderator, reply)
    assert discussion(db.session, campaign).comment_ids == []


# Counting and finding what the public sees


def test_shown_count_counts_visible_comments_and_replies(db):
    campaign, other = _campaign(), _campaign()
    top = make_comment(campaign)
    make_comment(campaign, reply_to=top)
    removed = make_comment(campaign, status=CommentStatus.REMOVED)
    make_comment(campaign, reply_to=removed)
    for status in (
        CommentStatus.HIDDEN,
        CommentStatus.PENDING,
        CommentStatus.UNCONFIRMED,
        CommentStatus.REMOVED,
    ):
        make_comment(campaign, status=status)
    make_comment(other)
    assert shown_count(db.session, campaign) == 3


def test_shown_comment_finds_visible_and_hidden_comments_of_the_campaign(db):
    campaign, other = _campaign(), _campaign()
    visible = make_comment(campaign)
    hidden = make_comment(campaign, status=CommentStatus.HIDDEN)
    assert shown_comment(db.session, campaign, visible.id).id == visible.id
    assert shown_comment(db.session, campaign, hidden.id).id == hidden.id
    elsewhere = make_comment(other)
    hidden_ones = [
        make_comment(campaign, status=status)
        for status in (CommentStatus.PENDING, CommentStatus.UNCONFIRMED, CommentStatus.REMOVED)
    ]
    for comment_id in [elsewhere.id, *(c.id for c in hidden_ones), 999_999]:
        with pytest.raises(CommentNotFound):
            shown_comment(db.session, campaign, comment_id)


def test_deleting_a_campaign_deletes_its_discussion(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    make_comment(campaign, reply_to=comment)
    toggle_support(db.session, comment, "r1")
    flag_comment(db.session, comment, "r2", FlagReason.SPAM, rules=RULES)
    db.session.add(CommentBlock(campaign_id=campaign.id, email_key="x@example.org"))
    db.session.commit()
    db.session.delete(campaign)
    db.session.commit()
    for model in (Comment, CommentSupport, CommentFlag, CommentBlock):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_a_reason_with_too_many_links_counts_but_is_not_a_comment(db):
    campaign = _campaign()
    spam = "Buy at https://a.example https://b.example https://c.example today"
    signature = _sign(db, campaign, reason=spam)
    signing.confirm(db.session, signing.confirmation_token(signature))
    db.session.commit()
    assert _comments(db) == []
    assert signature.confirmed_at is not None
    assert signature.reason == spam  # kept for the organizers


def test_a_pasted_reason_is_published_once(db):
    campaign = _campaign()
    pasted = "This exact sentence was pasted by many accounts today."
    first = _sign(db, campaign, email="one@example.org", reason=pasted)
    second = _sign(db, campaign, email="two@example.org", reason=pasted)
    for signature in (first, second):
        signing.confirm(db.session, signing.confirmation_token(signature))
    db.session.commit()
    assert [c.email_key for c in _comments(db)] == ["one@example.org"]
    assert second.confirmed_at is not None


def test_the_rules_come_from_the_configuration(app):
    app.config.update(
        COMMENT_MAX_LENGTH=111,
        COMMENT_MAX_LINKS=7,
        COMMENT_EMAIL_LIMIT_PER_HOUR=9,
        COMMENT_FLAG_THRESHOLD=4,
        COMMENTS_PER_PAGE=13,
    )
    assert CommentRules.from_config(app.config) == CommentRules(
        max_length=111, max_links=7, per_email_per_hour=9, flag_threshold=4, per_page=13
    )
