"""Login lockout with backoff (services/login_lockout.py), and sessions that end when the
password changes.

Through the real login form: after LOGIN_LOCKOUT_THRESHOLD failures in a row an address is
refused for a while, each further failure doubles the wait up to a cap, the page says plainly
until when, and an address without an account is treated exactly the same.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from campaign.mail.backends import backend_from_config
from campaign.mail.delivery import deliver_due
from campaign.models import AuditEntry, LoginThrottle
from campaign.models.types import utcnow
from campaign.services import login_lockout
from campaign.services.login_lockout import LockoutRules
from tests import conftest
from tests.factories import DEFAULT_PASSWORD, login, make_organizer
from tests.test_public import text as visible_text

THRESHOLD = 3
BASE = 60
CAP = 240
LOCKED = "Too many failed attempts"
NO_MATCH = "That email and password do not match an account."


@pytest.fixture
def app_config(database_url, sendgrid):
    return conftest.test_config(
        database_url,
        sendgrid,
        LOGIN_LOCKOUT_THRESHOLD=THRESHOLD,
        LOGIN_LOCKOUT_SECONDS=BASE,
        LOGIN_LOCKOUT_MAX_SECONDS=CAP,
    )


class Clock:
    """The lockout's idea of now, moved forward by the test instead of by waiting."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("campaign.services.login_lockout.utcnow", clock)
    monkeypatch.setattr("campaign.admin.auth.utcnow", clock)
    return clock


@pytest.fixture
def ada(db):
    organizer = make_organizer(email="ada@example.org", name="Ada")
    db.session.commit()
    return organizer


def attempt(client, email: str, password: str = "wrong password"):  # noqa: S107
    return client.post("/admin/login", data={"email": email, "password": password})


def fail(client, email: str, times: int) -> None:
    for _ in range(times):
        assert attempt(client, email).status_code == 422


def is_logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_the_backoff_doubles_up_to_the_cap():
    rules = LockoutRules(threshold=3, base_seconds=60, max_seconds=240)
    assert [rules.lock_seconds(n) for n in range(1, 8)] == [0, 0, 60, 120, 240, 240, 240]
    # A streak long enough to overflow a naive 2**n is still capped.
    assert rules.lock_seconds(10_000) == 240


def test_failures_lock_the_account_and_the_page_says_until_when(client, db, ada, clock):
    fail(client, ada.email, THRESHOLD - 1)
    response = attempt(client, ada.email)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(BASE)
    page = visible_text(response.text)
    assert LOCKED in page
    assert "paused for 1 minute" in page
    assert "reset your password by email" in page
    # The form is still there, and so is the way out.
    assert 'name="password"' in response.text
    assert "/admin/forgot-password" in response.text

    # While locked, even the right password is refused: guessing gains nothing.
    response = login(client, ada)
    assert response.status_code == 429
    assert not is_logged_in(client)

    clock.advance(BASE + 1)
    assert login(client, ada).status_code == 302
    assert is_logged_in(client)


def test_each_failure_after_a_lock_doubles_the_next_one(client, db, ada, clock):
    fail(client, ada.email, THRESHOLD - 1)
    waits = []
    for _ in range(4):
        response = attempt(client, ada.email)
        assert response.status_code == 429
        waits.append(int(response.headers["Retry-After"]))
        clock.advance(waits[-1] + 1)
    assert waits == [BASE, 2 * BASE, 4 * BASE, CAP]


def test_attempts_during_a_lock_do_not_extend_it(client, db, ada, clock):
    fail(client, ada.email, THRESHOLD - 1)
    assert attempt(client, ada.email).status_code == 429
    clock.advance(BASE / 2)
    for _ in range(5):
        assert int(attempt(client, ada.email).headers["Retry-After"]) <= BASE / 2 + 1
    clock.advance(BASE / 2 + 1)
    assert login(client, ada).status_code == 302


def test_a_successful_login_ends_the_streak(client, db, ada, clock):
    fail(client, ada.email, THRESHOLD - 1)
    assert login(client, ada).status_code == 302
    client.post("/admin/logout")
    # A fresh streak: the next failure is an ordinary one, not a lock.
    fail(client, ada.email, THRESHOLD - 1)
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 1


def test_an_old_streak_is_forgotten(client, db, ada, clock):
    fail(client, ada.email, THRESHOLD - 1)
    clock.advance(login_lockout.STREAK_MEMORY.total_seconds() + 1)
    assert attempt(client, ada.email).status_code == 422


def test_an_unknown_address_locks_the_same_way(client, db, ada, clock):
    """Same statuses, same message, same wait: the lockout says nothing about accounts."""

    def story(email: str) -> list[tuple[int, str]]:
        seen = []
        for _ in range(THRESHOLD + 1):
            response = attempt(client, email)
            page = visible_text(response.text)
            message = LOCKED if LOCKED in page else NO_MATCH if NO_MATCH in page else page
            seen.append((response.status_code, message, response.headers.get("Retry-After")))
        return seen

    known = story(ada.email)
    unknown = story("nobody@example.org")
    assert known == unknown
    assert known[-1][:2] == (429, LOCKED)


def test_a_lock_on_a_real_account_is_audited(client, db, ada, clock):
    fail(client, ada.email, THRESHOLD - 1)
    attempt(client, ada.email)
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "organizer.login_locked")
    ).one()
    assert entry.actor_id == ada.id
    assert entry.details == {"failures": THRESHOLD, "seconds": BASE}

    # Unknown addresses leave nothing in the audit log (there is no account to attach it to).
    fail(client, "nobody@example.org", THRESHOLD - 1)
    attempt(client, "nobody@example.org")
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_the_throttle_table_holds_no_address(client, db, ada, clock):
    fail(client, ada.email, 1)
    (row,) = db.session.scalars(select(LoginThrottle)).all()
    assert "ada" not in row.key
    assert row.key == login_lockout.throttle_key(ada.email)
    # Keyed with SECRET_KEY: a plain hash of the address does not find it.
    import hashlib

    assert row.key != hashlib.sha256(ada.email.encode()).hexdigest()


def test_the_address_is_matched_whatever_its_case(client, db, ada, clock):
    fail(client, "ADA@example.org", THRESHOLD - 1)
    assert attempt(client, "Ada@Example.org").status_code == 429


def reset_link(app, db, client, mail, email: str) -> str:
    assert client.post("/admin/forgot-password", data={"email": email}).status_code == 302
    db.session.commit()
    deliver_due(db.session, backend_from_config(app.config), app.config)
    (message,) = mail.to(email)
    (link,) = [url for url in message.links() if "/admin/reset-password/" in url]
    return urlsplit(link).path


def test_a_password_reset_by_email_ends_the_lock(app, client, db, mail, ada, clock):
    fail(client, ada.email, THRESHOLD - 1)
    assert attempt(client, ada.email).status_code == 429
    # Asking for a reset link still works while locked.
    path = reset_link(app, db, client, mail, ada.email)
    new = "a brand new passphrase"
    response = client.post(path, data={"password": new, "confirm": new})
    assert response.status_code == 302
    client.post("/admin/logout")
    assert login(client, ada, new).status_code == 302


# --- other sessions end when the password changes --------------------------------------------


def test_a_reset_by_email_logs_out_every_other_session(app, client, db, mail, ada):
    laptop = app.test_client()
    assert login(laptop, ada).status_code == 302
    assert is_logged_in(laptop)

    path = reset_link(app, db, client, mail, ada.email)
    new = "a brand new passphrase"
    assert client.post(path, data={"password": new, "confirm": new}).status_code == 302
    assert is_logged_in(client)  # the reset logs in the device that made it
    assert not is_logged_in(laptop)
    # The reset link died with the old password.
    assert client.get(path).status_code == 404


def test_a_stolen_session_cookie_dies_with_the_password(app, client, db, ada):
    """The cookie of a session logged in before the change is useless afterwards, even
    replayed on a client that never logged out."""
    assert login(client, ada).status_code == 302
    cookie = client.get_cookie("session").value
    other = app.test_client()
    other.set_cookie("session", cookie)
    assert is_logged_in(other)

    new = "a brand new passphrase"
    response = client.post(
        "/admin/account",
        data={
            "pw-current": DEFAULT_PASSWORD,
            "pw-password": new,
            "pw-confirm": new,
            "pw-submit": "Change password",
        },
    )
    assert response.status_code == 302
    assert is_logged_in(client)
    other.set_cookie("session", cookie)
    assert not is_logged_in(other)


def test_the_login_form_checks_the_password_for_unknown_addresses_too(app, db, monkeypatch):
    """Equal work for known and unknown addresses: one password hash check either way."""
    from campaign.services import organizers

    checks = []
    real = organizers.check_password_hash
    monkeypatch.setattr(
        organizers, "check_password_hash", lambda h, p: checks.append(h) or real(h, p)
    )
    with pytest.raises(organizers.InvalidCredentials):
        organizers.authenticate(db.session, "nobody@example.org", "a password")
    assert len(checks) == 1
    assert re.match(r"pbkdf2:sha256:1000\$", checks[0])
