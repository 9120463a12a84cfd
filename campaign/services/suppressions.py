"""Suppressions: mailboxes no bulk email may reach, mostly learned from SendGrid's events.

Delivery checks them (`mail.delivery.is_suppressed`) before every bulk message; personal
messages someone just asked for (a confirmation link) still go out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.models import Suppression
from campaign.services.email_addresses import mailbox_key
from campaign.services.errors import InvalidEmail

log = logging.getLogger(__name__)

# SendGrid Event Webhook events that mean "stop sending bulk email here".
SUPPRESSING_EVENTS = {"bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"}


def suppress(session: Session, email: str, reason: str, source: str = "sendgrid") -> bool:
    """Add a suppression for the mailbox behind `email`; returns whether it is new.

    Idempotent: an existing suppression keeps its first reason. Raises InvalidEmail.
    """
    key = mailbox_key(email)
    if session.scalar(select(Suppression.id).where(Suppression.email_key == key)) is not None:
        return False
    try:
        # The unique key decides when two deliveries of one event race.
        with session.begin_nested():
            session.add(Suppression(email_key=key, reason=reason[:32], source=source[:32]))
            session.flush()
    except IntegrityError:
        return False
    return True


def event_reason(event: dict[str, Any]) -> str | None:
    """The suppression reason a SendGrid event stands for, or None for events to ignore."""
    name = str(event.get("event", ""))
    if name == "blocked" or (name == "bounce" and event.get("type") == "blocked"):
        return "blocked"
    if name in SUPPRESSING_EVENTS:
        return name
    return None


def record_sendgrid_events(session: Session, events: Iterable[Any]) -> int:
    """Turn a batch of SendGrid events into suppressions; returns how many are new.

    Unknown events, and events without a usable address, are skipped.
    """
    added = 0
    for event in events:
        if not isinstance(event, dict):
            continue
        reason = event_reason(event)
        email = event.get("email")
        if reason is None or not isinstance(email, str):
            continue
        try:
            added += suppress(session, email, reason)
        except InvalidEmail:
            log.warning("SendGrid %s event for an address that is not valid; skipped", reason)
    return added
