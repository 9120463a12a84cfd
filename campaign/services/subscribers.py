"""Subscribers: asking for a campaign's updates, confirming, choosing, unsubscribing.

Consent is recorded per campaign (`Subscription`): which form, the exact words shown next to
it, in which language, and when. A new mailbox confirms by email first (double opt-in); a
signer who ticked the update box on the sign form has already proved the mailbox by confirming
the signature, so `subscribe_signer` records the consent without a second email.

Links in emails: `unsubscribe_url` (one click, RFC 8058) and `preferences_url` carry signed,
single-purpose tokens that name a mailbox key (signed, not encrypted: readable by whoever holds
the email) and work for years, because people unsubscribe from old emails. Other features that
send bulk email (broadcasts, digests) build their links with these two functions and pass the
first to `queue_email(..., unsubscribe_url=...)`.

Unsubscribing also takes back the update consent of the person's signatures, so "consenting
signers" and "subscribers" stay one list as far as the person is concerned.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.mail.outbox import queue_email
from campaign.models import Campaign, Signature, Subscriber, Subscription
from campaign.models.types import utcnow
from campaign.services import people
from campaign.services.campaigns import localize
from campaign.services.email_addresses import mailbox_digest, mailbox_key, normalize_email
from campaign.services.errors import CampaignClosed, InvalidToken
from campaign.services.tokens import make_token, read_token
from campaign.urls import external_url

UNSUBSCRIBE_PURPOSE = "unsubscribe"
PREFERENCES_PURPOSE = "preferences"
CONFIRM_PURPOSE = "confirm-subscription"
# Unsubscribe and preference links must keep working in emails people find years later.
LINK_MAX_AGE = 10 * 365 * 24 * 3600

# Where consent was given (Subscription.source).
SOURCES = ("footer", "campaign", "signed", "sign_form", "preferences")

# The words on the sign form's update box (`SignForm.has_update_consent`); what a signer's
# subscription records as consent.
SIGN_FORM_CONSENT = _l("Send me updates about this campaign")

# Topics other than campaign updates may register how to unsubscribe from them, e.g.
# `TOPIC_UNSUBSCRIBERS["digest"] = turn_off_digest` with `(session, mailbox_key) -> None`;
# a link made by `unsubscribe_url(..., topic="digest")` then calls it.
TOPIC_UNSUBSCRIBERS: dict[str, Callable[[Session, str], None]] = {}


class SubscribeOutcome(enum.Enum):
    CONFIRMATION_SENT = "confirmation_sent"  # a new or unconfirmed mailbox: check your email
    SUBSCRIBED = "subscribed"  # a confirmed subscriber: recorded at once


@dataclass(frozen=True)
class SubscribeResult:
    subscriber: Subscriber
    subscription: Subscription
    outcome: SubscribeOutcome


@dataclass(frozen=True)
class UnsubscribeLink:
    """What an unsubscribe token names: a mailbox, a campaign (None: everything), a language."""

    key: str
    campaign_id: int | None
    language: str
    topic: str | None = None


@dataclass(frozen=True)
class CampaignChoice:
    campaign: Campaign
    title: str
    is_subscribed: bool


@dataclass(frozen=True)
class Preferences:
    """What the preference page shows for one mailbox."""

    key: str
    subscriber: Subscriber | None
    choices: list[CampaignChoice]

    @property
    def is_unsubscribed_from_all(self) -> bool:
        return self.subscriber is not None and self.subscriber.unsubscribed_at is not None


# --- links (used by every bulk email) ---


def unsubscribe_url(
    recipient: Subscriber | str,
    campaign: Campaign | int | None,
    language: str,
    *,
    topic: str | None = None,
) -> str:
    """The one-click unsubscribe link (`POST /u/<token>`, RFC 8058) for one recipient.

    `recipient` is a Subscriber, an email address or a mailbox key. With `campaign` (a Campaign
    or its id) the link unsubscribes from that campaign's updates, with None from all updates;
    with `topic` (registered in TOPIC_UNSUBSCRIBERS) from that topic instead. `language` is
    the language of the confirmation page a person sees when they open the link in a browser.
    Pass the result to `queue_email(..., unsubscribe_url=...)`.
    """
    payload: dict[str, Any] = {"k": _key_of(recipient), "c": _campaign_id(campaign), "l": language}
    if topic:
        payload["t"] = topic
    token = make_token(current_app.config["SECRET_KEY"], UNSUBSCRIBE_PURPOSE, payload)
    return external_url("public.unsubscribe", token=token)


def preferences_url(recipient: Subscriber | str, language: str) -> str:
    """The link to the recipient's preference page (`/<language>/preferences/<token>`):
    language, campaigns on and off, unsubscribe from one or all, no login.

    `recipient` is a Subscriber, an email address or a mailbox key.
    """
    token = make_token(
        current_app.config["SECRET_KEY"], PREFERENCES_PURPOSE, {"k": _key_of(recipient)}
    )
    return external_url("public.preferences", lang=language, token=token)


def read_unsubscribe_token(token: str) -> UnsubscribeLink:
    """What an unsubscribe link names. Raises InvalidToken (TokenExpired)."""
    payload = read_token(current_app.config["SECRET_KEY"], UNSUBSCRIBE_PURPOSE, token, LINK_MAX_AGE)
    try:
        return UnsubscribeLink(
            key=str(payload["k"]),
            campaign_id=int(payload["c"]) if payload["c"] is not None else None,
            language=str(payload["l"]),
            topic=payload.get("t"),
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise InvalidToken("the link is not valid") from exc


def read_preferences_token(token: str) -> str:
    """The mailbox key a preference link names. Raises InvalidToken (TokenExpired)."""
    payload = read_token(current_app.config["SECRET_KEY"], PREFERENCES_PURPOSE, token, LINK_MAX_AGE)
    try:
        return str(payload["k"])
    except (TypeError, KeyError) as exc:
        raise InvalidToken("the link is not valid") from exc


# --- subscribing ---


def consent_text(campaign: Campaign, language: str) -> str:
    """The consent wording shown next to every subscribe form of `campaign`, in `language`.

    Forms show exactly this string and `subscribe` is given exactly this string to store.
    """
    title = localize(campaign, language).text.title
    with force_locale(language):
        return str(
            _l(
                "Email me updates about “%(title)s”. I can unsubscribe at any time with the "
                "link in every email.",
                title=title,
            )
        )


def subscribe(
    session: Session,
    campaign: Campaign,
    email: str,
    language: str,
    source: str,
    consent_text: str,
) -> SubscribeResult:
    """Record consent to `campaign`'s updates; a mailbox not yet confirmed gets a confirmation
    email (double opt-in) and receives nothing until it confirms.

    A confirmed subscriber's new subscription counts at once; subscribing again after
    unsubscribing records the new consent. After "unsubscribe from everything" the mailbox
    must confirm again. Raises InvalidEmail, CampaignClosed (only open campaigns take
    subscribers).
    """
    begin_write(session)
    if not campaign.is_open:
        raise CampaignClosed(campaign.slug)
    if source not in SOURCES:
        raise ValueError(f"unknown consent source {source!r}")
    address = normalize_email(email)
    subscriber = _get_or_create_subscriber(session, address, language)
    if subscriber.confirmed_at is None:
        subscriber.language = language
    subscription = _record_consent(
        session, subscriber, campaign, source=source, text=consent_text, language=language
    )
    if subscriber.confirmed_at is not None and subscriber.unsubscribed_at is None:
        return SubscribeResult(subscriber, subscription, SubscribeOutcome.SUBSCRIBED)
    _queue_confirmation(session, campaign, subscriber, subscription, language)
    return SubscribeResult(subscriber, subscription, SubscribeOutcome.CONFIRMATION_SENT)


def confirmation_token(subscription: Subscription) -> str:
    """The token in a subscription's confirmation link, bound to this very consent."""
    return make_token(
        current_app.config["SECRET_KEY"],
        CONFIRM_PURPOSE,
        {
            "s": subscription.id,
            "k": mailbox_digest(subscription.subscriber.email_key),
            "t": subscription.consented_at.isoformat(),
        },
    )


def subscription_for_token(session: Session, token: str) -> Subscription:
    """The subscription a confirmation token names, if that consent still stands.

    Raises InvalidToken (also when the person unsubscribed or consented again since), or
    TokenExpired.
    """
    payload = read_token(
        current_app.config["SECRET_KEY"],
        CONFIRM_PURPOSE,
        token,
        current_app.config["CONFIRM_TOKEN_MAX_AGE"],
    )
    try:
        subscription_id, digest, consented = payload["s"], payload["k"], payload["t"]
    except (TypeError, KeyError) as exc:
        raise InvalidToken("the link is not valid") from exc
    subscription = session.get(Subscription, subscription_id)
    if (
        subscription is None
        or mailbox_digest(subscription.subscriber.email_key) != digest
        or subscription.consented_at.isoformat() != consented
        or subscription.unsubscribed_at is not None
    ):
        raise InvalidToken("the link names no subscription")
    return subscription


def confirm(session: Session, token: str) -> Subscription:
    """Confirm the mailbox behind a confirmation link; idempotent. Raises InvalidToken."""
    begin_write(session)
    subscription = subscription_for_token(session, token)
    subscriber = subscription.subscriber
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = utcnow()
    # Confirming after "unsubscribe from everything" turns updates back on: only the
    # subscriptions consented to since, since unsubscribing closed every other one.
    subscriber.unsubscribed_at = None
    session.flush()
    return subscription


def subscribe_signer(session: Session, signature: Signature) -> Subscription | None:
    """Subscribe a signer who ticked the update box, once their signature is confirmed.

    No second confirmation: confirming the signature proved the mailbox. The consent recorded
    is the sign form's wording in the signer's language, source "sign_form", at signing time.
    Returns None when the signature carries no consent.
    """
    if not signature.has_update_consent:
        return None
    subscriber = _get_or_create_subscriber(session, signature.email, signature.language)
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = utcnow()
        subscriber.language = signature.language
    subscriber.unsubscribed_at = None
    with force_locale(signature.language):
        text = str(SIGN_FORM_CONSENT)
    subscription = _record_consent(
        session,
        subscriber,
        signature.campaign,
        source="sign_form",
        text=text,
        language=signature.language,
        at=signature.created_at,
    )
    return subscription


# --- preferences and unsubscribing ---


def preferences(session: Session, key: str, language: str) -> Preferences:
    """The mailbox's subscriptions, for the preference page."""
    subscriber = _subscriber_by_key(session, key)
    choices = []
    if subscriber is not None:
        for subscription in sorted(subscriber.subscriptions, key=lambda s: s.id):
            campaign = subscription.campaign
            if not campaign.is_public:
                continue
            choices.append(
                CampaignChoice(
                    campaign=campaign,
                    title=localize(campaign, language).text.title,
                    is_subscribed=subscription.unsubscribed_at is None
                    and subscriber.unsubscribed_at is None,
                )
            )
    return Preferences(key=key, subscriber=subscriber, choices=choices)


def update_preferences(
    session: Session,
    key: str,
    *,
    language: str,
    campaign_ids: set[int],
    consent_text: str,
    consent_language: str,
) -> Subscriber | None:
    """Save the preference page: the language updates come in, and which of the mailbox's
    campaigns stay on. A campaign turned back on records the page's consent wording; turning
    any on lifts an earlier "unsubscribe from everything". Returns None for an unknown mailbox.
    """
    begin_write(session)
    subscriber = _subscriber_by_key(session, key)
    if subscriber is None:
        return None
    subscriber.language = language
    now = utcnow()
    for subscription in subscriber.subscriptions:
        wanted = subscription.campaign_id in campaign_ids
        active = subscription.unsubscribed_at is None and subscriber.unsubscribed_at is None
        if wanted and not active:
            subscription.unsubscribed_at = None
            subscription.source = "preferences"
            subscription.consent_text = consent_text
            subscription.consent_language = consent_language
            subscription.consented_at = now
        elif not wanted and subscription.unsubscribed_at is None:
            subscription.unsubscribed_at = now
            _withdraw_signature_consent(session, key, subscription.campaign_id)
    if campaign_ids & {s.campaign_id for s in subscriber.subscriptions}:
        subscriber.unsubscribed_at = None
    session.flush()
    return subscriber


def unsubscribe(session: Session, key: str, campaign_id: int) -> bool:
    """Stop one campaign's updates to a mailbox; returns whether anything changed (idempotent)."""
    begin_write(session)
    changed = _withdraw_signature_consent(session, key, campaign_id)
    subscriber = _subscriber_by_key(session, key)
    if subscriber is not None:
        for subscription in subscriber.subscriptions:
            if subscription.campaign_id == campaign_id and subscription.unsubscribed_at is None:
                subscription.unsubscribed_at = utcnow()
                changed = True
    session.flush()
    return changed


def unsubscribe_all(session: Session, key: str) -> bool:
    """Stop every update to a mailbox; returns whether anything changed (idempotent)."""
    begin_write(session)
    changed = _withdraw_signature_consent(session, key, None)
    subscriber = _subscriber_by_key(session, key)
    if subscriber is not None:
        now = utcnow()
        if subscriber.unsubscribed_at is None:
            subscriber.unsubscribed_at = now
            changed = True
        for subscription in subscriber.subscriptions:
            if subscription.unsubscribed_at is None:
                subscription.unsubscribed_at = now
                changed = True
    session.flush()
    return changed


def one_click_unsubscribe(session: Session, token: str) -> UnsubscribeLink:
    """Do what an unsubscribe link says (RFC 8058 one-click); repeating it changes nothing.

    Raises InvalidToken.
    """
    link = read_unsubscribe_token(token)
    if link.topic:
        handler = TOPIC_UNSUBSCRIBERS.get(link.topic)
        if handler is None:
            raise InvalidToken("the link names an unknown list")
        begin_write(session)
        handler(session, link.key)
    elif link.campaign_id is None:
        unsubscribe_all(session, link.key)
    else:
        unsubscribe(session, link.key, link.campaign_id)
    return link


def active_subscribers(session: Session, campaign: Campaign) -> list[Subscriber]:
    """Confirmed subscribers who currently want `campaign`'s updates."""
    return list(
        session.scalars(
            select(Subscriber)
            .join(Subscription)
            .where(
                Subscription.campaign_id == campaign.id,
                Subscription.unsubscribed_at.is_(None),
                Subscriber.confirmed_at.is_not(None),
                Subscriber.unsubscribed_at.is_(None),
            )
            .order_by(Subscriber.id)
        )
    )


# --- helpers ---


def _key_of(recipient: Subscriber | str) -> str:
    if isinstance(recipient, Subscriber):
        return recipient.email_key
    return mailbox_key(recipient)


def _campaign_id(campaign: Campaign | int | None) -> int | None:
    if campaign is None:
        return None
    return campaign if isinstance(campaign, int) else campaign.id


def _subscriber_by_key(session: Session, key: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.email_key == key))


def _get_or_create_subscriber(session: Session, address: str, language: str) -> Subscriber:
    key = mailbox_key(address)
    subscriber = _subscriber_by_key(session, key)
    if subscriber is not None:
        return subscriber
    subscriber = Subscriber(email=address, email_key=key, language=language)
    try:
        # The unique key decides, so two simultaneous subscriptions make one subscriber.
        with session.begin_nested():
            session.add(subscriber)
            session.flush()
    except IntegrityError:
        subscriber = _subscriber_by_key(session, key)
        if subscriber is None:
            raise
    return subscriber


def _record_consent(
    session: Session,
    subscriber: Subscriber,
    campaign: Campaign,
    *,
    source: str,
    text: str,
    language: str,
    at: datetime | None = None,
) -> Subscription:
    subscription = session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber.id, Subscription.campaign_id == campaign.id
        )
    )
    if subscription is None:
        subscription = Subscription(subscriber=subscriber, campaign=campaign)
        session.add(subscription)
    subscription.source = source
    subscription.consent_text = text
    subscription.consent_language = language
    subscription.consented_at = at or utcnow()
    subscription.unsubscribed_at = None
    session.flush()
    return subscription


def _withdraw_signature_consent(session: Session, key: str, campaign_id: int | None) -> bool:
    query = update(Signature).where(
        Signature.email_key == key, Signature.has_update_consent.is_(True)
    )
    if campaign_id is not None:
        query = query.where(Signature.campaign_id == campaign_id)
    result = session.execute(
        query.values(has_update_consent=False).execution_options(synchronize_session=False)
    )
    if result.rowcount:
        for signature in session.identity_map.values():
            if isinstance(signature, Signature) and signature.email_key == key:
                session.expire(signature, ["has_update_consent"])
    return bool(result.rowcount)


def _queue_confirmation(
    session: Session,
    campaign: Campaign,
    subscriber: Subscriber,
    subscription: Subscription,
    language: str,
) -> None:
    title = localize(campaign, language).text.title
    queue_email(
        session,
        kind="subscription_confirmation",
        template="confirm_subscription",
        language=language,
        to_email=subscriber.email,
        subject=_l("Please confirm: updates about %(title)s", title=title),
        title=title,
        confirm_url=external_url(
            "public.confirm_subscription",
            lang=language,
            token=confirmation_token(subscription),
        ),
        petition_url=external_url("public.petition", lang=language, slug=campaign.slug),
        max_age_days=max(1, current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 86400),
    )


# --- a person's data (see services.people) ---


def _campaign_subscriptions(session: Session, campaign: Campaign, key: str) -> list[Subscription]:
    return list(
        session.scalars(
            select(Subscription)
            .join(Subscriber)
            .where(Subscription.campaign_id == campaign.id, Subscriber.email_key == key)
        )
    )


def _find_subscriber(session: Session, campaign: Campaign, key: str) -> set[str]:
    return {s.subscriber.email for s in _campaign_subscriptions(session, campaign, key)}


def _export_subscriptions(session: Session, person: people.Person) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "subscriptions": [
            {
                "email": s.subscriber.email,
                "language": s.subscriber.language,
                "confirmed_at": iso(s.subscriber.confirmed_at),
                "source": s.source,
                "consent_text": s.consent_text,
                "consent_language": s.consent_language,
                "consented_at": iso(s.consented_at),
                "unsubscribed_at": iso(s.unsubscribed_at),
            }
            for s in _campaign_subscriptions(session, person.campaign, person.key)
        ]
    }


def _erase_subscriptions(session: Session, person: people.Person) -> dict[str, int]:
    """Delete the person's subscription to this campaign, and the subscriber when it was their
    last one. A suppression stays: it protects the mailbox and belongs to no campaign."""
    erased = 0
    for subscription in _campaign_subscriptions(session, person.campaign, person.key):
        subscriber = subscription.subscriber
        subscriber.subscriptions.remove(subscription)
        erased += 1
        if not subscriber.subscriptions:
            session.delete(subscriber)
    session.flush()
    return {"subscriptions": erased}


people.FINDERS.append(_find_subscriber)
people.EXPORTERS.append(_export_subscriptions)
people.ERASERS.append(_erase_subscriptions)


__all__ = [
    "LINK_MAX_AGE",
    "SIGN_FORM_CONSENT",
    "TOPIC_UNSUBSCRIBERS",
    "CampaignChoice",
    "Preferences",
    "SubscribeOutcome",
    "SubscribeResult",
    "UnsubscribeLink",
    "active_subscribers",
    "confirm",
    "confirmation_token",
    "consent_text",
    "one_click_unsubscribe",
    "preferences",
    "preferences_url",
    "read_preferences_token",
    "read_unsubscribe_token",
    "subscribe",
    "subscribe_signer",
    "subscription_for_token",
    "unsubscribe",
    "unsubscribe_all",
    "unsubscribe_url",
    "update_preferences",
]
