"""A supporter's personal data in one campaign: find it, export it, erase it.

A person is whoever owns a mailbox: the address an organizer types is reduced to its mailbox key
(see `services.email_addresses.mailbox_key`), so "Jane.Doe+news@Gmail.com" finds the signature
of "janedoe@gmail.com". Everything here is scoped to one campaign: an owner can see and erase
what their campaign holds about someone, never what another campaign holds.

The audit log never receives the address or the name: exports and erasures are recorded with
`person_reference(key)`, a keyed hash that ties an export and a later erasure of the same
person together without the log becoming a list of supporters.

Extending: features that store more about a person (comments, subscriptions, RSVPs…) add their
own steps instead of changing these functions. Append a function to `EXPORTERS` that returns
the sections it adds to the export, and one to `ERASERS` that removes or anonymizes its rows
and returns what it counted, e.g. in `services/comments.py`::

    def _erase_comments(session: Session, person: Person) -> dict[str, int]:
        ...
        return {"comments": n}

    people.ERASERS.append(_erase_comments)

Every eraser runs inside the caller's transaction, before the audit entry is written, and its
counts end up in that entry; they must be idempotent (erasing twice finds nothing the second
time) and must never touch another campaign's data. A feature that can know someone who never
signed (a commenter, say) also widens `Person.is_found`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.models import Campaign, Organizer, OutboxMessage, OutboxStatus, Signature
from campaign.models.types import utcnow
from campaign.services import audit
from campaign.services.email_addresses import mailbox_key
from campaign.services.errors import (
    PersonNotFound,
)
from campaign.services.signature_counts import adjust_signature_count

# What an erased outbox row is addressed to: a reserved domain that can never receive mail.
ERASED_ADDRESS = "erased@invalid"
# Why a message that was still waiting will never be sent (shown to organizers, not translated,
# like every other delivery error).
ERASED_BEFORE_DELIVERY = "not sent: the recipient's data was erased"


@dataclass
class Person:
    """What one campaign holds about one mailbox, found by `find_person`."""

    campaign: Campaign
    key: str  # the mailbox key; never stored outside the rows it came from
    signatures: list[Signature] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    # Set by `FINDERS`: the campaign knows the person from something other than a signature.
    found_elsewhere: bool = False

    @property
    def is_found(self) -> bool:
        return bool(self.signatures) or self.found_elsewhere

    @property
    def reference(self) -> str:
        return person_reference(self.key)


@dataclass(frozen=True)
class PersonExport:
    """A person's data, ready for `json.dumps`, and their anonymous reference."""

    reference: str
    document: dict[str, Any]


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed: counts only, the same ones that go into the audit entry."""

    reference: str
    counts: dict[str, int]

    @property
    def signatures(self) -> int:
        return self.counts.get("signatures", 0)

    @property
    def confirmed_signatures(self) -> int:
        return self.counts.get("confirmed_signatures", 0)

    @property
    def emails(self) -> int:
        return self.counts.get("emails", 0)


Exporter = Callable[[Session, Person], dict[str, Any]]
Eraser = Callable[[Session, Person], dict[str, int]]


def person_reference(key: str) -> str:
    """A stable, anonymous reference to a mailbox key for the audit log.

    An HMAC keyed with SECRET_KEY, so the reference cannot be reversed by hashing a list of
    likely addresses without the key; 16 hex characters are plenty to tell people apart.
    """
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:16]


def find_person(
    session: Session, campaign: Campaign, email: str, *, for_update: bool = False
) -> Person:
    """What `campaign` holds about the mailbox behind `email` (possibly nothing).

    Raises InvalidEmail when `email` cannot be an address. With `for_update`, the signatures are
    locked (on PostgreSQL) so that a confirmation racing an erasure is seen or waits.
    """
    key = mailbox_key(email)
    query = (
        select(Signature)
        .where(Signature.campaign_id == campaign.id, Signature.email_key == key)
        .order_by(Signature.created_at, Signature.id)
    )
    if for_update:
        query = query.with_for_update()
    signatures = list(session.scalars(query))
    addresses = {s.email.lower() for s in signatures}
    found_elsewhere = False
    for finder in FINDERS:
        known_as = finder(session, campaign, key)
        found_elsewhere = found_elsewhere or bool(known_as)
        addresses |= {address.lower() for address in known_as}
    return Person(
        campaign=campaign,
        key=key,
        signatures=signatures,
        messages=_campaign_messages(session, campaign, addresses),
        found_elsewhere=found_elsewhere,
    )


def export_person(
    session: Session, campaign: Campaign, actor: Organizer | None, email: str
) -> PersonExport:
    """Everything `campaign` holds about the person behind `email`, as JSON-ready data.

    Records a "person.export" audit entry with the person's anonymous reference. Raises
    InvalidEmail, PersonNotFound.
    """
    person = find_person(session, campaign, email)
    if not person.is_found:
        raise PersonNotFound(campaign.slug)
    document: dict[str, Any] = {
        "campaign": campaign.slug,
        "exported_at": _iso(utcnow()),
    }
    for exporter in EXPORTERS:
        document.update(exporter(session, person))
    audit.record(
        session,
        actor,
        "person.export",
        campaign,
        person=person.reference,
        signatures=len(person.signatures),
        emails=len(person.messages),
    )
    return PersonExport(reference=person.reference, document=document)


def erase_person(
    session: Session,
    campaign: Campaign,
    actor: Organizer | None,
    email: str,
    *,
    action: str = "person.erase",
) -> ErasureReport:
    """Erase what `campaign` holds about the person behind `email`, and audit it anonymously.

    Runs every step in `ERASERS` inside the caller's transaction, then records `action`
    ("person.erase" by organizers; "signature.withdraw" when signers withdraw their own, see
    services.privacy) with the counts and the person's reference (never the address or the
    name). Erasing a person who is not (or no longer) there raises PersonNotFound and changes
    nothing, so a second erasure is harmless. Raises InvalidEmail, PersonNotFound.
    """
    begin_write(session)
    person = find_person(session, campaign, email, for_update=True)
    if not person.is_found:
        raise PersonNotFound(campaign.slug)
    counts: dict[str, int] = {}
    for eraser in ERASERS:
        counts.update(eraser(session, person))
    session.flush()
    audit.record(session, actor, action, campaign, person=person.reference, **counts)
    return ErasureReport(reference=person.reference, counts=counts)


# Exporters: each returns the sections it adds to a person's export.


def _export_signatures(session: Session, person: Person) -> dict[str, Any]:
    return {
        "signatures": [
            {
                "full_name": s.full_name,
                "email": s.email,
                "country": s.country,
                "city": s.city,
                "reason": s.reason,
                "language": s.language,
                "is_public": s.is_public,
                "has_update_consent": s.has_update_consent,
                "consent_wording": s.consent_wording.record if s.consent_wording else None,
                "signed_at": _iso(s.created_at),
                "confirmed_at": _iso(s.confirmed_at),
            }
            for s in person.signatures
        ]
    }


def _export_messages(session: Session, person: Person) -> dict[str, Any]:
    return {
        "emails": [
            {
                "kind": m.kind,
                "to_email": m.to_email,
                "to_name": m.to_name,
                "language": m.language,
                "subject": m.subject,
                "text_body": m.text_body,
                "html_body": m.html_body,
                "status": m.status.value,
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in person.messages
        ]
    }


EXPORTERS: list[Exporter] = [_export_signatures, _export_messages]

# Finders: each returns the addresses its rows in the campaign know the mailbox key by (empty
# when it holds nothing about the person); mail sent to those addresses is theirs too.
FINDERS: list[Callable[[Session, Campaign, str], set[str]]] = []


# Erasers: each removes or anonymizes its rows and returns what it counted.


def _erase_signatures(session: Session, person: Person) -> dict[str, int]:
    """Delete the person's signatures and take the confirmed ones off the public count."""
    confirmed = sum(1 for s in person.signatures if s.is_confirmed)
    # An invalidated signature was taken off the count already.
    counted = sum(1 for s in person.signatures if s.counts)
    for signature in person.signatures:
        session.delete(signature)
    session.flush()
    adjust_signature_count(session, person.campaign, -counted)
    return {"signatures": len(person.signatures), "confirmed_signatures": confirmed}


def _scrub_messages(session: Session, person: Person) -> dict[str, int]:
    """Empty the outbox rows sent to the person about this campaign; keep them for counting.

    A message still waiting for delivery is given up on, so nothing is ever sent to the
    placeholder address.
    """
    for message in person.messages:
        message.to_email = ERASED_ADDRESS
        message.to_name = ""
        message.subject = ""
        message.text_body = ""
        message.html_body = ""
        message.provider_message_id = ""
        if message.status == OutboxStatus.PENDING:
            message.status = OutboxStatus.FAILED
            message.last_error = ERASED_BEFORE_DELIVERY
        else:
            # A provider's error may quote the address.
            message.last_error = ""
    return {"emails": len(person.messages)}


ERASERS: list[Eraser] = [_erase_signatures, _scrub_messages]


def _campaign_messages(
    session: Session, campaign: Campaign, addresses: set[str]
) -> list[OutboxMessage]:
    """The outbox rows sent to these addresses (lowercased) about `campaign`.

    Signer emails go to the signature's address and link to the petition (`/<lang>/c/<slug>`),
    so a row belongs to this campaign when it links there. The outbox has no campaign column
    yet; when it gets one, this becomes a plain WHERE clause.
    """
    if not addresses:
        return []
    candidates = session.scalars(
        select(OutboxMessage)
        .where(func.lower(OutboxMessage.to_email).in_(addresses))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    link = re.compile(r"/[A-Za-z_-]+/c/" + re.escape(campaign.slug) + r"(?![\w-])")
    return [m for m in candidates if link.search(m.text_body) or link.search(m.html_body)]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


__all__ = [
    "ERASERS",
    "EXPORTERS",
    "FINDERS",
    "ErasureReport",
    "Person",
    "PersonExport",
    "PersonNotFound",
    "erase_person",
    "export_person",
    "find_person",
    "person_reference",
]
