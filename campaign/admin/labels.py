"""Words for states and roles, translated, for the panel's templates."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from campaign.admin import bp
from campaign.models import (
    Audience,
    BroadcastStatus,
    CampaignStatus,
    CommentPolicy,
    CommentStatus,
    EventMode,
    EventStatus,
    FlagReason,
    OutcomeKind,
    Role,
    RsvpStatus,
)

STATUS_LABELS = {
    CampaignStatus.DRAFT: _l("Draft"),
    CampaignStatus.OPEN: _l("Open"),
    CampaignStatus.CLOSED: _l("Closed"),
    CampaignStatus.ARCHIVED: _l("Archived"),
}

ROLE_LABELS = {
    Role.OWNER: _l("owner"),
    Role.EDITOR: _l("editor"),
    Role.MODERATOR: _l("moderator"),
}

OUTCOME_LABELS = {
    OutcomeKind.VICTORY: _l("Victory"),
    OutcomeKind.OUTCOME: _l("Outcome"),
}

COMMENT_STATUS_LABELS = {
    CommentStatus.UNCONFIRMED: _l("Not confirmed"),
    CommentStatus.PENDING: _l("Waiting for approval"),
    CommentStatus.VISIBLE: _l("Visible"),
    CommentStatus.HIDDEN: _l("Hidden"),
    CommentStatus.REMOVED: _l("Removed"),
}

FLAG_REASON_LABELS = {
    FlagReason.SPAM: _l("Spam"),
    FlagReason.ABUSE: _l("Abuse or harassment"),
    FlagReason.VIOLENCE: _l("Incitement to violence"),
    FlagReason.OTHER: _l("Something else"),
}

# Short names, for the audit log and "Now: …".
COMMENT_POLICY_LABELS = {
    CommentPolicy.OFF: _l("Off"),
    CommentPolicy.POST_MODERATED: _l("Post-moderated"),
    CommentPolicy.PRE_MODERATED: _l("Pre-moderated"),
}

EVENT_STATUS_LABELS = {
    EventStatus.PROPOSED: _l("Waiting for approval"),
    EventStatus.UNCONFIRMED: _l("Host has not confirmed"),
    EventStatus.SCHEDULED: _l("Scheduled"),
    EventStatus.CANCELLED: _l("Cancelled"),
    EventStatus.DECLINED: _l("Declined"),
}

EVENT_MODE_LABELS = {
    EventMode.IN_PERSON: _l("In person"),
    EventMode.ONLINE: _l("Online"),
    EventMode.BOTH: _l("In person and online"),
}

RSVP_STATUS_LABELS = {
    RsvpStatus.UNCONFIRMED: _l("Not confirmed"),
    RsvpStatus.GOING: _l("Going"),
    RsvpStatus.WAITLISTED: _l("Waitlist"),
    RsvpStatus.OFFERED: _l("Place offered"),
    RsvpStatus.CANCELLED: _l("Cancelled"),
}

BROADCAST_STATUS_LABELS = {
    BroadcastStatus.DRAFT: _l("Draft"),
    BroadcastStatus.SCHEDULED: _l("Scheduled"),
    BroadcastStatus.SENDING: _l("Sending"),
    BroadcastStatus.PAUSED: _l("Paused"),
    BroadcastStatus.SENT: _l("Sent"),
}

# Who an update goes to: the form's choices and the audit log's words.
AUDIENCE_LABELS = {
    Audience.SUBSCRIBERS: _l("Everyone subscribed to the campaign's updates"),
    Audience.SIGNERS: _l("Signers who asked for updates"),
    Audience.EVENT: _l("People coming to one event (going or waiting)"),
    Audience.COUNTRY: _l("Subscribers and signers in one country"),
}


@bp.app_template_global()
def status_label(status: CampaignStatus) -> str:
    return str(STATUS_LABELS[CampaignStatus(status)])


@bp.app_template_global()
def role_label(role: Role) -> str:
    return str(ROLE_LABELS[Role(role)])


@bp.app_template_global()
def outcome_label(kind: OutcomeKind) -> str:
    return str(OUTCOME_LABELS[OutcomeKind(kind)])


@bp.app_template_global()
def comment_status_label(status: CommentStatus) -> str:
    return str(COMMENT_STATUS_LABELS[CommentStatus(status)])


@bp.app_template_global()
def flag_reason_label(reason: FlagReason) -> str:
    return str(FLAG_REASON_LABELS[FlagReason(reason)])


@bp.app_template_global()
def comment_policy_label(policy: CommentPolicy) -> str:
    return str(COMMENT_POLICY_LABELS[CommentPolicy(policy)])


@bp.app_template_global()
def has_endpoint(endpoint: str) -> bool:
    """Whether a screen exists, so links to features not installed are not drawn."""
    return endpoint in current_app.view_functions


@bp.app_template_global()
def event_status_label(status: EventStatus) -> str:
    return str(EVENT_STATUS_LABELS[EventStatus(status)])


@bp.app_template_global()
def event_mode_label(mode: EventMode) -> str:
    return str(EVENT_MODE_LABELS[EventMode(mode)])


@bp.app_template_global()
def rsvp_status_label(status: RsvpStatus) -> str:
    return str(RSVP_STATUS_LABELS[RsvpStatus(status)])


@bp.app_template_global()
def broadcast_status_label(status: BroadcastStatus) -> str:
    return str(BROADCAST_STATUS_LABELS[BroadcastStatus(status)])
