"""Paper signatures: counts collected on clipboards at rallies, typed in by organizers.

Only a number per entry is kept (when, where, who typed it), never the names on the sheets.
The campaign's `paper_signature_count` is kept equal to the sum of its entries, updated in SQL
(`count = count + n`) so that two organizers typing at once on several servers both count.
It is shown apart from the online signatures and does not move the progress to the goal:
online signatures are confirmed by email, a typed-in number is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from campaign.models import Campaign, CampaignStatus, Event, Organizer, PaperSignatureBatch
from campaign.models.types import utcnow
from campaign.services import audit
from campaign.services.errors import InvalidPaperSignatures, PaperSignaturesNotFound

# One entry is one stack of sheets; a bigger number is more likely a typo than a rally.
MAX_COUNT = 100_000
MAX_NOTE = 500
# "Today" somewhere on Earth: an organizer east of UTC may enter tomorrow's UTC date.
EARLIEST_TIME_ZONE_AHEAD = timedelta(hours=14)


@dataclass(frozen=True)
class PaperSignatureData:
    """What an organizer types in for one stack of sheets."""

    count: int
    collected_on: date
    event_id: int | None = None
    note: str = ""


def latest_allowed_date() -> date:
    """The latest collection date accepted: today in the time zone furthest ahead of UTC."""
    return (utcnow() + EARLIEST_TIME_ZONE_AHEAD).date()


def add(
    session: Session, organizer: Organizer | None, campaign: Campaign, data: PaperSignatureData
) -> PaperSignatureBatch:
    """Record `data.count` paper signatures for the campaign and add them to its total.

    Raises InvalidPaperSignatures (field, reason) for a count that is not a whole number from 1
    to MAX_COUNT, a date in the future, an event of another campaign, or a draft campaign.
    """
    if campaign.status == CampaignStatus.DRAFT:
        raise InvalidPaperSignatures("campaign", "draft")
    if isinstance(data.count, bool) or not isinstance(data.count, int):
        raise InvalidPaperSignatures("count", "count")
    if not 0 < data.count <= MAX_COUNT:
        raise InvalidPaperSignatures("count", "count")
    if data.collected_on > latest_allowed_date():
        raise InvalidPaperSignatures("collected_on", "future")
    note = (data.note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidPaperSignatures("note", "length")
    event = None
    if data.event_id is not None:
        event = session.get(Event, data.event_id)
        if event is None or event.campaign_id != campaign.id:
            raise InvalidPaperSignatures("event_id", "event")

    batch = PaperSignatureBatch(
        campaign_id=campaign.id,
        count=data.count,
        collected_on=data.collected_on,
        event_id=event.id if event else None,
        note=note,
        entered_by_id=organizer.id if organizer else None,
    )
    session.add(batch)
    _move_total(session, campaign, data.count)
    session.flush()
    audit.record(
        session,
        organizer,
        "paper.add",
        campaign,
        count=batch.count,
        collected_on=batch.collected_on.isoformat(),
        event=batch.event_id,
        note=note,
    )
    return batch


def delete(
    session: Session, organizer: Organizer | None, campaign: Campaign, batch_id: int
) -> PaperSignatureBatch:
    """Remove a mistaken entry and take its count off the campaign's total.

    Raises PaperSignaturesNotFound when the entry does not exist in this campaign (or another
    organizer deleted it a moment ago).
    """
    batch = get(session, campaign, batch_id)
    count = batch.count
    session.delete(batch)
    _move_total(session, campaign, -count)
    session.flush()
    audit.record(
        session,
        organizer,
        "paper.delete",
        campaign,
        count=count,
        collected_on=batch.collected_on.isoformat(),
        event=batch.event_id,
        note=batch.note,
    )
    return batch


def get(session: Session, campaign: Campaign, batch_id: int) -> PaperSignatureBatch:
    """One entry of the campaign. Raises PaperSignaturesNotFound."""
    batch = session.get(PaperSignatureBatch, batch_id)
    if batch is None or batch.campaign_id != campaign.id:
        raise PaperSignaturesNotFound(batch_id)
    return batch


def total(session: Session, campaign: Campaign) -> int:
    """The sum of the campaign's entries, counted from the rows (the maintained counter's
    source of truth)."""
    return session.scalar(
        select(func.coalesce(func.sum(PaperSignatureBatch.count), 0)).where(
            PaperSignatureBatch.campaign_id == campaign.id
        )
    )


def batches(
    session: Session, campaign: Campaign, *, page: int = 1, per_page: int = 50
) -> tuple[list[PaperSignatureBatch], int]:
    """One page of the campaign's entries, latest collection first, and how many there are."""
    number = session.scalar(
        select(func.count())
        .select_from(PaperSignatureBatch)
        .where(PaperSignatureBatch.campaign_id == campaign.id)
    )
    rows = session.scalars(
        select(PaperSignatureBatch)
        .where(PaperSignatureBatch.campaign_id == campaign.id)
        .options(
            selectinload(PaperSignatureBatch.event), selectinload(PaperSignatureBatch.entered_by)
        )
        .order_by(
            PaperSignatureBatch.collected_on.desc(),
            PaperSignatureBatch.created_at.desc(),
            PaperSignatureBatch.id.desc(),
        )
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), number or 0


def event_choices(session: Session, campaign: Campaign, limit: int = 200) -> list[Event]:
    """The campaign's events an entry may name, the latest first."""
    return list(
        session.scalars(
            select(Event)
            .where(Event.campaign_id == campaign.id)
            .order_by(Event.starts_at.desc(), Event.id.desc())
            .limit(limit)
        )
    )


def _move_total(session: Session, campaign: Campaign, by: int) -> None:
    # In SQL, not in Python: another organizer's entry may have moved it since we read it.
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(paper_signature_count=Campaign.paper_signature_count + by)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.refresh(campaign, ["paper_signature_count"])
