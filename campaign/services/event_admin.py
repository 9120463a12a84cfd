"""Rallies as organizers see them: the lists, attendees, their export, and an organizer's
hand on an RSVP. The rules of events and RSVPs themselves are `services.events` and
`services.rsvps`; this module reads for the panel and records who did what.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.models import (
    Campaign,
    Event,
    EventStatus,
    Organizer,
    Rsvp,
    RsvpStatus,
    TrustedHost,
)
from campaign.models.types import utcnow
from campaign.services import audit, rsvps
from campaign.services.csv_export import iso_utc, neutralize

DEFAULT_TIMEZONE = "UTC"
PAST_SHOWN = 100  # past events listed, most recent first
EXPORT_CHUNK = 1000


@dataclass(frozen=True)
class EventRow:
    """An event with its numbers, for the list."""

    event: Event
    counts: dict[RsvpStatus, int] = field(default_factory=dict)

    @property
    def going(self) -> int:
        return self.counts.get(RsvpStatus.GOING, 0)

    @property
    def waitlisted(self) -> int:
        return self.counts.get(RsvpStatus.WAITLISTED, 0)

    @property
    def offered(self) -> int:
        return self.counts.get(RsvpStatus.OFFERED, 0)


@dataclass(frozen=True)
class CampaignEvents:
    upcoming: list[EventRow]  # scheduled or cancelled, not over yet; soonest first
    past: list[EventRow]  # over; latest first, at most PAST_SHOWN
    past_total: int
    proposals: list[EventRow]  # supporters' proposals waiting for an organizer; oldest first

    @property
    def is_empty(self) -> bool:
        return not (self.upcoming or self.past or self.proposals)


def campaign_events(
    session: Session, campaign: Campaign, *, now: datetime | None = None
) -> CampaignEvents:
    """The campaign's events as the events screen lists them."""
    now = now or utcnow()
    shown = (EventStatus.SCHEDULED, EventStatus.CANCELLED)
    upcoming = list(
        session.scalars(
            select(Event)
            .where(Event.campaign_id == campaign.id, Event.status.in_(shown), Event.ends_at > now)
            .order_by(Event.starts_at, Event.id)
        )
    )
    past_where = (Event.campaign_id == campaign.id, Event.status.in_(shown), Event.ends_at <= now)
    past = list(
        session.scalars(
            select(Event)
            .where(*past_where)
            .order_by(Event.starts_at.desc(), Event.id.desc())
            .limit(PAST_SHOWN)
        )
    )
    past_total = session.scalar(select(func.count()).select_from(Event).where(*past_where)) or 0
    proposals = list(
        session.scalars(
            select(Event)
            .where(Event.campaign_id == campaign.id, Event.status == EventStatus.PROPOSED)
            .order_by(Event.created_at, Event.id)
        )
    )
    counts = rsvp_counts(session, [e.id for e in (*upcoming, *past, *proposals)])
    return CampaignEvents(
        upcoming=[EventRow(e, counts.get(e.id, {})) for e in upcoming],
        past=[EventRow(e, counts.get(e.id, {})) for e in past],
        past_total=past_total,
        proposals=[EventRow(e, counts.get(e.id, {})) for e in proposals],
    )


def rsvp_counts(session: Session, event_ids: list[int]) -> dict[int, dict[RsvpStatus, int]]:
    """For each event, how many RSVPs are in each status (statuses with none left out)."""
    if not event_ids:
        return {}
    counts: dict[int, dict[RsvpStatus, int]] = {}
    for event_id, status, n in session.execute(
        select(Rsvp.event_id, Rsvp.status, func.count())
        .where(Rsvp.event_id.in_(event_ids))
        .group_by(Rsvp.event_id, Rsvp.status)
    ):
        counts.setdefault(event_id, {})[RsvpStatus(status)] = n
    return counts


def campaign_event(session: Session, campaign: Campaign, event_id: int) -> Event | None:
    """The campaign's event with that id, or None (another campaign's events included)."""
    event = session.get(Event, event_id)
    return event if event is not None and event.campaign_id == campaign.id else None


def campaign_rsvp(session: Session, event: Event, rsvp_id: int) -> Rsvp | None:
    """The event's RSVP with that id, or None."""
    record = session.get(Rsvp, rsvp_id)
    return record if record is not None and record.event_id == event.id else None


def previous_timezone(session: Session, organizer: Organizer) -> str:
    """The time zone of the organizer's latest event, the likeliest for their next one."""
    zone = session.scalar(
        select(Event.timezone)
        .where(Event.created_by_id == organizer.id)
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(1)
    )
    return zone or DEFAULT_TIMEZONE


def trusted_hosts(session: Session, campaign: Campaign) -> list[TrustedHost]:
    """Supporters whose proposals skip approval on this campaign, by name."""
    return sorted(
        session.scalars(select(TrustedHost).where(TrustedHost.campaign_id == campaign.id)),
        key=lambda host: (host.name.casefold(), host.id),
    )


# --- attendees --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attendee:
    rsvp: Rsvp
    waitlist_position: int | None  # 1 for the next to be offered a place; None off the list


def attendee_list(session: Session, event: Event) -> list[Attendee]:
    """Everyone who RSVPed, in `rsvps.attendees` order, with their place on the waitlist."""
    records = rsvps.attendees(session, event)
    waiting = sorted(
        (r for r in records if r.status == RsvpStatus.WAITLISTED),
        # The order `rsvps.offer_free_places` offers places in.
        key=lambda r: (r.waitlisted_at or r.created_at, r.id),
    )
    positions = {record.id: n for n, record in enumerate(waiting, start=1)}
    return [Attendee(record, positions.get(record.id)) for record in records]


def going_people(session: Session, event: Event) -> list[Rsvp]:
    """The people going, by name: the sign-in sheet."""
    return sorted(
        session.scalars(
            select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.GOING)
        ),
        key=lambda r: (r.full_name.casefold(), r.id),
    )


def cancel_rsvp(session: Session, actor: Organizer, record: Rsvp) -> bool:
    """An organizer cancels someone's RSVP; a place it held goes to the waitlist. Returns
    whether anything changed (an RSVP already cancelled stays as it is, unrecorded)."""
    begin_write(session)
    if not rsvps.cancel_rsvp(session, record):
        return False
    audit.record(
        session, actor, "rsvp.cancel", record.event.campaign, event=record.event_id,
        name=record.full_name,
    )  # fmt: skip
    return True


CSV_COLUMNS = [
    "name",
    "email",
    "phone",
    "status",
    "rsvp_at",
    "confirmed_at",
    "consent",
]


def record_export(session: Session, actor: Organizer, event: Event) -> None:
    """Who took the attendees' data is on record before the first byte goes."""
    begin_write(session)
    audit.record(session, actor, "event.export", event.campaign, event=event.id, title=event.title)


def csv_rows(session: Session, event: Event, *, chunk: int = EXPORT_CHUNK) -> Iterator[list[str]]:
    """The header, then one row per RSVP in the order they came, every cell neutralized."""
    yield list(CSV_COLUMNS)
    result = session.execute(
        select(
            Rsvp.full_name,
            Rsvp.email,
            Rsvp.phone,
            Rsvp.status,
            Rsvp.created_at,
            Rsvp.confirmed_at,
            Rsvp.consent_text,
        )
        .where(Rsvp.event_id == event.id)
        .order_by(Rsvp.created_at, Rsvp.id)
        .execution_options(yield_per=chunk)
    )
    try:
        for name, email, phone, status, created, confirmed, consent in result:
            yield [
                neutralize(name or ""),
                neutralize(email or ""),
                neutralize(phone or ""),
                RsvpStatus(status).value,
                iso_utc(created),
                iso_utc(confirmed),
                neutralize(consent or ""),
            ]
    finally:
        result.close()
