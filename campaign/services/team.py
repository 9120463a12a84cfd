"""A campaign's team: who works on it with which role, and who is invited.

The rule that matters: a campaign always keeps at least one owner, so someone can always manage
its team. Every change is written to the audit log in the caller's transaction. Inviting lives in
`organizers.invite`, which refuses addresses already on the team or already invited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from campaign.database import begin_write
from campaign.models import Campaign, Invitation, Membership, Organizer, Role
from campaign.models.types import utcnow
from campaign.services import audit
from campaign.services.errors import InvitationNotPending, LastOwner, NotOnTeam
from campaign.services.organizers import INVITE_MAX_AGE

ROLE_ORDER = {Role.OWNER: 0, Role.EDITOR: 1, Role.MODERATOR: 2}


@dataclass(frozen=True)
class PendingInvitation:
    invitation: Invitation
    expires_at: datetime

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()


@dataclass(frozen=True)
class Team:
    members: list[Membership]
    invitations: list[PendingInvitation]

    @property
    def owner_count(self) -> int:
        return sum(1 for m in self.members if m.role == Role.OWNER)

    def is_last_owner(self, membership: Membership) -> bool:
        return membership.role == Role.OWNER and self.owner_count == 1


def team(session: Session, campaign: Campaign) -> Team:
    """The members (owners first, then by name) and the invitations not yet accepted or revoked.

    Expired invitations are listed too, marked as such, so the owner sees why nobody joined.
    """
    members = session.scalars(
        select(Membership)
        .options(joinedload(Membership.organizer))
        .where(Membership.campaign_id == campaign.id)
    ).all()
    members = sorted(
        members,
        key=lambda m: (ROLE_ORDER[m.role], m.organizer.display_name.casefold(), m.id),
    )
    invitations = session.scalars(
        select(Invitation)
        .options(joinedload(Invitation.invited_by))
        .where(
            Invitation.campaign_id == campaign.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    ).all()
    return Team(
        members=list(members),
        invitations=[
            PendingInvitation(i, i.created_at + timedelta(seconds=INVITE_MAX_AGE))
            for i in invitations
        ],
    )


def get_membership(session: Session, campaign: Campaign, membership_id: int) -> Membership:
    """A member of this campaign's team. Raises NotOnTeam (an id from another campaign too)."""
    membership = session.get(Membership, membership_id)
    if membership is None or membership.campaign_id != campaign.id:
        raise NotOnTeam(membership_id)
    return membership


def get_invitation(session: Session, campaign: Campaign, invitation_id: int) -> Invitation:
    """An invitation to this campaign's team. Raises NotOnTeam."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.campaign_id != campaign.id:
        raise NotOnTeam(invitation_id)
    return invitation


def is_last_owner(session: Session, membership: Membership) -> bool:
    """Whether this member is the campaign's only owner."""
    return membership.role == Role.OWNER and not _other_owner_ids(session, membership)


def _other_owner_ids(session: Session, membership: Membership, *, lock: bool = False) -> list[int]:
    query = (
        select(Membership.id)
        .where(Membership.campaign_id == membership.campaign_id, Membership.role == Role.OWNER)
        .order_by(Membership.id)
    )
    if lock:
        # Two owners demoting each other at once must not both succeed. Every owner row is
        # locked, in one order, so the second change waits for the first and then counts again
        # (PostgreSQL; SQLite serializes writers anyway).
        query = query.with_for_update()
    return [owner_id for owner_id in session.scalars(query) if owner_id != membership.id]


def _keep_an_owner(session: Session, membership: Membership) -> None:
    if membership.role == Role.OWNER and not _other_owner_ids(session, membership, lock=True):
        raise LastOwner(membership.campaign_id)


def change_role(session: Session, actor: Organizer, membership: Membership, role: Role) -> bool:
    """Give a member another role; False when it is the role they have.

    Raises LastOwner when that would leave the campaign without an owner.
    """
    begin_write(session)
    role = Role(role)
    if membership.role == role:
        return False
    if role != Role.OWNER:
        _keep_an_owner(session, membership)
    old = membership.role
    membership.role = role
    audit.record(
        session,
        actor,
        "team.change_role",
        membership.campaign,
        email=membership.organizer.email,
        old_role=old.value,
        role=role.value,
    )
    session.flush()
    return True


def remove_member(session: Session, actor: Organizer, membership: Membership) -> None:
    """Take someone off the team (or leave it, when `actor` is that member).

    Their access ends with the next request. Raises LastOwner for the campaign's only owner.
    """
    begin_write(session)
    _keep_an_owner(session, membership)
    organizer = membership.organizer
    action = "team.leave" if organizer.id == actor.id else "team.remove"
    audit.record(
        session,
        actor,
        action,
        membership.campaign,
        email=organizer.email,
        role=membership.role.value,
    )
    session.delete(membership)
    session.flush()


def revoke_invitation(session: Session, actor: Organizer, invitation: Invitation) -> None:
    """Withdraw an invitation: its link stops working. Raises InvitationNotPending."""
    begin_write(session)
    if not invitation.is_pending:
        raise InvitationNotPending(invitation.id)
    invitation.revoked_at = utcnow()
    audit.record(
        session,
        actor,
        "team.revoke",
        invitation.campaign,
        email=invitation.email,
        role=invitation.role.value,
    )
    session.flush()
