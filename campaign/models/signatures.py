"""A supporter's signature on a campaign."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.models.campaigns import Campaign
from campaign.models.types import UTCDateTime, utcnow


class Signature(db.Model):
    __tablename__ = "signatures"
    __table_args__ = (
        # One signature per person per campaign: the database, not Python, is the judge.
        UniqueConstraint("campaign_id", "email_key"),
        # The petition page lists the latest confirmed public signers.
        Index("ix_signatures_campaign_recent", "campaign_id", "confirmed_at"),
        # The organizers' list pages through a campaign's signatures newest first.
        Index("ix_signatures_campaign_created", "campaign_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(120))
    # Where mail goes: the address as typed, with its domain normalized.
    email: Mapped[str] = mapped_column(String(254))
    # Who signed: the mailbox behind the address (see services.email_addresses.mailbox_key).
    email_key: Mapped[str] = mapped_column(String(254))
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str] = mapped_column(String(120), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(16))
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    has_update_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    campaign: Mapped[Campaign] = relationship()

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def first_name(self) -> str:
        """What the public list shows: the first word of the name, never the whole of it."""
        parts = self.full_name.split()
        return parts[0] if parts else ""

    def __repr__(self) -> str:
        return f"<Signature {self.id} campaign={self.campaign_id}>"
