"""Rallies: organizers plan events where support is strongest; supporters find and propose them.

Times are entered in the event's own time zone and stored in UTC; pages show both the local
time of the event and the reader's. RSVPs, places and the waitlist live in `services.rsvps`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.mail.outbox import queue_email
from campaign.models import (
    Campaign,
    Event,
    EventMode,
    EventStatus,
    Organizer,
    Rsvp,
    RsvpStatus,
    Signature,
    TrustedHost,
)
from campaign.models.types import utcnow
from campaign.services import audit
from campaign.services.campaigns import localize
from campaign.services.countries import country_name, is_country
from campaign.services.email_addresses import mailbox_digest, mailbox_key, normalize_email
from campaign.services.errors import InvalidEvent, InvalidToken, NotModeratable
from campaign.services.signature_admin import folded
from campaign.services.stats import top_cities
from campaign.services.tokens import make_token, read_token
from campaign.urls import external_url

HOST_PURPOSE = "event-host"
PROPOSAL_PURPOSE = "confirm-proposal"
# Where to rally: how far back "new this week" looks, and how many cities are ranked.
NEW_WINDOW = timedelta(days=7)
RANKED_CITIES = 50
MAX_CAPACITY = 1_000_000


@dataclass(frozen=True)
class EventData:
    """What an organizer or a proposing supporter typed; times are local to `timezone`."""

    title: str
    description: str
    language: str
    starts_local: datetime  # naive, in `timezone`
    ends_local: datetime  # naive, in `timezone`
    timezone: str
    mode: str = EventMode.IN_PERSON.value
    venue: str = ""
    address: str = ""
    city: str = ""
    country: str = ""
    online_url: str = ""
    latitude: float | None = None
    longitude: float | None = None
    capacity: int | None = None
    contact: str = ""


# Fields whose change people who RSVPed are told about.
NOTIFY_FIELDS = ("starts_at", "ends_at", "timezone", "mode", "venue", "address", "city", "country",
                 "online_url")  # fmt: skip


def timezone_names() -> list[str]:
    """Every IANA time zone this machine knows, sorted."""
    return sorted(available_timezones())


def check_event(data: EventData) -> dict:
    """The event's columns from what was typed; raises InvalidEvent(field, reason)."""
    title = " ".join(data.title.split())
    if not title:
        raise InvalidEvent("title", "required")
    try:
        zone = ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidEvent("timezone", "unknown") from None
    # In UTC at once: Python compares and subtracts two times of one zone by their wall clocks,
    # which is an hour off across a change of clocks, and the calendar files print UTC.
    starts_at = data.starts_local.replace(tzinfo=zone).astimezone(UTC)
    ends_at = data.ends_local.replace(tzinfo=zone).astimezone(UTC)
    if ends_at <= starts_at:
        raise InvalidEvent("ends_local", "before_start")
    try:
        mode = EventMode(data.mode)
    except ValueError:
        raise InvalidEvent("mode", "unknown") from None
    city, country = " ".join(data.city.split()), data.country.strip().upper()
    if mode != EventMode.ONLINE:
        if not city:
            raise InvalidEvent("city", "required")
        if not is_country(country):
            raise InvalidEvent("country", "unknown")
    elif country and not is_country(country):
        raise InvalidEvent("country", "unknown")
    online_url = data.online_url.strip()
    if mode != EventMode.IN_PERSON and not online_url.startswith(("https://", "http://")):
        raise InvalidEvent("online_url", "required")
    if data.capacity is not None and not (0 < data.capacity <= MAX_CAPACITY):
        raise InvalidEvent("capacity", "positive")
    if (data.latitude is None) != (data.longitude is None) or (
        data.latitude is not None
        and not (-90 <= data.latitude <= 90 and -180 <= data.longitude <= 180)
    ):
        raise InvalidEvent("latitude", "invalid")
    return {
        "title": title[:200],
        "description": data.description.strip(),
        "language": data.language,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": data.timezone,
        "mode": mode,
        "venue": data.venue.strip()[:200],
        "address": data.address.strip()[:300],
        "city": city[:120],
        "country": country,
        "online_url": online_url[:500] if mode != EventMode.IN_PERSON else "",
        "latitude": data.latitude,
        "longitude": data.longitude,
        "capacity": data.capacity,
        "contact": data.contact.strip()[:200],
    }


def event_data(event: Event) -> EventData:
    """An event as the form shows it (times local to its zone), for editing."""
    zone = ZoneInfo(event.timezone)
    values = {f.name: getattr(event, f.name) for f in fields(EventData) if hasattr(event, f.name)}
    values["mode"] = event.mode.value
    values["starts_local"] = event.starts_at.astimezone(zone).replace(tzinfo=None)
    values["ends_local"] = event.ends_at.astimezone(zone).replace(tzinfo=None)
    return EventData(**values)


# --- organizers -------------------------------------------------------------------------------


def create_event(session: Session, actor: Organizer, campaign: Campaign, data: EventData) -> Event:
    """A scheduled event of the campaign. Raises InvalidEvent (an event already over, too:
    nobody could come; a past event can still be edited, to fix its record)."""
    begin_write(session)
    columns = check_event(data)
    if columns["ends_at"] <= utcnow():
        raise InvalidEvent("ends_local", "past")
    event = Event(
        campaign_id=campaign.id,
        status=EventStatus.SCHEDULED,
        created_by_id=actor.id,
        **columns,
    )
    session.add(event)
    session.flush()
    audit.record(
        session, actor, "event.create", campaign, event=event.id, title=event.title,
        city=event.city, country=event.country,
    )  # fmt: skip
    return event


def update_event(session: Session, actor: Organizer, event: Event, data: EventData) -> list[str]:
    """Change an event; people who RSVPed hear of a new time or place. Returns changed fields.

    A larger capacity offers the new places to the waitlist at once. Raises InvalidEvent.
    """
    from campaign.services import rsvps

    begin_write(session)
    if event.status == EventStatus.CANCELLED:
        raise NotModeratable(event.id)
    values = check_event(data)
    changed = [name for name, value in values.items() if getattr(event, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(event, name, values[name])
    session.flush()
    audit.record(session, actor, "event.update", event.campaign, event=event.id, fields=changed)
    if "starts_at" in changed:
        _moved(session, event)
    if any(name in NOTIFY_FIELDS for name in changed):
        for rsvp in rsvps.people_to_tell(session, event):
            rsvps.queue_rsvp_email(session, rsvp, "event_changed")
    if "capacity" in changed:
        rsvps.offer_free_places(session, event)
    return changed


def _moved(session: Session, event: Event) -> None:
    """A new start: offers end by it, and a reminder already sent for the old date goes out
    again for the new one (unless the new one is within a day, which the change notice says)."""
    from campaign.services.rsvps import REMINDER_LEAD

    session.execute(
        update(Rsvp)
        .where(
            Rsvp.event_id == event.id,
            Rsvp.status == RsvpStatus.OFFERED,
            Rsvp.offer_expires_at > event.starts_at,
        )
        .values(offer_expires_at=event.starts_at)
    )
    if event.starts_at > utcnow() + REMINDER_LEAD:
        session.execute(
            update(Rsvp)
            .where(Rsvp.event_id == event.id, Rsvp.reminder_sent_at.is_not(None))
            .values(reminder_sent_at=None)
        )


def cancel_event(session: Session, actor: Organizer | None, event: Event) -> int:
    """Cancel an event and tell everyone who RSVPed; returns how many were told."""
    from campaign.services import rsvps

    begin_write(session)
    if event.status == EventStatus.CANCELLED:
        raise NotModeratable(event.id)
    told = rsvps.people_to_tell(session, event)
    event.status = EventStatus.CANCELLED
    event.cancelled_at = utcnow()
    session.flush()
    for rsvp in told:
        rsvps.queue_rsvp_email(session, rsvp, "event_cancelled")
    audit.record(
        session, actor, "event.cancel", event.campaign, event=event.id, title=event.title,
        told=len(told),
    )  # fmt: skip
    return len(told)


# --- proposals by supporters ------------------------------------------------------------------


def propose_event(
    session: Session,
    campaign: Campaign,
    data: EventData,
    *,
    host_name: str,
    host_email: str,
    ui_language: str,
    known_mailboxes: list[str] | tuple[str, ...] = (),
) -> Event:
    """A supporter's proposal. It waits for the host's email confirmation (unless this browser
    proved the address), then for an organizer's approval (unless the host is trusted).

    Raises InvalidEvent, InvalidEmail, CampaignClosed.
    """
    from campaign.services.errors import CampaignClosed

    begin_write(session)
    if not campaign.is_open:
        raise CampaignClosed(campaign.slug)
    email = normalize_email(host_email)
    name = " ".join(host_name.split())
    if not name:
        raise InvalidEvent("host_name", "required")
    event = Event(
        campaign_id=campaign.id,
        status=EventStatus.UNCONFIRMED,
        host_name=name[:120],
        host_email=email,
        host_email_key=mailbox_key(email),
        **check_event(data),
    )
    session.add(event)
    session.flush()
    if mailbox_digest(event.host_email_key) in known_mailboxes:
        _host_confirmed(session, event)
    else:
        _queue_host_email(session, event, ui_language, "proposal_confirm")
    return event


def confirm_proposal(session: Session, token: str) -> Event:
    """The host followed the link: the proposal goes to the organizers (or straight up)."""
    begin_write(session)
    event = _event_for_token(session, token, PROPOSAL_PURPOSE)
    if event.status == EventStatus.UNCONFIRMED:
        _host_confirmed(session, event)
    return event


def _host_confirmed(session: Session, event: Event) -> None:
    trusted = session.scalar(
        select(TrustedHost.id).where(
            TrustedHost.campaign_id == event.campaign_id,
            TrustedHost.email_key == event.host_email_key,
        )
    )
    event.status = EventStatus.SCHEDULED if trusted else EventStatus.PROPOSED
    session.flush()
    audit.record(
        session, None, "event.propose", event.campaign, event=event.id, title=event.title,
        trusted=bool(trusted),
    )  # fmt: skip
    _queue_host_email(session, event, event.language, "proposal_received")


def approve_proposal(session: Session, actor: Organizer, event: Event, *, trust: bool) -> None:
    """Publish a proposed event; with `trust`, the host's next proposals skip this step."""
    begin_write(session)
    if event.status != EventStatus.PROPOSED:
        raise NotModeratable(event.id)
    event.status = EventStatus.SCHEDULED
    if trust:
        trust_host(session, actor, event.campaign, event.host_email_key, event.host_name)
    session.flush()
    audit.record(session, actor, "event.approve", event.campaign, event=event.id, title=event.title)
    _queue_host_email(session, event, event.language, "proposal_approved")


def decline_proposal(session: Session, actor: Organizer, event: Event) -> None:
    begin_write(session)
    if event.status != EventStatus.PROPOSED:
        raise NotModeratable(event.id)
    event.status = EventStatus.DECLINED
    session.flush()
    audit.record(session, actor, "event.decline", event.campaign, event=event.id, title=event.title)


def trust_host(
    session: Session, actor: Organizer, campaign: Campaign, email_key: str, name: str
) -> TrustedHost:
    existing = session.scalar(
        select(TrustedHost).where(
            TrustedHost.campaign_id == campaign.id, TrustedHost.email_key == email_key
        )
    )
    if existing is not None:
        return existing
    host = TrustedHost(campaign_id=campaign.id, email_key=email_key, name=name)
    session.add(host)
    session.flush()
    audit.record(session, actor, "event.trust_host", campaign, name=name)
    return host


def untrust_host(session: Session, actor: Organizer, campaign: Campaign, host_id: int) -> bool:
    """Stop trusting a host: their next proposals wait for approval again. False when there was
    no such trusted host (already removed)."""
    begin_write(session)
    host = session.scalar(
        select(TrustedHost).where(TrustedHost.id == host_id, TrustedHost.campaign_id == campaign.id)
    )
    if host is None:
        return False
    session.delete(host)
    session.flush()
    audit.record(session, actor, "event.untrust_host", campaign, name=host.name)
    return True


def host_token(event: Event) -> str:
    """The token of a host's page link: bound to the event and the host's mailbox."""
    return make_token(
        current_app.config["SECRET_KEY"],
        HOST_PURPOSE,
        {"e": event.id, "k": mailbox_digest(event.host_email_key)},
    )


def event_for_host_token(session: Session, token: str) -> Event:
    """The event a host link names. Raises InvalidToken, TokenExpired."""
    return _event_for_token(session, token, HOST_PURPOSE, max_age=365 * 86400)


def event_for_proposal_token(session: Session, token: str) -> Event:
    """The event a proposal's confirmation link names, changing nothing (the page before the
    button). Raises InvalidToken, TokenExpired."""
    return _event_for_token(session, token, PROPOSAL_PURPOSE)


def _event_for_token(session: Session, token: str, purpose: str, max_age: int | None = None):
    payload = read_token(
        current_app.config["SECRET_KEY"],
        purpose,
        token,
        max_age or current_app.config["CONFIRM_TOKEN_MAX_AGE"],
    )
    try:
        event_id, digest = payload["e"], payload["k"]
    except (TypeError, KeyError) as exc:
        raise InvalidToken("the link is not valid") from exc
    event = session.get(Event, event_id)
    if event is None or not event.host_email_key or mailbox_digest(event.host_email_key) != digest:
        raise InvalidToken("the link names no event")
    return event


def _queue_host_email(session: Session, event: Event, language: str, template: str) -> None:
    subjects = {
        "proposal_confirm": _l("Please confirm your proposed event: %(event)s", event=event.title),
        "proposal_received": _l("Your proposed event: %(event)s", event=event.title),
        "proposal_approved": _l("Your event is published: %(event)s", event=event.title),
    }
    token = make_token(
        current_app.config["SECRET_KEY"],
        PROPOSAL_PURPOSE,
        {"e": event.id, "k": mailbox_digest(event.host_email_key)},
    )
    queue_email(
        session,
        kind=f"event_{template}",
        template=template,
        language=language,
        to_email=event.host_email,
        to_name=event.host_name,
        subject=subjects[template],
        event=event,
        max_age_days=max(1, current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 86400),
        **mail_context(event, language),
        confirm_url=external_url("public.confirm_proposal", lang=language, token=token),
        host_url=external_url("public.event_host", lang=language, event_id=event.id,
                              token=host_token(event)),
        event_url=external_url("public.event", lang=language, event_id=event.id),
        is_published=event.status == EventStatus.SCHEDULED,
    )  # fmt: skip


# --- finding events ---------------------------------------------------------------------------


def public_event(session: Session, event_id: int) -> Event | None:
    """A scheduled or cancelled event of a public campaign, or None."""
    event = session.get(Event, event_id)
    if event is None or event.status not in (EventStatus.SCHEDULED, EventStatus.CANCELLED):
        return None
    return event if event.campaign.is_public else None


def upcoming_events(
    session: Session,
    campaign: Campaign,
    *,
    city: str = "",
    country: str = "",
    now: datetime | None = None,
    limit: int | None = None,
) -> list[Event]:
    """Scheduled events not yet over, nearest first: in the reader's city, then their country,
    then online ones, then the rest; soonest first within each."""
    now = now or utcnow()
    events = list(
        session.scalars(
            select(Event)
            .where(
                Event.campaign_id == campaign.id,
                Event.status == EventStatus.SCHEDULED,
                Event.ends_at > now,
            )
            .order_by(Event.starts_at, Event.id)
        )
    )
    city_key, country = city.strip().casefold(), country.strip().upper()

    def nearness(event: Event) -> int:
        if (
            city_key
            and event.is_in_person
            and event.city.casefold() == city_key
            and (not country or event.country == country)
        ):
            return 0
        if country and event.is_in_person and event.country == country:
            return 1
        if event.is_online:
            return 2
        return 3

    events.sort(key=lambda e: (nearness(e), e.starts_at, e.id))
    return events[:limit] if limit else events


def nearest_event(
    session: Session, campaign: Campaign, *, city: str = "", country: str = ""
) -> Event | None:
    """The one event to offer a reader: in their city or country, or online; else None."""
    for event in upcoming_events(session, campaign, city=city, country=country, limit=5):
        same_city = city and event.city.casefold() == city.strip().casefold()
        if same_city or (country and event.country == country.upper()) or event.is_online:
            return event
    return None


@dataclass(frozen=True)
class RallyCity:
    city: str
    country: str
    supporters: int
    new_this_week: int
    event: Event | None  # the next upcoming event there, if any


def where_to_rally(
    session: Session, campaign: Campaign, *, now: datetime | None = None
) -> list[RallyCity]:
    """Cities ranked by confirmed signatures, with this week's and the next event there."""
    now = now or utcnow()
    cities = top_cities(session, campaign, limit=RANKED_CITIES)
    # Grouped as top_cities groups them: SQLite's own lower() knows only ASCII ("Москва").
    city_key = folded(session, func.trim(Signature.city))
    recent = {
        (country, key): n
        for country, key, n in session.execute(
            select(Signature.country, city_key, func.count())
            .where(
                Signature.campaign_id == campaign.id,
                Signature.confirmed_at >= now - NEW_WINDOW,
                Signature.invalidated_at.is_(None),
            )
            .group_by(Signature.country, city_key)
        )
    }
    upcoming = upcoming_events(session, campaign, now=now)
    ranked = []
    for place in cities:
        key = place.city.strip().casefold()
        event = next(
            (
                e
                for e in upcoming
                if e.is_in_person and e.country == place.country and e.city.casefold() == key
            ),
            None,
        )
        ranked.append(
            RallyCity(
                city=place.city,
                country=place.country,
                supporters=place.count,
                new_this_week=recent.get((place.country, place.city.strip().lower()), 0),
                event=event,
            )
        )
    return ranked


# --- calendars --------------------------------------------------------------------------------


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_time(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """RFC 5545 lines are at most 75 octets; longer ones continue after CRLF and a space."""
    encoded, out = line.encode(), []
    while len(encoded) > 75:
        cut = 75
        while (encoded[cut] & 0xC0) == 0x80:  # never split a UTF-8 character
            cut -= 1
        out.append(encoded[:cut].decode())
        encoded = b" " + encoded[cut:]
    out.append(encoded.decode())
    return "\r\n".join(out)


def location_text(event: Event) -> str:
    parts = [event.venue, event.address, event.city] if event.is_in_person else []
    text = ", ".join(p for p in parts if p)
    if event.is_online:
        text = f"{text} · {event.online_url}" if text else event.online_url
    return text


def event_ics(event: Event, url: str) -> str:
    """The event as an iCalendar file (RFC 5545) with times in UTC."""
    host = current_app.config["BASE_URL"].split("://", 1)[-1].split("/", 1)[0]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//campaign//events//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:event-{event.id}@{host}",
        f"DTSTAMP:{_ics_time(utcnow())}",
        f"DTSTART:{_ics_time(event.starts_at)}",
        f"DTEND:{_ics_time(event.ends_at)}",
        f"SUMMARY:{_ics_text(event.title)}",
        f"DESCRIPTION:{_ics_text(event.description + chr(10) + chr(10) + url)}",
        f"LOCATION:{_ics_text(location_text(event))}",
        f"URL:{url}",
        f"STATUS:{'CANCELLED' if event.status == EventStatus.CANCELLED else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def calendar_links(event: Event, url: str) -> dict[str, str]:
    """ "Add to calendar" links for Google Calendar and Outlook."""
    title, details, where = (
        quote(event.title),
        quote(f"{event.description}\n\n{url}"),
        quote(location_text(event)),
    )
    start, end = _ics_time(event.starts_at), _ics_time(event.ends_at)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "google": (
            "https://calendar.google.com/calendar/render?action=TEMPLATE"
            f"&text={title}&dates={start}/{end}&details={details}&location={where}"
        ),
        "outlook": (
            "https://outlook.live.com/calendar/0/deeplink/compose?path=/calendar/action/compose"
            f"&rru=addevent&subject={title}&startdt={event.starts_at.strftime(iso)}"
            f"&enddt={event.ends_at.strftime(iso)}&body={details}&location={where}"
        ),
    }


def local_time(event: Event, moment: datetime | None = None) -> datetime:
    """A moment (default: the start) in the event's own time zone."""
    return (moment or event.starts_at).astimezone(ZoneInfo(event.timezone))


def mail_context(event: Event, language: str) -> dict:
    """What every email about an event shows besides the event itself: its times in its own
    zone, its country by name, and the campaign it is for (title and petition link)."""
    campaign = event.campaign
    return {
        "title": localize(campaign, language).text.title,
        "campaign_url": external_url("public.petition", lang=language, slug=campaign.slug),
        "starts_local": local_time(event),
        "ends_local": local_time(event, event.ends_at),
        "country_name": country_name(event.country, language) if event.country else "",
    }


def event_as_dict(event: Event) -> dict:
    """For the JSON API and tests: the public facts of an event."""
    data = asdict(event_data(event))
    data.update(id=event.id, status=event.status.value, spots_left=event.spots_left)
    return data


def going_count(session: Session, event: Event) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Rsvp)
            .where(Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.GOING)
        )
        or 0
    )
