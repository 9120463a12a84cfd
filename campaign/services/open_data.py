"""Open data: what the public API and the counts CSV publish about campaigns.

Only what the public pages already show, or counts from which no single signer can be picked
out. Signers' names, addresses, reasons and cities of a few people never leave through here.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from campaign.models import (
    Campaign,
    CampaignStatus,
    Comment,
    CommentStatus,
    Event,
    EventStatus,
    Rsvp,
    RsvpStatus,
    Signature,
)
from campaign.models.types import utcnow
from campaign.pagination import Page, paginate
from campaign.services import comments as comment_service
from campaign.services import events as event_service
from campaign.services.campaigns import LocalizedCampaign, localize
from campaign.services.stats import PlaceCount, _as_datetime, _truncate, top_cities

# A city is published only once this many confirmed signatures name it: with fewer, someone who
# knows one signer's town could tell that they signed.
CITY_MINIMUM = 3
# The most cities a campaign's open data lists (those with the most signatures).
CITY_LIMIT = 200
# The largest id a database integer column holds: larger ones cannot name any row.
MAX_ID = 2**31 - 1
CSV_HEADER = ("date", "country", "signatures")


class EventPeriod(enum.StrEnum):
    ALL = "all"
    UPCOMING = "upcoming"  # not over yet (scheduled, or cancelled but not yet due)
    PAST = "past"  # over


# --- campaigns --------------------------------------------------------------------------------


def public_campaigns_page(
    session: Session, language: str, number: int, per_page: int
) -> Page[LocalizedCampaign]:
    """One page of the open and closed campaigns, open ones first, biggest first, each in
    `language` when translated into it (else its default language)."""
    query = (
        select(Campaign)
        .where(
            Campaign.status.in_([CampaignStatus.OPEN, CampaignStatus.CLOSED]),
            Campaign.translations.any(),
        )
        .options(selectinload(Campaign.translations))
        .order_by(Campaign.status.desc(), Campaign.signature_count.desc(), Campaign.id)
    )
    page = paginate(session, query, number, per_page)
    return Page(
        items=[localize(campaign, language) for campaign in page.items],
        number=page.number,
        per_page=page.per_page,
        total=page.total,
    )


def signatures_by_city(session: Session, campaign: Campaign) -> list[PlaceCount]:
    """Counted signatures per city, most first: only cities at least CITY_MINIMUM signers
    named, grouped and spelled as the organizers' statistics group them."""
    return [
        place
        for place in top_cities(session, campaign, limit=CITY_LIMIT)
        if place.count >= CITY_MINIMUM
    ]


@dataclass(frozen=True)
class DailyCount:
    day: date  # a UTC day, by the time of confirmation
    country: str  # ISO 3166-1 alpha-2
    signatures: int


def daily_counts_by_country(session: Session, campaign: Campaign) -> list[DailyCount]:
    """Counted signatures per UTC day of confirmation and per country, oldest day first.

    Grouped by the database: a few rows per day whatever the campaign's size. Days and
    countries without signatures have no row.
    """
    day = _truncate(session, Signature.confirmed_at, "day").label("day")
    rows = session.execute(
        select(day, Signature.country, func.count())
        .where(Signature.campaign_id == campaign.id, Signature.counted())
        .group_by(day, Signature.country)
    )
    counts = [
        DailyCount(day=_as_datetime(start).date(), country=country, signatures=n)
        for start, country, n in rows
    ]
    return sorted(counts, key=lambda c: (c.day, c.country))


def counts_csv_chunks(counts: list[DailyCount], *, rows_per_chunk: int = 1000) -> Iterator[str]:
    """The counts CSV in pieces: a header row, then date, country, signatures per row.

    No byte order mark: the text is ASCII (dates, country codes, numbers) and meant for data
    tools, which would take a mark for part of the first column's name.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for n, count in enumerate(counts, start=1):
        writer.writerow((count.day.isoformat(), count.country, count.signatures))
        if n % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def counts_filename(campaign: Campaign, today: date | None = None) -> str:
    """What a downloaded counts CSV is called: the campaign and the day it was taken."""
    today = today or utcnow().date()
    return f"{campaign.slug}-signatures-{today.isoformat()}.csv"


# --- events -----------------------------------------------------------------------------------

PUBLIC_EVENT_STATUSES = (EventStatus.SCHEDULED, EventStatus.CANCELLED)


def public_events_page(
    session: Session,
    campaign: Campaign,
    period: EventPeriod,
    number: int,
    per_page: int,
    *,
    now: datetime | None = None,
) -> Page[Event]:
    """One page of the campaign's published events (scheduled or cancelled, never proposals):
    upcoming ones soonest first, past ones latest first, all of them in order of their start."""
    now = now or utcnow()
    query = select(Event).where(
        Event.campaign_id == campaign.id, Event.status.in_(PUBLIC_EVENT_STATUSES)
    )
    if period == EventPeriod.UPCOMING:
        query = query.where(Event.ends_at > now).order_by(Event.starts_at, Event.id)
    elif period == EventPeriod.PAST:
        query = query.where(Event.ends_at <= now).order_by(Event.starts_at.desc(), Event.id.desc())
    else:
        query = query.order_by(Event.starts_at, Event.id)
    return paginate(session, query, number, per_page)


def public_event(session: Session, event_id: int) -> Event | None:
    """A published event of a public campaign, or None (also for ids no row can have)."""
    if not 1 <= event_id <= MAX_ID:
        return None
    return event_service.public_event(session, event_id)


def waitlist_counts(session: Session, events: list[Event]) -> dict[int, int]:
    """People on the waitlist per event, for events with a capacity (as their pages show)."""
    limited = [event.id for event in events if event.capacity]
    if not limited:
        return {}
    rows = session.execute(
        select(Rsvp.event_id, func.count())
        .where(Rsvp.event_id.in_(limited), Rsvp.status == RsvpStatus.WAITLISTED)
        .group_by(Rsvp.event_id)
    )
    return dict(rows.all())


# --- comments ---------------------------------------------------------------------------------


def visible_comments_page(
    session: Session, campaign: Campaign, number: int, per_page: int
) -> Page[Comment]:
    """One page of the comments and replies anyone can read on the petition page, oldest
    first (so that pages stay put as people write). None when the discussion is off."""
    query = (
        select(Comment)
        .where(Comment.campaign_id == campaign.id, Comment.status == CommentStatus.VISIBLE)
        .order_by(Comment.created_at, Comment.id)
    )
    if not comment_service.shows_comments(campaign):
        return Page(items=[], number=max(1, number), per_page=per_page, total=0)
    return paginate(session, query, number, per_page)
