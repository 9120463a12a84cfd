"""Organizers (people who log in), their role in each campaign, and invitations."""

from __future__ import annotations

import enum
from datetime import datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from campaign.extensions import db
from campaign.models.campaigns import Campaign
from campaign.models.types import UTCDateTime, utcnow, value_enum


class Role(enum.StrEnum):
    OWNER = "owner"  # everything, including the team and deletion
    EDITOR = "editor"  # content, events, broadcasts
    MODERATOR = "moderator"  # comments and flags only


class Organizer(UserMixin, db.Model):
    __tablename__ = "organizers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(16), default="en")
    # Digests go out at this hour of the organizer's own day.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    digest_hour: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    # Part of the login cookie: changing the password bumps it, which ends every other session.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organizer", cascade="all, delete-orphan"
    )

    def set_password(self, password: str) -> None:
        method = current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<Organizer {self.id}>"


class DigestFrequency(enum.StrEnum):
    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"  # on Mondays, covering the week before


class Membership(db.Model):
    """An organizer's role in one campaign."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("campaign_id", "organizer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizers.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(value_enum(Role))
    # The organizer's email digest for this campaign.
    digest: Mapped[DigestFrequency] = mapped_column(
        value_enum(DigestFrequency),
        default=DigestFrequency.DAILY,
        server_default=DigestFrequency.DAILY.value,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    organizer: Mapped[Organizer] = relationship(back_populates="memberships")


class Invitation(db.Model):
    """An owner's invitation to join a campaign's team, accepted from an emailed link."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(value_enum(Role))
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizers.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    campaign: Mapped[Campaign] = relationship()
    invited_by: Mapped[Organizer | None] = relationship()

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


class LoginThrottle(db.Model):
    """Failed logins in a row for one address, whether or not an organizer has it.

    Keyed by a keyed digest of the address (never the address): keeping a row for unknown
    addresses too means a lockout looks the same for every address and so reveals nothing about
    who has an account. A successful login or a password reset deletes the row.
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
