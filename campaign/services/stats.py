"""Numbers for organizers: how campaigns are doing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import DateTime, func, select
from sqlalchemy.orm import Session

from campaign.models import Campaign, Signature
from campaign.models.types import utcnow
from campaign.services.campaigns import LocalizedCampaign, localize, progress_percent
from campaign.services.signature_admin import folded


@dataclass(frozen=True)
class DashboardRow:
    localized: LocalizedCampaign
    last_24h: int
    progress: int

    @property
    def campaign(self) -> Campaign:
        return self.localized.campaign


def confirmed_since(session: Session, campaign_ids: list[int], hours: int) -> dict[int, int]:
    """Confirmed signatures per campaign in the last `hours` hours, in one query."""
    if not campaign_ids:
        return {}
    since = utcnow() - timedelta(hours=hours)
    rows = session.execute(
        select(Signature.campaign_id, func.count())
        .where(
            Signature.campaign_id.in_(campaign_ids),
            Signature.confirmed_at >= since,
            Signature.invalidated_at.is_(None),
        )
        .group_by(Signature.campaign_id)
    )
    return dict(rows.all())


def dashboard_rows(
    session: Session, campaigns: list[Campaign], language: str
) -> list[DashboardRow]:
    """One row per campaign: its text in the organizer's language, the last day, the progress."""
    recent = confirmed_since(session, [c.id for c in campaigns], 24)
    return [
        DashboardRow(localize(c, language), recent.get(c.id, 0), progress_percent(c))
        for c in campaigns
        if c.translations
    ]


# Statistics of one campaign: signatures over time, by place, and how many get confirmed.
# Counting is done by the database, grouped per day, hour, country or city, so a campaign
# with a million signatures sends a few hundred rows to Python, never a million.

TOP_PLACES = 50


@dataclass(frozen=True)
class ConfirmationRate:
    confirmed: int
    total: int

    @property
    def percent(self) -> float | None:
        """Confirmed as a share of all signatures (0–100) to one decimal, rounded down so
        that it never says 100 while someone has not confirmed; None before anyone signed."""
        if not self.total:
            return None
        return (1000 * self.confirmed // self.total) / 10


@dataclass(frozen=True)
class PlaceCount:
    country: str  # ISO 3166 code
    city: str  # "" when counting countries
    count: int


def confirmation_rate(session: Session, campaign: Campaign) -> ConfirmationRate:
    """How many of the campaign's signatures were confirmed, out of all of them (signatures
    invalidated as fraudulent left out of both)."""
    total, confirmed = session.execute(
        select(func.count(), func.count(Signature.confirmed_at)).where(
            Signature.campaign_id == campaign.id, Signature.invalidated_at.is_(None)
        )
    ).one()
    return ConfirmationRate(confirmed=confirmed or 0, total=total or 0)


def _truncate(session: Session, column, unit: str):
    """`column` cut down to the start of its day or hour, grouped by the database.

    PostgreSQL has date_trunc; SQLite has strftime, which answers with text. Either way the
    timestamps are naive UTC in the database, so days and hours are UTC days and hours.
    """
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, column, type_=DateTime())
    return func.strftime("%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d", column)


def _as_datetime(value) -> datetime:
    """A bucket from `_truncate` (a datetime, a date or ISO text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    elif not isinstance(value, datetime):  # a date
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _confirmed_per(
    session: Session, campaign: Campaign, unit: str, since: datetime | None = None
) -> dict[datetime, int]:
    bucket = _truncate(session, Signature.confirmed_at, unit).label("bucket")
    query = (
        select(bucket, func.count())
        .where(Signature.campaign_id == campaign.id, Signature.counted())
        .group_by(bucket)
    )
    if since is not None:
        query = query.where(Signature.confirmed_at >= since)
    return {_as_datetime(start): count for start, count in session.execute(query)}


def daily_confirmed(
    session: Session, campaign: Campaign, *, now: datetime | None = None
) -> list[tuple[date, int]]:
    """Confirmed signatures per UTC day (by confirmed_at), every day from the campaign's start
    (its creation or its first signature, whichever came first) to today, days without any
    given as 0."""
    today = (now or utcnow()).astimezone(UTC).date()
    counts = {
        start.date(): count for start, count in _confirmed_per(session, campaign, "day").items()
    }
    first_signed = session.scalar(
        select(func.min(Signature.created_at)).where(Signature.campaign_id == campaign.id)
    )
    starts = [campaign.created_at.astimezone(UTC).date(), *counts]
    if first_signed is not None:
        starts.append(first_signed.astimezone(UTC).date())
    first = min(starts)
    last = max([today, *counts])
    return [
        (day, counts.get(day, 0))
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]


def hourly_confirmed(
    session: Session, campaign: Campaign, *, hours: int = 48, now: datetime | None = None
) -> list[tuple[datetime, int]]:
    """Confirmed signatures per UTC hour (by confirmed_at) for the last `hours` hours, the
    current hour included and last, hours without any given as 0."""
    now = (now or utcnow()).astimezone(UTC)
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    counts = _confirmed_per(session, campaign, "hour", since=first)
    return [
        (hour, counts.get(hour, 0)) for hour in (first + timedelta(hours=n) for n in range(hours))
    ]


def top_countries(
    session: Session,
    campaign: Campaign,
    limit: int = TOP_PLACES,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[PlaceCount]:
    """The countries with the most confirmed signatures, most first; with `since` and `until`,
    only signatures confirmed in that period (since included, until not)."""
    count = func.count().label("n")
    query = (
        select(Signature.country, count)
        .where(Signature.campaign_id == campaign.id, Signature.counted())
        .group_by(Signature.country)
        .order_by(count.desc(), Signature.country)
        .limit(limit)
    )
    if since is not None:
        query = query.where(Signature.confirmed_at >= since)
    if until is not None:
        query = query.where(Signature.confirmed_at < until)
    rows = session.execute(query)
    return [PlaceCount(country=country, city="", count=n) for country, n in rows]


def top_cities(session: Session, campaign: Campaign, limit: int = TOP_PLACES) -> list[PlaceCount]:
    """The cities with the most confirmed signatures, most first.

    A city is its country plus its name compared without case or surrounding spaces, so
    "Paris", "paris " and "PARIS" in France are one city and Paris, Texas another.
    """
    key = folded(session, func.trim(Signature.city)).label("city_key")
    count = func.count().label("n")
    confirmed_here = (
        Signature.campaign_id == campaign.id,
        Signature.counted(),
        func.trim(Signature.city) != "",
    )
    top = session.execute(
        select(Signature.country, key, count)
        .where(*confirmed_here)
        .group_by(Signature.country, key)
        .order_by(count.desc(), Signature.country, key)
        .limit(limit)
    ).all()
    if not top:
        return []
    # The spellings of those cities only: a few per city, whatever the campaign's size.
    spelling = func.trim(Signature.city).label("spelling")
    spellings: dict[tuple[str, str], dict[str, int]] = {}
    for country, city_key, spelled, n in session.execute(
        select(Signature.country, key, spelling, func.count())
        .where(*confirmed_here, key.in_({city_key for _, city_key, _ in top}))
        .group_by(Signature.country, key, spelling)
    ):
        spellings.setdefault((country, city_key), {})[spelled] = n
    return [
        PlaceCount(country, _usual_spelling(spellings.get((country, city_key), {city_key: 1})), n)
        for country, city_key, n in top
    ]


def _usual_spelling(spellings: dict[str, int]) -> str:
    """How to show a city: the commonest spelling with a capital first and not in capitals
    throughout ("Paris" rather than "PARIS" or "paris"), else the commonest of all."""
    return max(
        spellings,
        key=lambda s: (s[:1].isupper() and not s.isupper(), spellings[s], s),
    )
