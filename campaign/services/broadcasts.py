"""Updates (broadcasts): an editor writes to a campaign's supporters, in their languages.

The life of an update: a draft (texts per language, the default language's required, and an
audience) → sent now or scheduled → sending → sent; a send can be paused and resumed.

Sending is the worker's (`run_due`, one of the worker's periodic tasks), in two steps:

1. The recipient list is drawn up once, when sending starts: one `BroadcastRecipient` per
   mailbox, inserted with the unique key (broadcast, mailbox) and "on conflict do nothing", and
   claimed by setting `recipients_listed_at` in the same transaction, so a resend, a retry or
   two workers at once never list anyone twice. People who subscribe later are not added.
2. Recipients are then written into the outbox in batches (`BATCH_SIZE`), each batch its own
   transaction that also sets the recipients' `outbox_message_id`: an email is written once.
   The outbox delivers them like any other mail (bulk: suppressed mailboxes are skipped).

Pausing stops the batches and takes back the emails written but not yet picked up by a worker
(pending rows are deleted and their recipients unmarked), so a pause holds everything not yet
on its way; resuming writes them again. A row a worker has claimed is never touched: no email
goes out twice.

Who gets an update (`recipients`): see `Audience`. Whatever the audience, suppressed mailboxes
(bounced, blocked, complained) and people who unsubscribed from the campaign or from everything
are left out, and counted apart (`RecipientCount`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from campaign.database import begin_write
from campaign.mail.outbox import queue_email
from campaign.models import (
    Audience,
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    BroadcastTranslation,
    Campaign,
    Event,
    EventStatus,
    Organizer,
    OutboxMessage,
    OutboxStatus,
    Rsvp,
    RsvpStatus,
    Signature,
    Subscriber,
    Subscription,
    Suppression,
)
from campaign.models.types import utcnow
from campaign.services import audit
from campaign.services.campaigns import localize
from campaign.services.countries import is_country
from campaign.services.errors import (
    BroadcastLocked,
    InvalidBroadcast,
    InvalidTransition,
    NoRecipients,
)
from campaign.services.markdown import render_markdown
from campaign.services.subscribers import preferences_url, unsubscribe_url
from campaign.urls import external_url

# Outbox rows written per transaction while sending.
BATCH_SIZE = 500
# How long one run of the periodic task keeps writing batches before it lets the worker
# deliver; a pause or another worker gets in between any two batches.
RUN_SECONDS = 20.0
SUBJECT_MAX = 200
BODY_MAX = 50_000
# Keys per IN (…) when checking suppressions and unsubscribes: well under SQLite's limit.
KEY_CHUNK = 900
# Updates to everyone who follows the campaign are also shown on its page; those to one
# event's attendees or one country are not.
PUBLIC_AUDIENCES = frozenset({Audience.SUBSCRIBERS, Audience.SIGNERS})
# People whose RSVP stands get the event's news: their RSVP consent covers it.
EVENT_RSVP_STATUSES = (RsvpStatus.GOING, RsvpStatus.OFFERED, RsvpStatus.WAITLISTED)
# Events whose attendees can be written to (past ones too: "thank you for coming").
WRITABLE_EVENT_STATUSES = (EventStatus.SCHEDULED,)
EDITABLE = frozenset({BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED})

# --- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastText:
    subject: str
    body_markdown: str


@dataclass(frozen=True)
class BroadcastData:
    """A draft as a form gives it: texts by language (empty languages left out), audience."""

    texts: dict[str, BroadcastText]
    audience: Audience = Audience.SUBSCRIBERS
    event_id: int | None = None
    country: str = ""


@dataclass(frozen=True)
class Recipient:
    email: str
    email_key: str
    name: str
    language: str


@dataclass(frozen=True)
class RecipientCount:
    """The exact number an update goes to, and how many of its audience are left out."""

    total: int
    suppressed: int
    unsubscribed: int
    # How many get each version: the language of the version, after falling back.
    by_language: dict[str, int] = field(default_factory=dict)
    # How many asked for a language the update has no version in (they get the default).
    fallback: int = 0


@dataclass(frozen=True)
class AudienceList:
    recipients: list[Recipient]
    suppressed: int
    unsubscribed: int


@dataclass(frozen=True)
class Progress:
    """Where a send stands, counted from its recipients' outbox rows."""

    total: int
    waiting: int  # listed, not yet written into the outbox (or held by a pause)
    queued: int  # in the outbox: pending or being sent
    sent: int
    failed: int
    suppressed: int

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.suppressed

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass(frozen=True)
class Version:
    """One language's version as a reader sees it (preview, email, public page)."""

    language: str
    subject: str
    body_markdown: str
    body_html: Markup
    is_fallback: bool = False  # the reader's language has no version: this is the default


# --- drafts -------------------------------------------------------------------------------------


def create_broadcast(
    session: Session, actor: Organizer, campaign: Campaign, data: BroadcastData
) -> Broadcast:
    """A new draft. Raises InvalidBroadcast."""
    begin_write(session)
    data = _clean(session, campaign, data)
    broadcast = Broadcast(campaign=campaign, created_by_id=actor.id, status=BroadcastStatus.DRAFT)
    _apply(broadcast, data)
    session.add(broadcast)
    session.flush()
    audit.record(
        session,
        actor,
        "broadcast.create",
        campaign,
        update=broadcast.id,
        subject=_default_subject(broadcast),
        audience=broadcast.audience.value,
        languages=sorted(data.texts),
    )
    return broadcast


def update_broadcast(
    session: Session, actor: Organizer, broadcast: Broadcast, data: BroadcastData
) -> list[str]:
    """Change a draft (or a scheduled update, which stays scheduled); returns what changed.

    Raises BroadcastLocked once sending started, InvalidBroadcast.
    """
    begin_write(session)
    session.refresh(broadcast)
    if broadcast.status not in EDITABLE:
        raise BroadcastLocked(broadcast.id)
    data = _clean(session, broadcast.campaign, data)
    before = broadcast_data(broadcast)
    changed = [
        name
        for name in ("audience", "event_id", "country")
        if getattr(before, name) != getattr(data, name)
    ]
    for language in sorted(set(before.texts) | set(data.texts)):
        if before.texts.get(language) != data.texts.get(language):
            changed.append(f"text_{language}")
    if not changed:
        return []
    _apply(broadcast, data)
    session.flush()
    audit.record(
        session,
        actor,
        "broadcast.update",
        broadcast.campaign,
        update=broadcast.id,
        subject=_default_subject(broadcast),
        fields=changed,
    )
    return changed


def broadcast_data(broadcast: Broadcast) -> BroadcastData:
    """A broadcast as the form edits it."""
    return BroadcastData(
        texts={
            t.language: BroadcastText(subject=t.subject, body_markdown=t.body_markdown)
            for t in broadcast.translations
        },
        audience=broadcast.audience,
        event_id=broadcast.audience_event_id,
        country=broadcast.audience_country,
    )


def _clean(session: Session, campaign: Campaign, data: BroadcastData) -> BroadcastData:
    texts: dict[str, BroadcastText] = {}
    for language, text in data.texts.items():
        subject = " ".join((text.subject or "").split())
        body = (text.body_markdown or "").replace("\r\n", "\n").strip()
        if not subject and not body:
            continue
        if language not in campaign.languages:
            raise InvalidBroadcast(f"subject_{language}", "unknown_language")
        if not subject:
            raise InvalidBroadcast(f"subject_{language}", "required")
        if not body:
            raise InvalidBroadcast(f"body_{language}", "required")
        if len(subject) > SUBJECT_MAX:
            raise InvalidBroadcast(f"subject_{language}", "too_long")
        if len(body) > BODY_MAX:
            raise InvalidBroadcast(f"body_{language}", "too_long")
        texts[language] = BroadcastText(subject=subject, body_markdown=body)
    if campaign.default_language not in texts:
        raise InvalidBroadcast(f"subject_{campaign.default_language}", "required")
    audience = Audience(data.audience)
    event_id, country = None, ""
    if audience == Audience.EVENT:
        if not data.event_id:
            raise InvalidBroadcast("event", "required")
        if not any(e.id == data.event_id for e in event_choices(session, campaign)):
            raise InvalidBroadcast("event", "unknown")
        event_id = data.event_id
    elif audience == Audience.COUNTRY:
        country = (data.country or "").strip().upper()
        if not country:
            raise InvalidBroadcast("country", "required")
        if not is_country(country):
            raise InvalidBroadcast("country", "unknown")
    return BroadcastData(texts=texts, audience=audience, event_id=event_id, country=country)


def _apply(broadcast: Broadcast, data: BroadcastData) -> None:
    broadcast.audience = data.audience
    broadcast.audience_event_id = data.event_id
    broadcast.audience_country = data.country
    existing = {t.language: t for t in broadcast.translations}
    for language, translation in existing.items():
        if language not in data.texts:
            broadcast.translations.remove(translation)
    for language, text in data.texts.items():
        translation = existing.get(language)
        if translation is None:
            translation = BroadcastTranslation(language=language)
            broadcast.translations.append(translation)
        translation.subject = text.subject
        translation.body_markdown = text.body_markdown


def event_choices(
    session: Session, campaign: Campaign, include_id: int | None = None
) -> list[Event]:
    """The campaign's events whose attendees can get an update, soonest last-first."""
    condition = Event.status.in_(WRITABLE_EVENT_STATUSES)
    if include_id:
        condition = or_(condition, Event.id == include_id)
    return list(
        session.scalars(
            select(Event)
            .where(Event.campaign_id == campaign.id, condition)
            .order_by(Event.starts_at.desc(), Event.id)
        )
    )


def campaign_broadcasts(session: Session, campaign: Campaign) -> list[Broadcast]:
    """The campaign's updates, newest first."""
    return list(
        session.scalars(
            select(Broadcast)
            .where(Broadcast.campaign_id == campaign.id)
            .options(selectinload(Broadcast.translations), selectinload(Broadcast.audience_event))
            .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
        )
    )


def campaign_broadcast(session: Session, campaign: Campaign, broadcast_id: int) -> Broadcast | None:
    return session.scalar(
        select(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.campaign_id == campaign.id)
    )


# --- who gets it --------------------------------------------------------------------------------


def audience_list(session: Session, broadcast: Broadcast) -> AudienceList:
    """The recipients as they would be drawn up now, and how many were left out."""
    candidates = _candidates(session, broadcast)
    suppressed = _suppressed_keys(session, candidates)
    unsubscribed = _unsubscribed_keys(session, broadcast.campaign_id, candidates) - suppressed
    kept = [
        recipient
        for key, recipient in sorted(candidates.items())
        if key not in suppressed and key not in unsubscribed
    ]
    return AudienceList(recipients=kept, suppressed=len(suppressed), unsubscribed=len(unsubscribed))


def recipients(session: Session, broadcast: Broadcast) -> list[Recipient]:
    """Exactly who would get the update now: one per mailbox, sorted by mailbox key.

    - subscribers: the campaign's subscribers whose mailbox is confirmed and whose subscription
      stands;
    - signers: confirmed signers of the campaign who ticked "send me updates";
    - event: people going to, offered a place at or waiting for the chosen event;
    - country: consenting signers who signed from that country, and subscribers who did.

    Suppressed mailboxes and people who unsubscribed from the campaign or from everything are
    left out. Each gets their own language: a subscriber's chosen one, else the language they
    signed or RSVPed in.
    """
    return audience_list(session, broadcast).recipients


def recipient_count(session: Session, broadcast: Broadcast) -> RecipientCount:
    """How many get the update (exactly), how many were left out and why, and by language.

    Once the list is drawn up, the listed recipients are counted instead.
    """
    if broadcast.recipients_listed_at is not None:
        rows = session.execute(
            select(BroadcastRecipient.language, func.count())
            .where(BroadcastRecipient.broadcast_id == broadcast.id)
            .group_by(BroadcastRecipient.language)
        ).all()
        languages = dict(rows)
        suppressed = unsubscribed = 0
    else:
        listed = audience_list(session, broadcast)
        languages: dict[str, int] = {}
        for recipient in listed.recipients:
            languages[recipient.language] = languages.get(recipient.language, 0) + 1
        suppressed, unsubscribed = listed.suppressed, listed.unsubscribed
    by_version: dict[str, int] = {}
    fallback = 0
    for language, n in languages.items():
        version = version_language(broadcast, language)
        by_version[version] = by_version.get(version, 0) + n
        if version != language:
            fallback += n
    return RecipientCount(
        total=sum(languages.values()),
        suppressed=suppressed,
        unsubscribed=unsubscribed,
        by_language=dict(sorted(by_version.items())),
        fallback=fallback,
    )


def _candidates(session: Session, broadcast: Broadcast) -> dict[str, Recipient]:
    """Everyone in the audience, by mailbox key, before anyone is left out."""
    campaign_id = broadcast.campaign_id
    subscribers = (
        select(Subscriber.email, Subscriber.email_key, Subscriber.language)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(
            Subscription.campaign_id == campaign_id,
            Subscription.unsubscribed_at.is_(None),
            Subscriber.confirmed_at.is_not(None),
            Subscriber.unsubscribed_at.is_(None),
        )
    )
    signers = select(
        Signature.email, Signature.email_key, Signature.language, Signature.full_name
    ).where(
        Signature.campaign_id == campaign_id,
        Signature.counted(),
        Signature.has_update_consent.is_(True),
    )
    queries = []  # in order of precedence: a subscriber's language is one they chose
    if broadcast.audience == Audience.SUBSCRIBERS:
        queries = [subscribers]
    elif broadcast.audience == Audience.SIGNERS:
        queries = [signers]
    elif broadcast.audience == Audience.COUNTRY:
        signed_there = aliased(Signature)
        queries = [
            subscribers.join(
                signed_there,
                (signed_there.email_key == Subscriber.email_key)
                & (signed_there.campaign_id == campaign_id)
                & (signed_there.country == broadcast.audience_country)
                & signed_there.confirmed_at.is_not(None)
                & signed_there.invalidated_at.is_(None),
            ),
            signers.where(Signature.country == broadcast.audience_country),
        ]
    elif broadcast.audience == Audience.EVENT and broadcast.audience_event_id:
        queries = [
            select(Rsvp.email, Rsvp.email_key, Rsvp.language, Rsvp.full_name)
            .join(Event, Event.id == Rsvp.event_id)
            .where(
                Event.id == broadcast.audience_event_id,
                Event.campaign_id == campaign_id,
                Rsvp.status.in_(EVENT_RSVP_STATUSES),
                Rsvp.confirmed_at.is_not(None),
            )
        ]
    found: dict[str, Recipient] = {}
    for query in queries:
        for row in session.execute(query):
            name = row.full_name if "full_name" in row._fields else ""
            known = found.get(row.email_key)
            if known is None:
                found[row.email_key] = Recipient(
                    email=row.email, email_key=row.email_key, name=name, language=row.language
                )
            elif not known.name and name:
                found[row.email_key] = Recipient(
                    email=known.email, email_key=known.email_key, name=name, language=known.language
                )
    return found


def _chunks(keys: Iterable[str], size: int = KEY_CHUNK) -> Iterator[list[str]]:
    items = list(keys)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _suppressed_keys(session: Session, keys: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(keys):
        found.update(
            session.scalars(select(Suppression.email_key).where(Suppression.email_key.in_(chunk)))
        )
    return found


def _unsubscribed_keys(session: Session, campaign_id: int, keys: Iterable[str]) -> set[str]:
    """Mailboxes that unsubscribed from everything, or from this campaign."""
    found: set[str] = set()
    for chunk in _chunks(keys):
        found.update(
            session.scalars(
                select(Subscriber.email_key).where(
                    Subscriber.email_key.in_(chunk),
                    or_(
                        Subscriber.unsubscribed_at.is_not(None),
                        exists().where(
                            Subscription.subscriber_id == Subscriber.id,
                            Subscription.campaign_id == campaign_id,
                            Subscription.unsubscribed_at.is_not(None),
                        ),
                    ),
                )
            )
        )
    return found


# --- languages and previews ---------------------------------------------------------------------


def version_language(broadcast: Broadcast, language: str) -> str:
    """The language of the version a reader of `language` gets: theirs, else the default."""
    if broadcast.translation(language) is not None:
        return language
    default = broadcast.campaign.default_language
    if broadcast.translation(default) is not None or not broadcast.translations:
        return default
    return broadcast.translations[0].language


def version(broadcast: Broadcast, language: str) -> Version:
    """What a reader of `language` reads: their language's version or the default's."""
    chosen = broadcast.translation(version_language(broadcast, language))
    if chosen is None:
        return Version(language, "", "", Markup(""), is_fallback=True)
    return Version(
        language=chosen.language,
        subject=chosen.subject,
        body_markdown=chosen.body_markdown,
        body_html=render_markdown(chosen.body_markdown),
        is_fallback=chosen.language != language,
    )


def previews(broadcast: Broadcast) -> list[Version]:
    """Every version the update has, the campaign's default language first."""
    default = broadcast.campaign.default_language
    languages = sorted(
        (t.language for t in broadcast.translations), key=lambda c: (c != default, c)
    )
    return [version(broadcast, language) for language in languages]


def preview_markdown(text: str) -> Markup:
    """A body as it will read (the form's Preview button): sanitized HTML."""
    return render_markdown(text)


# --- the email ----------------------------------------------------------------------------------


def _queue_update_email(
    session: Session,
    broadcast: Broadcast,
    *,
    email: str,
    name: str,
    language: str,
    versions: dict[str, Version],
    titles: dict[str, str],
    test: bool = False,
) -> OutboxMessage:
    chosen = versions.get(language)
    if chosen is None:
        chosen = versions[language] = version(broadcast, language)
    campaign = broadcast.campaign
    # The email is in the version's language, so its words and links are too.
    mail_language = chosen.language
    title = titles.get(mail_language)
    if title is None:
        title = titles[mail_language] = localize(campaign, mail_language).text.title
    subject = _l("[Test] %(subject)s", subject=chosen.subject) if test else chosen.subject
    return queue_email(
        session,
        kind="broadcast_test" if test else "broadcast",
        template="broadcast",
        language=mail_language,
        to_email=email,
        to_name=name,
        subject=subject,
        bulk=True,
        unsubscribe_url=unsubscribe_url(email, campaign.id, mail_language),
        preferences_url=preferences_url(email, mail_language),
        title=title,
        body_html=chosen.body_html,
        body_text=chosen.body_markdown,
        is_test=test,
        event_title=audience_event_title(broadcast),
        update_url=external_url(
            "public.update", lang=mail_language, slug=campaign.slug, broadcast_id=broadcast.id
        )
        if broadcast.audience in PUBLIC_AUDIENCES
        else None,
        petition_url=external_url("public.petition", lang=mail_language, slug=campaign.slug),
    )


def send_test(
    session: Session, actor: Organizer, broadcast: Broadcast, language: str
) -> OutboxMessage:
    """Email the update to the organizer themself, through the outbox, marked as a test in the
    subject, in the version a reader of `language` gets."""
    begin_write(session)
    message = _queue_update_email(
        session,
        broadcast,
        email=actor.email,
        name=actor.name,
        language=language,
        versions={},
        titles={},
        test=True,
    )
    audit.record(
        session,
        actor,
        "broadcast.test",
        broadcast.campaign,
        update=broadcast.id,
        subject=_default_subject(broadcast),
        language=message.language,
        email=actor.email,
    )
    return message


# --- sending, scheduling, pausing ---------------------------------------------------------------


def send_now(session: Session, actor: Organizer, broadcast: Broadcast) -> int:
    """Start sending a draft or a scheduled update; returns how many it will go to.

    The worker draws up the list and writes the emails (see `run_due`). Raises
    InvalidTransition (already sending or sent), NoRecipients.
    """
    begin_write(session)
    session.refresh(broadcast)
    if broadcast.status not in EDITABLE:
        raise InvalidTransition(broadcast.status, BroadcastStatus.SENDING)
    count = recipient_count(session, broadcast)
    if count.total == 0:
        raise NoRecipients(broadcast.id)
    broadcast.status = BroadcastStatus.SENDING
    broadcast.scheduled_at = None
    session.flush()
    audit.record(
        session,
        actor,
        "broadcast.send",
        broadcast.campaign,
        update=broadcast.id,
        subject=_default_subject(broadcast),
        audience=broadcast.audience.value,
        recipients=count.total,
    )
    return count.total


def schedule(session: Session, actor: Organizer, broadcast: Broadcast, when: datetime) -> None:
    """Send the update at `when` (timezone-aware); a scheduled one can be rescheduled.

    Raises InvalidBroadcast("scheduled_at", "past"), InvalidTransition.
    """
    begin_write(session)
    session.refresh(broadcast)
    if broadcast.status not in EDITABLE:
        raise InvalidTransition(broadcast.status, BroadcastStatus.SCHEDULED)
    if when.tzinfo is None:
        raise ValueError("a naive datetime: say which time zone it is in")
    if when <= utcnow():
        raise InvalidBroadcast("scheduled_at", "past")
    broadcast.status = BroadcastStatus.SCHEDULED
    broadcast.scheduled_at = when
    session.flush()
    audit.record(
        session,
        actor,
        "broadcast.schedule",
        broadcast.campaign,
        update=broadcast.id,
        subject=_default_subject(broadcast),
        scheduled_at=when.astimezone(ZoneInfo("UTC")).isoformat(timespec="minutes"),
    )


def unschedule(session: Session, actor: Organizer, broadcast: Broadcast) -> None:
    """A scheduled update back to a draft. Raises InvalidTransition."""
    begin_write(session)
    session.refresh(broadcast)
    if broadcast.status != BroadcastStatus.SCHEDULED:
        raise InvalidTransition(broadcast.status, BroadcastStatus.DRAFT)
    broadcast.status = BroadcastStatus.DRAFT
    broadcast.scheduled_at = None
    session.flush()
    audit.record(
        session,
        actor,
        "broadcast.unschedule",
        broadcast.campaign,
        update=broadcast.id,
        subject=_default_subject(broadcast),
    )


def pause(session: Session, actor: Organizer, broadcast: Broadcast) -> int:
    """Stop a send; returns how many emails written but not yet picked up were held back.

    Raises InvalidTransition unless it is sending.
    """
    begin_write(session)
    # Locks the row on PostgreSQL: a batch being written finishes first, then is held too.
    _lock(session, broadcast)
    if broadcast.status != BroadcastStatus.SENDING:
        raise InvalidTransition(broadcast.status, BroadcastStatus.PAUSED)
    broadcast.status = BroadcastStatus.PAUSED
    held = _hold_pending(session, broadcast.id)
    session.flush()
    audit.record(
        session,
        actor,
        "broadcast.pause",
        broadcast.campaign,
        update=broadcast.id,
        subject=_default_subject(broadcast),
        held=held,
    )
    return held


def resume(session: Session, actor: Organizer, broadcast: Broadcast) -> None:
    """Carry on with a paused send. Raises InvalidTransition unless it is paused."""
    begin_write(session)
    _lock(session, broadcast)
    if broadcast.status != BroadcastStatus.PAUSED:
        raise InvalidTransition(broadcast.status, BroadcastStatus.SENDING)
    broadcast.status = BroadcastStatus.SENDING
    session.flush()
    audit.record(
        session,
        actor,
        "broadcast.resume",
        broadcast.campaign,
        update=broadcast.id,
        subject=_default_subject(broadcast),
    )


def _lock(session: Session, broadcast: Broadcast) -> None:
    session.scalar(
        select(Broadcast.id)
        .where(Broadcast.id == broadcast.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    session.refresh(broadcast)


def _hold_pending(session: Session, broadcast_id: int) -> int:
    """Delete this send's outbox rows no worker has claimed, and unmark their recipients."""
    pairs = dict(
        session.execute(
            select(OutboxMessage.id, BroadcastRecipient.id)
            .join(BroadcastRecipient, BroadcastRecipient.outbox_message_id == OutboxMessage.id)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
        ).all()
    )
    held = 0
    for chunk in _chunks(pairs):
        recipient_ids = [pairs[message_id] for message_id in chunk]
        session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.id.in_(recipient_ids))
            .values(outbox_message_id=None)
            .execution_options(synchronize_session=False)
        )
        # The status condition spares a row a worker claimed meanwhile: that one goes out.
        deleted = set(
            session.scalars(
                delete(OutboxMessage)
                .where(OutboxMessage.id.in_(chunk), OutboxMessage.status == OutboxStatus.PENDING)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            )
        )
        held += len(deleted)
        for message_id in set(chunk) - deleted:
            session.execute(
                update(BroadcastRecipient)
                .where(BroadcastRecipient.id == pairs[message_id])
                .values(outbox_message_id=message_id)
                .execution_options(synchronize_session=False)
            )
    return held


# --- the worker's part --------------------------------------------------------------------------


def start_due(session: Session, now: datetime | None = None) -> int:
    """Turn scheduled updates whose time has come into sends; commits."""
    now = now or utcnow()
    begin_write(session)
    started = session.execute(
        update(Broadcast)
        .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.scheduled_at <= now)
        .values(status=BroadcastStatus.SENDING)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return started


def draw_up(session: Session, broadcast_id: int) -> int:
    """List a sending update's recipients, once; returns how many were listed now (0 when
    another run listed them already). Commits."""
    begin_write(session)
    claimed = session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.status == BroadcastStatus.SENDING,
            Broadcast.recipients_listed_at.is_(None),
        )
        .values(recipients_listed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        session.commit()
        return 0
    broadcast = session.get(Broadcast, broadcast_id, populate_existing=True)
    listed = recipients(session, broadcast)
    rows = [
        {
            "broadcast_id": broadcast_id,
            "email": r.email,
            "email_key": r.email_key,
            "name": r.name[:120],
            "language": r.language,
        }
        for r in listed
    ]
    for start in range(0, len(rows), 1000):
        _insert_ignoring_duplicates(session, rows[start : start + 1000])
    session.commit()
    return len(rows)


def _insert_ignoring_duplicates(session: Session, rows: list[dict]) -> None:
    """INSERT … ON CONFLICT (broadcast, mailbox) DO NOTHING: the unique key decides."""
    if not rows:
        return
    table = BroadcastRecipient.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).on_conflict_do_nothing(index_elements=["broadcast_id", "email_key"])
    session.execute(statement, rows)


def write_batch(session: Session, broadcast_id: int, size: int = BATCH_SIZE) -> int | None:
    """Write the next `size` recipients' emails into the outbox; commits.

    Returns how many were written, or None when there is nothing for this worker to write:
    none left (the update is then marked sent), the rest being written by another worker, or
    the update no longer sending (paused).

    On PostgreSQL several workers write batches side by side: each holds a shared lock on the
    update (a pause takes it exclusively, so it waits for batches under way and holds them too)
    and skips the recipients another worker has locked.
    """
    begin_write(session)
    broadcast = session.scalar(
        select(Broadcast)
        .where(Broadcast.id == broadcast_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    if (
        broadcast is None
        or broadcast.status != BroadcastStatus.SENDING
        or broadcast.recipients_listed_at is None
    ):
        session.commit()
        return None
    batch = list(
        session.scalars(
            select(BroadcastRecipient)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.outbox_message_id.is_(None),
            )
            .order_by(BroadcastRecipient.id)
            .limit(size)
            .with_for_update(skip_locked=True)
        )
    )
    if not batch:
        session.commit()
        _mark_sent_when_all_written(session, broadcast_id)
        return None
    versions: dict[str, Version] = {}
    titles: dict[str, str] = {}
    for recipient in batch:
        message = _queue_update_email(
            session,
            broadcast,
            email=recipient.email,
            name=recipient.name,
            language=recipient.language,
            versions=versions,
            titles=titles,
        )
        recipient.outbox_message_id = message.id
    session.commit()
    return len(batch)


def _mark_sent_when_all_written(session: Session, broadcast_id: int) -> bool:
    """Sent: every listed recipient's email is in the outbox (committed, not just claimed)."""
    begin_write(session)
    unwritten = exists().where(
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.outbox_message_id.is_(None),
    )
    done = session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            Broadcast.status == BroadcastStatus.SENDING,
            Broadcast.recipients_listed_at.is_not(None),
            ~unwritten,
        )
        .values(status=BroadcastStatus.SENT, sent_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(done)


def run_due(
    session: Session,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    seconds: float = RUN_SECONDS,
) -> int:
    """The worker's periodic task: start scheduled updates that are due, list recipients, write
    batches of emails until none are left or `seconds` have passed; returns emails written.

    Every step commits on its own, so a crash or a pause loses nothing and repeats nothing.
    """
    deadline = time.monotonic() + seconds
    start_due(session, now)
    written = 0
    sending = list(
        session.scalars(
            select(Broadcast.id)
            .where(Broadcast.status == BroadcastStatus.SENDING)
            .order_by(Broadcast.id)
        )
    )
    session.commit()
    for broadcast_id in sending:
        draw_up(session, broadcast_id)
        while True:
            count = write_batch(session, broadcast_id, batch_size)
            if count is None:
                break
            written += count
            if time.monotonic() >= deadline:
                return written
    return written


def writing_left(session: Session) -> bool:
    """Whether an update is still sending, so `run_due` has batches to write (or the update to
    mark sent): the worker then runs it again at once instead of at its next minute."""
    return (
        session.scalar(
            select(Broadcast.id).where(Broadcast.status == BroadcastStatus.SENDING).limit(1)
        )
        is not None
    )


# --- progress -----------------------------------------------------------------------------------


def progress_by_broadcast(session: Session, broadcast_ids: list[int]) -> dict[int, Progress]:
    """Each send's progress, from its recipients' outbox rows."""
    if not broadcast_ids:
        return {}
    counts: dict[int, dict[str, int]] = {bid: {} for bid in broadcast_ids}
    rows = session.execute(
        select(BroadcastRecipient.broadcast_id, OutboxMessage.status, func.count())
        .select_from(BroadcastRecipient)
        .outerjoin(OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_message_id)
        .where(BroadcastRecipient.broadcast_id.in_(broadcast_ids))
        .group_by(BroadcastRecipient.broadcast_id, OutboxMessage.status)
    )
    for broadcast_id, status, n in rows:
        key = OutboxStatus(status).value if status is not None else "waiting"
        counts[broadcast_id][key] = counts[broadcast_id].get(key, 0) + n
    return {
        bid: Progress(
            total=sum(c.values()),
            waiting=c.get("waiting", 0),
            queued=c.get(OutboxStatus.PENDING.value, 0) + c.get(OutboxStatus.SENDING.value, 0),
            sent=c.get(OutboxStatus.SENT.value, 0),
            failed=c.get(OutboxStatus.FAILED.value, 0),
            suppressed=c.get(OutboxStatus.SUPPRESSED.value, 0),
        )
        for bid, c in counts.items()
    }


def progress(session: Session, broadcast: Broadcast) -> Progress:
    return progress_by_broadcast(session, [broadcast.id])[broadcast.id]


# --- the campaign page --------------------------------------------------------------------------


def published_updates(
    session: Session, campaign: Campaign, limit: int | None = None
) -> list[Broadcast]:
    """Sent updates to everyone following the campaign, newest first."""
    query = (
        select(Broadcast)
        .where(
            Broadcast.campaign_id == campaign.id,
            Broadcast.status == BroadcastStatus.SENT,
            Broadcast.audience.in_(PUBLIC_AUDIENCES),
        )
        .options(selectinload(Broadcast.translations))
        .order_by(Broadcast.sent_at.desc(), Broadcast.id.desc())
    )
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


@dataclass(frozen=True)
class PublishedUpdate:
    """A sent update as the campaign's page shows it, in the reader's language or the default."""

    id: int
    sent_at: datetime
    version: Version


def localized_updates(
    session: Session, campaign: Campaign, language: str, limit: int | None = None
) -> list[PublishedUpdate]:
    """The campaign's published updates, newest first, each in `language` or the default."""
    return [
        PublishedUpdate(id=b.id, sent_at=b.sent_at, version=version(b, language))
        for b in published_updates(session, campaign, limit)
    ]


def published_update(session: Session, campaign: Campaign, broadcast_id: int) -> Broadcast | None:
    """One update shown on the campaign's page, or None."""
    return session.scalar(
        select(Broadcast).where(
            Broadcast.id == broadcast_id,
            Broadcast.campaign_id == campaign.id,
            Broadcast.status == BroadcastStatus.SENT,
            Broadcast.audience.in_(PUBLIC_AUDIENCES),
        )
    )


# --- helpers ------------------------------------------------------------------------------------


def local_to_utc(day: date, at: clock_time, zone: str) -> datetime:
    """A date and time on the organizer's clock, as an aware datetime (UTC)."""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return datetime.combine(day, at, tzinfo=tz).astimezone(ZoneInfo("UTC"))


def audience_event_title(broadcast: Broadcast) -> str | None:
    """The title of the event whose attendees get the update, if that is its audience."""
    if broadcast.audience != Audience.EVENT or broadcast.audience_event is None:
        return None
    return broadcast.audience_event.title


def _default_subject(broadcast: Broadcast) -> str:
    text = broadcast.translation(broadcast.campaign.default_language)
    return text.subject if text else ""


__all__ = [
    "BATCH_SIZE",
    "AudienceList",
    "BroadcastData",
    "BroadcastText",
    "Progress",
    "PublishedUpdate",
    "Recipient",
    "RecipientCount",
    "Version",
    "audience_list",
    "audience_event_title",
    "broadcast_data",
    "campaign_broadcast",
    "campaign_broadcasts",
    "create_broadcast",
    "draw_up",
    "event_choices",
    "local_to_utc",
    "localized_updates",
    "pause",
    "preview_markdown",
    "previews",
    "progress",
    "progress_by_broadcast",
    "published_update",
    "published_updates",
    "recipient_count",
    "recipients",
    "resume",
    "run_due",
    "schedule",
    "send_now",
    "send_test",
    "start_due",
    "unschedule",
    "update_broadcast",
    "version",
    "version_language",
    "write_batch",
    "writing_left",
]
