"""Signing a petition and confirming the signature by email."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.mail.outbox import queue_email
from campaign.models import Campaign, Signature
from campaign.models.types import utcnow
from campaign.services import comments, privacy, subscribers
from campaign.services.campaigns import localize
from campaign.services.email_addresses import mailbox_digest, mailbox_key, normalize_email
from campaign.services.email_domains import blocked_domain, domain_of
from campaign.services.errors import CampaignClosed, EmailDomainBlocked, InvalidEmail, InvalidToken
from campaign.services.signals import SignatureSignals
from campaign.services.signature_counts import adjust_signature_count
from campaign.services.tokens import make_token, read_token
from campaign.urls import external_url

CONFIRM_PURPOSE = "confirm-signature"


@dataclass
class SignatureData:
    """What a supporter typed into the sign form."""

    full_name: str
    email: str
    country: str
    city: str = ""
    reason: str = ""
    is_public: bool = False
    has_update_consent: bool = False
    # How the form was filled in (IP hashes, user agent class, time on form): for organizers.
    signals: SignatureSignals = field(default_factory=SignatureSignals)
    # The consent wording the form showed, in its language, and what was ticked.
    consent: privacy.ConsentShown | None = None


class SignOutcome(enum.Enum):
    NEW = "new"  # a new signature, confirmation email queued
    RESENT = "resent"  # signed before without confirming: the confirmation is sent again
    ALREADY_CONFIRMED = "already_confirmed"  # signed and confirmed before: told so by email


@dataclass(frozen=True)
class SignResult:
    signature: Signature
    outcome: SignOutcome


def sign(session: Session, campaign: Campaign, data: SignatureData, language: str) -> SignResult:
    """Record a signature (unconfirmed) and queue the email that confirms it.

    Signing again with the same mailbox never creates a second signature and never tells the
    person on screen; the email says what happened. Raises CampaignClosed, InvalidEmail,
    EmailDomainBlocked (a domain the campaign refuses: nothing is stored).
    """
    begin_write(session)
    if not campaign.is_open:
        raise CampaignClosed(campaign.slug)
    email = normalize_email(data.email)
    blocked = blocked_domain(campaign, email)
    if blocked is not None:
        raise EmailDomainBlocked(blocked)
    key = mailbox_key(email)
    full_name = " ".join(data.full_name.split())
    if not full_name:
        raise ValueError("full_name is required")

    signature = Signature(
        campaign_id=campaign.id,
        full_name=full_name,
        email=email,
        email_key=key,
        country=data.country.upper(),
        city=data.city.strip(),
        reason=data.reason.strip(),
        language=language,
        is_public=data.is_public,
        has_update_consent=data.has_update_consent,
        ip_hash=data.signals.ip_hash,
        ip_range_hash=data.signals.ip_range_hash,
        user_agent_class=data.signals.user_agent_class,
        seconds_on_form=data.signals.seconds_on_form,
        email_domain=domain_of(email),
    )
    if data.consent is not None:
        signature.consent_wording = privacy.consent_wording_for(session, data.consent)
    try:
        # The unique index decides, so two simultaneous submissions cannot both insert.
        with session.begin_nested():
            session.add(signature)
            session.flush()
    except IntegrityError:
        existing = session.scalar(
            select(Signature).where(
                Signature.campaign_id == campaign.id, Signature.email_key == key
            )
        )
        if existing is None:  # the conflict was not ours to resolve
            raise
        if existing.is_confirmed:
            _queue_already_signed(session, campaign, existing, language)
            return SignResult(existing, SignOutcome.ALREADY_CONFIRMED)
        _queue_confirmation(session, campaign, existing, existing.language)
        return SignResult(existing, SignOutcome.RESENT)

    comments.add_reason(session, signature)
    _queue_confirmation(session, campaign, signature, language)
    return SignResult(signature, SignOutcome.NEW)


def confirmation_token(signature: Signature) -> str:
    """The token in a confirmation link, bound to the signature and its mailbox."""
    return make_token(
        current_app.config["SECRET_KEY"],
        CONFIRM_PURPOSE,
        {"s": signature.id, "c": signature.campaign_id, "k": mailbox_digest(signature.email_key)},
    )


def signature_for_token(session: Session, token: str) -> Signature:
    """The signature a confirmation token names. Raises InvalidToken or TokenExpired."""
    payload = read_token(
        current_app.config["SECRET_KEY"],
        CONFIRM_PURPOSE,
        token,
        current_app.config["CONFIRM_TOKEN_MAX_AGE"],
    )
    try:
        signature_id, campaign_id, digest = payload["s"], payload["c"], payload["k"]
    except (TypeError, KeyError) as exc:
        raise InvalidToken("the link is not valid") from exc
    signature = session.get(Signature, signature_id)
    if (
        signature is None
        or signature.campaign_id != campaign_id
        or mailbox_digest(signature.email_key) != digest
    ):
        raise InvalidToken("the link names no signature")
    return signature


def confirm(session: Session, token: str) -> tuple[Signature, bool]:
    """Confirm the signature behind `token`; returns it and whether this call counted it.

    Counting is a compare-and-set on `confirmed_at` followed by an atomic increment, so a
    double click or two racing requests count the signature exactly once.
    """
    begin_write(session)
    signature = signature_for_token(session, token)
    if not signature.campaign.is_open:
        raise CampaignClosed(signature.campaign.slug)
    now = utcnow()
    counted = session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.confirmed_at.is_(None))
        .values(confirmed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(signature)
    if counted and not signature.is_invalidated:
        # An invalidated signature is confirmed but not counted; restoring it counts it then.
        adjust_signature_count(session, signature.campaign_id, 1)
    session.refresh(signature.campaign)
    if counted:
        comments.publish_reason(session, signature)
        # Ticking "send me updates" was consent; confirming proved the mailbox: no second email.
        subscribers.subscribe_signer(session, signature)
    return signature, bool(counted)


def _queue_confirmation(
    session: Session, campaign: Campaign, signature: Signature, language: str
) -> None:
    title = localize(campaign, language).text.title
    _queue_signer_email(
        session,
        campaign,
        signature,
        language,
        kind="signature_confirmation",
        template="confirm_signature",
        subject=_l("Please confirm your signature: %(title)s", title=title),
        confirm_url=external_url(
            "public.confirm", lang=language, slug=campaign.slug, token=confirmation_token(signature)
        ),
        max_age_days=max(1, current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 86400),
        # Only the mailbox gets this link, never the page after signing: whoever typed the
        # address may not own it.
        manage_url=privacy.manage_url(signature, language),
        manage_max_age_days=privacy.manage_max_age_days(),
    )


def _queue_already_signed(
    session: Session, campaign: Campaign, signature: Signature, language: str
) -> None:
    title = localize(campaign, language).text.title
    _queue_signer_email(
        session,
        campaign,
        signature,
        language,
        kind="signature_already_confirmed",
        template="already_signed",
        subject=_l("You have already signed: %(title)s", title=title),
        manage_url=privacy.manage_url(signature, language),
        manage_max_age_days=privacy.manage_max_age_days(),
    )


def _queue_signer_email(
    session: Session, campaign: Campaign, signature: Signature, language: str, **message
) -> None:
    queue_email(
        session,
        language=language,
        to_email=signature.email,
        to_name=signature.full_name,
        title=localize(campaign, language).text.title,
        petition_url=external_url("public.petition", lang=language, slug=campaign.slug),
        **message,
    )


__all__ = [
    "CampaignClosed",
    "EmailDomainBlocked",
    "InvalidEmail",
    "SignOutcome",
    "SignResult",
    "SignatureData",
    "confirm",
    "confirmation_token",
    "sign",
    "signature_for_token",
]
