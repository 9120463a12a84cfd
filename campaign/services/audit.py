"""Writing the audit log, in the same transaction as the change it records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign.models import AuditEntry, Campaign, Organizer


def record(
    session: Session,
    actor: Organizer | None,
    action: str,
    campaign: Campaign | None = None,
    **details: Any,
) -> AuditEntry:
    """Add an audit entry: `action` is a dotted name such as "campaign.status"."""
    entry = AuditEntry(
        campaign_id=campaign.id if campaign else None,
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else "",
        action=action,
        details=details,
    )
    session.add(entry)
    session.flush()
    return entry


def campaign_log(
    session: Session, campaign: Campaign, *, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEntry], int]:
    """One page of a campaign's log, newest first, and the total number of entries."""
    total = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.campaign_id == campaign.id)
    )
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.campaign_id == campaign.id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(entries), total or 0
