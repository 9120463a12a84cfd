"""Digests for organizers: what happened in their campaigns, once a day or once a week.

Each organizer picks an hour of their own day (`Organizer.digest_hour` in `Organizer.timezone`)
and, per campaign, a frequency (`Membership.digest`: off, daily, or weekly on Mondays).

When a digest is due. At or after that local hour, once per local day: a run at 08:00 sends the
08:00 digest, and so does a run at 09:10 when nothing ran at 08:00 (cron was down, say), as long
as it is still the same local day. A day whose hour passed with no run at all before midnight
is skipped, not sent late the next day.

What it covers. The period ends at the scheduled time (the local date at `digest_hour`), not at
the moment the job happened to run, and starts at the same local time one day (daily) or seven
days (weekly) before. So consecutive digests tile: nothing is counted twice or left out, even
when one was sent late, and across a change of clocks the "day" is the organizer's day (23 or
25 hours).

Sent once. `send_digest` first inserts a `DigestRun` for (organizer, local date) in a
transaction of its own: the unique key lets one run through and makes every other (the same
command twice, or two machines at once) fail with an IntegrityError, which means "already
taken". Then it builds the digest and writes the email into the outbox in a second transaction;
if that fails, the claim is given back so that the next run tries again. An empty period keeps
its claim and sends nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import LazyString, ngettext
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from campaign.database import begin_write
from campaign.mail.outbox import queue_email
from campaign.models import (
    Broadcast,
    BroadcastStatus,
    Campaign,
    Comment,
    CommentFlag,
    CommentStatus,
    DigestFrequency,
    DigestRun,
    Event,
    EventStatus,
    Membership,
    Organizer,
    Rsvp,
    Signature,
)
from campaign.models.types import utcnow
from campaign.services import audit
from campaign.services.authz import PERMISSIONS, Action
from campaign.services.campaigns import localize
from campaign.services.countries import country_name
from campaign.services.email_addresses import mailbox_key
from campaign.services.errors import InvalidEmail
from campaign.services.events import timezone_names, where_to_rally
from campaign.services.moderation import QueueTab, queue_counts
from campaign.services.stats import top_countries
from campaign.services.subscribers import TOPIC_UNSUBSCRIBERS, unsubscribe_url
from campaign.urls import external_url

log = logging.getLogger(__name__)

MONDAY = 0
PERIODS = {DigestFrequency.DAILY: 1, DigestFrequency.WEEKLY: 7}  # in local days
# Signature counts worth a line of their own, beside 25, 50, 75 and 100 % of the goal.
COUNT_MILESTONES = (100, 500, 1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
                    1_000_000)  # fmt: skip
GOAL_MILESTONES = (25, 50, 75, 100)
TOP_COUNTRIES = 5
TOP_CITIES = 5
# "Many supporters but no rally": a city among the top ones with at least this many signers.
RALLY_CITY_MIN_SUPPORTERS = 5
RALLY_CITIES = 3


# --- when -------------------------------------------------------------------------------------


def organizer_zone(organizer: Organizer) -> ZoneInfo:
    """The organizer's time zone; UTC when the stored name is unknown to this machine."""
    try:
        return ZoneInfo(organizer.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def scheduled_at(organizer: Organizer, local_date: date) -> datetime:
    """When the organizer's digest of `local_date` is due, in UTC."""
    local = datetime.combine(local_date, time(organizer.digest_hour), organizer_zone(organizer))
    return local.astimezone(UTC)


@dataclass(frozen=True)
class DueDigest:
    """One organizer's digest that is due now and not yet sent."""

    organizer_id: int
    local_date: date
    send_at: datetime  # the scheduled time in UTC: where every period ends
    periods: dict[DigestFrequency, datetime]  # the frequencies due, and where each period starts

    @property
    def period_start(self) -> datetime:
        return min(self.periods.values())


def due_digests(session: Session, now: datetime | None = None) -> list[DueDigest]:
    """Organizers whose digest is due at `now` and not yet sent (or claimed) today.

    Due: it is at or past their hour in their zone, and they have a campaign with a daily
    digest, or with a weekly one on a Monday. Disabled accounts get nothing.
    """
    now = (now or utcnow()).astimezone(UTC)
    frequencies: dict[int, set[DigestFrequency]] = defaultdict(set)
    organizers: dict[int, Organizer] = {}
    rows = session.execute(
        select(Organizer, Membership.digest)
        .join(Membership, Membership.organizer_id == Organizer.id)
        .where(Organizer.is_disabled.is_(False), Membership.digest != DigestFrequency.OFF)
    )
    for organizer, frequency in rows:
        organizers[organizer.id] = organizer
        frequencies[organizer.id].add(DigestFrequency(frequency))

    candidates = []
    for organizer_id, organizer in organizers.items():
        local = now.astimezone(organizer_zone(organizer))
        if local.hour < organizer.digest_hour:
            continue
        due = {DigestFrequency.DAILY} & frequencies[organizer_id]
        if local.weekday() == MONDAY and DigestFrequency.WEEKLY in frequencies[organizer_id]:
            due.add(DigestFrequency.WEEKLY)
        if not due:
            continue
        today = local.date()
        send_at = scheduled_at(organizer, today)
        periods = {
            frequency: scheduled_at(organizer, today - timedelta(days=PERIODS[frequency]))
            for frequency in sorted(due)
        }
        candidates.append(DueDigest(organizer_id, today, send_at, periods))
    if not candidates:
        return []
    taken = {
        (organizer_id, local_date)
        for organizer_id, local_date in session.execute(
            select(DigestRun.organizer_id, DigestRun.local_date).where(
                DigestRun.organizer_id.in_({c.organizer_id for c in candidates}),
                DigestRun.local_date.in_({c.local_date.isoformat() for c in candidates}),
            )
        )
    }
    return [c for c in candidates if (c.organizer_id, c.local_date.isoformat()) not in taken]


# --- what -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Milestone:
    kind: str  # "count": `value` signatures; "goal": `value` percent of the goal
    value: int


@dataclass(frozen=True)
class CountryGrowth:
    code: str
    name: str
    new: int


@dataclass(frozen=True)
class CityLine:
    city: str
    country: str  # the country's name in the organizer's language
    supporters: int
    has_rally: bool  # an upcoming event is planned there


@dataclass(frozen=True)
class EventLine:
    title: str
    is_proposal: bool  # proposed by a supporter, waiting for an organizer
    starts_local: datetime  # in the event's own zone
    timezone: str


@dataclass
class CampaignDigest:
    """What one campaign did in the period, for one organizer."""

    campaign_id: int
    slug: str
    title: str
    frequency: DigestFrequency
    period_start: datetime
    period_end: datetime
    # Signatures
    new_signatures: int = 0
    total: int = 0
    goal: int = 0
    progress: int = 0  # percent, capped at 100
    milestones: list[Milestone] = field(default_factory=list)
    countries: list[CountryGrowth] = field(default_factory=list)
    cities: list[CityLine] = field(default_factory=list)
    cities_without_rally: list[CityLine] = field(default_factory=list)
    # Discussion: new in the period, and waiting now
    new_comments: int = 0
    new_flags: int = 0
    pending: int = 0
    flagged: int = 0
    # Rallies
    new_events: list[EventLine] = field(default_factory=list)
    cancelled_events: int = 0
    proposals_waiting: int = 0
    new_rsvps: int = 0
    cancelled_rsvps: int = 0
    # Updates sent to supporters
    broadcasts: list[str] = field(default_factory=list)
    # Links into the panel, only to screens the organizer's role may open
    links: dict[str, str] = field(default_factory=dict)

    @property
    def attention(self) -> int:
        """How many things wait for someone on the team."""
        return self.pending + self.flagged + self.proposals_waiting

    @property
    def has_news(self) -> bool:
        return bool(
            self.new_signatures
            or self.new_comments
            or self.new_flags
            or self.new_events
            or self.cancelled_events
            or self.new_rsvps
            or self.cancelled_rsvps
            or self.broadcasts
        )

    def sort_key(self):
        """Most important first: what needs attention, then the most new signatures."""
        return (-self.attention, -self.new_signatures, self.title.casefold(), self.campaign_id)


def build_digest(
    session: Session,
    organizer: Organizer,
    period_start: datetime,
    period_end: datetime,
    frequency: DigestFrequency | None = None,
) -> list[CampaignDigest]:
    """The organizer's campaigns with something new between `period_start` (included) and
    `period_end` (not), most important first; campaigns with nothing new are left out.

    With `frequency`, only the campaigns whose digest is set to it; otherwise every campaign
    whose digest is not off. Texts are in the organizer's language.
    """
    frequencies = [frequency] if frequency else [DigestFrequency.DAILY, DigestFrequency.WEEKLY]
    memberships = session.scalars(
        select(Membership)
        .join(Campaign, Campaign.id == Membership.campaign_id)
        .where(Membership.organizer_id == organizer.id, Membership.digest.in_(frequencies))
        .order_by(Campaign.id)
    ).all()
    digests = []
    for membership in memberships:
        digest = _campaign_digest(session, organizer, membership, period_start, period_end)
        if digest is not None:
            digests.append(digest)
    digests.sort(key=CampaignDigest.sort_key)
    return digests


def _count(session: Session, query) -> int:
    return session.scalar(query) or 0


def _campaign_digest(
    session: Session,
    organizer: Organizer,
    membership: Membership,
    start: datetime,
    end: datetime,
) -> CampaignDigest | None:
    campaign = membership.campaign
    if not campaign.translations:
        return None
    language = organizer.language
    count = select(func.count())
    events_of_campaign = Event.campaign_id == campaign.id

    def in_period(column):
        return (column >= start) & (column < end)

    new_signatures = _count(
        session,
        count.select_from(Signature).where(
            Signature.campaign_id == campaign.id,
            in_period(Signature.confirmed_at),
            Signature.invalidated_at.is_(None),
        ),
    )
    new_comments = _count(
        session,
        count.select_from(Comment).where(
            Comment.campaign_id == campaign.id,
            Comment.status != CommentStatus.UNCONFIRMED,
            in_period(Comment.confirmed_at),
        ),
    )
    new_flags = _count(
        session,
        count.select_from(CommentFlag)
        .join(Comment, Comment.id == CommentFlag.comment_id)
        .where(Comment.campaign_id == campaign.id, in_period(CommentFlag.created_at)),
    )
    new_events = session.scalars(
        select(Event)
        .where(
            events_of_campaign,
            Event.status.in_((EventStatus.SCHEDULED, EventStatus.PROPOSED)),
            in_period(Event.created_at),
        )
        .order_by(Event.starts_at, Event.id)
    ).all()
    cancelled_events = _count(
        session, count.select_from(Event).where(events_of_campaign, in_period(Event.cancelled_at))
    )
    rsvps = select(func.count()).select_from(Rsvp).join(Event, Event.id == Rsvp.event_id)
    new_rsvps = _count(session, rsvps.where(events_of_campaign, in_period(Rsvp.confirmed_at)))
    cancelled_rsvps = _count(session, rsvps.where(events_of_campaign, in_period(Rsvp.cancelled_at)))
    broadcasts = session.scalars(
        select(Broadcast)
        .where(
            Broadcast.campaign_id == campaign.id,
            Broadcast.status == BroadcastStatus.SENT,
            in_period(Broadcast.sent_at),
        )
        .order_by(Broadcast.sent_at, Broadcast.id)
    ).all()

    digest = CampaignDigest(
        campaign_id=campaign.id,
        slug=campaign.slug,
        title=localize(campaign, language).text.title,
        frequency=DigestFrequency(membership.digest),
        period_start=start,
        period_end=end,
        new_signatures=new_signatures,
        new_comments=new_comments,
        new_flags=new_flags,
        new_events=[
            EventLine(
                title=event.title,
                is_proposal=event.status == EventStatus.PROPOSED,
                starts_local=event.starts_at.astimezone(ZoneInfo(event.timezone)),
                timezone=event.timezone,
            )
            for event in new_events
        ],
        cancelled_events=cancelled_events,
        new_rsvps=new_rsvps,
        cancelled_rsvps=cancelled_rsvps,
        broadcasts=[_broadcast_subject(b, language, campaign) for b in broadcasts],
    )
    if not digest.has_news:
        return None

    # Where things stood at the period's end (a late run does not count what came after);
    # the queue and the proposals as they are now, since that is what someone has to do.
    confirmed_since_end = _count(
        session,
        count.select_from(Signature).where(
            Signature.campaign_id == campaign.id,
            Signature.confirmed_at >= end,
            Signature.invalidated_at.is_(None),
        ),
    )
    at_end = max(0, campaign.signature_count - confirmed_since_end)
    digest.total, digest.goal = at_end, campaign.goal
    digest.progress = min(100, at_end * 100 // campaign.goal) if campaign.goal > 0 else 0
    digest.milestones = milestones_crossed(at_end - new_signatures, at_end, campaign.goal)
    counts = queue_counts(session, campaign)
    digest.pending, digest.flagged = counts.pending, counts.flagged
    digest.proposals_waiting = _count(
        session,
        count.select_from(Event).where(events_of_campaign, Event.status == EventStatus.PROPOSED),
    )
    if new_signatures:
        digest.countries = [
            CountryGrowth(place.country, country_name(place.country, language), place.count)
            for place in top_countries(session, campaign, TOP_COUNTRIES, since=start, until=end)
        ]
        cities = [
            CityLine(
                city.city,
                country_name(city.country, language),
                city.supporters,
                city.event is not None,
            )
            for city in where_to_rally(session, campaign, now=end)
        ]
        digest.cities = cities[:TOP_CITIES]
        digest.cities_without_rally = [
            city
            for city in cities
            if not city.has_rally and city.supporters >= RALLY_CITY_MIN_SUPPORTERS
        ][:RALLY_CITIES]
    digest.links = _links(organizer, membership, campaign, digest)
    return digest


def milestones_crossed(before: int, after: int, goal: int) -> list[Milestone]:
    """The milestones passed when the count went from `before` to `after`: round numbers of
    signatures, and 25, 50, 75 and 100 % of the goal (the goal last)."""
    passed = [Milestone("count", n) for n in COUNT_MILESTONES if before < n <= after]
    if goal > 0:
        passed += [
            Milestone("goal", percent)
            for percent in GOAL_MILESTONES
            # n signatures are `percent` of the goal once n * 100 >= goal * percent.
            if before * 100 < goal * percent <= after * 100
        ]
    return passed


def _broadcast_subject(broadcast: Broadcast, language: str, campaign: Campaign) -> str:
    translation = (
        broadcast.translation(language)
        or broadcast.translation(campaign.default_language)
        or (broadcast.translations[0] if broadcast.translations else None)
    )
    return translation.subject if translation else ""


def _links(
    organizer: Organizer, membership: Membership, campaign: Campaign, digest: CampaignDigest
) -> dict[str, str]:
    def may(action: Action) -> bool:
        return organizer.is_admin or membership.role in PERMISSIONS[action]

    slug = campaign.slug
    tab = QueueTab.PENDING if digest.pending or not digest.flagged else QueueTab.FLAGGED
    links = {"overview": external_url("admin.campaign_overview", slug=slug)}
    if may(Action.VIEW_STATS):
        links["stats"] = external_url("admin.campaign_stats", slug=slug)
    if may(Action.MODERATE):
        links["comments"] = external_url("admin.comments", slug=slug, tab=tab)
    if may(Action.MANAGE_EVENTS):
        links["events"] = external_url("admin.events", slug=slug)
        links["where_to_rally"] = external_url("admin.where_to_rally", slug=slug)
    if may(Action.SEND_BROADCASTS):
        links["broadcasts"] = external_url("admin.broadcasts_index", slug=slug)
    return links


# --- sending ----------------------------------------------------------------------------------


def send_digest(session: Session, due: DueDigest) -> bool:
    """Claim `due` and queue its email; True when an email was queued.

    False when another run claimed it first, or when nothing happened in the period (the
    claim stays: today's digest is done). Commits.
    """
    begin_write(session)
    session.add(
        DigestRun(
            organizer_id=due.organizer_id,
            local_date=due.local_date.isoformat(),
            period_start=due.period_start,
            period_end=due.send_at,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    try:
        return _fill_claimed(session, due)
    except Exception:
        session.rollback()
        # Give the claim back, so that the next run sends the digest after all.
        session.execute(
            delete(DigestRun).where(
                DigestRun.organizer_id == due.organizer_id,
                DigestRun.local_date == due.local_date.isoformat(),
            )
        )
        session.commit()
        raise


def _fill_claimed(session: Session, due: DueDigest) -> bool:
    begin_write(session)
    run = session.scalar(
        select(DigestRun).where(
            DigestRun.organizer_id == due.organizer_id,
            DigestRun.local_date == due.local_date.isoformat(),
        )
    )
    organizer = session.get(Organizer, due.organizer_id)
    digests = []
    for frequency, start in due.periods.items():
        digests += build_digest(session, organizer, start, due.send_at, frequency)
    digests.sort(key=CampaignDigest.sort_key)
    run.campaigns = len(digests)
    if digests:
        message = _queue_digest(session, organizer, due, digests)
        run.outbox_message_id = message.id
    session.commit()
    return bool(digests)


def _queue_digest(session: Session, organizer: Organizer, due: DueDigest, digests):
    weekly = all(d.frequency == DigestFrequency.WEEKLY for d in digests)
    subject = LazyString(_subject, weekly, len(digests))
    zone = organizer_zone(organizer)
    return queue_email(
        session,
        kind="digest",
        preferences=False,
        template="digest",
        language=organizer.language,
        to_email=organizer.email,
        to_name=organizer.name,
        subject=subject,
        unsubscribe_url=unsubscribe_url(organizer.email, None, organizer.language, topic=TOPIC),
        digests=digests,
        weekly=weekly,
        period_end_local=due.send_at.astimezone(zone),
        zone=zone.key,
        account_url=external_url("admin.account"),
    )


def turn_off_digests(session: Session, key: str) -> None:
    """The one-click unsubscribe of a digest (RFC 8058): no more digests for that organizer, on
    any campaign. Turning them on again is a choice on the account page."""
    for organizer in session.scalars(
        select(Organizer).options(selectinload(Organizer.memberships))
    ):
        if _mailbox(organizer.email) != key:
            continue
        changed = [m for m in organizer.memberships if m.digest != DigestFrequency.OFF]
        for membership in changed:
            membership.digest = DigestFrequency.OFF
            audit.record(session, organizer, "digest.unsubscribe", membership.campaign)
    session.flush()


def _mailbox(address: str) -> str:
    try:
        return mailbox_key(address)
    except InvalidEmail:
        return address.lower()


TOPIC = "digest"
TOPIC_UNSUBSCRIBERS[TOPIC] = turn_off_digests


def _subject(weekly: bool, campaigns: int) -> str:
    # Called by queue_email in the organizer's language (a lazy string, like `_l`).
    if weekly:
        return ngettext(
            "Your weekly digest: %(num)d campaign", "Your weekly digest: %(num)d campaigns",
            campaigns,
        )  # fmt: skip
    return ngettext(
        "Your daily digest: %(num)d campaign", "Your daily digest: %(num)d campaigns", campaigns
    )


def send_due(session: Session, now: datetime | None = None) -> int:
    """Send every digest due at `now`; returns how many emails were queued. Commits.

    One organizer's failure (logged) does not stop the others; their claim is given back, so
    the next run tries them again.
    """
    sent = 0
    for due in due_digests(session, now):
        try:
            sent += send_digest(session, due)
        except Exception:
            log.exception(
                "digest of organizer %s for %s failed; trying again on the next run",
                due.organizer_id,
                due.local_date,
            )
    return sent


# --- preferences ------------------------------------------------------------------------------


def digest_memberships(session: Session, organizer: Organizer) -> list[Membership]:
    """The organizer's campaigns, for the digest settings, in the order they joined."""
    return list(
        session.scalars(
            select(Membership)
            .where(Membership.organizer_id == organizer.id)
            .order_by(Membership.created_at, Membership.id)
        )
    )


def set_digest_preferences(
    session: Session,
    organizer: Organizer,
    *,
    timezone: str,
    digest_hour: int,
    frequencies: dict[int, DigestFrequency],
) -> None:
    """Save the organizer's zone, hour and per-campaign frequency (keyed by campaign id).

    The form offers only known zones and hours 0–23; this checks again and raises ValueError.
    """
    if timezone not in set(timezone_names()) or not 0 <= digest_hour <= 23:
        raise ValueError((timezone, digest_hour))
    changes = {}
    if organizer.timezone != timezone:
        changes["timezone"] = [organizer.timezone, timezone]
    if organizer.digest_hour != digest_hour:
        changes["digest_hour"] = [organizer.digest_hour, digest_hour]
    organizer.timezone, organizer.digest_hour = timezone, digest_hour
    for membership in digest_memberships(session, organizer):
        frequency = frequencies.get(membership.campaign_id)
        if frequency is not None and membership.digest != frequency:
            changes[f"digest.{membership.campaign.slug}"] = [
                str(membership.digest),
                str(frequency),
            ]
            membership.digest = DigestFrequency(frequency)
    session.flush()
    if changes:
        audit.record(session, organizer, "organizer.digest_updated", changes=changes)


__all__ = [
    "CampaignDigest",
    "DueDigest",
    "Milestone",
    "build_digest",
    "digest_memberships",
    "due_digests",
    "milestones_crossed",
    "organizer_zone",
    "scheduled_at",
    "send_digest",
    "send_due",
    "set_digest_preferences",
]
