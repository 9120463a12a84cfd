"""Who may do what: the one place where organizer permissions are decided.

Every admin view names the action it performs; `authorize` answers for a campaign. A site admin
may do everything everywhere. Someone with no role in a campaign is told it does not exist.
"""

from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign.models import Campaign, Membership, Organizer, Role


class Action(enum.StrEnum):
    VIEW = "campaign.view"  # see the campaign in the panel at all
    EDIT = "campaign.edit"  # texts, goal, outcome
    CHANGE_STATUS = "campaign.status"
    DELETE = "campaign.delete"
    VIEW_STATS = "stats.view"
    VIEW_SIGNATURES = "signatures.view"  # personal data: the list, the export, a person's data
    ERASE_PEOPLE = "people.erase"
    MANAGE_TEAM = "team.manage"
    VIEW_AUDIT = "audit.view"
    MODERATE = "comments.moderate"
    MANAGE_EVENTS = "events.manage"
    SEND_BROADCASTS = "broadcasts.send"
    # Bursts of signatures and invalidating (or restoring) them: the count is the campaign's
    # word to its target, so those who run the campaign decide, not moderators.
    REVIEW_SUSPICIOUS = "signatures.suspicious"
    INVALIDATE_SIGNATURES = "signatures.invalidate"
    ENTER_PAPER_SIGNATURES = "paper.enter"  # counts collected on clipboards


ALL_ROLES = frozenset(Role)

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.VIEW: ALL_ROLES,
    Action.EDIT: frozenset({Role.OWNER, Role.EDITOR}),
    Action.CHANGE_STATUS: frozenset({Role.OWNER}),
    Action.DELETE: frozenset({Role.OWNER}),
    Action.VIEW_STATS: frozenset({Role.OWNER, Role.EDITOR}),
    Action.VIEW_SIGNATURES: frozenset({Role.OWNER}),
    Action.ERASE_PEOPLE: frozenset({Role.OWNER}),
    Action.MANAGE_TEAM: frozenset({Role.OWNER}),
    Action.VIEW_AUDIT: frozenset({Role.OWNER}),
    Action.MODERATE: ALL_ROLES,
    Action.MANAGE_EVENTS: frozenset({Role.OWNER, Role.EDITOR}),
    Action.SEND_BROADCASTS: frozenset({Role.OWNER, Role.EDITOR}),
    Action.REVIEW_SUSPICIOUS: frozenset({Role.OWNER, Role.EDITOR}),
    Action.INVALIDATE_SIGNATURES: frozenset({Role.OWNER, Role.EDITOR}),
    Action.ENTER_PAPER_SIGNATURES: frozenset({Role.OWNER, Role.EDITOR}),
}


class NotAMember(Exception):
    """The organizer has no role in the campaign: answer as if it did not exist (404)."""


class NotAllowed(Exception):
    """The organizer's role does not allow the action (403)."""


def role_in(session: Session, organizer: Organizer, campaign: Campaign) -> Role | None:
    """The organizer's role in the campaign, or None."""
    return session.scalar(
        select(Membership.role).where(
            Membership.campaign_id == campaign.id, Membership.organizer_id == organizer.id
        )
    )


def can(session: Session, organizer: Organizer, campaign: Campaign, action: Action) -> bool:
    """Whether the organizer may perform `action` on `campaign`."""
    if organizer.is_admin:
        return True
    role = role_in(session, organizer, campaign)
    return role is not None and role in PERMISSIONS[action]


def authorize(session: Session, organizer: Organizer, campaign: Campaign, action: Action) -> None:
    """Raise NotAMember or NotAllowed unless the organizer may perform `action`."""
    if organizer.is_admin:
        return
    role = role_in(session, organizer, campaign)
    if role is None:
        raise NotAMember(campaign.slug)
    if role not in PERMISSIONS[action]:
        raise NotAllowed(action)


def allowed_actions(session: Session, organizer: Organizer, campaign: Campaign) -> set[Action]:
    """Every action the organizer may perform on the campaign (for menus and buttons)."""
    if organizer.is_admin:
        return set(Action)
    role = role_in(session, organizer, campaign)
    if role is None:
        return set()
    return {action for action, roles in PERMISSIONS.items() if role in roles}


def visible_campaigns(session: Session, organizer: Organizer) -> list[Campaign]:
    """The campaigns the organizer works on (all of them for a site admin), newest first."""
    query = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if not organizer.is_admin:
        query = query.join(Membership, Membership.campaign_id == Campaign.id).where(
            Membership.organizer_id == organizer.id
        )
    return list(session.scalars(query))
