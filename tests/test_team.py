"""The rules of a campaign's team: roles, removal, invitations, and always an owner."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign.models import AuditEntry, Invitation, Membership, Organizer, OutboxMessage, Role
from campaign.models.types import utcnow
from campaign.services import organizers, team
from campaign.services.errors import InvalidEmail, InvitationNotPending
from tests.factories import add_member, make_campaign, make_organizer


def _audit(db, action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _membership(db, campaign, organizer):
    return db.session.scalar(
        select(Membership).where(
            Membership.campaign_id == campaign.id, Membership.organizer_id == organizer.id
        )
    )


@pytest.fixture
def crew(db):
    """A campaign with an owner, an editor and a moderator."""
    campaign = make_campaign(slug="crew")
    owner = make_organizer(name="Olga Owner")
    editor = make_organizer(name="Ed Editor")
    moderator = make_organizer(name="Mo Moderator")
    add_member(campaign, owner, Role.OWNER)
    add_member(campaign, editor, Role.EDITOR)
    add_member(campaign, moderator, Role.MODERATOR)
    db.session.commit()
    return campaign, owner, editor, moderator


def test_team_lists_owners_first_then_by_name(db, crew):
    campaign, owner, editor, moderator = crew
    second_owner = make_organizer(name="Anna Owner")
    add_member(campaign, second_owner, Role.OWNER)
    other = make_campaign()
    add_member(other, make_organizer(), Role.OWNER)

    listing = team.team(db.session, campaign)

    assert [m.organizer for m in listing.members] == [second_owner, owner, editor, moderator]
    assert listing.owner_count == 2
    assert listing.invitations == []


def test_change_role_is_audited(db, crew):
    campaign, owner, editor, _ = crew

    changed = team.change_role(db.session, owner, _membership(db, campaign, editor), Role.OWNER)
    db.session.commit()

    assert changed is True
    assert _membership(db, campaign, editor).role == Role.OWNER
    (entry,) = _audit(db, "team.change_role")
    assert entry.actor_id == owner.id
    assert entry.campaign_id == campaign.id
    assert entry.details == {"email": editor.email, "old_role": "editor", "role": "owner"}


def test_change_to_the_same_role_changes_nothing(db, crew):
    campaign, owner, editor, _ = crew
    assert not team.change_role(db.session, owner, _membership(db, campaign, editor), Role.EDITOR)
    assert _audit(db, "team.change_role") == []


def test_the_last_owner_cannot_be_demoted(db, crew):
    campaign, owner, _, _ = crew
    membership = _membership(db, campaign, owner)

    for role in (Role.EDITOR, Role.MODERATOR):
        with pytest.raises(team.LastOwner):
            team.change_role(db.session, owner, membership, role)
    db.session.rollback()

    assert _membership(db, campaign, owner).role == Role.OWNER
    assert _audit(db, "team.change_role") == []


def test_a_site_admin_cannot_demote_the_last_owner_either(db, crew):
    campaign, owner, _, _ = crew
    admin = make_organizer(is_admin=True)
    with pytest.raises(team.LastOwner):
        team.change_role(db.session, admin, _membership(db, campaign, owner), Role.EDITOR)


def test_an_owner_can_step_down_when_another_owner_remains(db, crew):
    campaign, owner, editor, _ = crew
    team.change_role(db.session, owner, _membership(db, campaign, editor), Role.OWNER)
    team.change_role(db.session, owner, _membership(db, campaign, owner), Role.EDITOR)
    db.session.commit()

    assert _membership(db, campaign, owner).role == Role.EDITOR
    assert team.is_last_owner(db.session, _membership(db, campaign, editor))
    with pytest.raises(team.LastOwner):
        team.change_role(db.session, editor, _membership(db, campaign, editor), Role.MODERATOR)


def test_remove_member_is_audited(db, crew):
    campaign, owner, editor, _ = crew

    team.remove_member(db.session, owner, _membership(db, campaign, editor))
    db.session.commit()

    assert _membership(db, campaign, editor) is None
    (entry,) = _audit(db, "team.remove")
    assert entry.actor_id == owner.id
    assert entry.details == {"email": editor.email, "role": "editor"}


def test_the_last_owner_cannot_leave(db, crew):
    campaign, owner, _, _ = crew
    with pytest.raises(team.LastOwner):
        team.remove_member(db.session, owner, _membership(db, campaign, owner))
    db.session.rollback()
    assert _membership(db, campaign, owner) is not None
    assert _audit(db, "team.leave") == []


def test_an_owner_can_leave_when_another_owner_remains(db, crew):
    campaign, owner, _, _ = crew
    add_member(campaign, make_organizer(), Role.OWNER)

    team.remove_member(db.session, owner, _membership(db, campaign, owner))
    db.session.commit()

    assert _membership(db, campaign, owner) is None
    (entry,) = _audit(db, "team.leave")
    assert entry.actor_id == owner.id


def test_members_and_invitations_of_another_campaign_are_not_found(db, crew):
    campaign, owner, _, _ = crew
    other = make_campaign()
    stranger = make_organizer()
    add_member(other, stranger, Role.OWNER)
    invitation = organizers.invite(db.session, stranger, other, "x@example.org", Role.EDITOR)

    with pytest.raises(team.NotOnTeam):
        team.get_membership(db.session, campaign, _membership(db, other, stranger).id)
    with pytest.raises(team.NotOnTeam):
        team.get_invitation(db.session, campaign, invitation.id)
    with pytest.raises(team.NotOnTeam):
        team.get_membership(db.session, campaign, 10**9)


# --- invitations ------------------------------------------------------------------------------


def test_invite_queues_an_email_and_is_audited(db, crew):
    campaign, owner, _, _ = crew

    invitation = organizers.invite(db.session, owner, campaign, " New@Example.ORG ", Role.EDITOR)
    db.session.commit()

    assert invitation.email == "new@example.org"
    assert invitation.role == Role.EDITOR
    assert invitation.invited_by_id == owner.id
    (message,) = db.session.scalars(select(OutboxMessage)).all()
    assert message.to_email == "new@example.org"
    assert "/admin/invitation/" in message.text_body
    (entry,) = _audit(db, "team.invite")
    assert entry.details == {"email": "new@example.org", "role": "editor"}
    (pending,) = team.team(db.session, campaign).invitations
    assert pending.invitation == invitation
    assert not pending.is_expired


def test_invite_refuses_an_invalid_address(db, crew):
    campaign, owner, _, _ = crew
    with pytest.raises(InvalidEmail):
        organizers.invite(db.session, owner, campaign, "not an address", Role.EDITOR)


@pytest.mark.parametrize("role", [Role.EDITOR, Role.OWNER])
def test_invite_refuses_someone_already_on_the_team(db, crew, role):
    campaign, owner, editor, _ = crew
    with pytest.raises(organizers.AlreadyMember) as caught:
        organizers.invite(db.session, owner, campaign, editor.email.upper(), role)
    assert caught.value.role == Role.EDITOR
    assert db.session.scalars(select(Invitation)).all() == []


def test_invite_refuses_an_address_with_a_pending_invitation(db, crew):
    campaign, owner, _, _ = crew
    organizers.invite(db.session, owner, campaign, "new@example.org", Role.EDITOR)
    with pytest.raises(organizers.AlreadyInvited):
        organizers.invite(db.session, owner, campaign, "NEW@example.org", Role.MODERATOR)
    # Another campaign may invite the same person.
    other = make_campaign()
    add_member(other, owner, Role.OWNER)
    organizers.invite(db.session, owner, other, "new@example.org", Role.EDITOR)


def test_an_expired_invitation_is_shown_and_replaced_by_a_new_one(db, crew):
    campaign, owner, _, _ = crew
    old = organizers.invite(db.session, owner, campaign, "new@example.org", Role.EDITOR)
    old.created_at = utcnow() - timedelta(seconds=organizers.INVITE_MAX_AGE + 60)
    db.session.commit()
    (pending,) = team.team(db.session, campaign).invitations
    assert pending.is_expired

    new = organizers.invite(db.session, owner, campaign, "new@example.org", Role.EDITOR)
    db.session.commit()

    assert old.revoked_at is not None
    assert [p.invitation for p in team.team(db.session, campaign).invitations] == [new]


def test_revoke_invitation(db, crew):
    campaign, owner, _, _ = crew
    invitation = organizers.invite(db.session, owner, campaign, "new@example.org", Role.EDITOR)

    team.revoke_invitation(db.session, owner, invitation)
    db.session.commit()

    assert invitation.revoked_at is not None
    assert team.team(db.session, campaign).invitations == []
    (entry,) = _audit(db, "team.revoke")
    assert entry.details == {"email": "new@example.org", "role": "editor"}
    with pytest.raises(InvitationNotPending):
        team.revoke_invitation(db.session, owner, invitation)
    # Once revoked, the address may be invited again.
    organizers.invite(db.session, owner, campaign, "new@example.org", Role.MODERATOR)


def test_an_accepted_invitation_cannot_be_revoked(db, crew):
    campaign, owner, _, _ = crew
    invitation = organizers.invite(db.session, owner, campaign, "new@example.org", Role.EDITOR)
    organizers.accept_invitation(db.session, invitation, name="New", password="long enough pw")
    with pytest.raises(InvitationNotPending):
        team.revoke_invitation(db.session, owner, invitation)


def test_two_owners_demoting_each_other_at_once_leave_one_owner(db, crew):
    """The second change waits for the first, then sees it would leave no owner."""
    campaign, owner, editor, _ = crew
    team.change_role(db.session, owner, _membership(db, campaign, editor), Role.OWNER)
    db.session.commit()
    # Plain ids: touching the test session's objects would open a read snapshot on SQLite.
    a, b = owner.id, editor.id
    membership_of = {who: _membership(db, campaign, o).id for who, o in ((a, owner), (b, editor))}
    db.session.rollback()

    first, second = Session(db.engine), Session(db.engine)
    outcome = {}

    def b_demotes_a():
        try:
            team.change_role(
                second, second.get(Organizer, b), second.get(Membership, membership_of[a]), "editor"
            )
            second.commit()
            outcome["second"] = "changed"
        except team.LastOwner:
            second.rollback()
            outcome["second"] = "refused"
        finally:
            second.close()

    try:
        # A demotes B, and has not committed yet when B tries to demote A.
        team.change_role(
            first, first.get(Organizer, a), first.get(Membership, membership_of[b]), "editor"
        )
        racer = threading.Thread(target=b_demotes_a)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive(), "the second change should wait for the first"
        first.commit()
        racer.join(timeout=10)
    finally:
        first.close()

    assert outcome == {"second": "refused"}
    roles = {m.organizer_id: m.role for m in team.team(db.session, campaign).members}
    assert roles[a] == Role.OWNER
    assert roles[b] == Role.EDITOR
