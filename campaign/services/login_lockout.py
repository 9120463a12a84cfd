"""Login lockout with backoff, per address, on top of the per-IP rate limit on the login form.

The per-IP limit stops one machine guessing quickly; this stops many machines guessing one
account's password. After `threshold` failures in a row the address is refused for
`base_seconds`, and each further failure after a lock ends doubles the next lock, up to
`max_seconds`. While locked, the password is not even checked, so guessing gains nothing.

Every address gets the same treatment whether an organizer has it or not (the row is keyed by a
digest of the address), so the lockout message reveals nothing about who has an account. When
a lock starts on a real account, the audit log records it. A successful login ends the streak;
so does a password reset by email, because whoever can read the organizer's mail could reset
the password anyway, and it is how a locked-out organizer gets back in at once.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.models import LoginThrottle, Organizer
from campaign.models.types import utcnow
from campaign.services import audit

# A streak of failures older than this is forgotten: the next failure starts a new one.
STREAK_MEMORY = timedelta(days=1)


@dataclass(frozen=True)
class LockoutRules:
    threshold: int = 5
    base_seconds: int = 60
    max_seconds: int = 3600

    @classmethod
    def from_config(cls, config) -> LockoutRules:
        return cls(
            threshold=config["LOGIN_LOCKOUT_THRESHOLD"],
            base_seconds=config["LOGIN_LOCKOUT_SECONDS"],
            max_seconds=config["LOGIN_LOCKOUT_MAX_SECONDS"],
        )

    def lock_seconds(self, failures: int) -> int:
        """How long `failures` failures in a row lock the address (0: not locked)."""
        if failures < self.threshold:
            return 0
        doublings = min(failures - self.threshold, 32)
        return min(self.base_seconds * 2**doublings, self.max_seconds)


def throttle_key(email: str) -> str:
    """The digest an address is throttled under: keyed with SECRET_KEY, so the table holds
    nothing that could be matched against a list of addresses."""
    secret = current_app.config["SECRET_KEY"].encode()
    address = (email or "").strip().lower()
    return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()


def locked_until(session: Session, email: str, now: datetime | None = None) -> datetime | None:
    """When the lock on this address ends, or None if it may try to log in now."""
    now = now or utcnow()
    throttle = session.get(LoginThrottle, throttle_key(email))
    if throttle is None or throttle.locked_until is None or throttle.locked_until <= now:
        return None
    return throttle.locked_until


def record_failure(
    session: Session,
    email: str,
    organizer: Organizer | None,
    rules: LockoutRules,
    now: datetime | None = None,
) -> datetime | None:
    """Count a failed login for this address; returns the end of the lock it starts, if any."""
    now = now or utcnow()
    key = throttle_key(email)
    throttle = session.get(LoginThrottle, key)
    if throttle is None:
        throttle = LoginThrottle(key=key, failures=0, last_failed_at=now)
        try:
            with session.begin_nested():
                session.add(throttle)
        except IntegrityError:
            # Another request for the same address made the row first: count on it.
            throttle = session.scalars(
                select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
            ).one()
    elif now - throttle.last_failed_at > STREAK_MEMORY:
        throttle.failures = 0
    throttle.failures += 1
    throttle.last_failed_at = now
    seconds = rules.lock_seconds(throttle.failures)
    if not seconds:
        throttle.locked_until = None
        session.flush()
        return None
    throttle.locked_until = now + timedelta(seconds=seconds)
    if organizer is not None:
        audit.record(
            session,
            organizer,
            "organizer.login_locked",
            failures=throttle.failures,
            seconds=seconds,
        )
    # Old streaks of addresses nobody tries any more are forgotten, so the table stays small.
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failed_at < now - STREAK_MEMORY))
    session.flush()
    return throttle.locked_until


def clear(session: Session, email: str) -> None:
    """End the streak of failures for this address (a success, or a password reset)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == throttle_key(email)))
