"""Small factories for test data. Each adds, flushes and returns; the test decides on commits."""

from __future__ import annotations

import itertools

from campaign.extensions import db
from campaign.models import Campaign, CampaignStatus, CampaignTranslation, Rsvp, Signature
from campaign.models.types import utcnow

_seq = itertools.count(1)


def make_campaign(
    *,
    slug: str | None = None,
    status: CampaignStatus = CampaignStatus.OPEN,
    goal: int = 1000,
    default_language: str = "en",
    languages: tuple[str, ...] = ("en",),
    **text,
) -> Campaign:
    n = next(_seq)
    campaign = Campaign(
        slug=slug or f"campaign-{n}",
        status=status,
        goal=goal,
        default_language=default_language,
    )
    for language in languages:
        campaign.translations.append(
            CampaignTranslation(
                language=language,
                title=text.get("title", f"Title {n} ({language})"),
                target=text.get("target", f"Target {n} ({language})"),
                summary=text.get("summary", f"Summary {n} ({language})"),
                body_markdown=text.get("body_markdown", f"Body **{n}** ({language})"),
                call_to_action=text.get("call_to_action", f"Act {n} ({language})"),
            )
        )
    db.session.add(campaign)
    db.session.flush()
    return campaign


def make_signature(campaign: Campaign, *, confirmed: bool = False, **fields) -> Signature:
    """A signature written directly, bypassing the service (for read-side tests)."""
    n = next(_seq)
    email = fields.pop("email", f"signer{n}@example.org")
    signature = Signature(
        campaign_id=campaign.id,
        full_name=fields.pop("full_name", f"Signer{n} Surname"),
        email=email,
        email_key=fields.pop("email_key", email.lower()),
        country=fields.pop("country", "FR"),
        city=fields.pop("city", ""),
        language=fields.pop("language", "en"),
        is_public=fields.pop("is_public", True),
        confirmed_at=utcnow() if confirmed else None,
        **fields,
    )
    db.session.add(signature)
    if confirmed:
        campaign.signature_count += 1
    db.session.flush()
    return signature


DEFAULT_PASSWORD = "correct horse battery"


def make_organizer(
    *, email: str | None = None, password: str = DEFAULT_PASSWORD, is_admin: bool = False, **kw
):
    """An organizer account (flushed)."""
    from campaign.models import Organizer

    n = next(_seq)
    organizer = Organizer(email=email or f"organizer{n}@example.org", is_admin=is_admin, **kw)
    organizer.set_password(password)
    db.session.add(organizer)
    db.session.flush()
    return organizer


def add_member(campaign: Campaign, organizer, role) -> None:
    """Give `organizer` a role in `campaign`."""
    from campaign.models import Membership, Role

    db.session.add(Membership(campaign_id=campaign.id, organizer_id=organizer.id, role=Role(role)))
    db.session.flush()


def login(client, organizer, password: str = DEFAULT_PASSWORD):
    """Log in through the real login form; returns the response."""
    db.session.commit()
    return client.post("/admin/login", data={"email": organizer.email, "password": password})


def make_comment(campaign: Campaign, *, reply_to=None, **fields):
    """A comment written directly, visible and confirmed unless told otherwise."""
    from campaign.models import Comment, CommentStatus
    from campaign.services.comments import body_hash

    n = next(_seq)
    email = fields.pop("email", f"commenter{n}@example.org")
    body = fields.pop("body", f"Comment number {n} about this campaign.")
    status = fields.pop("status", CommentStatus.VISIBLE)
    comment = Comment(
        campaign_id=campaign.id,
        parent_id=(reply_to.parent_id or reply_to.id) if reply_to else None,
        reply_to_id=reply_to.id if reply_to else None,
        author_name=fields.pop("author_name", f"Commenter{n}"),
        email=email,
        email_key=fields.pop("email_key", email.lower()),
        body=body,
        body_hash=body_hash(body),
        language=fields.pop("language", "en"),
        status=status,
        confirmed_at=None if status == CommentStatus.UNCONFIRMED else utcnow(),
        **fields,
    )
    db.session.add(comment)
    db.session.flush()
    return comment


def make_event(campaign: Campaign, *, starts_in=None, hours: int = 2, **fields):
    """A scheduled in-person event written directly (UTC times), three days ahead by default."""
    from datetime import timedelta

    from campaign.models import Event, EventMode, EventStatus

    n = next(_seq)
    starts_at = fields.pop("starts_at", None) or utcnow() + (starts_in or timedelta(days=3))
    event = Event(
        campaign_id=campaign.id,
        title=fields.pop("title", f"Rally {n}"),
        description=fields.pop("description", f"Description of rally {n}."),
        language=fields.pop("language", "en"),
        starts_at=starts_at,
        ends_at=fields.pop("ends_at", None) or starts_at + timedelta(hours=hours),
        timezone=fields.pop("timezone", "Europe/Berlin"),
        mode=fields.pop("mode", EventMode.IN_PERSON),
        venue=fields.pop("venue", f"Square {n}"),
        city=fields.pop("city", "Berlin"),
        country=fields.pop("country", "DE"),
        status=fields.pop("status", EventStatus.SCHEDULED),
        **fields,
    )
    db.session.add(event)
    db.session.flush()
    return event


def make_rsvp(event, *, status=None, **fields):
    """An RSVP written directly, confirmed and going unless told otherwise; a place it holds
    (going or offered) is counted in the event's `taken`."""
    from campaign.models import RsvpStatus

    n = next(_seq)
    status = status or RsvpStatus.GOING
    email = fields.pop("email", f"rsvp{n}@example.org")
    rsvp = Rsvp(
        event_id=event.id,
        full_name=fields.pop("full_name", f"Supporter{n}"),
        email=email,
        email_key=fields.pop("email_key", email.lower()),
        language=fields.pop("language", "en"),
        status=status,
        confirmed_at=None if status == RsvpStatus.UNCONFIRMED else utcnow(),
        **fields,
    )
    if status == RsvpStatus.WAITLISTED and rsvp.waitlisted_at is None:
        rsvp.waitlisted_at = utcnow()
    if status in (RsvpStatus.GOING, RsvpStatus.OFFERED):
        event.taken += 1
    db.session.add(rsvp)
    db.session.flush()
    return rsvp


def make_subscriber(
    campaign: Campaign,
    email: str,
    *,
    language: str = "en",
    confirmed: bool = True,
    unsubscribed_all: bool = False,
    unsubscribed_here: bool = False,
):
    """A subscriber of `campaign` (its mailbox confirmed unless told otherwise), written
    directly; calling it again for the same address adds another campaign."""
    from sqlalchemy import select

    from campaign.models import Subscriber, Subscription

    key = email.lower()
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email_key == key))
    if subscriber is None:
        subscriber = Subscriber(email=email, email_key=key, language=language)
        db.session.add(subscriber)
    subscriber.confirmed_at = utcnow() if confirmed else None
    subscriber.unsubscribed_at = utcnow() if unsubscribed_all else None
    db.session.add(
        Subscription(
            subscriber=subscriber,
            campaign_id=campaign.id,
            source="campaign",
            consent_text="Email me updates.",
            consent_language=language,
            unsubscribed_at=utcnow() if unsubscribed_here else None,
        )
    )
    db.session.flush()
    return subscriber
