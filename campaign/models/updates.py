"""Email updates: subscribers and their consent, suppressions, broadcasts and digests."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.models.campaigns import Campaign
from campaign.models.events import Event
from campaign.models.types import UTCDateTime, utcnow, value_enum

__all__ = [
    "Audience",
    "Broadcast",
    "BroadcastRecipient",
    "BroadcastStatus",
    "BroadcastTranslation",
    "DigestRun",
    "Subscriber",
    "Subscription",
    "Suppression",
]


class Subscriber(db.Model):
    """A mailbox that asked for updates; confirmed by email (double opt-in)."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    # The language updates go out in (the default language when a campaign lacks it).
    language: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set by "unsubscribe from everything": no update at all, whatever the subscriptions say.
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan"
    )


class Subscription(db.Model):
    """A subscriber's consent to one campaign's updates: when, from which form, which words."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "campaign_id"),
        Index("ix_subscriptions_campaign", "campaign_id", "unsubscribed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # Where consent was given: "footer", "campaign", "signed" (the page after signing),
    # "sign_form" (the update box on the sign form), "preferences".
    source: Mapped[str] = mapped_column(String(32))
    consent_text: Mapped[str] = mapped_column(Text)
    consent_language: Mapped[str] = mapped_column(String(16))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    campaign: Mapped[Campaign] = relationship()


class Suppression(db.Model):
    """A mailbox no bulk email may reach: bounced, blocked, reported as spam or unsubscribed at
    the provider. Every send checks it."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    reason: Mapped[str] = mapped_column(String(32))  # bounce, blocked, spamreport, unsubscribe…
    source: Mapped[str] = mapped_column(String(32), default="sendgrid")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BroadcastStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"


class Audience(enum.StrEnum):
    SUBSCRIBERS = "subscribers"  # confirmed subscribers of the campaign
    SIGNERS = "signers"  # confirmed signers who ticked "email me updates"
    EVENT = "event"  # people going to (or waiting for) one of the campaign's events
    COUNTRY = "country"  # subscribers and consenting signers in one country


class Broadcast(db.Model):
    """An update an editor writes to a campaign's supporters, in one or more languages."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    status: Mapped[BroadcastStatus] = mapped_column(
        value_enum(BroadcastStatus), default=BroadcastStatus.DRAFT
    )
    audience: Mapped[Audience] = mapped_column(value_enum(Audience), default=Audience.SUBSCRIBERS)
    audience_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), nullable=True
    )
    audience_country: Mapped[str] = mapped_column(String(2), default="")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the recipient list was drawn up: later subscribers are not added to a send.
    recipients_listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizers.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    audience_event: Mapped[Event | None] = relationship()
    translations: Mapped[list[BroadcastTranslation]] = relationship(
        back_populates="broadcast",
        cascade="all, delete-orphan",
        order_by="BroadcastTranslation.language",
    )

    def translation(self, language: str) -> BroadcastTranslation | None:
        return next((t for t in self.translations if t.language == language), None)


class BroadcastTranslation(db.Model):
    __tablename__ = "broadcast_translations"
    __table_args__ = (UniqueConstraint("broadcast_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text)

    broadcast: Mapped[Broadcast] = relationship(back_populates="translations")


class BroadcastRecipient(db.Model):
    """One mailbox on a broadcast's list. The unique key is what makes a resend harmless."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "email_key"),
        Index("ix_broadcast_recipients_queue", "broadcast_id", "outbox_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120), default="")
    language: Mapped[str] = mapped_column(String(16))
    # Set when the email is written into the outbox (in batches); its status is the progress.
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL"), nullable=True
    )


class DigestRun(db.Model):
    """One organizer's digest for one local day: claimed by inserting this row, so however
    many times or machines run `flask digests send`, the digest goes out once."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("organizer_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizers.id", ondelete="CASCADE"))
    local_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD in the organizer's zone
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    campaigns: Mapped[int] = mapped_column(Integer, default=0)
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
