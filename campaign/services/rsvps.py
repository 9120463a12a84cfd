"""RSVPs to rallies: places, the waitlist, offers of freed places, reminders.

A place is taken by an atomic increment of `Event.taken` guarded by the capacity, so two people
confirming at once can never both get the last place. A place freed by someone who cannot come
is offered to the first person on the waitlist, who holds it until the offer expires. Every
email goes through the outbox; the reminder is claimed with a compare-and-set, so running the
reminder job twice (or on two machines) sends it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.mail.outbox import queue_email
from campaign.models import Campaign, Event, EventStatus, Rsvp, RsvpStatus, TrustedHost
from campaign.models.types import utcnow
from campaign.services import people
from campaign.services.email_addresses import mailbox_digest, mailbox_key, normalize_email
from campaign.services.errors import EventClosed, InvalidToken
from campaign.services.events import local_time, mail_context
from campaign.services.tokens import make_token, read_token
from campaign.urls import external_url

CONFIRM_PURPOSE = "confirm-rsvp"
MANAGE_PURPOSE = "manage-rsvp"
# How long a freed place waits for the person it was offered to.
OFFER_HOURS = 24
# Reminders go out this long before the start.
REMINDER_LEAD = timedelta(hours=24)

# People who hear about changes and cancellation: everyone with a confirmed RSVP still standing.
TOLD_STATUSES = (RsvpStatus.GOING, RsvpStatus.WAITLISTED, RsvpStatus.OFFERED)


@dataclass
class RsvpData:
    full_name: str
    email: str
    phone: str = ""
    consent_text: str = ""


@dataclass(frozen=True)
class RsvpResult:
    rsvp: Rsvp
    needs_confirmation: bool


def accepts_rsvps(event: Event, now: datetime | None = None) -> bool:
    """Whether the event takes RSVPs: scheduled, not over, its campaign public."""
    return (
        event.status == EventStatus.SCHEDULED
        and event.ends_at > (now or utcnow())
        and event.campaign.is_public
    )


def rsvp(
    session: Session,
    event: Event,
    data: RsvpData,
    *,
    language: str,
    known_mailboxes: list[str] | tuple[str, ...] = (),
) -> RsvpResult:
    """Sign someone up. A browser that proved the address is confirmed at once; anyone else
    gets a link. Signing up again finds the first RSVP (and sends its link again if needed).

    Raises EventClosed, InvalidEmail, ValueError (no name).
    """
    begin_write(session)
    if not accepts_rsvps(event):
        raise EventClosed(event.id)
    email = normalize_email(data.email)
    key = mailbox_key(email)
    name = " ".join(data.full_name.split())[:120]
    if not name:
        raise ValueError("full_name is required")
    existing = session.scalar(select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.email_key == key))
    if existing is not None:
        _lock(session, existing)
    if existing is not None and existing.status != RsvpStatus.CANCELLED:
        if existing.status == RsvpStatus.UNCONFIRMED and mailbox_digest(key) not in known_mailboxes:
            queue_rsvp_email(session, existing, "rsvp_confirm")
            return RsvpResult(existing, needs_confirmation=True)
        if existing.status == RsvpStatus.UNCONFIRMED:
            _take_place_or_wait(session, existing)
        else:
            queue_rsvp_email(session, existing, "rsvp_status")
        return RsvpResult(existing, needs_confirmation=False)
    if existing is not None:  # cancelled before, coming after all
        record = existing
        record.full_name, record.email, record.phone = name, email, data.phone.strip()[:40]
        record.language, record.consent_text = language, data.consent_text
        record.status, record.cancelled_at, record.confirmed_at = RsvpStatus.UNCONFIRMED, None, None
        record.waitlisted_at = record.offered_at = record.offer_expires_at = None
        record.reminder_sent_at = None
    else:
        record = Rsvp(
            event_id=event.id,
            full_name=name,
            email=email,
            email_key=key,
            phone=data.phone.strip()[:40],
            language=language,
            consent_text=data.consent_text,
        )
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
        except IntegrityError:
            # Two submissions at once: the other one created it; treat this as a repeat.
            return rsvp(session, event, data, language=language, known_mailboxes=known_mailboxes)
    session.flush()
    if mailbox_digest(key) in known_mailboxes:
        _take_place_or_wait(session, record)
        return RsvpResult(record, needs_confirmation=False)
    queue_rsvp_email(session, record, "rsvp_confirm")
    return RsvpResult(record, needs_confirmation=True)


def confirm(session: Session, token: str) -> Rsvp:
    """The person followed the confirmation link: a place, or the waitlist. Idempotent."""
    begin_write(session)
    record = _lock(session, rsvp_for_token(session, token, CONFIRM_PURPOSE))
    if record.status == RsvpStatus.UNCONFIRMED:
        if not accepts_rsvps(record.event):
            raise EventClosed(record.event_id)
        _take_place_or_wait(session, record)
    return record


def _lock(session: Session, record: Rsvp) -> Rsvp:
    """Read the RSVP again, locked until commit, so that two requests acting on it at once (a
    link followed twice, "I can't come" clicked twice, an offer taken as it lapses) take turns
    and the second sees what the first did. On SQLite, `begin_write` already made them wait
    before they read."""
    if session.get_bind().dialect.name == "postgresql":
        session.refresh(record, with_for_update=True)
    return record


def _take_place_or_wait(session: Session, record: Rsvp, now: datetime | None = None) -> None:
    now = now or utcnow()
    record.confirmed_at = record.confirmed_at or now
    # Nobody waiting ahead may be overtaken: a free place belongs to the waitlist first.
    if not _has_waitlist(session, record.event) and _take_place(session, record.event):
        record.status = RsvpStatus.GOING
        session.flush()
        queue_rsvp_email(session, record, "rsvp_going")
    else:
        record.status = RsvpStatus.WAITLISTED
        record.waitlisted_at = now
        session.flush()
        queue_rsvp_email(session, record, "rsvp_waitlisted")


def _has_waitlist(session: Session, event: Event) -> bool:
    return (
        session.scalar(
            select(Rsvp.id)
            .where(Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.WAITLISTED)
            .limit(1)
        )
        is not None
    )


def _take_place(session: Session, event: Event) -> bool:
    """Take one place if one is free; the database decides, so it is never oversold."""
    taken = session.execute(
        update(Event)
        .where(
            Event.id == event.id,
            or_(Event.capacity.is_(None), Event.taken < Event.capacity),
        )
        .values(taken=Event.taken + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(event)
    return bool(taken)


def _free_place(session: Session, event: Event) -> None:
    session.execute(
        update(Event)
        .where(Event.id == event.id, Event.taken > 0)
        .values(taken=Event.taken - 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(event)


def cancel(session: Session, token: str) -> Rsvp:
    """ "I can't come": the place goes back and is offered to the waitlist. Idempotent."""
    begin_write(session)
    record = rsvp_for_token(session, token, MANAGE_PURPOSE)
    cancel_rsvp(session, record)
    return record


def cancel_rsvp(session: Session, record: Rsvp, now: datetime | None = None) -> bool:
    """Cancel an RSVP (by its owner or an organizer); returns whether anything changed."""
    begin_write(session)
    _lock(session, record)
    if record.status == RsvpStatus.CANCELLED:
        return False
    held_place = record.status in (RsvpStatus.GOING, RsvpStatus.OFFERED)
    record.status = RsvpStatus.CANCELLED
    record.cancelled_at = now or utcnow()
    record.offered_at = record.offer_expires_at = None
    session.flush()
    if held_place:
        _free_place(session, record.event)
        offer_free_places(session, record.event, now=now)
    return True


def offer_free_places(session: Session, event: Event, now: datetime | None = None) -> int:
    """Offer every free place to the next people on the waitlist; returns how many offers."""
    now = now or utcnow()
    # Once it has started, an offer could not be kept for anyone (it ends at the start).
    if not accepts_rsvps(event, now) or event.starts_at <= now:
        return 0
    offers = 0
    while True:
        query = (
            select(Rsvp)
            .where(Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.WAITLISTED)
            .order_by(Rsvp.waitlisted_at, Rsvp.id)
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        nxt = session.scalar(query)
        if nxt is None or not _take_place(session, event):
            return offers
        nxt.status = RsvpStatus.OFFERED
        nxt.offered_at = now
        # An offer never outlives the event's start.
        nxt.offer_expires_at = min(now + timedelta(hours=OFFER_HOURS), event.starts_at)
        session.flush()
        queue_rsvp_email(session, nxt, "rsvp_offer")
        offers += 1


def accept_offer(session: Session, token: str) -> Rsvp:
    """Take the offered place, held since the offer; after it lapsed (even if `expire_offers`
    has not run yet), nothing changes. Raises EventClosed when the event was cancelled."""
    begin_write(session)
    record = _lock(session, rsvp_for_token(session, token, MANAGE_PURPOSE))
    if record.status != RsvpStatus.OFFERED:
        return record
    if not accepts_rsvps(record.event):
        raise EventClosed(record.event_id)
    if record.offer_expires_at is not None and record.offer_expires_at <= utcnow():
        return record  # lapsed: `expire_offers` passes it on
    record.status = RsvpStatus.GOING
    record.offered_at = record.offer_expires_at = None
    session.flush()
    queue_rsvp_email(session, record, "rsvp_going")
    return record


def expire_offers(session: Session, now: datetime | None = None) -> int:
    """Offers not taken in time go to the next person; the one who let it lapse is told they
    are no longer on the list. Returns how many expired."""
    now = now or utcnow()
    begin_write(session)
    expired = list(
        session.scalars(
            select(Rsvp).where(Rsvp.status == RsvpStatus.OFFERED, Rsvp.offer_expires_at <= now)
        )
    )
    count = 0
    for record in expired:
        _lock(session, record)
        if record.status != RsvpStatus.OFFERED or record.offer_expires_at > now:
            continue  # taken or declined meanwhile
        record.status = RsvpStatus.CANCELLED
        record.cancelled_at = now
        session.flush()
        _free_place(session, record.event)
        # Someone told the event is cancelled hears nothing more about it.
        if record.event.status == EventStatus.SCHEDULED:
            queue_rsvp_email(session, record, "rsvp_offer_expired")
        offer_free_places(session, record.event, now=now)
        count += 1
    return count


def send_reminders(session: Session, now: datetime | None = None) -> int:
    """Remind everyone going to an event that starts within a day. Each person once, however
    often or wherever this runs: the reminder is claimed by a compare-and-set first."""
    now = now or utcnow()
    candidates = session.scalars(
        select(Rsvp.id)
        .join(Event, Event.id == Rsvp.event_id)
        .where(
            Event.status == EventStatus.SCHEDULED,
            Event.starts_at > now,
            Event.starts_at <= now + REMINDER_LEAD,
            Rsvp.status == RsvpStatus.GOING,
            Rsvp.reminder_sent_at.is_(None),
        )
    ).all()
    sent = 0
    for rsvp_id in candidates:
        begin_write(session)
        claimed = session.execute(
            update(Rsvp)
            .where(Rsvp.id == rsvp_id, Rsvp.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            queue_rsvp_email(session, session.get(Rsvp, rsvp_id), "rsvp_reminder")
            sent += 1
        session.commit()
    return sent


def run_due(session: Session, now: datetime | None = None) -> dict[str, int]:
    """What the worker runs every minute: lapse old offers, send reminders."""
    expired = expire_offers(session, now)
    session.commit()
    return {"expired_offers": expired, "reminders": send_reminders(session, now)}


def people_to_tell(session: Session, event: Event) -> list[Rsvp]:
    """Everyone with a standing, confirmed RSVP: they hear about changes and cancellation."""
    return list(
        session.scalars(
            select(Rsvp)
            .where(Rsvp.event_id == event.id, Rsvp.status.in_(TOLD_STATUSES))
            .order_by(Rsvp.id)
        )
    )


def attendees(session: Session, event: Event) -> list[Rsvp]:
    """The list an organizer or host sees: going first, then offered, waitlisted, others."""
    order = {
        RsvpStatus.GOING: 0,
        RsvpStatus.OFFERED: 1,
        RsvpStatus.WAITLISTED: 2,
        RsvpStatus.UNCONFIRMED: 3,
        RsvpStatus.CANCELLED: 4,
    }
    records = list(session.scalars(select(Rsvp).where(Rsvp.event_id == event.id)))
    return sorted(
        records,
        key=lambda r: (order[r.status], r.waitlisted_at or r.created_at, r.full_name.casefold()),
    )


# --- tokens and emails ------------------------------------------------------------------------


def rsvp_token(record: Rsvp, purpose: str) -> str:
    return make_token(
        current_app.config["SECRET_KEY"],
        purpose,
        {"r": record.id, "k": mailbox_digest(record.email_key)},
    )


def rsvp_for_token(session: Session, token: str, purpose: str) -> Rsvp:
    """The RSVP a link names. Raises InvalidToken or TokenExpired."""
    max_age = current_app.config["CONFIRM_TOKEN_MAX_AGE"]
    if purpose == MANAGE_PURPOSE:
        max_age = 400 * 86400  # lives as long as the event can be ahead, and a bit
    payload = read_token(current_app.config["SECRET_KEY"], purpose, token, max_age)
    try:
        rsvp_id, digest = payload["r"], payload["k"]
    except (TypeError, KeyError) as exc:
        raise InvalidToken("the link is not valid") from exc
    record = session.get(Rsvp, rsvp_id)
    if record is None or not record.email_key or mailbox_digest(record.email_key) != digest:
        raise InvalidToken("the link names no RSVP")
    return record


# Each email's subject, given the event's title (lazy: translated in the recipient's language).
SUBJECTS = {
    "rsvp_confirm": lambda event: _l("Please confirm you are coming: %(event)s", event=event),
    "rsvp_going": lambda event: _l("You are going: %(event)s", event=event),
    "rsvp_waitlisted": lambda event: _l("You are on the waitlist: %(event)s", event=event),
    "rsvp_status": lambda event: _l("Your RSVP: %(event)s", event=event),
    "rsvp_offer": lambda event: _l("A place is free for you: %(event)s", event=event),
    "rsvp_offer_expired": lambda event: _l(
        "The place we kept for you has gone: %(event)s", event=event
    ),
    "rsvp_reminder": lambda event: _l("Tomorrow: %(event)s", event=event),
    "event_changed": lambda event: _l("Changed: %(event)s", event=event),
    "event_cancelled": lambda event: _l("Cancelled: %(event)s", event=event),
}


def queue_rsvp_email(session: Session, record: Rsvp, template: str) -> None:
    """One of the RSVP emails, in the language the person signed up in."""
    event = record.event
    language = record.language

    def url(endpoint: str, **values) -> str:
        return external_url(endpoint, lang=language, event_id=event.id, **values)

    queue_email(
        session,
        kind=template,
        template=template,
        language=language,
        to_email=record.email,
        to_name=record.full_name,
        subject=SUBJECTS[template](event.title),
        event=event,
        rsvp=record,
        event_url=url("public.event"),
        ics_url=url("public.event_ics"),
        confirm_url=url("public.confirm_rsvp", token=rsvp_token(record, CONFIRM_PURPOSE)),
        manage_url=url("public.manage_rsvp", token=rsvp_token(record, MANAGE_PURPOSE)),
        max_age_days=max(1, current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 86400),
        offer_hours=OFFER_HOURS,
        offer_expires_local=(
            local_time(event, record.offer_expires_at) if record.offer_expires_at else None
        ),
        **mail_context(event, language),
    )


# --- a person's data (services.people) --------------------------------------------------------


def _person_rsvps(session: Session, campaign: Campaign, key: str) -> list[Rsvp]:
    return list(
        session.scalars(
            select(Rsvp)
            .join(Event, Event.id == Rsvp.event_id)
            .where(Event.campaign_id == campaign.id, Rsvp.email_key == key)
            .order_by(Rsvp.created_at, Rsvp.id)
        )
    )


def _hosted_events(session: Session, campaign: Campaign, key: str) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .where(Event.campaign_id == campaign.id, Event.host_email_key == key)
            .order_by(Event.created_at, Event.id)
        )
    )


def _trusted_host(session: Session, campaign: Campaign, key: str) -> TrustedHost | None:
    return session.scalar(
        select(TrustedHost).where(
            TrustedHost.campaign_id == campaign.id, TrustedHost.email_key == key
        )
    )


def _find_attendee(session: Session, campaign: Campaign, key: str) -> set[str]:
    """The addresses the person RSVPed or proposed events with in this campaign."""
    return {r.email for r in _person_rsvps(session, campaign, key)} | {
        e.host_email for e in _hosted_events(session, campaign, key)
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _export_rsvps(session: Session, person: people.Person) -> dict[str, Any]:
    trusted = _trusted_host(session, person.campaign, person.key)
    return {
        "rsvps": [
            {
                "event_id": r.event_id,
                "event_title": r.event.title,
                "event_starts_at": _iso(r.event.starts_at),
                "full_name": r.full_name,
                "email": r.email,
                "phone": r.phone,
                "language": r.language,
                "consent_text": r.consent_text,
                "status": r.status.value,
                "checked_in": r.checked_in,
                "created_at": _iso(r.created_at),
                "confirmed_at": _iso(r.confirmed_at),
                "waitlisted_at": _iso(r.waitlisted_at),
                "offered_at": _iso(r.offered_at),
                "cancelled_at": _iso(r.cancelled_at),
                "reminder_sent_at": _iso(r.reminder_sent_at),
            }
            for r in _person_rsvps(session, person.campaign, person.key)
        ],
        "hosted_events": [
            {
                "event_id": e.id,
                "title": e.title,
                "host_name": e.host_name,
                "host_email": e.host_email,
                "status": e.status.value,
                "proposed_at": _iso(e.created_at),
            }
            for e in _hosted_events(session, person.campaign, person.key)
        ],
        "trusted_host": (
            {"name": trusted.name, "trusted_at": _iso(trusted.created_at)} if trusted else None
        ),
    }


def _erase_rsvps(session: Session, person: people.Person) -> dict[str, int]:
    """Delete the person's RSVPs, their places going to the waitlist as if they had cancelled;
    events they proposed stay, without their name or address (so their host link dies too)."""
    records = _person_rsvps(session, person.campaign, person.key)
    for record in records:
        cancel_rsvp(session, record)
        session.delete(record)
    hosted = _hosted_events(session, person.campaign, person.key)
    for event in hosted:
        event.host_name = ""
        event.host_email = people.ERASED_ADDRESS
        event.host_email_key = ""
    trusted = session.execute(
        delete(TrustedHost).where(
            TrustedHost.campaign_id == person.campaign.id, TrustedHost.email_key == person.key
        )
    ).rowcount
    session.flush()
    return {"rsvps": len(records), "hosted_events": len(hosted), "trusted_hosts": trusted}


people.FINDERS.append(_find_attendee)
people.EXPORTERS.append(_export_rsvps)
people.ERASERS.append(_erase_rsvps)
