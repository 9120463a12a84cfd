"""SendGrid's signed Event Webhook (`POST /webhooks/sendgrid`, campaign/webhooks).

Each test makes a real P-256 key pair, configures its public half the way SendGrid shows it
(base64 DER) and signs real payloads with the private half, as SendGrid does.
"""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from campaign.models import Suppression
from tests.conftest import test_config as config_for

URL = "/webhooks/sendgrid"
PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY_B64 = base64.b64encode(
    PRIVATE_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


@pytest.fixture
def app_config(database_url, sendgrid):
    return config_for(database_url, sendgrid, SENDGRID_WEBHOOK_PUBLIC_KEY=PUBLIC_KEY_B64)


def _sign(body: bytes, timestamp: str, key=PRIVATE_KEY) -> str:
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode()


def _post(client, events, *, timestamp: str | None = None, key=PRIVATE_KEY, signature=None):
    body = json.dumps(events).encode() if not isinstance(events, bytes) else events
    timestamp = timestamp or str(int(time.time()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "X-Twilio-Email-Event-Webhook-Signature": signature or _sign(body, timestamp, key),
    }
    return client.post(URL, data=body, headers=headers, content_type="application/json")


def _suppressed(db) -> dict[str, str]:
    db.session.expire_all()
    return {s.email_key: s.reason for s in db.session.scalars(select(Suppression))}


def _event(email: str, event: str, **fields) -> dict:
    return {"email": email, "event": event, "timestamp": int(time.time()), **fields}


def test_suppressing_events_become_suppressions(client, db):
    events = [
        _event("Bounced@Example.org", "bounce", type="bounce", reason="550 no such user"),
        _event("dropped@example.org", "dropped", reason="Bounced Address"),
        _event("spam@example.org", "spamreport"),
        _event("unsub@example.org", "unsubscribe"),
        _event("group@example.org", "group_unsubscribe", asm_group_id=1),
        _event("blocked@example.org", "bounce", type="blocked"),
    ]
    response = _post(client, events)
    assert response.status_code == 200
    assert response.json == {"received": 6, "suppressed": 6}
    assert _suppressed(db) == {
        "bounced@example.org": "bounce",
        "dropped@example.org": "dropped",
        "spam@example.org": "spamreport",
        "unsub@example.org": "unsubscribe",
        "group@example.org": "group_unsubscribe",
        "blocked@example.org": "blocked",
    }


def test_other_events_are_ignored(client, db):
    events = [
        _event("a@example.org", "delivered"),
        _event("b@example.org", "open"),
        _event("c@example.org", "click", url="http://x"),
        _event("d@example.org", "deferred"),
        _event("e@example.org", "something_new"),
        {"event": "bounce"},  # no address
        _event("not an address", "bounce"),
        "not an object",
    ]
    response = _post(client, events)
    assert response.status_code == 200
    assert _suppressed(db) == {}


def test_the_same_event_twice_is_one_suppression(client, db):
    events = [_event("jane.doe@gmail.com", "bounce"), _event("janedoe+x@gmail.com", "spamreport")]
    assert _post(client, events).json["suppressed"] == 1
    assert _post(client, events).json["suppressed"] == 0
    assert _suppressed(db) == {"janedoe@gmail.com": "bounce"}


def test_unsigned_request_is_refused(client, db):
    body = json.dumps([_event("a@example.org", "bounce")])
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 403
    assert _suppressed(db) == {}


def test_forged_signature_is_refused(client, db):
    other_key = ec.generate_private_key(ec.SECP256R1())
    response = _post(client, [_event("a@example.org", "bounce")], key=other_key)
    assert response.status_code == 403
    assert _suppressed(db) == {}


def test_a_body_changed_after_signing_is_refused(client, db):
    timestamp = str(int(time.time()))
    signature = _sign(json.dumps([_event("a@example.org", "delivered")]).encode(), timestamp)
    tampered = json.dumps([_event("victim@example.org", "bounce")]).encode()
    response = _post(client, tampered, timestamp=timestamp, signature=signature)
    assert response.status_code == 403
    assert _suppressed(db) == {}


def test_garbage_signature_is_refused(client, db):
    response = _post(client, [_event("a@example.org", "bounce")], signature="not base64!!")
    assert response.status_code == 403


@pytest.mark.parametrize("seconds", [11 * 60, -11 * 60])
def test_stale_or_future_timestamp_is_refused_even_when_signed(client, db, seconds):
    timestamp = str(int(time.time()) - seconds)
    response = _post(client, [_event("a@example.org", "bounce")], timestamp=timestamp)
    assert response.status_code == 403
    assert _suppressed(db) == {}


def test_recent_timestamp_is_accepted(client, db):
    timestamp = str(int(time.time()) - 9 * 60)
    assert (
        _post(client, [_event("a@example.org", "bounce")], timestamp=timestamp).status_code == 200
    )


def test_signed_non_json_is_a_bad_request(client, db):
    assert _post(client, b"not json").status_code == 400
    assert _post(client, {"event": "bounce"}).status_code == 400


def test_the_webhook_needs_no_csrf_token(database_url, sendgrid, mail):
    from campaign import create_app

    app = create_app(
        config_for(
            database_url,
            sendgrid,
            WTF_CSRF_ENABLED=True,
            SENDGRID_WEBHOOK_PUBLIC_KEY=PUBLIC_KEY_B64,
        )
    )
    with app.app_context():
        assert (
            _post(app.test_client(), [_event("delivered@example.org", "open")]).status_code == 200
        )


class TestWithoutAKey:
    @pytest.fixture
    def app_config(self, database_url, sendgrid):
        return config_for(database_url, sendgrid, SENDGRID_WEBHOOK_PUBLIC_KEY=None)

    def test_answers_503_and_says_why_in_the_log(self, client, db, caplog):
        with caplog.at_level(logging.ERROR):
            response = _post(client, [_event("a@example.org", "bounce")])
        assert response.status_code == 503
        assert "SENDGRID_WEBHOOK_PUBLIC_KEY is not set" in caplog.text
        assert _suppressed(db) == {}
