"""Webhooks from mail providers: `POST /webhooks/sendgrid`, SendGrid's signed Event Webhook.

Not a page and not the JSON API: no login, no CSRF token, no rate limit; the signature is the
authentication. SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256; the public
key (base64 DER, as SendGrid's settings show it) is SENDGRID_WEBHOOK_PUBLIC_KEY. Unsigned,
forged or stale (over 10 minutes) requests get 403; without a configured key, 503.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from flask import Blueprint, current_app, request

from campaign.database import begin_write
from campaign.extensions import csrf, db, limiter
from campaign.services import suppressions

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)
limiter.exempt(bp)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_AGE_SECONDS = 600


def verify_signature(
    public_key_b64: str, payload: bytes, signature_b64: str, timestamp: str
) -> bool:
    """Whether `signature_b64` is SendGrid's signature of `timestamp + payload`."""
    try:
        key = load_der_public_key(base64.b64decode(public_key_b64, validate=True))
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValueError, binascii.Error, TypeError):
        return False
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(signature, timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


@bp.route("/sendgrid", methods=["POST"])
def sendgrid_events():
    public_key = current_app.config.get("SENDGRID_WEBHOOK_PUBLIC_KEY")
    if not public_key:
        log.error(
            "SendGrid event webhook refused: SENDGRID_WEBHOOK_PUBLIC_KEY is not set, so the "
            "events cannot be verified (bounces and spam reports are not being recorded)"
        )
        return {"error": "webhook not configured"}, 503
    payload = request.get_data(cache=False)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        age = None
    if not signature or age is None or age > MAX_AGE_SECONDS:
        log.warning("SendGrid event webhook: missing signature or stale timestamp; refused")
        return {"error": "unsigned or stale"}, 403
    if not verify_signature(public_key, payload, signature, timestamp):
        log.warning("SendGrid event webhook: the signature does not verify; refused")
        return {"error": "bad signature"}, 403
    try:
        events = json.loads(payload)
    except ValueError:
        return {"error": "not JSON"}, 400
    if not isinstance(events, list):
        return {"error": "expected a list of events"}, 400
    begin_write(db.session)
    added = suppressions.record_sendgrid_events(db.session, events)
    db.session.commit()
    if added:
        log.info("SendGrid events: %s new suppression(s)", added)
    return {"received": len(events), "suppressed": added}, 200
