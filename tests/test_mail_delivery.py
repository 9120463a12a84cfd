"""Delivering the outbox (campaign/mail/delivery.py) through the backends (mail/backends.py).

Mail goes through the real `sendgrid` SDK to the fake SendGrid server over HTTP. Every test here
runs on SQLite and on PostgreSQL (the `app` fixture is parametrized).
"""

from __future__ import annotations

import io
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from campaign.mail.backends import (
    ConsoleBackend,
    SendGridBackend,
    backend_from_config,
)
from campaign.mail.delivery import MAX_BACKOFF, deliver_due, deliver_message, retry_delay
from campaign.models import OutboxMessage, OutboxStatus
from campaign.models.types import utcnow

# --- helpers ----------------------------------------------------------------------------------


def _message(db, n: int = 1, **fields) -> OutboxMessage:
    """An outbox row written directly and committed (queue_email is tested in test_mail_outbox)."""
    fields.setdefault("kind", "test")
    fields.setdefault("to_email", f"reader{n}@example.org")
    fields.setdefault("to_name", f"Reader {n}")
    fields.setdefault("language", "en")
    fields.setdefault("subject", f"Subject {n}")
    fields.setdefault("text_body", f"Text body {n}\nhttp://campaign.test/en/c/x/confirm/{n}")
    fields.setdefault("html_body", f"<p>HTML body {n}</p>")
    message = OutboxMessage(**fields)
    db.session.add(message)
    db.session.commit()
    return message


def _row(db, message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def _deliver(app, db) -> int:
    """One round of the worker, with the backend the app is configured for."""
    return deliver_due(db.session, backend_from_config(app.config), app.config)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- sending ----------------------------------------------------------------------------------


def test_deliver_due_sends_the_message_to_sendgrid(app, db, mail):
    message = _message(db)

    assert _deliver(app, db) == 1

    assert len(mail.sent) == 1
    sent = mail.sent[0]
    assert sent.to == "reader1@example.org"
    assert sent.to_name == "Reader 1"
    assert sent.subject == "Subject 1"
    assert sent.text == "Text body 1\nhttp://campaign.test/en/c/x/confirm/1"
    assert sent.html == "<p>HTML body 1</p>"
    assert sent.custom_args == {"outbox_id": str(message.id)}


def test_message_is_sent_from_mail_from(app, db, mail):
    app.config["MAIL_FROM"] = "Save the Park <hello@park.example>"
    _message(db)
    _deliver(app, db)
    assert mail.sent[0].payload["from"] == {"email": "hello@park.example", "name": "Save the Park"}


def test_sent_message_is_marked_sent_with_the_provider_id(app, db, mail):
    message = _message(db)
    before = utcnow()

    _deliver(app, db)

    row = _row(db, message.id)
    assert row.status == OutboxStatus.SENT
    assert before <= row.sent_at <= utcnow()
    assert row.attempts == 1
    assert row.last_error == ""
    assert row.provider_message_id == mail.sent[0].message_id
    assert row.provider_message_id != ""


def test_only_due_messages_are_sent(app, db, mail):
    _message(db, 1)
    _message(db, 2, next_attempt_at=utcnow() + timedelta(minutes=5))

    assert _deliver(app, db) == 1
    assert [sent.to for sent in mail.sent] == ["reader1@example.org"]


# --- failures that are worth retrying ---------------------------------------------------------


@pytest.mark.parametrize("status", [500, 429, 503])
def test_server_error_puts_message_back_to_pending(app, db, mail, status):
    message = _message(db)
    mail.fail_next(status)

    assert _deliver(app, db) == 0

    row = _row(db, message.id)
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert str(status) in row.last_error
    assert row.sent_at is None
    assert mail.sent == []


@pytest.mark.parametrize("status", [500, 429, 503])
def test_message_that_failed_for_now_is_sent_on_a_later_round(app, db, mail, status):
    message = _message(db)
    mail.fail_next(status)
    _deliver(app, db)

    assert _deliver(app, db) == 1

    row = _row(db, message.id)
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 2
    assert row.last_error == ""
    assert len(mail.sent) == 1


def test_retry_waits_for_the_backoff(app, db, mail):
    app.config["MAIL_RETRY_BASE_SECONDS"] = 60
    message = _message(db)
    mail.fail_next(500)
    before = utcnow()

    _deliver(app, db)

    row = _row(db, message.id)
    assert before + timedelta(seconds=60) <= row.next_attempt_at <= utcnow() + timedelta(seconds=60)
    # Not due yet: the next round leaves it alone.
    assert _deliver(app, db) == 0
    assert mail.requests == 1
    assert _row(db, message.id).status == OutboxStatus.PENDING


def test_backoff_doubles_after_each_failure(app, db, mail):
    app.config["MAIL_RETRY_BASE_SECONDS"] = 60
    message = _message(db)
    mail.fail_next(500, times=2)
    _deliver(app, db)

    # The second attempt, once the first backoff has run out.
    deliver_message(
        db.session,
        message.id,
        backend_from_config(app.config),
        max_attempts=app.config["MAIL_MAX_ATTEMPTS"],
        retry_base_seconds=60,
        now=utcnow() + timedelta(seconds=61),
    )

    row = _row(db, message.id)
    assert row.attempts == 2
    assert row.status == OutboxStatus.PENDING
    wait = row.next_attempt_at - utcnow()
    assert timedelta(seconds=115) < wait <= timedelta(seconds=120)


def test_retry_delay_is_exponential_and_capped_at_six_hours():
    assert retry_delay(1, 60) == timedelta(seconds=60)
    assert retry_delay(2, 60) == timedelta(seconds=120)
    assert retry_delay(3, 60) == timedelta(seconds=240)
    assert retry_delay(9, 60) == timedelta(hours=4, minutes=16)
    assert retry_delay(10, 60) == timedelta(hours=6)
    assert MAX_BACKOFF == timedelta(hours=6)


def test_retry_delay_stays_capped_however_many_attempts():
    # MAIL_MAX_ATTEMPTS comes from the environment; a long retry window must not crash the worker.
    assert retry_delay(50, 30) == timedelta(hours=6)
    assert retry_delay(1000, 30) == timedelta(hours=6)


def test_message_with_many_attempts_goes_back_to_pending(app, db, mail):
    app.config["MAIL_MAX_ATTEMPTS"] = 100
    app.config["MAIL_RETRY_BASE_SECONDS"] = 30
    message = _message(db, attempts=49)
    mail.fail_next(500)

    _deliver(app, db)

    row = _row(db, message.id)
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 50
    assert row.next_attempt_at - utcnow() > timedelta(hours=5, minutes=59)


def test_read_timeout_is_failed_not_retried_to_avoid_a_duplicate(app, db, mail):
    app.config["SENDGRID_TIMEOUT"] = 0.5
    message = _message(db)
    mail.delay_next(2.0)

    started = time.monotonic()
    assert _deliver(app, db) == 0
    assert time.monotonic() - started < 1.5, "the client did not give up at SENDGRID_TIMEOUT"

    row = _row(db, message.id)
    assert row.status == OutboxStatus.FAILED
    assert "may have taken the message" in row.last_error
    # SendGrid may still take the message after the client gave up, as the fake does here:
    # which is exactly why a read timeout must not be retried.
    mail.wait_for("reader1@example.org", timeout=5)
    assert _deliver(app, db) == 0
    assert len(mail.to("reader1@example.org")) == 1


def test_connect_timeout_is_retryable(app, db, mail):
    # A listening socket whose accept queue is full leaves new connections unanswered.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(listener.getsockname())
        fillers.append(filler)
    try:
        app.config["SENDGRID_API_HOST"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
        app.config["SENDGRID_TIMEOUT"] = 0.5
        message = _message(db)

        assert _deliver(app, db) == 0

        row = _row(db, message.id)
        assert row.status == OutboxStatus.PENDING
        assert "could not reach SendGrid" in row.last_error
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_connection_refused_is_retryable(app, db, mail):
    app.config["SENDGRID_API_HOST"] = f"http://127.0.0.1:{_closed_port()}"
    message = _message(db)

    assert _deliver(app, db) == 0

    row = _row(db, message.id)
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "could not reach SendGrid" in row.last_error


def test_message_is_failed_after_max_attempts(app, db, mail):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    message = _message(db)
    mail.fail_next(503, times=3)

    for _ in range(3):
        _deliver(app, db)

    row = _row(db, message.id)
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 3
    assert "503" in row.last_error
    # Failed for good: later rounds do not try again.
    _deliver(app, db)
    assert mail.requests == 3
    assert mail.sent == []


# --- failures that are not -------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401])
def test_client_error_fails_the_message_at_once(app, db, mail, status):
    message = _message(db)
    mail.fail_next(status)

    _deliver(app, db)

    row = _row(db, message.id)
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 1
    assert str(status) in row.last_error
    _deliver(app, db)
    assert mail.requests == 1


def test_wrong_api_key_fails_the_message_at_once(app, db, mail):
    app.config["SENDGRID_API_KEY"] = "SG.wrong-key"
    message = _message(db)

    _deliver(app, db)
    _deliver(app, db)

    row = _row(db, message.id)
    assert row.status == OutboxStatus.FAILED
    assert "401" in row.last_error
    assert mail.requests == 1


# --- never twice ------------------------------------------------------------------------------


def _claim_as_stale(db, message_id: int, seconds_ago: int) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status=OutboxStatus.SENDING, claimed_at=utcnow() - timedelta(seconds=seconds_ago))
    )
    db.session.commit()


def test_message_left_sending_past_its_lease_is_failed_not_resent(app, db, mail):
    # The worker sent the message, then died before it could mark the row as sent.
    message = _message(db)
    _deliver(app, db)
    _claim_as_stale(db, message.id, app.config["MAIL_SENDING_LEASE_SECONDS"] + 60)

    assert _deliver(app, db) == 0

    row = _row(db, message.id)
    assert row.status == OutboxStatus.FAILED
    assert "worker stopped" in row.last_error
    assert len(mail.to("reader1@example.org")) == 1
    assert mail.requests == 1


def test_message_sending_within_its_lease_is_left_alone(app, db, mail):
    message = _message(db)
    _claim_as_stale(db, message.id, 5)

    assert _deliver(app, db) == 0

    assert _row(db, message.id).status == OutboxStatus.SENDING
    assert mail.requests == 0


def test_second_deliver_message_on_the_same_id_sends_nothing(app, db, mail):
    message = _message(db)
    backend = backend_from_config(app.config)
    settings = {"max_attempts": 6, "retry_base_seconds": 0}

    first = deliver_message(db.session, message.id, backend, **settings)
    second = deliver_message(db.session, message.id, backend, **settings)

    assert first == OutboxStatus.SENT
    assert second is None
    assert len(mail.sent) == 1


def test_concurrent_workers_send_a_message_once(app, db, mail):
    message_id = _message(db).id
    workers = 4
    barrier = threading.Barrier(workers)
    results: list = []
    errors: list = []
    engine = db.engine

    def work():
        backend = backend_from_config(app.config)
        try:
            with Session(engine) as session:
                barrier.wait()
                results.append(
                    deliver_message(
                        session, message_id, backend, max_attempts=6, retry_base_seconds=0
                    )
                )
        except Exception as exc:  # reported below, with the test's own assertion
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(results, key=str) == [None] * (workers - 1) + [OutboxStatus.SENT]
    assert len(mail.sent) == 1


def test_no_message_is_sent_twice_across_many_rounds(app, db, mail):
    messages = [_message(db, n) for n in range(1, 6)]
    mail.fail_next(500, times=3)
    mail.fail_next(429, times=2)

    for _ in range(8):
        _deliver(app, db)

    assert sorted(int(sent.custom_args["outbox_id"]) for sent in mail.sent) == sorted(
        message.id for message in messages
    )
    assert {_row(db, message.id).status for message in messages} == {OutboxStatus.SENT}


# --- backends ---------------------------------------------------------------------------------


def test_console_backend_prints_the_message(db):
    message = _message(db)
    stream = io.StringIO()

    provider_id = ConsoleBackend(mail_from="campaign <noreply@x.test>", stream=stream).send(message)

    out = stream.getvalue()
    assert "From: campaign <noreply@x.test>" in out
    assert "To: Reader 1 <reader1@example.org>" in out
    assert "Subject: Subject 1" in out
    assert "Text body 1\nhttp://campaign.test/en/c/x/confirm/1" in out
    assert provider_id == f"console-{message.id}"


def test_deliver_due_with_the_console_backend_marks_the_message_sent(app, db, mail):
    message = _message(db)
    stream = io.StringIO()

    deliver_due(db.session, ConsoleBackend(mail_from="x@x.test", stream=stream), app.config)

    row = _row(db, message.id)
    assert row.status == OutboxStatus.SENT
    assert row.provider_message_id == f"console-{message.id}"
    assert "Subject: Subject 1" in stream.getvalue()
    assert mail.requests == 0


def test_backend_from_config_picks_the_named_backend(app):
    assert isinstance(backend_from_config(app.config), SendGridBackend)
    app.config["MAIL_BACKEND"] = "console"
    assert isinstance(backend_from_config(app.config), ConsoleBackend)


def test_sendgrid_backend_needs_an_api_key(app):
    app.config["SENDGRID_API_KEY"] = None
    with pytest.raises(RuntimeError, match="SENDGRID_API_KEY"):
        backend_from_config(app.config)


def test_unknown_backend_is_refused(app):
    app.config["MAIL_BACKEND"] = "smtp"
    with pytest.raises(RuntimeError, match="unknown MAIL_BACKEND"):
        backend_from_config(app.config)
