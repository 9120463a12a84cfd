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
from campaign.models.consent import ConsentWording
from campaign.models.events import Event, EventMode, EventStatus, Rsvp, RsvpStatus, TrustedHost
from campaign.models.mail import OutboxMessage, OutboxStatus
from campaign.models.paper import PaperSignatureBatch
from campaign.models.people import (
    DigestFrequency,
    Invitation,
    LoginThrottle,
    Membership,
    Organizer,
    Role,
)
from campaign.models.schedule import ScheduledRun
from campaign.models.signatures import Signature, SignatureInvalidation
from campaign.models.updates import (
    Audience,
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    BroadcastTranslation,
    DigestRun,
    Subscriber,
    Subscription,
    Suppression,
)

__all__ = [
    "Audience",
    "Broadcast",
    "BroadcastRecipient",
    "BroadcastStatus",
    "BroadcastTranslation",
    "DigestFrequency",
    "DigestRun",
    "Subscriber",
    "Subscription",
    "Suppression",
    "AuditEntry",
    "Comment",
    "ConsentWording",
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
    "LoginThrottle",
    "Membership",
    "Organizer",
    "OutcomeKind",
    "Role",
    "Campaign",
    "CampaignStatus",
    "CampaignTranslation",
    "OutboxMessage",
    "OutboxStatus",
    "PaperSignatureBatch",
    "ScheduledRun",
    "Signature",
    "SignatureInvalidation",
]
