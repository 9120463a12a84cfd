"""A host's message to the people coming to their rally, sent by email through the outbox.

The host never sees the attendees' addresses, and the attendees never see the host's: the
message goes out from the site, a few times a day at most, and each one is in the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.mail.outbox import queue_email
from campaign.models import AuditEntry, Event, EventStatus
from campaign.models.types import utcnow
from campaign.services import audit, rsvps
from campaign.services.errors import EventClosed, TooManyMessages
from campaign.services.events import mail_context
from campaign.urls import external_url

ACTION = "event.host_message"
# How many messages a host may send to their attendees in a day, and how long one may be.
MESSAGES_PER_DAY = 3
MAX_LENGTH = 5000
WINDOW = timedelta(days=1)


def messages_sent(session: Session, event: Event, *, now: datetime | None = None) -> int:
    """How many messages the host of `event` sent in the last day (read from the audit log)."""
    since = (now or utcnow()) - WINDOW
    details = session.scalars(
        select(AuditEntry.details).where(
            AuditEntry.campaign_id == event.campaign_id,
            AuditEntry.action == ACTION,
            AuditEntry.created_at >= since,
        )
    )
    return sum(1 for d in details if (d or {}).get("event") == event.id)


def send_host_message(
    session: Session, event: Event, body: str, *, now: datetime | None = None
) -> int:
    """Email `body` to everyone going, offered a place or waiting, each in their language.

    Returns how many people it goes to (nothing is sent, or counted, when nobody is there).
    Raises EventClosed (the event is not scheduled), ValueError (empty or too long) and
    TooManyMessages.
    """
    begin_write(session)
    if event.status != EventStatus.SCHEDULED:
        raise EventClosed(event.id)
    text = body.strip()
    if not text or len(text) > MAX_LENGTH:
        raise ValueError("the message is empty or too long")
    if messages_sent(session, event, now=now) >= MESSAGES_PER_DAY:
        raise TooManyMessages(MESSAGES_PER_DAY)
    recipients = rsvps.people_to_tell(session, event)
    for record in recipients:
        language = record.language
        queue_email(
            session,
            kind="event_host_message",
            template="event_host_message",
            language=language,
            to_email=record.email,
            to_name=record.full_name,
            subject=_l("A message from the host of %(event)s", event=event.title),
            event=event,
            rsvp=record,
            host_name=event.host_name,
            body=text,
            event_url=external_url("public.event", lang=language, event_id=event.id),
            manage_url=external_url(
                "public.manage_rsvp",
                lang=language,
                event_id=event.id,
                token=rsvps.rsvp_token(record, rsvps.MANAGE_PURPOSE),
            ),
            **mail_context(event, language),
        )
    if recipients:
        audit.record(
            session, None, ACTION, event.campaign, event=event.id, recipients=len(recipients)
        )
    return len(recipients)


def remaining_today(session: Session, event: Event) -> int:
    """How many more messages the host may send today."""
    return max(0, MESSAGES_PER_DAY - messages_sent(session, event))
