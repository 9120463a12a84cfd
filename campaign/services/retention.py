"""Deleting what nobody will confirm: unconfirmed signatures past their time.

A signature never confirmed never counted, and its confirmation link expired long ago: keeping
the name and address any longer is keeping personal data for nothing. `purge_unconfirmed` runs
daily from the mail worker (see `purge_if_due`) and on demand as
`flask signatures purge-unconfirmed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.models import (
    Campaign,
    Comment,
    CommentStatus,
    OutboxStatus,
    ScheduledRun,
    Signature,
)
from campaign.models.types import utcnow
from campaign.services import audit
from campaign.services.people import _campaign_messages

PURGE_ACTION = "signatures.purge_unconfirmed"
PURGE_TASK = "purge-unconfirmed-signatures"
PURGE_EVERY = timedelta(days=1)
# Why a confirmation still waiting in the outbox will never be sent (organizers read it).
PURGED_BEFORE_DELIVERY = "not sent: the unconfirmed signature was deleted"
CHUNK = 500


@dataclass
class PurgeReport:
    days: int
    cutoff: datetime
    dry_run: bool
    by_campaign: dict[str, int] = field(default_factory=dict)  # slug -> signatures
    emails: int = 0

    @property
    def signatures(self) -> int:
        return sum(self.by_campaign.values())


def purge_unconfirmed(
    session: Session, days: int, *, dry_run: bool = False, now: datetime | None = None
) -> PurgeReport:
    """Delete every unconfirmed signature made more than `days` days ago, in every campaign.

    Their confirmation emails still waiting in the outbox are given up on, their reasons still
    waiting to become comments are deleted. Audited in each campaign it deleted from (no
    organizer: the system did it). With `dry_run`, counts and changes nothing.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    now = now or utcnow()
    report = PurgeReport(days=days, cutoff=now - timedelta(days=days), dry_run=dry_run)
    stale = (Signature.confirmed_at.is_(None), Signature.created_at < report.cutoff)
    if not dry_run:
        begin_write(session)
    counts = session.execute(
        select(Campaign.id, Campaign.slug, func.count(Signature.id))
        .join(Signature, Signature.campaign_id == Campaign.id)
        .where(*stale)
        .group_by(Campaign.id, Campaign.slug)
        .order_by(Campaign.slug)
    ).all()
    report.by_campaign = {slug: n for _, slug, n in counts}
    if dry_run:
        return report
    for campaign_id, _slug, n in counts:
        campaign = session.get(Campaign, campaign_id)
        emails = 0
        while True:
            rows = session.execute(
                select(Signature.id, Signature.email)
                .where(Signature.campaign_id == campaign_id, *stale)
                .limit(CHUNK)
            ).all()
            if not rows:
                break
            emails += _give_up_confirmations(session, campaign, {r.email.lower() for r in rows})
            ids = [r.id for r in rows]
            session.execute(
                delete(Comment)
                .where(Comment.signature_id.in_(ids), Comment.status == CommentStatus.UNCONFIRMED)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                delete(Signature)
                .where(Signature.id.in_(ids))
                .execution_options(synchronize_session=False)
            )
        report.emails += emails
        audit.record(session, None, PURGE_ACTION, campaign, signatures=n, emails=emails, days=days)
    session.expire_all()
    return report


def _give_up_confirmations(session: Session, campaign: Campaign, addresses: set[str]) -> int:
    """Mark the confirmations still waiting for these addresses as never to be sent."""
    given_up = 0
    for message in _campaign_messages(session, campaign, addresses):
        if message.status == OutboxStatus.PENDING and message.kind == "signature_confirmation":
            message.status = OutboxStatus.FAILED
            message.last_error = PURGED_BEFORE_DELIVERY
            given_up += 1
    session.flush()
    return given_up


def _claim_run(session: Session, now: datetime) -> bool:
    """Take today's purge for this worker: True unless one ran (anywhere) within the day."""
    claimed = session.execute(
        update(ScheduledRun)
        .where(ScheduledRun.name == PURGE_TASK, ScheduledRun.last_run_at <= now - PURGE_EVERY)
        .values(last_run_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        return True
    if session.get(ScheduledRun, PURGE_TASK) is not None:
        return False
    try:
        with session.begin_nested():  # the first run ever; another worker may race it
            session.add(ScheduledRun(name=PURGE_TASK, last_run_at=now))
            session.flush()
    except IntegrityError:
        return False
    return True


def purge_if_due(session: Session, days: int, *, now: datetime | None = None) -> int:
    """Purge unless it ran within the last day; returns how many signatures went.

    Called by the worker about once a minute; the claim on `ScheduledRun` makes it once a day
    however many workers run on however many machines.
    """
    now = now or utcnow()
    begin_write(session)
    if not _claim_run(session, now):
        return 0
    return purge_unconfirmed(session, days, now=now).signatures
