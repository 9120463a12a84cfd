"""Discussion under a petition: posting, confirming, replying, supporting, flagging, listing.

Who is who: a comment's author is a mailbox, confirmed by an emailed link unless the browser
already proved it (after confirming a signature or a comment, the session keeps the mailbox's
digest; see `known_mailboxes`). A reader who supports or flags is an anonymous reference kept
in their session; the database allows one support and one flag per reader per comment.

Moderation (queue, approve, hide, remove, block, alerts) lives in `services.moderation`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.mail.outbox import queue_email
from campaign.models import (
    Campaign,
    Comment,
    CommentBlock,
    CommentFlag,
    CommentPolicy,
    CommentStatus,
    CommentSupport,
    FlagReason,
    Signature,
)
from campaign.models.types import utcnow
from campaign.services import people
from campaign.services.campaigns import localize
from campaign.services.email_addresses import mailbox_digest, mailbox_key, normalize_email
from campaign.services.errors import (
    CannotReply,
    CommentNotFound,
    CommentRejected,
    CommentsClosed,
    InvalidToken,
)
from campaign.services.language_detection import UNKNOWN, detect_language
from campaign.services.plain_text import find_links
from campaign.services.tokens import make_token, read_token
from campaign.urls import external_url

CONFIRM_PURPOSE = "confirm-comment"

# What the public may see of a comment, and what takes a place in a thread without its text.
SHOWN_STATUSES = (CommentStatus.VISIBLE, CommentStatus.HIDDEN)
# Short texts ("Stop the bombing!") are said by many people in good faith; only longer ones
# repeated by different authors look like a campaign of spam.
DUPLICATE_MIN_LENGTH = 30
DUPLICATE_WINDOW = timedelta(hours=24)


class SortOrder:
    NEWEST = "newest"
    SUPPORTED = "supported"
    ALL = (NEWEST, SUPPORTED)


@dataclass(frozen=True)
class CommentRules:
    """The limits a comment must respect, from the app's configuration."""

    max_length: int = 2000
    max_links: int = 2
    per_email_per_hour: int = 5
    flag_threshold: int = 3
    per_page: int = 20

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CommentRules:
        return cls(
            max_length=config["COMMENT_MAX_LENGTH"],
            max_links=config["COMMENT_MAX_LINKS"],
            per_email_per_hour=config["COMMENT_EMAIL_LIMIT_PER_HOUR"],
            flag_threshold=config["COMMENT_FLAG_THRESHOLD"],
            per_page=config["COMMENTS_PER_PAGE"],
        )


@dataclass
class CommentData:
    """What a reader typed into the comment form."""

    author_name: str
    email: str
    body: str


@dataclass(frozen=True)
class PostResult:
    comment: Comment
    needs_confirmation: bool  # an email was sent; the comment waits for its link


# --- reading the rules ------------------------------------------------------------------------


def accepts_comments(campaign: Campaign) -> bool:
    """Whether readers may post on the campaign now: discussion on and the campaign open."""
    return campaign.comment_policy != CommentPolicy.OFF and campaign.is_open


def shows_comments(campaign: Campaign) -> bool:
    """Whether the petition page shows a discussion at all."""
    return campaign.comment_policy != CommentPolicy.OFF


def can_reply(campaign: Campaign, comment: Comment) -> bool:
    """Whether a reply to `comment` would be accepted: the one rule the page and `post` share."""
    return (
        accepts_comments(campaign)
        and comment.campaign_id == campaign.id
        and comment.status == CommentStatus.VISIBLE
    )


def normalized_body(body: str) -> str:
    """The body as stored: trimmed, Windows line ends made plain, at most one blank line in a row
    (a paragraph break; more say nothing more)."""
    lines = [line.rstrip() for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = "\n".join(lines).strip()
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def body_hash(body: str) -> str:
    """What duplicate detection compares: the words, case and spacing aside."""
    return hashlib.sha256(" ".join(body.casefold().split()).encode()).hexdigest()


def known_mailboxes_include(known: Collection[str], email_key: str) -> bool:
    """Whether a session's known mailbox digests include `email_key`."""
    return mailbox_digest(email_key) in known


# --- posting ----------------------------------------------------------------------------------


def post_comment(
    session: Session,
    campaign: Campaign,
    data: CommentData,
    *,
    ui_language: str,
    rules: CommentRules,
    known_mailboxes: Collection[str] = (),
    reply_to: Comment | None = None,
    now: datetime | None = None,
) -> PostResult:
    """Add a comment, or a reply when `reply_to` is given, and confirm it or ask for a link.

    A mailbox the session already proved is trusted at once; any other gets a confirmation
    email in `ui_language`. Raises CommentsClosed, CannotReply, InvalidEmail and
    CommentRejected (reason: "empty", "too_long", "too_many_links", "blocked", "duplicate",
    "too_many").
    """
    begin_write(session)
    now = now or utcnow()
    if not accepts_comments(campaign):
        raise CommentsClosed(campaign.slug)
    if reply_to is not None and not can_reply(campaign, reply_to):
        raise CannotReply(reply_to.id)
    email = normalize_email(data.email)
    key = mailbox_key(email)
    name = " ".join(data.author_name.split())[:120]
    body = normalized_body(data.body)
    _check_body(body, rules)
    if name == "":
        raise CommentRejected("empty_name")
    waiting = _waiting_for_confirmation(session, campaign, key, body)
    if waiting is not None:
        # The same words again from an author who lost the first email: send the link again
        # rather than call it a duplicate.
        _queue_confirmation(session, campaign, waiting, ui_language)
        return PostResult(waiting, needs_confirmation=True)
    _check_author(session, campaign, key, body, rules, now)

    comment = Comment(
        campaign_id=campaign.id,
        parent_id=(reply_to.parent_id or reply_to.id) if reply_to else None,
        reply_to_id=reply_to.id if reply_to else None,
        author_name=name,
        email=email,
        email_key=key,
        body=body,
        body_hash=body_hash(body),
        language=detect_language(body, current_app.config["LANGUAGES"]),
        status=CommentStatus.UNCONFIRMED,
        created_at=now,
    )
    session.add(comment)
    session.flush()
    if known_mailboxes_include(known_mailboxes, key):
        _publish(comment, campaign, now)
        return PostResult(comment, needs_confirmation=False)
    _queue_confirmation(session, campaign, comment, ui_language)
    return PostResult(comment, needs_confirmation=True)


def _waiting_for_confirmation(
    session: Session, campaign: Campaign, key: str, body: str
) -> Comment | None:
    return session.scalar(
        select(Comment)
        .where(
            Comment.campaign_id == campaign.id,
            Comment.email_key == key,
            Comment.body_hash == body_hash(body),
            Comment.status == CommentStatus.UNCONFIRMED,
        )
        .order_by(Comment.id.desc())
        .limit(1)
    )


def _check_body(body: str, rules: CommentRules) -> None:
    if not body:
        raise CommentRejected("empty")
    if len(body) > rules.max_length:
        raise CommentRejected("too_long", limit=rules.max_length)
    if len(find_links(body)) > rules.max_links:
        raise CommentRejected("too_many_links", limit=rules.max_links)


def _check_author(
    session: Session, campaign: Campaign, key: str, body: str, rules: CommentRules, now: datetime
) -> None:
    if is_blocked(session, campaign, key):
        raise CommentRejected("blocked")
    digest = body_hash(body)
    same_text = select(Comment.id).where(
        Comment.campaign_id == campaign.id,
        Comment.body_hash == digest,
        Comment.status != CommentStatus.REMOVED,
    )
    repeated = same_text.where(Comment.email_key == key)
    if len(body) >= DUPLICATE_MIN_LENGTH:
        repeated = same_text.where(
            or_(Comment.email_key == key, Comment.created_at >= now - DUPLICATE_WINDOW)
        )
    if session.scalar(select(exists(repeated))):
        raise CommentRejected("duplicate")
    recent = session.scalar(
        select(func.count())
        .select_from(Comment)
        .where(
            Comment.campaign_id == campaign.id,
            Comment.email_key == key,
            Comment.created_at >= now - timedelta(hours=1),
        )
    )
    if recent >= rules.per_email_per_hour:
        raise CommentRejected("too_many", limit=rules.per_email_per_hour)


def is_blocked(session: Session, campaign: Campaign, email_key: str) -> bool:
    """Whether a moderator has barred the mailbox from commenting on the campaign."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    CommentBlock.campaign_id == campaign.id, CommentBlock.email_key == email_key
                )
            )
        )
    )


def _publish(comment: Comment, campaign: Campaign, now: datetime) -> None:
    """A confirmed comment becomes visible, or waits for a moderator on a pre-moderated campaign."""
    comment.confirmed_at = comment.confirmed_at or now
    comment.status = (
        CommentStatus.PENDING
        if campaign.comment_policy == CommentPolicy.PRE_MODERATED
        else CommentStatus.VISIBLE
    )


# --- a signer's reason ------------------------------------------------------------------------


def add_reason(session: Session, signature: Signature) -> Comment | None:
    """Make the reason a signer gave into a comment waiting for the signature's confirmation.

    Nothing when there is no reason, the signer did not agree to be shown on the petition page,
    the signer is blocked, or the signature has one already. Nor when the reason breaks the
    comment rules a bot would: more links than a comment may have, or the same long text as
    someone else's in the last day (a pasted campaign). The signature counts all the same; the
    reason stays with it for the organizers. The comment shows the signer's first name only, as
    the list of signers does.
    """
    body = normalized_body(signature.reason or "")
    if (
        not body
        or not signature.is_public
        or is_blocked(session, signature.campaign, signature.email_key)
        or len(find_links(body)) > CommentRules.from_config(current_app.config).max_links
        or _pasted(session, signature.campaign_id, body)
    ):
        return None
    existing = session.scalar(select(Comment).where(Comment.signature_id == signature.id))
    if existing is not None:
        return existing
    comment = Comment(
        campaign_id=signature.campaign_id,
        signature_id=signature.id,
        author_name=signature.first_name,
        email=signature.email,
        email_key=signature.email_key,
        body=body,
        body_hash=body_hash(body),
        language=detect_language(body, current_app.config["LANGUAGES"]),
        status=CommentStatus.UNCONFIRMED,
        created_at=signature.created_at or utcnow(),
    )
    session.add(comment)
    session.flush()
    return comment


def _pasted(session: Session, campaign_id: int, body: str) -> bool:
    """Whether the same long text was posted in this campaign in the last day."""
    if len(body) < DUPLICATE_MIN_LENGTH:
        return False
    return bool(
        session.scalar(
            select(
                exists().where(
                    Comment.campaign_id == campaign_id,
                    Comment.body_hash == body_hash(body),
                    Comment.created_at >= utcnow() - DUPLICATE_WINDOW,
                    Comment.status != CommentStatus.REMOVED,
                )
            )
        )
    )


def publish_reason(session: Session, signature: Signature) -> None:
    """The signature was confirmed: its reason, if any, joins the discussion."""
    comment = session.scalar(
        select(Comment).where(
            Comment.signature_id == signature.id, Comment.status == CommentStatus.UNCONFIRMED
        )
    )
    if comment is not None:
        _publish(comment, signature.campaign, signature.confirmed_at or utcnow())


# --- confirming by email ----------------------------------------------------------------------


def confirmation_token(comment: Comment) -> str:
    """The token in a comment's confirmation link, bound to the comment and its mailbox."""
    return make_token(
        current_app.config["SECRET_KEY"],
        CONFIRM_PURPOSE,
        {"m": comment.id, "k": mailbox_digest(comment.email_key)},
    )


def comment_for_token(session: Session, campaign: Campaign, token: str) -> Comment:
    """The comment a confirmation token names. Raises InvalidToken or TokenExpired."""
    payload = read_token(
        current_app.config["SECRET_KEY"],
        CONFIRM_PURPOSE,
        token,
        current_app.config["CONFIRM_TOKEN_MAX_AGE"],
    )
    try:
        comment_id, digest = payload["m"], payload["k"]
    except (TypeError, KeyError) as exc:
        raise InvalidToken("the link is not valid") from exc
    comment = session.get(Comment, comment_id)
    if (
        comment is None
        or comment.campaign_id != campaign.id
        or comment.email_key == ""
        or mailbox_digest(comment.email_key) != digest
    ):
        raise InvalidToken("the link names no comment")
    return comment


def confirm_comment(
    session: Session, campaign: Campaign, token: str, now: datetime | None = None
) -> Comment:
    """Confirm the comment behind `token`; a second click changes nothing.

    Raises InvalidToken, TokenExpired, CommentsClosed (discussion turned off meanwhile).
    """
    begin_write(session)
    comment = comment_for_token(session, campaign, token)
    if comment.status != CommentStatus.UNCONFIRMED:
        return comment
    if not shows_comments(campaign):
        raise CommentsClosed(campaign.slug)
    _publish(comment, campaign, now or utcnow())
    session.flush()
    return comment


def _queue_confirmation(
    session: Session, campaign: Campaign, comment: Comment, language: str
) -> None:
    title = localize(campaign, language).text.title
    queue_email(
        session,
        kind="comment_confirmation",
        template="confirm_comment",
        language=language,
        to_email=comment.email,
        to_name=comment.author_name,
        subject=_l("Please confirm your comment: %(title)s", title=title),
        title=title,
        body=comment.body,
        confirm_url=external_url(
            "public.confirm_comment",
            lang=language,
            slug=campaign.slug,
            token=confirmation_token(comment),
        ),
        petition_url=external_url("public.petition", lang=language, slug=campaign.slug),
        max_age_days=max(1, current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 86400),
    )


# --- readers' support and flags ---------------------------------------------------------------


def shown_comment(session: Session, campaign: Campaign, comment_id: int) -> Comment:
    """A comment of `campaign` that the public can see. Raises CommentNotFound."""
    comment = session.get(Comment, comment_id)
    if (
        comment is None
        or comment.campaign_id != campaign.id
        or comment.status not in (SHOWN_STATUSES)
    ):
        raise CommentNotFound(comment_id)
    return comment


def reader_reference(reader_id: str) -> str:
    """What the database keeps of a reader: a keyed digest of their session's random id."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hashlib.sha256(secret + b"|reader|" + reader_id.encode()).hexdigest()[:32]


def toggle_support(session: Session, comment: Comment, reader: str) -> bool:
    """Support the comment, or take the reader's support back; returns whether it is supported.

    Only visible comments can gain support. The counter moves by an atomic update, with the
    unique (comment, reader) row as the judge of "once per reader".
    """
    begin_write(session)
    removed = session.execute(
        delete(CommentSupport).where(
            CommentSupport.comment_id == comment.id, CommentSupport.reader == reader
        )
    ).rowcount
    if removed:
        _bump(session, comment, Comment.support_count, -1)
        return False
    if comment.status != CommentStatus.VISIBLE:
        raise CommentNotFound(comment.id)
    try:
        with session.begin_nested():
            session.add(CommentSupport(comment_id=comment.id, reader=reader))
            session.flush()
    except IntegrityError:
        return True  # another request of this reader's got there first
    _bump(session, comment, Comment.support_count, 1)
    return True


def supported_by(session: Session, comment_ids: Collection[int], reader: str) -> set[int]:
    """Which of these comments the reader supports."""
    if not comment_ids or not reader:
        return set()
    return set(
        session.scalars(
            select(CommentSupport.comment_id).where(
                CommentSupport.comment_id.in_(comment_ids), CommentSupport.reader == reader
            )
        )
    )


def flagged_by(session: Session, comment_ids: Collection[int], reader: str) -> set[int]:
    """Which of these comments the reader has flagged and a moderator has not yet reviewed."""
    if not comment_ids or not reader:
        return set()
    return set(
        session.scalars(
            select(CommentFlag.comment_id).where(
                CommentFlag.comment_id.in_(comment_ids),
                CommentFlag.reader == reader,
                CommentFlag.resolved_at.is_(None),
            )
        )
    )


def flag_comment(
    session: Session,
    comment: Comment,
    reader: str,
    reason: FlagReason,
    *,
    rules: CommentRules,
    now: datetime | None = None,
) -> bool:
    """Record a reader's flag; returns whether this flag hid the comment for review.

    One open flag per reader per comment (flagging again changes nothing). When the open flags
    from different readers reach the threshold, a visible comment is hidden pending review.
    """
    begin_write(session)
    now = now or utcnow()
    # One flag at a time per comment (a row lock; SQLite's write lock does it there), read
    # afresh: readers flagging at once must neither miss the threshold nor count on a comment
    # that another flag has just hidden.
    status = session.execute(
        select(Comment.status).where(Comment.id == comment.id).with_for_update()
    ).scalar_one_or_none()
    if status != CommentStatus.VISIBLE:
        raise CommentNotFound(comment.id)
    existing = session.scalar(
        select(CommentFlag).where(
            CommentFlag.comment_id == comment.id, CommentFlag.reader == reader
        )
    )
    if existing is not None:
        if existing.resolved_at is None:
            return False
        # Reviewed and kept once; this reader may raise it again.
        existing.resolved_at, existing.reason, existing.created_at = None, reason, now
    else:
        try:
            with session.begin_nested():
                session.add(
                    CommentFlag(comment_id=comment.id, reader=reader, reason=reason, created_at=now)
                )
                session.flush()
        except IntegrityError:
            return False
    open_flags = session.scalar(
        select(func.count())
        .select_from(CommentFlag)
        .where(CommentFlag.comment_id == comment.id, CommentFlag.resolved_at.is_(None))
    )
    hidden = session.execute(
        update(Comment)
        .where(Comment.id == comment.id, Comment.status == CommentStatus.VISIBLE)
        .values(
            flag_count=open_flags,
            **(
                {"status": CommentStatus.HIDDEN, "hidden_by_flags": True}
                if open_flags >= rules.flag_threshold
                else {}
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(comment)
    return bool(hidden) and open_flags >= rules.flag_threshold


def _bump(session: Session, comment: Comment, column, delta: int) -> None:
    session.execute(
        update(Comment)
        .where(Comment.id == comment.id)
        .values({column: column + delta})
        .execution_options(synchronize_session=False)
    )
    session.refresh(comment)


# --- the public discussion --------------------------------------------------------------------


@dataclass
class Thread:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


@dataclass
class Discussion:
    """One page of a campaign's discussion, as the petition page shows it."""

    threads: list[Thread]
    page: int
    pages: int
    total: int  # top-level comments shown under the current filter
    sort: str
    language: str | None  # the reader's language when they show only theirs, else None

    @property
    def comment_ids(self) -> list[int]:
        return [c.id for t in self.threads for c in [t.comment, *t.replies]]


def discussion(
    session: Session,
    campaign: Campaign,
    *,
    sort: str = SortOrder.NEWEST,
    language: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Discussion:
    """Top-level comments newest or most supported first, each with its replies oldest first.

    With `language`, only comments detected in that language. Hidden comments keep their place
    (the page says they were hidden); removed ones disappear, unless replies hang from them.
    """
    sort = sort if sort in SortOrder.ALL else SortOrder.NEWEST
    with_replies = select(Comment.parent_id).where(
        Comment.campaign_id == campaign.id,
        Comment.parent_id.is_not(None),
        Comment.status.in_(SHOWN_STATUSES),
    )
    top = select(Comment).where(
        Comment.campaign_id == campaign.id,
        Comment.parent_id.is_(None),
        or_(
            Comment.status.in_(SHOWN_STATUSES),
            (Comment.status == CommentStatus.REMOVED) & Comment.id.in_(with_replies),
        ),
    )
    if language:
        top = top.where(Comment.language == language)
    total = session.scalar(select(func.count()).select_from(top.subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    if sort == SortOrder.SUPPORTED:
        top = top.order_by(Comment.support_count.desc(), Comment.created_at.desc(), Comment.id)
    else:
        top = top.order_by(Comment.created_at.desc(), Comment.id.desc())
    comments = list(session.scalars(top.offset((page - 1) * per_page).limit(per_page)))
    threads = {c.id: Thread(c) for c in comments}
    if threads:
        replies = select(Comment).where(
            Comment.parent_id.in_(threads), Comment.status.in_(SHOWN_STATUSES)
        )
        if language:
            replies = replies.where(Comment.language == language)
        for reply in session.scalars(replies.order_by(Comment.created_at, Comment.id)):
            threads[reply.parent_id].replies.append(reply)
    return Discussion(
        threads=list(threads.values()),
        page=page,
        pages=pages,
        total=total,
        sort=sort,
        language=language,
    )


def shown_count(session: Session, campaign: Campaign) -> int:
    """How many comments and replies the public can read on the campaign."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.campaign_id == campaign.id, Comment.status == CommentStatus.VISIBLE)
        )
        or 0
    )


# --- a person's data (see services.people) ----------------------------------------------------


def _person_comments(session: Session, campaign: Campaign, key: str) -> list[Comment]:
    return list(
        session.scalars(
            select(Comment)
            .where(Comment.campaign_id == campaign.id, Comment.email_key == key)
            .order_by(Comment.created_at, Comment.id)
        )
    )


def _find_commenter(session: Session, campaign: Campaign, key: str) -> set[str]:
    return {comment.email for comment in _person_comments(session, campaign, key)}


def _export_comments(session: Session, person: people.Person) -> dict[str, Any]:
    return {
        "comments": [
            {
                "author_name": c.author_name,
                "email": c.email,
                "body": c.body,
                "language": c.language,
                "status": c.status.value,
                "is_reply": c.is_reply,
                "is_reason_for_signing": c.is_reason,
                "written_at": c.created_at.isoformat(),
                "confirmed_at": c.confirmed_at.isoformat() if c.confirmed_at else None,
                "supports": c.support_count,
            }
            for c in _person_comments(session, person.campaign, person.key)
        ]
    }


def _erase_comments(session: Session, person: people.Person) -> dict[str, int]:
    """Take the person's words and name out of the discussion; replies to them stay.

    The rows stay as "removed" placeholders so that threads keep their shape. A block on the
    mailbox goes too: it is the only place left that would hold the address.
    """
    erased = 0
    for comment in _person_comments(session, person.campaign, person.key):
        comment.author_name = ""
        comment.email = people.ERASED_ADDRESS
        comment.email_key = ""
        comment.body = ""
        comment.body_hash = ""
        comment.status = CommentStatus.REMOVED
        erased += 1
    blocks = session.execute(
        delete(CommentBlock).where(
            CommentBlock.campaign_id == person.campaign.id, CommentBlock.email_key == person.key
        )
    ).rowcount
    session.flush()
    return {"comments": erased, "comment_blocks": blocks}


people.FINDERS.append(_find_commenter)
people.EXPORTERS.append(_export_comments)
people.ERASERS.append(_erase_comments)


__all__ = [
    "UNKNOWN",
    "CommentData",
    "CommentRules",
    "Discussion",
    "PostResult",
    "SortOrder",
    "Thread",
    "accepts_comments",
    "add_reason",
    "can_reply",
    "comment_for_token",
    "confirm_comment",
    "confirmation_token",
    "discussion",
    "flag_comment",
    "is_blocked",
    "post_comment",
    "publish_reason",
    "reader_reference",
    "shown_comment",
    "shows_comments",
    "supported_by",
    "toggle_support",
]
