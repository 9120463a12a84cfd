"""Privacy for signers: the consent wording they saw, and seeing or withdrawing a signature.

Consent: the sign form's boxes and the notice beside its button are stored in the words and
language the signer read, with which boxes they ticked, as a shared `ConsentWording` row.

Managing a signature needs no account: the confirmation email, and the email sent on request
from the "my signatures" form, carry a signed, single-purpose, expiring link per signature
(`manage_url`). The link shows what was signed and lets the signer withdraw it; withdrawing
erases everything the campaign holds about the mailbox, with the same steps organizers use
(`people.erase_person`), audited as "signature.withdraw" without a name or an address.

Asking for the links never says whether an address signed: the answer is the same, and the
work done is nearly the same (the email is rendered either way, only stored when it is due).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.mail.outbox import queue_email
from campaign.models import ConsentWording, Signature
from campaign.services import people
from campaign.services.campaigns import localize
from campaign.services.email_addresses import mailbox_digest, mailbox_key, normalize_email
from campaign.services.errors import InvalidToken, SignatureGone
from campaign.services.tokens import make_token, read_token
from campaign.urls import external_url

MANAGE_PURPOSE = "manage-signature"
WITHDRAW_ACTION = "signature.withdraw"
# When the privacy page last changed in substance; recorded with each signature's consent.
PRIVACY_VERSION = "2026-12-03"

# The sentence under the sign button, recorded with the consent (`SignForm.notice`).
SIGN_FORM_NOTICE = _l("We will email you a link to confirm. Your email address is never shown.")


@dataclass(frozen=True)
class ConsentChoice:
    """One box on a form as the person saw it, and whether they ticked it."""

    name: str
    label: str
    given: bool


@dataclass(frozen=True)
class ConsentShown:
    """What a form showed about consent, in the language it was shown in."""

    language: str
    choices: tuple[ConsentChoice, ...]
    notice: str = ""

    def record(self) -> dict[str, Any]:
        return {
            "choices": [{"name": c.name, "label": c.label, "given": c.given} for c in self.choices],
            "notice": self.notice,
            "privacy_version": PRIVACY_VERSION,
        }


def consent_wording_for(session: Session, shown: ConsentShown) -> ConsentWording:
    """The stored row for this wording and these ticks, added the first time anyone sees it."""
    record = shown.record()
    canonical = json.dumps(
        {"language": shown.language, "record": record},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    query = select(ConsentWording).where(ConsentWording.digest == digest)
    wording = session.scalar(query)
    if wording is not None:
        return wording
    wording = ConsentWording(digest=digest, language=shown.language, record=record)
    try:
        # The unique digest decides, so two first signers in a new language make one row.
        with session.begin_nested():
            session.add(wording)
            session.flush()
    except IntegrityError:
        wording = session.scalar(query)
        if wording is None:
            raise
    return wording


# --- the link to a signer's own page ---


def manage_token(signature: Signature) -> str:
    """The token in a "see or withdraw your signature" link, bound to this very signature."""
    return make_token(
        current_app.config["SECRET_KEY"],
        MANAGE_PURPOSE,
        {
            "s": signature.id,
            "c": signature.campaign_id,
            "k": mailbox_digest(signature.email_key),
            # Ids may be reused after a deletion (SQLite): the time tells signatures apart.
            "t": signature.created_at.isoformat(),
        },
    )


def manage_url(signature: Signature, language: str) -> str:
    """The signer's own page for `signature`, in `language`."""
    return external_url("public.my_signature", lang=language, token=manage_token(signature))


def manage_max_age_days() -> int:
    return max(1, current_app.config["SIGNATURE_MANAGE_TOKEN_MAX_AGE"] // 86400)


def signature_for_manage_token(session: Session, token: str) -> Signature:
    """The signature a manage link names.

    Raises TokenExpired, InvalidToken (tampered, or made for another purpose), or SignatureGone
    when the link is genuine but the signature was withdrawn or erased since.
    """
    payload = read_token(
        current_app.config["SECRET_KEY"],
        MANAGE_PURPOSE,
        token,
        current_app.config["SIGNATURE_MANAGE_TOKEN_MAX_AGE"],
    )
    try:
        signature_id, campaign_id, digest, created = (
            int(payload["s"]),
            int(payload["c"]),
            str(payload["k"]),
            str(payload["t"]),
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise InvalidToken("the link is not valid") from exc
    signature = session.get(Signature, signature_id)
    if (
        signature is None
        or signature.campaign_id != campaign_id
        or mailbox_digest(signature.email_key) != digest
        or signature.created_at.isoformat() != created
    ):
        raise SignatureGone("the signature is no longer there")
    return signature


# --- asking for the links ---


def request_links(session: Session, email: str, language: str) -> bool:
    """Email the mailbox behind `email` a link to each of its signatures, if it has any.

    The caller answers the same either way; the return value (whether an email was queued) is
    for tests and logs only. The email is in the language of the latest signature, the one the
    signer last chose; `language` (the page's) is used only when there is none. Raises
    InvalidEmail.
    """
    address = normalize_email(email)
    key = mailbox_key(address)
    signatures = list(
        session.scalars(
            select(Signature)
            .where(Signature.email_key == key)
            .order_by(Signature.created_at.desc(), Signature.id.desc())
        )
    )
    if not signatures:
        # Render what would have been sent, so both answers cost about the same time.
        _render_links_email(language, [], address)
        return False
    begin_write(session)
    latest = signatures[0]
    mail_language = latest.language
    items = [_link_item(signature, mail_language) for signature in signatures]
    queue_email(
        session,
        kind="signature_links",
        template="signature_links",
        language=mail_language,
        to_email=latest.email,
        to_name=latest.full_name,
        subject=_l("Your signatures: see or withdraw them"),
        signatures=items,
        request_url=external_url("public.my_signatures", lang=mail_language),
        max_age_days=manage_max_age_days(),
    )
    return True


def _link_item(signature: Signature, language: str) -> dict[str, Any]:
    return {
        "title": localize(signature.campaign, language).text.title,
        "url": manage_url(signature, language),
        "is_confirmed": signature.is_confirmed,
    }


def _render_links_email(language: str, items: list[dict[str, Any]], address: str) -> None:
    context = {
        "signatures": items,
        "request_url": external_url("public.my_signatures", lang=language),
        "max_age_days": manage_max_age_days(),
        "subject": "",
        "language": language,
        "to_name": "",
        "unsubscribe_url": None,
        "preferences_url": "",
    }
    with force_locale(language):
        render_template("mail/signature_links.txt", **context)
        render_template("mail/signature_links.html", **context)


# --- the signer's page and withdrawing ---


@dataclass(frozen=True)
class SignerView:
    """What a signer's own page shows about one signature."""

    signature: Signature
    title: str
    summary: str
    text_language: str
    choices: list[ConsentChoice]
    notice: str
    consent_language: str


def signer_view(signature: Signature, language: str) -> SignerView:
    """The signature as its signer sees it: the petition in `language` where it has it, and
    the consent in the words recorded (or, for older signatures, just the answers)."""
    localized = localize(signature.campaign, language)
    wording = signature.consent_wording
    if wording is not None:
        choices = [
            ConsentChoice(str(c.get("name", "")), str(c.get("label", "")), bool(c.get("given")))
            for c in wording.choices
        ]
        notice, consent_language = wording.notice, wording.language
    else:
        choices = []
        notice, consent_language = "", signature.language
    return SignerView(
        signature=signature,
        title=localized.text.title,
        summary=localized.text.summary,
        text_language=localized.text.language,
        choices=choices,
        notice=notice,
        consent_language=consent_language,
    )


def withdraw(session: Session, token: str) -> people.ErasureReport:
    """Withdraw the signature a manage link names: erase what its campaign holds about the
    signer (the signature, its reason, comments, subscription, RSVPs, emails), take it off the
    count if it counted, and audit it as withdrawn by the signer.

    Raises TokenExpired, InvalidToken, SignatureGone (withdrawn already: nothing changes).
    """
    begin_write(session)
    signature = signature_for_manage_token(session, token)
    try:
        return people.erase_person(
            session, signature.campaign, None, signature.email, action=WITHDRAW_ACTION
        )
    except people.PersonNotFound as exc:  # erased by a racing request
        raise SignatureGone("the signature is no longer there") from exc


__all__ = [
    "MANAGE_PURPOSE",
    "PRIVACY_VERSION",
    "SIGN_FORM_NOTICE",
    "WITHDRAW_ACTION",
    "ConsentChoice",
    "ConsentShown",
    "SignerView",
    "consent_wording_for",
    "manage_token",
    "manage_url",
    "request_links",
    "signature_for_manage_token",
    "signer_view",
    "withdraw",
]
