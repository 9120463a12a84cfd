"""Rallies: events of a campaign, the people who RSVP to them, and hosts trusted to propose."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.models.campaigns import Campaign
from campaign.models.types import UTCDateTime, utcnow, value_enum

__all__ = ["Event", "EventMode", "EventStatus", "Rsvp", "RsvpStatus", "TrustedHost"]


class EventMode(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    BOTH = "both"


class EventStatus(enum.StrEnum):
    PROPOSED = "proposed"  # suggested by a supporter, waiting for an organizer
    UNCONFIRMED = "unconfirmed"  # proposed, the host has not yet confirmed their address
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    DECLINED = "declined"  # a proposal an organizer turned down


class RsvpStatus(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"  # waiting for the email link
    GOING = "going"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"  # a place freed up and was offered by email; theirs until it expires
    CANCELLED = "cancelled"


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_events_campaign_start", "campaign_id", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The language the title and description are written in.
    language: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Where the event happens in time: an IANA zone ("Europe/Berlin"), for showing local times.
    timezone: Mapped[str] = mapped_column(String(64))
    mode: Mapped[EventMode] = mapped_column(value_enum(EventMode), default=EventMode.IN_PERSON)
    venue: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: no limit
    contact: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[EventStatus] = mapped_column(
        value_enum(EventStatus), default=EventStatus.SCHEDULED
    )
    # A supporter who proposed the event and hosts it (empty for organizers' own events).
    host_name: Mapped[str] = mapped_column(String(120), default="")
    host_email: Mapped[str] = mapped_column(String(254), default="")
    host_email_key: Mapped[str] = mapped_column(String(254), default="")
    # Maintained with the RSVPs: places taken by people going or holding an offer.
    taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizers.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    campaign: Mapped[Campaign] = relationship()

    @property
    def is_in_person(self) -> bool:
        return self.mode in (EventMode.IN_PERSON, EventMode.BOTH)

    @property
    def is_online(self) -> bool:
        return self.mode in (EventMode.ONLINE, EventMode.BOTH)

    @property
    def spots_left(self) -> int | None:
        """Places still free, or None when there is no limit."""
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.taken)

    def __repr__(self) -> str:
        return f"<Event {self.id} campaign={self.campaign_id} {self.status}>"


class Rsvp(db.Model):
    __tablename__ = "rsvps"
    __table_args__ = (
        # One RSVP per person per event: signing up again finds the first one.
        UniqueConstraint("event_id", "email_key"),
        Index("ix_rsvps_event_status", "event_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str] = mapped_column(String(16))
    # The consent the person ticked, in the words they read, kept with when they gave it.
    consent_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RsvpStatus] = mapped_column(
        value_enum(RsvpStatus), default=RsvpStatus.UNCONFIRMED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Where they stand on the waitlist: the moment they joined it.
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set by the compare-and-set that claims the reminder, so it goes out once.
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    event: Mapped[Event] = relationship()

    def __repr__(self) -> str:
        return f"<Rsvp {self.id} event={self.event_id} {self.status}>"


class TrustedHost(db.Model):
    """A supporter whose proposed events skip an organizer's approval on one campaign."""

    __tablename__ = "trusted_hosts"
    __table_args__ = (UniqueConstraint("campaign_id", "email_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    email_key: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
