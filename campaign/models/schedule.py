"""When a periodic task last ran, shared by every worker on every machine."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db
from campaign.models.types import UTCDateTime


class ScheduledRun(db.Model):
    """One row per daily (or slower) task: claimed by moving `last_run_at` forward."""

    __tablename__ = "scheduled_runs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
