"""All models, imported here so Alembic and `db.create_all()` see every table."""

from campaign.models.audit import AuditEntry
from campaign.models.campaigns import Campaign, CampaignStatus, CampaignTranslation, OutcomeKind
from campaign.models.comments import (
    Comment,
    CommentBlock,
    CommentFlag,
    CommentPolicy,
    CommentStatus,
    CommentSupport,
    FlagReason,
)
from campaign.models.events import Event, EventMode, EventStatus, Rsvp, RsvpStatus, TrustedHost
from campaign.models.mail import OutboxMessage, OutboxStatus
from campaign.models.people import Invitation, Membership, Organizer, Role
from campaign.models.signatures import Signature

__all__ = [
    "AuditEntry",
    "Comment",
    "CommentBlock",
    "CommentFlag",
    "CommentPolicy",
    "CommentStatus",
    "CommentSupport",
    "Event",
    "EventMode",
    "EventStatus",
    "Rsvp",
    "RsvpStatus",
    "TrustedHost",
    "FlagReason",
    "Invitation",
    "Membership",
    "Organizer",
    "OutcomeKind",
    "Role",
    "Campaign",
    "CampaignStatus",
    "CampaignTranslation",
    "OutboxMessage",
    "OutboxStatus",
    "Signature",
]
