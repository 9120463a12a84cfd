"""A campaign (petition) and its per-language texts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.models.types import UTCDateTime, utcnow, value_enum


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


class OutcomeKind(enum.StrEnum):
    VICTORY = "victory"  # the demand was met
    OUTCOME = "outcome"  # another result worth telling supporters


class CommentPolicy(enum.StrEnum):
    OFF = "off"  # no discussion on this campaign
    POST_MODERATED = "post"  # visible at once, moderated afterwards
    PRE_MODERATED = "pre"  # pending until a moderator approves it


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint("goal > 0", name="goal_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[CampaignStatus] = mapped_column(
        value_enum(CampaignStatus),
        default=CampaignStatus.DRAFT,
    )
    goal: Mapped[int] = mapped_column(Integer)
    default_language: Mapped[str] = mapped_column(String(16))
    # Maintained by services.signing.confirm(), never recomputed on a page view.
    signature_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Signatures collected on paper, shown apart from the online ones; maintained by
    # services.paper_signatures as the sum of the campaign's PaperSignatureBatch rows.
    paper_signature_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A victory or another outcome, shown on the petition page; its text is per language.
    outcome_kind: Mapped[OutcomeKind | None] = mapped_column(value_enum(OutcomeKind), nullable=True)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Discussion: off, post-moderated or pre-moderated (see models.comments.CommentPolicy).
    comment_policy: Mapped[CommentPolicy] = mapped_column(
        value_enum(CommentPolicy),
        default=CommentPolicy.POST_MODERATED,
        server_default=CommentPolicy.POST_MODERATED.value,
    )
    # When moderators were last alerted to pending or flagged comments (at most once an hour).
    moderation_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Signing with a throwaway address is refused (services.email_domains): on by default, since
    # such addresses are the cheapest way to inflate a count and real supporters rarely use them.
    blocks_disposable_email: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=sa_true()
    )
    # More domains the organizers refuse, one per line (subdomains included).
    blocked_email_domains: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    translations: Mapped[list[CampaignTranslation]] = relationship(
        back_populates="campaign",
        cascade="all, delete-orphan",
        order_by="CampaignTranslation.language",
    )

    @property
    def is_open(self) -> bool:
        return self.status == CampaignStatus.OPEN

    @property
    def is_public(self) -> bool:
        return self.status != CampaignStatus.DRAFT

    @property
    def languages(self) -> list[str]:
        return [t.language for t in self.translations]

    def translation(self, language: str) -> CampaignTranslation | None:
        """The text in `language`, or None when the campaign has not been translated into it."""
        return next((t for t in self.translations if t.language == language), None)

    def __repr__(self) -> str:
        return f"<Campaign {self.slug}>"


class CampaignTranslation(db.Model):
    """What readers of one language see: title, target, summary, appeal and call to action.

    The target lives here rather than on the campaign because readers read it: the decision
    makers' names and titles are written differently in every language.
    """

    __tablename__ = "campaign_translations"
    __table_args__ = (UniqueConstraint("campaign_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(String(500))
    body_markdown: Mapped[str] = mapped_column(Text)
    call_to_action: Mapped[str] = mapped_column(String(200))
    outcome_markdown: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When title, target, summary, appeal or call to action last changed (not the outcome):
    # a translation older than its default-language text is outdated.
    texts_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="translations")
