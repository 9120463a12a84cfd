"""Who a reader is, as far as the discussion needs to know, kept in their session.

A random reader id tells supporters and flaggers apart without an account; the digests of the
mailboxes this browser proved (by following a confirmation link) let a confirmed signer comment
without confirming again.
"""

from __future__ import annotations

import secrets
import time

from flask import current_app, g, request, session
from itsdangerous import BadSignature, URLSafeSerializer

from campaign.public import page_cache
from campaign.public.forms import CommentForm
from campaign.services import comments as comment_service
from campaign.services.email_addresses import mailbox_digest

KNOWN_MAILBOXES = "known_mailboxes"
READER = "reader"
# Where the reader said they are (signing, or searching for rallies): for the nearest rally.
PLACE = "place"
# A browser remembers this many proved mailboxes (a shared family computer, say).
KNOWN_MAILBOXES_KEPT = 10


def remember_mailbox(email_key: str) -> None:
    """This browser followed a confirmation link for `email_key`: trust it for comments."""
    digest = mailbox_digest(email_key)
    known = [d for d in session.get(KNOWN_MAILBOXES, []) if d != digest]
    session[KNOWN_MAILBOXES] = [digest, *known][:KNOWN_MAILBOXES_KEPT]


def known_mailboxes() -> list[str]:
    """The digests of the mailboxes this browser has proved."""
    return list(session.get(KNOWN_MAILBOXES, []))


def remember_place(city: str, country: str) -> None:
    """Keep the city and country the reader gave, to offer rallies near them later."""
    session[PLACE] = {"city": " ".join(city.split())[:120], "country": country.strip().upper()[:2]}


def place() -> tuple[str, str]:
    """The (city, country) the reader last gave, or empty strings."""
    remembered = session.get(PLACE)
    if not isinstance(remembered, dict):
        return "", ""
    return str(remembered.get("city", "")), str(remembered.get("country", ""))


def reader(create: bool = False) -> str:
    """This reader's anonymous reference; "" if they never supported or flagged anything."""
    reader_id = session.get(READER)
    if reader_id is None:
        if not create:
            return ""
        reader_id = session[READER] = secrets.token_urlsafe(16)
    return comment_service.reader_reference(reader_id)


def comment_rules() -> comment_service.CommentRules:
    return comment_service.CommentRules.from_config(current_app.config)


def _clock() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="comment-form-started")


def clock_stamp() -> str:
    """The signed time this request shows a comment form: one per request, so that a cached
    page can swap it for a newer one (see page_cache)."""
    if "comment_clock" not in g:
        g.comment_clock = _clock().dumps(time.time())
    return g.comment_clock


page_cache.register_fresh("comment-clock", clock_stamp)


def restart_clock(form: CommentForm) -> CommentForm:
    """Stamp the form with the time it is shown, signed so that it cannot be made up."""
    form.started.data = clock_stamp()
    return form


def is_known() -> bool:
    """Whether this browser has supported, flagged or proved a mailbox: its page is its own."""
    return bool(session.get(READER) or session.get(KNOWN_MAILBOXES))


def comment_form() -> CommentForm:
    """A comment form with the configured length limit; stamped when it is being shown."""
    # Prefixed: the petition page holds the sign form too, and ids must stay unique.
    form = CommentForm(prefix="comment")
    form.limit(current_app.config["COMMENT_MAX_LENGTH"])
    if request.method != "POST":
        restart_clock(form)
    return form


def seconds_since_shown(stamp: str | None) -> float | None:
    """Seconds since a form carrying `stamp` (from `clock_stamp`) was shown; None when the
    stamp is missing or was tampered with."""
    try:
        started = float(_clock().loads(stamp or ""))
    except (BadSignature, TypeError, ValueError):
        return None
    return time.time() - started


def too_quick() -> bool:
    """Whether the form came back sooner than a person could have written anything."""
    seconds = seconds_since_shown(request.form.get("comment-started", ""))
    return seconds is None or seconds < current_app.config["COMMENT_MIN_SECONDS"]
