"""Paper signatures: counts of signatures collected on clipboards, entered by organizers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.models.campaigns import Campaign
from campaign.models.events import Event
from campaign.models.people import Organizer
from campaign.models.types import UTCDateTime, utcnow

__all__ = ["PaperSignatureBatch"]


class PaperSignatureBatch(db.Model):
    """A number of paper signatures an organizer counted and typed in.

    Only the count is kept, not the names: the sheets stay with the organizers. The campaign's
    `paper_signature_count` is the sum of its batches, maintained by services.paper_signatures.
    """

    __tablename__ = "paper_signature_batches"
    __table_args__ = (
        CheckConstraint("count > 0", name="count_positive"),
        Index("ix_paper_signature_batches_campaign_collected", "campaign_id", "collected_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(Integer)
    collected_on: Mapped[date] = mapped_column(Date)
    # The rally where they were collected, if any; the count stays when the event is deleted.
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), nullable=True
    )
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    entered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizers.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    event: Mapped[Event | None] = relationship()
    entered_by: Mapped[Organizer | None] = relationship()
