"""The email provider misbehaving, seen from a signer and from the outbox worker.

tests/test_mail_delivery.py covers each failure of one delivery round (a 5xx put back, a read
timeout failed, backoff). Here the whole path: a person signs while SendGrid is down, slow,
failing or throttling; signing stays quick (it never waits on the provider), the outbox keeps
the message, the worker retries later, and when SendGrid recovers each message arrives exactly
once, counted by what the stand-in received.

The rule for a request that timed out (SendGrid may have taken it after the client gave up):
the message is marked failed, never sent again (see campaign/mail/delivery.py). A lost message
is visible in the outbox and fixable (sign again); a duplicate is not.
"""

from __future__ import annotations

import time
from datetime import timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select, update

from campaign.mail.backends import backend_from_config, retry_after_seconds
from campaign.mail.delivery import MAX_BACKOFF, deliver_due
from campaign.models import OutboxMessage, OutboxStatus
from campaign.models.types import utcnow
from tests.factories import make_campaign
from tests.sendgrid_fake import FakeSendGrid

SIGNERS = [f"signer{n}@example.org" for n in range(3)]
# Seconds a signature may take on a busy test machine; far below any wait on the provider.
QUICK = 2.0


@pytest.fixture
def provider(app, sendgrid):
    """A stand-in of this test's own, which the test may stop and start again on its port."""
    server = FakeSendGrid(api_key=sendgrid.api_key).start()
    app.config["SENDGRID_API_HOST"] = server.url
    servers = [server]

    def restart() -> FakeSendGrid:
        again = FakeSendGrid(api_key=sendgrid.api_key, port=servers[-1].port).start()
        servers.append(again)
        return again

    server.restart = restart
    yield server
    for each in servers:
        try:
            each.stop()
        except OSError:
            pass


@pytest.fixture
def petition(db):
    campaign = make_campaign(slug="clean-air")
    db.session.commit()
    return campaign


def _sign(client, email: str) -> float:
    """Sign through the form; returns how long the request took (templates warmed up first, so
    that it measures the request, not the first compilation)."""
    client.get("/en/c/clean-air")
    started = time.monotonic()
    response = client.post(
        "/en/c/clean-air", data={"full_name": "Amira Haddad", "email": email, "country": "FR"}
    )
    assert response.status_code == 302, response.text[:500]
    return time.monotonic() - started


def _round(app, db) -> int:
    return deliver_due(db.session, backend_from_config(app.config), app.config)


def _outbox(db) -> list[OutboxMessage]:
    db.session.rollback()
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _time_passes(db) -> None:
    """Every pending message's next attempt is now due (as if its backoff had run out)."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def _received(server: FakeSendGrid) -> dict[str, int]:
    return {address: len(server.to(address)) for address in SIGNERS}


# --- down, failing, throttling: nothing lost, nothing twice -----------------------------------


def test_signing_while_sendgrid_is_down_is_quick_and_the_mail_follows_once(
    app, client, db, petition, provider
):
    app.config["MAIL_RETRY_BASE_SECONDS"] = 60
    provider.stop()

    for address in SIGNERS:
        assert _sign(client, address) < QUICK

    assert _round(app, db) == 0
    rows = _outbox(db)
    assert len(rows) == 3
    assert [row.status for row in rows] == [OutboxStatus.PENDING] * 3
    assert all(row.attempts == 1 and "could not reach SendGrid" in row.last_error for row in rows)
    # Backoff: a round right away does not try again.
    assert all(row.next_attempt_at - utcnow() > timedelta(seconds=50) for row in rows)
    assert _round(app, db) == 0
    assert all(row.attempts == 1 for row in _outbox(db))

    back = provider.restart()
    _time_passes(db)
    assert _round(app, db) == 3
    assert _round(app, db) == 0
    _time_passes(db)
    assert _round(app, db) == 0
    assert _received(back) == dict.fromkeys(SIGNERS, 1)
    assert back.requests == 3
    assert {row.status for row in _outbox(db)} == {OutboxStatus.SENT}


@pytest.mark.parametrize("status", [500, 503, 429])
def test_signing_while_sendgrid_fails_is_quick_and_the_mail_follows_once(
    app, client, db, petition, provider, status
):
    provider.fail_next(status, times=6)  # two whole rounds for three messages

    for address in SIGNERS:
        assert _sign(client, address) < QUICK
    assert provider.requests == 0  # signing never called SendGrid
    for _ in range(2):
        assert _round(app, db) == 0
        _time_passes(db)
    rows = _outbox(db)
    assert {row.status for row in rows} == {OutboxStatus.PENDING}
    assert {row.attempts for row in rows} == {2}
    assert all(str(status) in row.last_error for row in rows)

    assert _round(app, db) == 3
    _time_passes(db)
    assert _round(app, db) == 0
    assert _received(provider) == dict.fromkeys(SIGNERS, 1)
    assert provider.requests == 9


def test_a_429_retry_after_is_waited_for(app, client, db, petition, provider):
    provider.fail_next(429, headers={"Retry-After": "120"})
    _sign(client, SIGNERS[0])

    _round(app, db)
    [row] = _outbox(db)
    assert row.status == OutboxStatus.PENDING
    wait = row.next_attempt_at - utcnow()
    assert timedelta(seconds=110) < wait <= timedelta(seconds=120)
    assert _round(app, db) == 0  # not before SendGrid said
    assert provider.requests == 1

    _time_passes(db)
    assert _round(app, db) == 1
    assert _received(provider)[SIGNERS[0]] == 1


def test_a_503_retry_after_as_a_date_is_waited_for(app, client, db, petition, provider):
    when = utcnow() + timedelta(minutes=10)
    provider.fail_next(503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    _sign(client, SIGNERS[0])

    _round(app, db)
    [row] = _outbox(db)
    assert abs(row.next_attempt_at - when) < timedelta(seconds=5)


def test_retry_after_is_read_and_capped():
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("") is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert MAX_BACKOFF == timedelta(hours=6)


def test_an_absurd_retry_after_is_capped_at_the_longest_backoff(
    app, client, db, petition, provider
):
    provider.fail_next(429, headers={"Retry-After": str(10**9)})
    _sign(client, SIGNERS[0])
    _round(app, db)
    [row] = _outbox(db)
    assert row.next_attempt_at - utcnow() <= MAX_BACKOFF


# --- slow: a timeout is never retried ---------------------------------------------------------


def test_slow_sendgrid_that_took_the_message_after_the_timeout_sends_it_once(
    app, client, db, petition, provider
):
    """SendGrid answers only after SENDGRID_TIMEOUT, having accepted the message: the worker
    cannot know, so it marks the message failed and never sends it again."""
    app.config["SENDGRID_TIMEOUT"] = 0.3
    provider.delay_next(1.0)
    assert _sign(client, SIGNERS[0]) < QUICK
    assert provider.requests == 0

    started = time.monotonic()
    assert _round(app, db) == 0
    assert time.monotonic() - started < 0.9, "the worker waited past SENDGRID_TIMEOUT"
    [row] = _outbox(db)
    assert row.status == OutboxStatus.FAILED
    assert "may have taken the message" in row.last_error

    provider.wait_for(SIGNERS[0], timeout=5)
    for _ in range(3):
        _time_passes(db)
        _round(app, db)
    assert _received(provider)[SIGNERS[0]] == 1
    assert provider.requests == 1


def test_slow_sendgrid_that_then_refused_loses_the_message_visibly_not_twice(
    app, client, db, petition, provider
):
    """The other side of the same rule: a timeout may hide a refusal. The message is then
    lost, but visibly so (failed, with the reason), and the signer can sign again."""
    app.config["SENDGRID_TIMEOUT"] = 0.3
    provider.fail_next(500, delay=1.0)
    _sign(client, SIGNERS[0])

    _round(app, db)
    time.sleep(1.0)
    _time_passes(db)
    _round(app, db)
    [row] = _outbox(db)
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 1
    assert provider.sent == []
