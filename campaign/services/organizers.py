"""Organizer accounts: creation, login, password reset and invitations to a campaign's team."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from campaign.mail.outbox import queue_email
from campaign.models import Campaign, Invitation, Membership, Organizer, Role
from campaign.models.types import utcnow
from campaign.services import audit, login_lockout
from campaign.services.campaigns import localize
from campaign.services.email_addresses import normalize_email
from campaign.services.errors import (
    AlreadyInvited,
    AlreadyMember,
    InvalidCredentials,
    InvalidToken,
    InvitationNotPending,
    LoginLocked,
    OrganizerExists,
    WeakPassword,
)
from campaign.services.login_lockout import LockoutRules
from campaign.services.tokens import make_token, read_token
from campaign.urls import external_url

MIN_PASSWORD_LENGTH = 10
RESET_PURPOSE = "reset-password"
INVITE_PURPOSE = "invite"
RESET_MAX_AGE = 3600
INVITE_MAX_AGE = 14 * 24 * 3600


def organizer_email(address: str) -> str:
    """Organizer emails are compared case-insensitively: stored lowercased."""
    return normalize_email(address).lower()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(MIN_PASSWORD_LENGTH)


def find_organizer(session: Session, email: str) -> Organizer | None:
    try:
        address = organizer_email(email)
    except Exception:
        return None
    return session.scalar(select(Organizer).where(func.lower(Organizer.email) == address))


def create_organizer(
    session: Session, *, email: str, password: str, name: str = "", is_admin: bool = False
) -> Organizer:
    """A new organizer. Raises OrganizerExists, InvalidEmail, WeakPassword."""
    address = organizer_email(email)
    check_password_strength(password)
    if find_organizer(session, address):
        raise OrganizerExists(address)
    organizer = Organizer(email=address, name=name.strip(), is_admin=is_admin)
    organizer.set_password(password)
    session.add(organizer)
    session.flush()
    return organizer


def _dummy_password_check(password: str) -> None:
    """Hash like a real check, so an unknown address takes as long to refuse as a known one."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not a password", method=method)
    check_password_hash(_DUMMY_HASHES[method], password)


_DUMMY_HASHES: dict[str, str] = {}


def authenticate(
    session: Session, email: str, password: str, rules: LockoutRules | None = None
) -> Organizer:
    """The organizer with these credentials.

    Raises LoginLocked while the address is locked (without checking the password) or when
    this failure starts a lock, else InvalidCredentials; a failure is flushed (and, when it
    locks a real account, audited), so the caller commits in both cases.
    """
    rules = rules or LockoutRules.from_config(current_app.config)
    until = login_lockout.locked_until(session, email)
    if until is not None:
        raise LoginLocked(until)
    organizer = find_organizer(session, email)
    if organizer is None:
        _dummy_password_check(password)
    if organizer is None or not organizer.is_active or not organizer.check_password(password):
        until = login_lockout.record_failure(session, email, organizer, rules)
        if until is not None:
            raise LoginLocked(until)
        raise InvalidCredentials()
    login_lockout.clear(session, email)
    organizer.last_login_at = utcnow()
    return organizer


def change_password(session: Session, organizer: Organizer, password: str) -> None:
    """Set a new password; every other session of this organizer ends."""
    check_password_strength(password)
    organizer.set_password(password)
    audit.record(session, organizer, "organizer.password_changed")


# --- password reset ---------------------------------------------------------------------------


def _password_fingerprint(organizer: Organizer) -> str:
    # Changes with the password, so a reset link works once and dies with the old password.
    return hashlib.sha256(
        f"{organizer.password_hash}:{organizer.session_version}".encode()
    ).hexdigest()[:16]


def request_password_reset(session: Session, email: str, language: str) -> bool:
    """Email a reset link if an organizer has this address; the caller says the same either way."""
    organizer = find_organizer(session, email)
    if organizer is None or not organizer.is_active:
        return False
    token = make_token(
        current_app.config["SECRET_KEY"],
        RESET_PURPOSE,
        {"o": organizer.id, "f": _password_fingerprint(organizer)},
    )
    queue_email(
        session,
        kind="password_reset",
        preferences=False,
        template="password_reset",
        language=organizer.language or language,
        to_email=organizer.email,
        to_name=organizer.name,
        subject=_l("Reset your password"),
        reset_url=external_url("admin.reset_password", token=token),
        minutes=RESET_MAX_AGE // 60,
    )
    return True


def organizer_for_reset_token(session: Session, token: str) -> Organizer:
    payload = read_token(current_app.config["SECRET_KEY"], RESET_PURPOSE, token, RESET_MAX_AGE)
    organizer = session.get(Organizer, payload.get("o")) if isinstance(payload, dict) else None
    if organizer is None or payload.get("f") != _password_fingerprint(organizer):
        raise InvalidToken("the link was used or replaced")
    return organizer


def reset_password(session: Session, token: str, password: str) -> Organizer:
    """Set a new password from a reset link. Raises InvalidToken, TokenExpired, WeakPassword."""
    organizer = organizer_for_reset_token(session, token)
    change_password(session, organizer, password)
    # Proving control of the mailbox ends a lockout at once (see services/login_lockout.py).
    login_lockout.clear(session, organizer.email)
    return organizer


# --- invitations ------------------------------------------------------------------------------


def invite(
    session: Session, inviter: Organizer, campaign: Campaign, email: str, role: Role
) -> Invitation:
    """Invite someone to the campaign's team with a role, by email.

    Raises InvalidEmail; AlreadyMember when the address is on the team (whatever the role: an
    owner changes a member's role on the team screen, not by email); AlreadyInvited when an
    invitation to it still works. Expired invitations to the address are revoked.
    """
    address = organizer_email(email)
    existing = find_organizer(session, address)
    if existing is not None:
        membership = session.scalar(
            select(Membership).where(
                Membership.campaign_id == campaign.id, Membership.organizer_id == existing.id
            )
        )
        if membership is not None:
            raise AlreadyMember(address, membership.role)
    oldest_live = utcnow() - timedelta(seconds=INVITE_MAX_AGE)
    for earlier in session.scalars(
        select(Invitation).where(
            Invitation.campaign_id == campaign.id,
            func.lower(Invitation.email) == address,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ).all():
        if earlier.created_at > oldest_live:
            raise AlreadyInvited(address)
        earlier.revoked_at = utcnow()
    invitation = Invitation(
        campaign_id=campaign.id, email=address, role=role, invited_by_id=inviter.id
    )
    session.add(invitation)
    session.flush()
    token = make_token(current_app.config["SECRET_KEY"], INVITE_PURPOSE, {"i": invitation.id})
    language = existing.language if existing else campaign.default_language
    queue_email(
        session,
        kind="team_invitation",
        preferences=False,
        template="invitation",
        language=language,
        to_email=address,
        subject=_l(
            "You are invited to organize “%(title)s”", title=localize(campaign, language).text.title
        ),
        title=localize(campaign, language).text.title,
        inviter=inviter.display_name,
        role=role.value,
        accept_url=external_url("admin.accept_invitation", token=token),
        days=INVITE_MAX_AGE // 86400,
    )
    audit.record(session, inviter, "team.invite", campaign, email=address, role=role.value)
    return invitation


def invitation_for_token(session: Session, token: str) -> Invitation:
    """The pending invitation behind a link. Raises InvalidToken, TokenExpired."""
    payload = read_token(current_app.config["SECRET_KEY"], INVITE_PURPOSE, token, INVITE_MAX_AGE)
    invitation = session.get(Invitation, payload.get("i")) if isinstance(payload, dict) else None
    if invitation is None:
        raise InvalidToken("no such invitation")
    if not invitation.is_pending:
        raise InvitationNotPending("invitation already used")
    return invitation


def accept_invitation(
    session: Session,
    invitation: Invitation,
    organizer: Organizer | None = None,
    *,
    name: str = "",
    password: str = "",
) -> Organizer:
    """Join the team: an existing organizer (logged in) or a new one with a password.

    The role is added, or raised if the person already had a lesser one.
    """
    if organizer is None:
        organizer = create_organizer(session, email=invitation.email, password=password, name=name)
    membership = session.scalar(
        select(Membership).where(
            Membership.campaign_id == invitation.campaign_id,
            Membership.organizer_id == organizer.id,
        )
    )
    if membership is None:
        session.add(
            Membership(
                campaign_id=invitation.campaign_id, organizer_id=organizer.id, role=invitation.role
            )
        )
    elif _rank(invitation.role) > _rank(membership.role):
        membership.role = invitation.role
    invitation.accepted_at = utcnow()
    audit.record(
        session, organizer, "team.join", invitation.campaign, role=invitation.role.value,
        email=organizer.email,
    )  # fmt: skip
    session.flush()
    return organizer


def _rank(role: Role) -> int:
    return {Role.MODERATOR: 1, Role.EDITOR: 2, Role.OWNER: 3}[role]
