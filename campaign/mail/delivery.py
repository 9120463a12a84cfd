"""Draining the outbox: claim a row, hand it to the backend, record what happened.

A row is claimed (status `sending`) and committed before the provider is called. If the worker
dies after the provider took the message but before the row says `sent`, the row stays
`sending`; once its lease runs out it is marked failed, never sent again. Losing track of one
message is visible and fixable (the signer can sign again to get a new link); a duplicate is not.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.mail.backends import Backend, DeliveryError
from campaign.models import OutboxMessage, OutboxStatus, Suppression
from campaign.models.types import utcnow
from campaign.services.email_addresses import mailbox_key
from campaign.services.errors import InvalidEmail

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


def retry_delay(attempts: int, base_seconds: float) -> timedelta:
    """Exponential backoff after the `attempts`-th failure: base, 2×base, 4×base … up to 6 hours."""
    exponent = min(max(0, attempts - 1), 32)  # beyond this the cap applies anyway
    return timedelta(seconds=min(MAX_BACKOFF.total_seconds(), base_seconds * 2.0**exponent))


def due_message_ids(
    session: Session, *, limit: int = 100, now: datetime | None = None
) -> list[int]:
    """Ids of pending messages whose next attempt is due, oldest first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
    )


def expire_stale_claims(session: Session, lease_seconds: int, now: datetime | None = None) -> int:
    """Mark as failed the messages a worker claimed and never reported on within the lease."""
    now = now or utcnow()
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_at < now - timedelta(seconds=lease_seconds),
        )
        .values(
            status=OutboxStatus.FAILED,
            last_error="the worker stopped while delivering; not retried, to avoid a duplicate",
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        log.warning(
            "gave up on %s message(s) left in delivery by a stopped worker", result.rowcount
        )
    return result.rowcount


def is_suppressed(session: Session, address: str) -> bool:
    """Whether bulk email to `address` must not be sent (see `Suppression`)."""
    try:
        key = mailbox_key(address)
    except InvalidEmail:
        return False
    return (
        session.scalar(select(Suppression.id).where(Suppression.email_key == key).limit(1))
        is not None
    )


def deliver_message(
    session: Session,
    message_id: int,
    backend: Backend,
    *,
    max_attempts: int,
    retry_base_seconds: float,
    now: datetime | None = None,
) -> OutboxStatus | None:
    """Try to deliver one message; returns its new status, or None if another worker has it.

    Commits twice: once to claim, once to record the outcome.
    """
    now = now or utcnow()
    begin_write(session)
    claimed = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
        )
        .values(
            status=OutboxStatus.SENDING,
            claimed_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if not claimed:
        return None

    message = session.get(OutboxMessage, message_id, populate_existing=True)
    if message.is_bulk and is_suppressed(session, message.to_email):
        begin_write(session)
        message.status = OutboxStatus.SUPPRESSED
        message.last_error = "not sent: the address is suppressed (bounced, blocked or complained)"
        session.commit()
        log.info("mail %s (%s) suppressed", message.id, message.kind)
        return message.status
    error: DeliveryError | None = None
    try:
        provider_id = backend.send(message)
    except DeliveryError as exc:
        error = exc
    # The provider call is over: only now take the write lock (on SQLite) to record it.
    begin_write(session)
    if error is None:
        message.status = OutboxStatus.SENT
        message.sent_at = utcnow()
        message.provider_message_id = provider_id[:200]
        message.last_error = ""
        log.info("mail %s (%s) sent", message.id, message.kind)
    elif not error.retryable or message.attempts >= max_attempts:
        message.status = OutboxStatus.FAILED
        message.last_error = str(error)[:2000]
        log.error("mail %s (%s) failed for good: %s", message.id, message.kind, error)
    else:
        message.status = OutboxStatus.PENDING
        message.last_error = str(error)[:2000]
        delay = retry_delay(message.attempts, retry_base_seconds)
        if error.retry_after is not None:
            # The provider said when to come back (429, 503): not sooner, and not beyond the cap.
            delay = max(delay, min(timedelta(seconds=error.retry_after), MAX_BACKOFF))
        message.next_attempt_at = utcnow() + delay
        log.warning(
            "mail %s (%s) attempt %s failed, retrying at %s: %s",
            message.id, message.kind, message.attempts, message.next_attempt_at, error,
        )  # fmt: skip
    session.commit()
    return message.status


def deliver_due(session: Session, backend: Backend, config, *, limit: int = 100) -> int:
    """Deliver every message that is due now; returns how many were handed to the provider."""
    begin_write(session)
    expire_stale_claims(session, config["MAIL_SENDING_LEASE_SECONDS"])
    session.commit()
    sent = 0
    for message_id in due_message_ids(session, limit=limit):
        status = deliver_message(
            session,
            message_id,
            backend,
            max_attempts=config["MAIL_MAX_ATTEMPTS"],
            retry_base_seconds=config["MAIL_RETRY_BASE_SECONDS"],
        )
        sent += status == OutboxStatus.SENT
    return sent
