"""Emailed links: every kind of token is signed, single-purpose and expiring.

A token of each kind is made by the code that puts it in emails, then opened at every link
endpoint: only its own accepts it; a tampered or expired one gets a clear page, never a 500.
Single use of password reset links: tests/test_admin_auth.py
(test_forgot_password_emails_a_link_that_sets_a_new_password) and test_login_lockout.py here.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from campaign.models import CommentStatus, Invitation, Role, Subscription
from campaign.services import comments, events, organizers, rsvps, signing, subscribers
from campaign.services.tokens import make_token
from tests.factories import (
    make_campaign,
    make_comment,
    make_event,
    make_organizer,
    make_rsvp,
    make_signature,
    make_subscriber,
)

ENDPOINTS = {
    "signature": "/en/c/{slug}/confirm/{token}",
    "comment": "/en/c/{slug}/comments/confirm/{token}",
    "rsvp-confirm": "/en/e/{event}/rsvp/confirm/{token}",
    "rsvp-manage": "/en/e/{event}/rsvp/{token}",
    "event-host": "/en/e/{event}/host/{token}",
    "proposal": "/en/events/proposals/confirm/{token}",
    "subscription": "/en/subscribe/confirm/{token}",
    "unsubscribe": "/u/{token}",
    "preferences": "/en/preferences/{token}",
    "reset-password": "/admin/reset-password/{token}",
    "invitation": "/admin/invitation/{token}",
}
ELEVEN_YEARS = 11 * 365 * 24 * 3600  # older than the longest max age (10 years)


def token_of(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[1]


def make_tokens(app, db) -> tuple[dict, dict]:
    campaign = make_campaign(slug="water")
    signature = make_signature(campaign)
    comment = make_comment(campaign, status=CommentStatus.UNCONFIRMED)
    event = make_event(campaign)
    rsvp = make_rsvp(event)
    subscriber = make_subscriber(campaign, "sub@example.org", confirmed=False)
    subscription = db.session.scalar(
        select(Subscription).where(Subscription.subscriber_id == subscriber.id)
    )
    organizer = make_organizer(email="ada@example.org")
    invitation = Invitation(campaign_id=campaign.id, email="new@example.org", role=Role.EDITOR)
    db.session.add(invitation)
    db.session.flush()
    secret = app.config["SECRET_KEY"]
    tokens = {
        "signature": signing.confirmation_token(signature),
        "comment": comments.confirmation_token(comment),
        "rsvp-confirm": rsvps.rsvp_token(rsvp, rsvps.CONFIRM_PURPOSE),
        "rsvp-manage": rsvps.rsvp_token(rsvp, rsvps.MANAGE_PURPOSE),
        "event-host": events.host_token(event),
        "proposal": make_token(secret, events.PROPOSAL_PURPOSE, {"e": event.id, "k": "x"}),
        "subscription": subscribers.confirmation_token(subscription),
        "unsubscribe": token_of(subscribers.unsubscribe_url(subscriber, campaign, "en")),
        "preferences": token_of(subscribers.preferences_url(subscriber, "en")),
        "reset-password": make_token(
            secret,
            organizers.RESET_PURPOSE,
            {"o": organizer.id, "f": organizers._password_fingerprint(organizer)},
        ),
        "invitation": make_token(secret, organizers.INVITE_PURPOSE, {"i": invitation.id}),
    }
    db.session.commit()
    return tokens, {"slug": campaign.slug, "event": event.id}


@pytest.fixture
def links(app, db):
    return make_tokens(app, db)


def url(kind: str, objects: dict, token: str) -> str:
    return ENDPOINTS[kind].format(token=token, **objects)


def refused(response) -> bool:
    return response.status_code in (404, 410) and "<html" in response.text


def test_every_kind_of_link_works_where_it_belongs(client, links):
    tokens, objects = links
    for kind, token in tokens.items():
        if kind in ("proposal", "event-host"):
            continue  # the factory's event was not proposed and has no host: refusal is right
        response = client.get(url(kind, objects, token))
        # 302: an RSVP already confirmed goes on to its management page.
        assert response.status_code in (200, 302), kind


def test_a_token_is_refused_by_every_other_endpoint(client, links):
    tokens, objects = links
    accepted = []
    for kind, token in tokens.items():
        for endpoint in ENDPOINTS:
            if endpoint == kind:
                continue
            response = client.get(url(endpoint, objects, token))
            if not refused(response):
                accepted.append(f"{kind} token at {endpoint}: {response.status_code}")
    assert not accepted, "\n".join(accepted)


@pytest.mark.parametrize("kind", list(ENDPOINTS))
def test_a_tampered_token_is_refused(client, links, kind):
    tokens, objects = links
    token = tokens[kind]
    payload, _, signature = token.rpartition(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (f"{payload}.{flipped}", "x" + token[1:], token[:-6], "garbage"):
        assert refused(client.get(url(kind, objects, forged))), forged
        if kind != "unsubscribe":
            assert refused(client.post(url(kind, objects, forged))), forged


@pytest.mark.parametrize("kind", list(ENDPOINTS))
def test_an_expired_token_gets_a_clear_page(app, db, client, monkeypatch, kind):
    old = int(time.time()) - ELEVEN_YEARS
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: old)
    tokens, objects = make_tokens(app, db)
    monkeypatch.undo()
    response = client.get(url(kind, objects, tokens[kind]))
    assert refused(response), response.status_code
    assert 'lang="en"' in response.text
