"""Keeping the discussion civil: the moderators' queue, their actions, blocks and alerts.

Every action writes an audit entry in the same transaction. Moderators never see a commenter's
address: a block is made from a comment and listed by the name that comment used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
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
    Membership,
    Organizer,
)
from campaign.models.types import utcnow
from campaign.services import audit
from campaign.services.authz import PERMISSIONS, Action
from campaign.services.campaigns import localize
from campaign.services.errors import NotModeratable
from campaign.urls import external_url

# What a moderator looks back over in "recently hidden".
RECENT_WINDOW = timedelta(days=30)
ALERT_INTERVAL = timedelta(hours=1)


class QueueTab:
    PENDING = "pending"
    FLAGGED = "flagged"
    HIDDEN = "hidden"
    ALL = (PENDING, FLAGGED, HIDDEN)


@dataclass(frozen=True)
class FlaggedComment:
    comment: Comment
    reasons: dict[str, int]  # open flags by reason


@dataclass(frozen=True)
class QueuePage:
    tab: str
    items: list[FlaggedComment]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class QueueCounts:
    pending: int
    flagged: int
    hidden: int


def queue_counts(session: Session, campaign: Campaign) -> QueueCounts:
    """How many comments wait in each tab of the queue."""
    return QueueCounts(
        pending=_count(session, _tab_query(campaign, QueueTab.PENDING)),
        flagged=_count(session, _tab_query(campaign, QueueTab.FLAGGED)),
        hidden=_count(session, _tab_query(campaign, QueueTab.HIDDEN)),
    )


def moderation_queue(
    session: Session, campaign: Campaign, tab: str, *, page: int = 1, per_page: int = 25
) -> QueuePage:
    """One page of a tab: pending (oldest first), flagged (most flags first), recently hidden."""
    tab = tab if tab in QueueTab.ALL else QueueTab.PENDING
    query = _tab_query(campaign, tab)
    total = _count(session, query)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    if tab == QueueTab.PENDING:
        query = query.order_by(Comment.confirmed_at, Comment.id)
    elif tab == QueueTab.FLAGGED:
        query = query.order_by(Comment.flag_count.desc(), Comment.created_at.desc(), Comment.id)
    else:
        query = query.order_by(Comment.moderated_at.desc().nulls_last(), Comment.id.desc())
    comments = list(session.scalars(query.offset((page - 1) * per_page).limit(per_page)))
    reasons = _open_flag_reasons(session, [c.id for c in comments])
    items = [FlaggedComment(c, reasons.get(c.id, {})) for c in comments]
    return QueuePage(tab=tab, items=items, page=page, pages=pages, total=total)


def _tab_query(campaign: Campaign, tab: str):
    query = select(Comment).where(Comment.campaign_id == campaign.id)
    if tab == QueueTab.PENDING:
        return query.where(Comment.status == CommentStatus.PENDING)
    if tab == QueueTab.FLAGGED:
        # Flagged and not yet reviewed: still visible, or hidden by the flags themselves.
        return query.where(
            Comment.flag_count > 0,
            or_(
                Comment.status == CommentStatus.VISIBLE,
                (Comment.status == CommentStatus.HIDDEN) & Comment.hidden_by_flags,
            ),
        )
    since = utcnow() - RECENT_WINDOW
    return query.where(
        Comment.status.in_((CommentStatus.HIDDEN, CommentStatus.REMOVED)),
        ~Comment.hidden_by_flags,
        Comment.moderated_at >= since,
    )


def _count(session: Session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _open_flag_reasons(session: Session, comment_ids: list[int]) -> dict[int, dict[str, int]]:
    if not comment_ids:
        return {}
    rows = session.execute(
        select(CommentFlag.comment_id, CommentFlag.reason, func.count())
        .where(CommentFlag.comment_id.in_(comment_ids), CommentFlag.resolved_at.is_(None))
        .group_by(CommentFlag.comment_id, CommentFlag.reason)
    )
    reasons: dict[int, dict[str, int]] = {}
    for comment_id, reason, count in rows:
        reasons.setdefault(comment_id, {})[str(reason)] = count
    return reasons


def campaign_comment(session: Session, campaign: Campaign, comment_id: int) -> Comment:
    """A confirmed comment of the campaign, for a moderator. Raises NotModeratable."""
    comment = session.get(Comment, comment_id)
    if (
        comment is None
        or comment.campaign_id != campaign.id
        or comment.status == CommentStatus.UNCONFIRMED
    ):
        raise NotModeratable(comment_id)
    return comment


# --- actions ----------------------------------------------------------------------------------


def approve(session: Session, actor: Organizer, comment: Comment) -> None:
    """Make a pending, hidden or flagged comment visible; its open flags are resolved.

    Never one whose author did not confirm the address (a blocked author's unconfirmed
    comments are removed with the block): that would publish in someone else's name.
    """
    begin_write(session)
    if comment.status == CommentStatus.VISIBLE and not comment.flag_count:
        raise NotModeratable(comment.id)
    if comment.status == CommentStatus.UNCONFIRMED or comment.confirmed_at is None:
        raise NotModeratable(comment.id)
    previous = comment.status
    _resolve_flags(session, comment)
    comment.status = CommentStatus.VISIBLE
    _moderated(session, actor, comment, "comment.approve", previous)


def hide(session: Session, actor: Organizer, comment: Comment) -> None:
    """Hide a comment: the public sees "hidden by a moderator" in its place; replies stay.

    Not one still waiting for approval: nobody has seen it, so there is nothing to hide in
    place (a moderator removes it instead).
    """
    begin_write(session)
    cannot_hide = (CommentStatus.UNCONFIRMED, CommentStatus.PENDING, CommentStatus.REMOVED)
    if comment.status in cannot_hide or (
        comment.status == CommentStatus.HIDDEN and not comment.hidden_by_flags
    ):
        raise NotModeratable(comment.id)
    previous = comment.status
    _resolve_flags(session, comment)
    comment.status = CommentStatus.HIDDEN
    _moderated(session, actor, comment, "comment.hide", previous)


def remove(session: Session, actor: Organizer, comment: Comment) -> None:
    """Remove a comment from the discussion for good (its replies stay)."""
    begin_write(session)
    if comment.status in (CommentStatus.UNCONFIRMED, CommentStatus.REMOVED):
        raise NotModeratable(comment.id)
    previous = comment.status
    _resolve_flags(session, comment)
    comment.status = CommentStatus.REMOVED
    _moderated(session, actor, comment, "comment.remove", previous)


def block_author(session: Session, actor: Organizer, comment: Comment) -> CommentBlock:
    """Bar the comment's author from commenting on the campaign, and hide the comment.

    Their comments still waiting for approval are removed with it, this one too if it waits:
    a comment no reader saw must not take a place in the discussion as "hidden".
    """
    begin_write(session)
    if not comment.email_key:
        raise NotModeratable(comment.id)
    block = session.scalar(
        select(CommentBlock).where(
            CommentBlock.campaign_id == comment.campaign_id,
            CommentBlock.email_key == comment.email_key,
        )
    )
    if block is None:
        block = CommentBlock(
            campaign_id=comment.campaign_id,
            email_key=comment.email_key,
            author_name=comment.author_name,
            created_by_id=actor.id,
        )
        session.add(block)
    now = utcnow()
    withdrawn = session.execute(
        update(Comment)
        .where(
            Comment.campaign_id == comment.campaign_id,
            Comment.email_key == comment.email_key,
            Comment.status.in_((CommentStatus.PENDING, CommentStatus.UNCONFIRMED)),
            Comment.id != comment.id,
        )
        .values(status=CommentStatus.REMOVED, moderated_at=now, moderated_by_id=actor.id)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if comment.status != CommentStatus.REMOVED:
        _resolve_flags(session, comment)
        comment.status = (
            CommentStatus.REMOVED
            if comment.status == CommentStatus.PENDING
            else CommentStatus.HIDDEN
        )
        comment.moderated_at, comment.moderated_by_id = now, actor.id
    session.flush()
    audit.record(
        session,
        actor,
        "comment.block",
        comment.campaign,
        comment=comment.id,
        author=comment.author_name,
        withdrawn=withdrawn,
    )
    return block


def blocks(session: Session, campaign: Campaign) -> list[CommentBlock]:
    """The campaign's blocked authors, newest first."""
    return list(
        session.scalars(
            select(CommentBlock)
            .where(CommentBlock.campaign_id == campaign.id)
            .order_by(CommentBlock.created_at.desc(), CommentBlock.id.desc())
        )
    )


def unblock(session: Session, actor: Organizer, campaign: Campaign, block_id: int) -> None:
    """Let a blocked author comment again. Raises NotModeratable."""
    begin_write(session)
    block = session.get(CommentBlock, block_id)
    if block is None or block.campaign_id != campaign.id:
        raise NotModeratable(block_id)
    session.delete(block)
    session.flush()
    audit.record(session, actor, "comment.unblock", campaign, author=block.author_name)


def set_policy(
    session: Session, actor: Organizer, campaign: Campaign, policy: CommentPolicy
) -> bool:
    """Turn discussion off, or make it post- or pre-moderated; returns whether it changed."""
    begin_write(session)
    policy = CommentPolicy(policy)
    if campaign.comment_policy == policy:
        return False
    old = campaign.comment_policy
    campaign.comment_policy = policy
    session.flush()
    audit.record(
        session, actor, "comment.policy", campaign, changes={"comment_policy": [old, policy]}
    )
    return True


def _resolve_flags(session: Session, comment: Comment) -> None:
    session.execute(
        update(CommentFlag)
        .where(CommentFlag.comment_id == comment.id, CommentFlag.resolved_at.is_(None))
        .values(resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    comment.flag_count = 0
    comment.hidden_by_flags = False


def _moderated(
    session: Session, actor: Organizer, comment: Comment, action: str, previous: CommentStatus
) -> None:
    comment.moderated_at = utcnow()
    comment.moderated_by_id = actor.id
    session.flush()
    audit.record(
        session,
        actor,
        action,
        comment.campaign,
        comment=comment.id,
        author=comment.author_name,
        **{"from": previous.value, "to": comment.status.value},
    )


# --- alerts -----------------------------------------------------------------------------------


def send_moderation_alerts(session: Session, now: datetime | None = None) -> int:
    """Email each campaign's moderators about comments newly pending or flagged.

    At most one alert per campaign per hour, claimed by a compare-and-set on the campaign so
    that two workers running this at once send it once. Returns how many campaigns alerted.
    """
    now = now or utcnow()
    sent = 0
    campaigns = session.scalars(
        select(Campaign).where(
            Campaign.comment_policy != CommentPolicy.OFF,
            or_(
                Campaign.moderation_alerted_at.is_(None),
                Campaign.moderation_alerted_at <= now - ALERT_INTERVAL,
            ),
        )
    ).all()
    # The last alert as this run found it, before any commit below reloads the campaigns: read
    # later, it could be another run's alert of a minute ago, which the claim would then match.
    candidates = [(campaign, campaign.moderation_alerted_at) for campaign in campaigns]
    for campaign, since in candidates:
        new_pending, new_flags = _news_since(session, campaign, since)
        if not (new_pending or new_flags):
            continue
        begin_write(session)
        claimed = session.execute(
            update(Campaign)
            .where(
                Campaign.id == campaign.id,
                Campaign.moderation_alerted_at.is_(None)
                if since is None
                else Campaign.moderation_alerted_at == since,
            )
            .values(moderation_alerted_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            session.rollback()
            continue
        counts = queue_counts(session, campaign)
        for moderator in _moderators(session, campaign):
            _queue_alert(session, campaign, moderator, new_pending, new_flags, counts)
        session.commit()
        sent += 1
    return sent


def _news_since(session: Session, campaign: Campaign, since: datetime | None) -> tuple[int, int]:
    pending = (
        select(func.count())
        .select_from(Comment)
        .where(Comment.campaign_id == campaign.id, Comment.status == CommentStatus.PENDING)
    )
    flags = (
        select(func.count())
        .select_from(CommentFlag)
        .join(Comment, Comment.id == CommentFlag.comment_id)
        .where(Comment.campaign_id == campaign.id, CommentFlag.resolved_at.is_(None))
    )
    if since is not None:
        pending = pending.where(Comment.confirmed_at > since)
        flags = flags.where(CommentFlag.created_at > since)
    return session.scalar(pending) or 0, session.scalar(flags) or 0


def _moderators(session: Session, campaign: Campaign) -> list[Organizer]:
    roles = PERMISSIONS[Action.MODERATE]
    return list(
        session.scalars(
            select(Organizer)
            .join(Membership, Membership.organizer_id == Organizer.id)
            .where(
                Membership.campaign_id == campaign.id,
                Membership.role.in_(roles),
                Organizer.is_disabled.is_(False),
            )
            .order_by(Organizer.id)
        )
    )


def _queue_alert(
    session: Session,
    campaign: Campaign,
    moderator: Organizer,
    new_pending: int,
    new_flags: int,
    counts: QueueCounts,
) -> None:
    language = moderator.language
    title = localize(campaign, language).text.title
    tab = QueueTab.PENDING if new_pending else QueueTab.FLAGGED
    queue_email(
        session,
        kind="moderation_alert",
        preferences=False,
        template="moderation_alert",
        language=language,
        to_email=moderator.email,
        to_name=moderator.name,
        subject=_l("Comments need your attention: %(title)s", title=title),
        title=title,
        new_pending=new_pending,
        new_flags=new_flags,
        counts=counts,
        queue_url=external_url("admin.comments", slug=campaign.slug, tab=tab),
    )


__all__ = [
    "FlaggedComment",
    "QueueCounts",
    "QueuePage",
    "QueueTab",
    "approve",
    "block_author",
    "blocks",
    "campaign_comment",
    "hide",
    "moderation_queue",
    "queue_counts",
    "remove",
    "send_moderation_alerts",
    "set_policy",
    "unblock",
]
