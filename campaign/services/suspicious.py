"""Suspicious bursts of signatures, and invalidating (and restoring) them.

A burst is a run of signatures from one network (the keyed hash of its /24 or /48, see
services.signals) or one email domain, at least `size` of them within `window`, extended for as
long as they keep coming that fast. Bursts are found over the last `lookback` only, and a common
free-mail domain needs `freemail_factor` times as many signatures: a viral moment brings many
honest gmail.com signers at once.

Invalidated signatures stay in the database but count nowhere (`Signature.counted()`); each
invalidation is a batch (`SignatureInvalidation`) that can be restored whole. Both are audited.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.models import Campaign, Organizer, Signature, SignatureInvalidation
from campaign.models.types import utcnow
from campaign.pagination import Page
from campaign.services import audit
from campaign.services.email_domains import is_free_mail
from campaign.services.errors import InvalidationNotFound, NothingToInvalidate
from campaign.services.signals import AUTOMATED_CLASSES
from campaign.services.signature_counts import adjust_signature_count

BY_NETWORK = "ip"
BY_DOMAIN = "domain"
# A signature sent back quicker than this (or without the signed time at all) was not typed.
QUICK_SECONDS = 5
SAMPLE_NAMES = 5
REASON_MAX = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BurstRules:
    """How big and how fast a run of signatures must be to be shown as a burst."""

    size: int = 10
    window: timedelta = timedelta(minutes=10)
    lookback: timedelta = timedelta(days=30)
    freemail_factor: int = 5

    @classmethod
    def from_config(cls, config: Mapping) -> BurstRules:
        return cls(
            size=max(2, int(config["SUSPICIOUS_BURST_SIZE"])),
            window=timedelta(minutes=int(config["SUSPICIOUS_BURST_MINUTES"])),
            lookback=timedelta(days=int(config["SUSPICIOUS_LOOKBACK_DAYS"])),
            freemail_factor=max(1, int(config["SUSPICIOUS_FREEMAIL_FACTOR"])),
        )


@dataclass(frozen=True)
class BurstRef:
    """What names a burst in a form: its kind, its key and its first and last moments."""

    kind: str
    key: str
    start: datetime
    end: datetime

    def encode(self) -> str:
        return f"{self.kind}|{self.key}|{_stamp(self.start)}|{_stamp(self.end)}"

    @classmethod
    def decode(cls, value: str) -> BurstRef | None:
        """The reference in `value`, or None when it is not one (a hand-made form)."""
        parts = value.split("|")
        if len(parts) != 4 or parts[0] not in {BY_NETWORK, BY_DOMAIN} or not parts[1]:
            return None
        try:
            start, end = (EPOCH + timedelta(microseconds=int(p)) for p in parts[2:])
        except (ValueError, OverflowError):
            return None
        if end < start or len(parts[1]) > 253:
            return None
        return cls(parts[0], parts[1], start, end)

    def condition(self):
        column = Signature.ip_range_hash if self.kind == BY_NETWORK else Signature.email_domain
        return (
            (column == self.key)
            & (Signature.created_at >= self.start)
            & (Signature.created_at <= self.end)
        )


@dataclass
class Burst:
    ref: BurstRef
    count: int
    confirmed: int
    automated: int  # signatures from scripts and bots (by their user agent)
    quick: int  # sent back within QUICK_SECONDS, or without the signed time
    median_seconds: float | None
    names: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.ref.kind

    @property
    def label(self) -> str:
        """The domain, or a short piece of the network's hash: never an address."""
        return self.ref.key if self.kind == BY_DOMAIN else self.ref.key[:8]

    @property
    def span(self) -> timedelta:
        return self.ref.end - self.ref.start

    @property
    def confirmation_percent(self) -> int:
        return 100 * self.confirmed // self.count if self.count else 0

    @property
    def automated_percent(self) -> int:
        return 100 * self.automated // self.count if self.count else 0

    @property
    def score(self) -> float:
        """Bigger, more scripted, quicker and less confirmed is more suspicious."""
        if not self.count:
            return 0.0
        shares = (self.automated + self.quick + (self.count - self.confirmed)) / self.count
        return self.count * (1 + shares)


@dataclass(frozen=True)
class InvalidationPreview:
    """What invalidating a selection would do, shown before it is done."""

    signature_ids: list[int]
    confirmed: int
    count_before: int

    @property
    def total(self) -> int:
        return len(self.signature_ids)

    @property
    def unconfirmed(self) -> int:
        return self.total - self.confirmed

    @property
    def count_after(self) -> int:
        return max(0, self.count_before - self.confirmed)


def _stamp(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (a float would round them)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def _runs(times: list[datetime], size: int, window: timedelta) -> Iterable[tuple[int, int]]:
    """(first, last) indexes of each run in sorted `times`: `size` within `window` at least,
    extended while each next one still has `size - 1` before it within `window`."""
    n, i = len(times), 0
    while i + size <= n:
        if times[i + size - 1] - times[i] > window:
            i += 1
            continue
        last = i + size - 1
        while last + 1 < n and times[last + 1] - times[last + 2 - size] <= window:
            last += 1
        yield i, last
        i = last + 1


def find_bursts(
    session: Session, campaign: Campaign, rules: BurstRules, *, now: datetime | None = None
) -> list[Burst]:
    """Every burst among the campaign's signatures that still count or wait for confirmation
    (invalidated ones are left out), most suspicious first."""
    since = (now or utcnow()) - rules.lookback
    recent = (
        Signature.campaign_id == campaign.id,
        Signature.invalidated_at.is_(None),
        Signature.created_at >= since,
    )
    # Only the networks and domains with enough signatures in the period can hold a burst.
    networks = list(
        session.scalars(
            select(Signature.ip_range_hash)
            .where(*recent, Signature.ip_range_hash.is_not(None))
            .group_by(Signature.ip_range_hash)
            .having(func.count() >= rules.size)
        )
    )
    domains = [
        domain
        for domain, n in session.execute(
            select(Signature.email_domain, func.count())
            .where(*recent, Signature.email_domain.is_not(None))
            .group_by(Signature.email_domain)
            .having(func.count() >= rules.size)
        )
        if n >= rules.size * (rules.freemail_factor if is_free_mail(domain) else 1)
    ]
    if not networks and not domains:
        return []
    rows = session.execute(
        select(
            Signature.ip_range_hash,
            Signature.email_domain,
            Signature.created_at,
            Signature.confirmed_at,
            Signature.user_agent_class,
            Signature.seconds_on_form,
            Signature.full_name,
        )
        .where(
            *recent,
            or_(Signature.ip_range_hash.in_(networks), Signature.email_domain.in_(domains)),
        )
        .order_by(Signature.created_at, Signature.id)
    ).all()
    groups: dict[tuple[str, str], list] = defaultdict(list)
    network_set, domain_set = set(networks), set(domains)
    for row in rows:
        if row.ip_range_hash in network_set:
            groups[(BY_NETWORK, row.ip_range_hash)].append(row)
        if row.email_domain in domain_set:
            groups[(BY_DOMAIN, row.email_domain)].append(row)
    bursts = []
    for (kind, key), members in groups.items():
        size = rules.size
        if kind == BY_DOMAIN and is_free_mail(key):
            size *= rules.freemail_factor
        times = [m.created_at for m in members]
        for first, last in _runs(times, size, rules.window):
            bursts.append(_burst(kind, key, members[first : last + 1]))
    bursts.sort(key=lambda b: (-b.score, b.ref.start))
    return bursts


def _burst(kind: str, key: str, members: list) -> Burst:
    seconds = [m.seconds_on_form for m in members if m.seconds_on_form is not None]
    return Burst(
        ref=BurstRef(kind, key, members[0].created_at, members[-1].created_at),
        count=len(members),
        confirmed=sum(1 for m in members if m.confirmed_at is not None),
        automated=sum(1 for m in members if m.user_agent_class in AUTOMATED_CLASSES),
        quick=sum(
            1 for m in members if m.seconds_on_form is None or m.seconds_on_form < QUICK_SECONDS
        ),
        median_seconds=statistics.median(seconds) if seconds else None,
        names=[m.full_name for m in members[:SAMPLE_NAMES]],
    )


def burst_page(bursts: list[Burst], number: int, per_page: int = 20) -> Page[Burst]:
    """One page of the bursts (they are computed whole, then shown a page at a time)."""
    number = max(1, number)
    start = (number - 1) * per_page
    return Page(bursts[start : start + per_page], number, per_page, len(bursts))


def _selected(campaign: Campaign, refs: list[BurstRef]):
    return select(Signature.id, Signature.confirmed_at).where(
        Signature.campaign_id == campaign.id,
        Signature.invalidated_at.is_(None),
        or_(*(ref.condition() for ref in refs)),
    )


def preview_invalidation(
    session: Session, campaign: Campaign, refs: list[BurstRef]
) -> InvalidationPreview:
    """How many signatures the selected bursts hold now (confirmed or not), and the count after."""
    rows = session.execute(_selected(campaign, refs)).all() if refs else []
    session.refresh(campaign, ["signature_count"])
    return InvalidationPreview(
        signature_ids=[r.id for r in rows],
        confirmed=sum(1 for r in rows if r.confirmed_at is not None),
        count_before=campaign.signature_count,
    )


def invalidate(
    session: Session,
    campaign: Campaign,
    actor: Organizer | None,
    refs: list[BurstRef],
    reason: str = "",
) -> SignatureInvalidation:
    """Invalidate every signature of the selected bursts in one batch, and audit it.

    The confirmed ones leave the public count at once. Raises NothingToInvalidate when the
    selection holds no signature that still counts or waits.
    """
    begin_write(session)
    if not refs:
        raise NothingToInvalidate(campaign.slug)
    rows = session.execute(_selected(campaign, refs).with_for_update()).all()
    if not rows:
        raise NothingToInvalidate(campaign.slug)
    reason = " ".join(reason.split())[:REASON_MAX]
    now = utcnow()
    batch = SignatureInvalidation(
        campaign_id=campaign.id,
        invalidated_by_id=actor.id if actor else None,
        reason=reason,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    ids = [r.id for r in rows]
    for chunk in _chunks(ids):
        session.execute(
            update(Signature)
            .where(Signature.id.in_(chunk), Signature.invalidated_at.is_(None))
            .values(
                invalidated_at=now,
                invalidated_by_id=batch.invalidated_by_id,
                invalidation_reason=reason,
                invalidation_id=batch.id,
            )
            .execution_options(synchronize_session=False)
        )
    # Counted after the update, under its row locks: a confirmation that raced it is included.
    confirmed = session.scalar(
        select(func.count()).where(
            Signature.invalidation_id == batch.id, Signature.confirmed_at.is_not(None)
        )
    )
    batch.signatures = len(ids)
    batch.confirmed_signatures = confirmed or 0
    adjust_signature_count(session, campaign, -batch.confirmed_signatures)
    session.flush()
    audit.record(
        session,
        actor,
        "signatures.invalidate",
        campaign,
        batch=batch.id,
        signatures=batch.signatures,
        confirmed_signatures=batch.confirmed_signatures,
        reason=reason,
        bursts=[_describe(ref) for ref in refs],
    )
    session.expire_all()
    return batch


def restore(
    session: Session, campaign: Campaign, actor: Organizer | None, batch_id: int
) -> SignatureInvalidation:
    """Undo an invalidation: its signatures count again (those confirmed by now), audited.

    Raises InvalidationNotFound for a batch of another campaign, or one restored already.
    """
    begin_write(session)
    batch = session.scalar(
        select(SignatureInvalidation)
        .where(
            SignatureInvalidation.id == batch_id,
            SignatureInvalidation.campaign_id == campaign.id,
            SignatureInvalidation.restored_at.is_(None),
        )
        .with_for_update()
    )
    if batch is None:
        raise InvalidationNotFound(campaign.slug)
    members = session.execute(
        select(Signature.id, Signature.confirmed_at)
        .where(Signature.invalidation_id == batch.id)
        .with_for_update()
    ).all()
    confirmed = sum(1 for m in members if m.confirmed_at is not None)
    session.execute(
        update(Signature)
        .where(Signature.invalidation_id == batch.id)
        .values(
            invalidated_at=None,
            invalidated_by_id=None,
            invalidation_reason="",
            invalidation_id=None,
        )
        .execution_options(synchronize_session=False)
    )
    adjust_signature_count(session, campaign, confirmed)
    batch.restored_at = utcnow()
    batch.restored_by_id = actor.id if actor else None
    session.flush()
    audit.record(
        session,
        actor,
        "signatures.restore",
        campaign,
        batch=batch.id,
        signatures=len(members),
        confirmed_signatures=confirmed,
    )
    session.expire_all()
    return batch


def invalidations(
    session: Session, campaign: Campaign, *, page: int = 1, per_page: int = 20
) -> Page[SignatureInvalidation]:
    """The campaign's batches of invalidated signatures, newest first."""
    from campaign.pagination import paginate

    query = (
        select(SignatureInvalidation)
        .where(SignatureInvalidation.campaign_id == campaign.id)
        .order_by(SignatureInvalidation.created_at.desc(), SignatureInvalidation.id.desc())
    )
    return paginate(session, query, page, per_page)


def _describe(ref: BurstRef) -> str:
    label = ref.key if ref.kind == BY_DOMAIN else f"network {ref.key[:8]}"
    start, end = (m.isoformat(timespec="seconds") for m in (ref.start, ref.end))
    return f"{label} {start} to {end}"


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
