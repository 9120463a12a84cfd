"""A supporter's signature on a campaign."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.models.campaigns import Campaign
from campaign.models.consent import ConsentWording
from campaign.models.people import Organizer
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
        # Bursts of signatures from one network or one email domain (admin.suspicious).
        Index("ix_signatures_campaign_ip_range", "campaign_id", "ip_range_hash", "created_at"),
        Index("ix_signatures_campaign_email_domain", "campaign_id", "email_domain", "created_at"),
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

    # Signals for organizers looking for fraud (services.signals). Never the address itself:
    # keyed hashes of it and of its network, so bursts group without storing where anyone was.
    ip_hash: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ip_range_hash: Mapped[str | None] = mapped_column(String(32), nullable=True)
    user_agent_class: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # From the signed time the sign form was shown; None when the form came back without it.
    seconds_on_form: Mapped[int | None] = mapped_column(Integer, nullable=True)
    email_domain: Mapped[str | None] = mapped_column(String(253), nullable=True)

    # Invalidated by organizers as fraudulent (services.invalidation): kept, but never counted.
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    invalidated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizers.id", ondelete="SET NULL"), nullable=True
    )
    invalidation_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    invalidation_id: Mapped[int | None] = mapped_column(
        ForeignKey("signature_invalidations.id", ondelete="SET NULL"), nullable=True, index=True
    )

    # The consent wording the signer saw and what they ticked (services.privacy); None for
    # signatures made before it was recorded.
    consent_wording_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_wordings.id", ondelete="RESTRICT"), nullable=True
    )

    campaign: Mapped[Campaign] = relationship()
    consent_wording: Mapped[ConsentWording | None] = relationship()

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def is_invalidated(self) -> bool:
        return self.invalidated_at is not None

    @property
    def counts(self) -> bool:
        """Whether this signature is in the campaign's public count."""
        return self.is_confirmed and not self.is_invalidated

    @classmethod
    def counted(cls) -> ColumnElement[bool]:
        """The SQL condition for a signature that counts: confirmed and not invalidated.

        Every public number (counts, lists, charts, exports, the API) filters with it.
        """
        return and_(cls.confirmed_at.is_not(None), cls.invalidated_at.is_(None))

    @property
    def first_name(self) -> str:
        """What the public list shows: the first word of the name, never the whole of it."""
        parts = self.full_name.split()
        return parts[0] if parts else ""

    def __repr__(self) -> str:
        return f"<Signature {self.id} campaign={self.campaign_id}>"


class SignatureInvalidation(db.Model):
    """One batch of signatures organizers invalidated together; restoring undoes it whole."""

    __tablename__ = "signature_invalidations"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    invalidated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizers.id", ondelete="SET NULL"), nullable=True
    )
    reason: Mapped[str] = mapped_column(String(200), default="")
    # What the batch held when it was made, as shown on the list of batches.
    signatures: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_signatures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    restored_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizers.id", ondelete="SET NULL"), nullable=True
    )

    invalidated_by: Mapped[Organizer | None] = relationship(foreign_keys=[invalidated_by_id])
    restored_by: Mapped[Organizer | None] = relationship(foreign_keys=[restored_by_id])

    @property
    def is_restored(self) -> bool:
        return self.restored_at is not None

    def __repr__(self) -> str:
        return f"<SignatureInvalidation {self.id} campaign={self.campaign_id}>"
