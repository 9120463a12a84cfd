"""Organizer accounts: creation, login, passwords, reset links and invitations (the services)."""

from __future__ import annotations

import re

import pytest
from flask import current_app
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from campaign.models import AuditEntry, Membership, Organizer, OutboxMessage, Role
from campaign.services import organizers, team
from campaign.services.errors import (
    InvalidCredentials,
    InvalidEmail,
    InvalidToken,
    InvitationNotPending,
    OrganizerExists,
    TokenExpired,
    WeakPassword,
)
from campaign.services.tokens import make_token
from tests.factories import DEFAULT_PASSWORD, add_member, make_campaign, make_organizer

NEW_PASSWORD = "a brand new passphrase"


def _outbox(db) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _token_in(message: OutboxMessage, path: str) -> str:
    match = re.search(rf"{re.escape(path)}([A-Za-z0-9_.\-]+)", message.text_body)
    assert match, message.text_body
    return match.group(1)


def _later(monkeypatch, seconds: int) -> None:
    """Make itsdangerous believe `seconds` have passed since any token was signed."""
    now = TimestampSigner.get_timestamp(None)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now + seconds)


def _membership(db, campaign, organizer):
    return db.session.scalar(
        select(Membership).where(
            Membership.campaign_id == campaign.id, Membership.organizer_id == organizer.id
        )
    )


# --- creating and logging in ------------------------------------------------------------------


def test_create_organizer_stores_the_email_lowercased_and_hashes_the_password(db):
    organizer = organizers.create_organizer(
        db.session, email="  Ada.Lovelace@Example.ORG ", password=DEFAULT_PASSWORD, name=" Ada "
    )
    db.session.commit()

    assert organizer.email == "ada.lovelace@example.org"
    assert organizer.name == "Ada"
    assert not organizer.is_admin
    assert DEFAULT_PASSWORD not in organizer.password_hash
    assert organizer.check_password(DEFAULT_PASSWORD)
    assert not organizer.check_password("something else entirely")


def test_create_organizer_refuses_a_duplicate_whatever_the_case(db):
    organizers.create_organizer(db.session, email="ada@example.org", password=DEFAULT_PASSWORD)
    with pytest.raises(OrganizerExists):
        organizers.create_organizer(db.session, email="ADA@example.org", password=DEFAULT_PASSWORD)


def test_create_organizer_refuses_a_weak_password(db):
    with pytest.raises(WeakPassword):
        organizers.create_organizer(db.session, email="ada@example.org", password="short")
    assert db.session.scalars(select(Organizer)).all() == []


def test_create_organizer_refuses_an_invalid_address(db):
    with pytest.raises(InvalidEmail):
        organizers.create_organizer(db.session, email="ada at home", password=DEFAULT_PASSWORD)


def test_authenticate_with_the_right_password(db):
    organizer = make_organizer(email="ada@example.org")
    assert organizer.last_login_at is None

    found = organizers.authenticate(db.session, "ADA@example.org", DEFAULT_PASSWORD)

    assert found == organizer
    assert found.last_login_at is not None


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@example.org", "wrong password here"),
        ("nobody@example.org", DEFAULT_PASSWORD),
        ("not an address", DEFAULT_PASSWORD),
        ("ada@example.org", ""),
    ],
)
def test_authenticate_refuses_wrong_credentials(db, email, password):
    make_organizer(email="ada@example.org")
    with pytest.raises(InvalidCredentials):
        organizers.authenticate(db.session, email, password)


def test_authenticate_refuses_a_disabled_account(db):
    make_organizer(email="ada@example.org", is_disabled=True)
    with pytest.raises(InvalidCredentials):
        organizers.authenticate(db.session, "ada@example.org", DEFAULT_PASSWORD)


def test_change_password_bumps_the_session_version_and_is_audited(db):
    organizer = make_organizer()
    old_id = organizer.get_id()
    version = organizer.session_version

    organizers.change_password(db.session, organizer, NEW_PASSWORD)
    db.session.commit()

    assert organizer.session_version == version + 1
    assert organizer.get_id() != old_id
    assert organizer.check_password(NEW_PASSWORD)
    assert not organizer.check_password(DEFAULT_PASSWORD)
    (entry,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "organizer.password_changed")
    )
    assert entry.actor_id == organizer.id


def test_change_password_refuses_a_weak_one(db):
    organizer = make_organizer()
    with pytest.raises(WeakPassword):
        organizers.change_password(db.session, organizer, "short")
    assert organizer.check_password(DEFAULT_PASSWORD)


# --- password reset ---------------------------------------------------------------------------


def _reset_token(db, email="ada@example.org") -> str:
    assert organizers.request_password_reset(db.session, email, "en")
    db.session.commit()
    return _token_in(_outbox(db)[-1], "/admin/reset-password/")


def test_a_reset_link_is_emailed_to_the_organizer(db):
    make_organizer(email="ada@example.org", language="ru")
    _reset_token(db, "Ada@Example.org")
    (message,) = _outbox(db)
    assert message.to_email == "ada@example.org"
    assert message.language == "ru"
    assert "http://campaign.test/admin/reset-password/" in message.text_body


@pytest.mark.parametrize("disabled", [False, True])
def test_no_reset_email_for_an_unknown_or_disabled_address(db, disabled):
    if disabled:
        make_organizer(email="ada@example.org", is_disabled=True)
    assert organizers.request_password_reset(db.session, "ada@example.org", "en") is False
    assert _outbox(db) == []


def test_a_reset_link_works_once(db):
    organizer = make_organizer(email="ada@example.org")
    token = _reset_token(db)
    assert organizers.organizer_for_reset_token(db.session, token) == organizer

    organizers.reset_password(db.session, token, NEW_PASSWORD)
    db.session.commit()

    assert organizer.check_password(NEW_PASSWORD)
    with pytest.raises(InvalidToken):
        organizers.organizer_for_reset_token(db.session, token)
    with pytest.raises(InvalidToken):
        organizers.reset_password(db.session, token, "yet another passphrase")


def test_a_reset_link_dies_when_the_password_changes_otherwise(db):
    organizer = make_organizer(email="ada@example.org")
    token = _reset_token(db)
    organizers.change_password(db.session, organizer, NEW_PASSWORD)
    with pytest.raises(InvalidToken):
        organizers.organizer_for_reset_token(db.session, token)


def test_a_reset_link_expires(db, monkeypatch):
    make_organizer(email="ada@example.org")
    token = _reset_token(db)
    _later(monkeypatch, organizers.RESET_MAX_AGE - 30)
    organizers.organizer_for_reset_token(db.session, token)  # still fine just before the end

    _later(monkeypatch, organizers.RESET_MAX_AGE + 5)
    with pytest.raises(TokenExpired):
        organizers.reset_password(db.session, token, NEW_PASSWORD)


def test_a_token_for_another_purpose_is_refused(db):
    organizer = make_organizer(email="ada@example.org")
    secret = current_app.config["SECRET_KEY"]
    # The right payload, signed for invitations: it must not reset a password.
    payload = {"o": organizer.id, "f": organizers._password_fingerprint(organizer)}
    token = make_token(secret, organizers.INVITE_PURPOSE, payload)
    with pytest.raises(InvalidToken):
        organizers.organizer_for_reset_token(db.session, token)
    # And a reset token is not an invitation.
    with pytest.raises(InvalidToken):
        organizers.invitation_for_token(db.session, _reset_token(db))


def test_a_reset_weak_password_keeps_the_link_usable(db):
    organizer = make_organizer(email="ada@example.org")
    token = _reset_token(db)
    with pytest.raises(WeakPassword):
        organizers.reset_password(db.session, token, "short")
    db.session.rollback()
    assert organizers.organizer_for_reset_token(db.session, token) == organizer


# --- invitations ------------------------------------------------------------------------------


@pytest.fixture
def owned(db):
    campaign = make_campaign(slug="owned")
    owner = make_organizer(name="Olga Owner")
    add_member(campaign, owner, Role.OWNER)
    db.session.commit()
    return campaign, owner


def _invitation_token(db) -> str:
    return _token_in(_outbox(db)[-1], "/admin/invitation/")


def test_a_new_person_accepts_with_a_name_and_password(db, owned):
    campaign, owner = owned
    invitation = organizers.invite(db.session, owner, campaign, "New@Example.org", Role.EDITOR)
    db.session.commit()
    token = _invitation_token(db)
    assert organizers.invitation_for_token(db.session, token) == invitation

    person = organizers.accept_invitation(
        db.session, invitation, name="Nina New", password=NEW_PASSWORD
    )
    db.session.commit()

    assert person.email == "new@example.org"
    assert person.name == "Nina New"
    assert person.check_password(NEW_PASSWORD)
    assert _membership(db, campaign, person).role == Role.EDITOR
    assert invitation.accepted_at is not None
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "team.join"))
    assert entry.actor_id == person.id
    assert entry.campaign_id == campaign.id
    assert entry.details == {"role": "editor", "email": "new@example.org"}
    assert team.team(db.session, campaign).invitations == []


def test_a_new_person_needs_a_strong_password(db, owned):
    campaign, owner = owned
    invitation = organizers.invite(db.session, owner, campaign, "new@example.org", Role.EDITOR)
    db.session.commit()
    with pytest.raises(WeakPassword):
        organizers.accept_invitation(db.session, invitation, name="Nina", password="short")
    db.session.rollback()
    assert invitation.is_pending


def test_an_existing_organizer_accepts_and_gets_the_role(db, owned):
    campaign, owner = owned
    person = make_organizer(email="ed@example.org")
    invitation = organizers.invite(db.session, owner, campaign, "ED@example.org", Role.MODERATOR)

    result = organizers.accept_invitation(db.session, invitation, person)
    db.session.commit()

    assert result == person
    assert person.check_password(DEFAULT_PASSWORD)  # untouched
    assert _membership(db, campaign, person).role == Role.MODERATOR


@pytest.mark.parametrize(
    ("had", "invited", "keeps"),
    [
        (Role.MODERATOR, Role.EDITOR, Role.EDITOR),  # raised
        (Role.EDITOR, Role.OWNER, Role.OWNER),  # raised
        (Role.OWNER, Role.MODERATOR, Role.OWNER),  # a higher role is kept
        (Role.EDITOR, Role.MODERATOR, Role.EDITOR),  # a higher role is kept
    ],
)
def test_accepting_keeps_the_higher_role(db, owned, had, invited, keeps):
    campaign, owner = owned
    person = make_organizer(email="ed@example.org")
    # Invited first, then given a role some other way before accepting.
    invitation = organizers.invite(db.session, owner, campaign, person.email, invited)
    add_member(campaign, person, had)

    organizers.accept_invitation(db.session, invitation, person)
    db.session.commit()

    assert _membership(db, campaign, person).role == keeps
    assert not invitation.is_pending


def test_a_used_invitation_is_refused(db, owned):
    campaign, owner = owned
    invitation = organizers.invite(db.session, owner, campaign, "new@example.org", Role.EDITOR)
    db.session.commit()
    token = _invitation_token(db)
    organizers.accept_invitation(db.session, invitation, name="Nina", password=NEW_PASSWORD)
    db.session.commit()
    with pytest.raises(InvitationNotPending):
        organizers.invitation_for_token(db.session, token)


def test_a_revoked_invitation_is_refused(db, owned):
    campaign, owner = owned
    invitation = organizers.invite(db.session, owner, campaign, "new@example.org", Role.EDITOR)
    db.session.commit()
    token = _invitation_token(db)
    team.revoke_invitation(db.session, owner, invitation)
    db.session.commit()
    with pytest.raises(InvitationNotPending):
        organizers.invitation_for_token(db.session, token)


def test_an_invitation_expires(db, owned, monkeypatch):
    campaign, owner = owned
    organizers.invite(db.session, owner, campaign, "new@example.org", Role.EDITOR)
    db.session.commit()
    token = _invitation_token(db)
    _later(monkeypatch, organizers.INVITE_MAX_AGE + 5)
    with pytest.raises(TokenExpired):
        organizers.invitation_for_token(db.session, token)


def test_an_invitation_for_a_deleted_row_is_invalid(db, owned):
    secret = current_app.config["SECRET_KEY"]
    token = make_token(secret, organizers.INVITE_PURPOSE, {"i": 10**9})
    with pytest.raises(InvalidToken):
        organizers.invitation_for_token(db.session, token)


def test_the_invitation_email_is_in_the_invitees_language(db, owned):
    campaign, owner = owned
    make_organizer(email="ru@example.org", language="ru")
    organizers.invite(db.session, owner, campaign, "ru@example.org", Role.EDITOR)
    organizers.invite(db.session, owner, campaign, "new@example.org", Role.EDITOR)
    first, second = _outbox(db)
    assert first.language == "ru"
    assert second.language == campaign.default_language
