"""Discussion under a petition: comments, one level of replies, readers' support and flags."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.models.campaigns import Campaign, CommentPolicy
from campaign.models.people import Organizer
from campaign.models.types import UTCDateTime, utcnow, value_enum

__all__ = [
    "Comment",
    "CommentBlock",
    "CommentFlag",
    "CommentPolicy",
    "CommentStatus",
    "CommentSupport",
    "FlagReason",
]


class CommentStatus(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"  # waiting for its author to confirm the email address
    PENDING = "pending"  # confirmed, waiting for a moderator (pre-moderated campaigns)
    VISIBLE = "visible"
    HIDDEN = "hidden"  # by a moderator, or by readers' flags until a moderator reviews it
    REMOVED = "removed"


class FlagReason(enum.StrEnum):
    SPAM = "spam"
    ABUSE = "abuse"  # abuse or harassment
    VIOLENCE = "violence"  # incitement to violence
    OTHER = "other"


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # The public list: a campaign's top-level comments in a status, newest first.
        Index("ix_comments_campaign_thread", "campaign_id", "parent_id", "status", "created_at"),
        # Duplicate-text detection looks a body up by its hash.
        Index("ix_comments_campaign_body", "campaign_id", "body_hash"),
        Index("ix_comments_campaign_author", "campaign_id", "email_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # Replies point at the top-level comment of their thread, never at another reply.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), nullable=True
    )
    # The comment a reply answers (the top-level one or a reply in the thread), for quoting.
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), nullable=True
    )
    # Set when the comment is the reason a signer gave on the sign form.
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    author_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text)
    body_hash: Mapped[str] = mapped_column(String(64))
    # A site language code, or "unknown" when the text is too short or unlike any of them.
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[CommentStatus] = mapped_column(
        value_enum(CommentStatus), default=CommentStatus.UNCONFIRMED
    )
    # Hidden because readers flagged it, not by a moderator: the queue shows it for review.
    hidden_by_flags: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Maintained counters: the page sorts and shows them without counting rows.
    support_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    flag_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    moderated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizers.id", ondelete="SET NULL"), nullable=True
    )

    campaign: Mapped[Campaign] = relationship()
    reply_to: Mapped[Comment | None] = relationship(
        remote_side=[id], foreign_keys=[reply_to_id], lazy="joined"
    )
    moderated_by: Mapped[Organizer | None] = relationship()

    @property
    def is_reply(self) -> bool:
        return self.parent_id is not None

    @property
    def is_reason(self) -> bool:
        """Whether the comment is a signer's reason for signing."""
        return self.signature_id is not None

    def __repr__(self) -> str:
        return f"<Comment {self.id} campaign={self.campaign_id} {self.status}>"


class CommentSupport(db.Model):
    """A reader's support for a comment: one per reader per comment, by the database."""

    __tablename__ = "comment_supports"
    __table_args__ = (UniqueConstraint("comment_id", "reader"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    # An anonymous reader reference (see services.comments.reader_reference).
    reader: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentFlag(db.Model):
    """A reader's report of a comment; resolved when a moderator reviews the comment."""

    __tablename__ = "comment_flags"
    __table_args__ = (UniqueConstraint("comment_id", "reader"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    reader: Mapped[str] = mapped_column(String(64))
    reason: Mapped[FlagReason] = mapped_column(value_enum(FlagReason))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CommentBlock(db.Model):
    """A mailbox a moderator has barred from commenting on one campaign."""

    __tablename__ = "comment_blocks"
    __table_args__ = (UniqueConstraint("campaign_id", "email_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    email_key: Mapped[str] = mapped_column(String(254))
    # What moderators see in the list of blocks: the name used, never the address.
    author_name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizers.id", ondelete="SET NULL"), nullable=True
    )

    created_by: Mapped[Organizer | None] = relationship()
