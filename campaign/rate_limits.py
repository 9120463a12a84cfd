"""Rate limits keyed by who a request is about, not only where it comes from.

The per-IP limits (`@limiter.limit(...)` on each view) stop one connection from flooding a form.
They do nothing against a script spread over many addresses that signs, comments or subscribes
with one victim's email address again and again, mailing them a link each time. The limits here
count POSTs per mailbox (or per emailed link) instead, whatever address they come from.

Keys are keyed digests (HMAC with SECRET_KEY): the limiter's storage (Redis in production)
never holds an email address, nor a digest anyone could match against a list of addresses.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request

from campaign.extensions import limiter
from campaign.services.email_addresses import mailbox_key
from campaign.services.errors import InvalidEmail

# The form fields that name the person a request is about, in the order they are looked for.
EMAIL_FIELDS = ("email", "host_email")


def submitted_mailbox() -> str | None:
    """The digest of the mailbox named by the submitted form, or None if it names none."""
    for field in EMAIL_FIELDS:
        value = (request.form.get(field) or "").strip()
        if not value:
            continue
        try:
            key = mailbox_key(value)
        except InvalidEmail:
            # Not an address: the form will refuse it, but its attempts still count together.
            key = value.lower()
        return _digest(key)
    return None


def _digest(value: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:24]


def _mailbox_limit_key() -> str:
    return "mailbox:" + (submitted_mailbox() or "")


def _no_mailbox() -> bool:
    return submitted_mailbox() is None


def _token_limit_key() -> str:
    token = (request.view_args or {}).get("token", "")
    return "token:" + _digest(token)


def per_mailbox(config_key: str = "EMAIL_RATE_LIMIT"):
    """Limit POSTs that name the same mailbox, from any address; POSTs without one are left to
    the per-IP limit."""
    return limiter.limit(
        lambda: current_app.config[config_key],
        methods=["POST"],
        key_func=_mailbox_limit_key,
        exempt_when=_no_mailbox,
    )


def per_token(config_key: str = "TOKEN_RATE_LIMIT"):
    """Limit POSTs to one emailed link (its `<token>`), from any address."""
    return limiter.limit(
        lambda: current_app.config[config_key], methods=["POST"], key_func=_token_limit_key
    )
