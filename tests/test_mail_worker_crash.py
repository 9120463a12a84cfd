"""A worker killed in the middle of a large batch (SIGKILL: no cleanup, no goodbye), then
started again: every message is delivered exactly once, or, for the one in flight at the kill,
at most once (its claim lapses and it is marked failed, never re-sent; see
campaign/mail/delivery.py), and nothing is left pending.

The real `flask worker` runs as a subprocess, polling the database or as an RQ worker, against
the SendGrid stand-in slowed down so that the kill lands mid-batch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from campaign.models import OutboxMessage, OutboxStatus
from campaign.models.types import utcnow

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 300
LEASE_SECONDS = 1


def _worker_env(app, database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SENDGRID_API_KEY", "MAIL_BACKEND"}
    }
    env.update(
        CAMPAIGN_ENV="testing",
        SECRET_KEY=app.config["SECRET_KEY"],
        DATABASE_URL=database_url,
        MAIL_BACKEND="sendgrid",
        SENDGRID_API_KEY=app.config["SENDGRID_API_KEY"],
        SENDGRID_API_HOST=app.config["SENDGRID_API_HOST"],
        SENDGRID_TIMEOUT="5",
        MAIL_RETRY_BASE_SECONDS="0",
        MAIL_SENDING_LEASE_SECONDS=str(LEASE_SECONDS),
        LANGUAGES="en,ru",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    # A process group of its own: under RQ the worker forks a scheduler process, and a killed
    # worker takes it along, as systemd kills a service's whole control group.
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--interval", "0.05"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill(worker: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to the worker and every process it started."""
    try:
        os.killpg(worker.pid, sig)
    except ProcessLookupError:  # all gone already
        pass


def _statuses(db) -> Counter:
    db.session.rollback()
    return Counter(
        dict(
            db.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
    )


def _wait(condition, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("mode", ["polling", "rq"])
def test_a_worker_killed_mid_batch_finishes_after_a_restart_without_duplicates(
    app, db, mail, database_url, request, tmp_path, mode
):
    redis_url = request.getfixturevalue("redis_url") if mode == "rq" else None
    now = utcnow()
    db.session.execute(
        insert(OutboxMessage),
        [
            {
                "kind": "test",
                "to_email": f"reader{n}@example.org",
                "to_name": f"Reader {n}",
                "language": "en",
                "subject": f"Subject {n}",
                "text_body": f"Body {n}",
                "html_body": f"<p>Body {n}</p>",
                "headers": "",
                "next_attempt_at": now,
            }
            for n in range(MESSAGES)
        ],
    )
    db.session.commit()
    mail.delay_next(0.02, times=MESSAGES * 2)  # slow enough that the kill lands mid-batch
    env = _worker_env(app, database_url, redis_url)
    log = tmp_path / "worker.log"

    worker = _start(env, log)
    try:
        _wait(lambda: len(mail.sent) >= 40, 60, "the first deliveries", log)
    finally:
        _kill(worker)
        worker.wait(timeout=10)
    received_at_kill = len(mail.sent)
    assert received_at_kill < MESSAGES, "the worker finished before it was killed"
    assert _statuses(db)[OutboxStatus.PENDING] > 0

    # Its claim on the message in flight lapses; a new worker starts.
    time.sleep(LEASE_SECONDS + 0.5)
    worker = _start(env, log)
    try:
        _wait(
            lambda: not ({OutboxStatus.PENDING, OutboxStatus.SENDING} & set(+_statuses(db))),
            120,
            "the outbox to be drained",
            log,
        )
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        _kill(worker)  # whatever is left of it, its scheduler included
    time.sleep(0.3)  # a request the stand-in was still answering

    received = Counter(int(sent.custom_args["outbox_id"]) for sent in mail.sent)
    assert max(received.values()) == 1, [i for i, n in received.items() if n > 1]
    rows = dict(db.session.execute(select(OutboxMessage.id, OutboxMessage.status)).all())
    sent_ids = {i for i, status in rows.items() if status == OutboxStatus.SENT}
    failed_ids = {i for i, status in rows.items() if status == OutboxStatus.FAILED}
    assert set(rows.values()) <= {OutboxStatus.SENT, OutboxStatus.FAILED}
    # At most the one in flight at the kill is failed (never re-sent); the rest went out once.
    assert len(failed_ids) <= 1
    assert sent_ids <= set(received)
    assert set(received) <= sent_ids | failed_ids
    assert len(sent_ids) + len(failed_ids) == MESSAGES
    if failed_ids:
        (failed,) = failed_ids
        row = db.session.get(OutboxMessage, failed)
        assert "stopped while delivering" in row.last_error
