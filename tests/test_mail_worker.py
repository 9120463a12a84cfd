"""The outbox worker (campaign/mail/worker.py) and the `flask worker` command.

Without REDIS_URL the worker polls the database; with it, each committed outbox row becomes an RQ
job on the "mail" queue. The Redis tests use a real Redis (the `redis_url` fixture skips without
one) and every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from campaign import create_app
from campaign.extensions import db as _db
from campaign.mail.worker import (
    QUEUE_NAME,
    SWEEP_EVERY,
    SWEEP_JOB_ID,
    deliver_job,
    run_polling_worker,
    run_rq_worker,
)
from campaign.models import OutboxMessage, OutboxStatus
from tests.conftest import test_config as make_config

# --- helpers ----------------------------------------------------------------------------------


def _add_message(session, n: int = 1) -> OutboxMessage:
    """An outbox row, added and flushed; the test decides whether it is committed."""
    message = OutboxMessage(
        kind="test",
        to_email=f"reader{n}@example.org",
        to_name=f"Reader {n}",
        language="en",
        subject=f"Subject {n}",
        text_body=f"Text body {n}",
        html_body=f"<p>HTML body {n}</p>",
    )
    session.add(message)
    session.flush()
    return message


def _status(session, message_id: int) -> OutboxStatus:
    # End the read transaction first: on SQLite it would keep showing the worker's old writes.
    session.rollback()
    return session.get(OutboxMessage, message_id).status


# --- polling ----------------------------------------------------------------------------------


def test_polling_worker_once_delivers_due_mail(app, db, mail):
    message_id = _add_message(db.session).id
    db.session.commit()

    run_polling_worker(app, once=True)

    assert [sent.to for sent in mail.sent] == ["reader1@example.org"]
    assert _status(db.session, message_id) == OutboxStatus.SENT


def test_polling_worker_delivers_mail_queued_while_it_runs(app, db, mail):
    stop = threading.Event()
    thread = threading.Thread(
        target=run_polling_worker, args=(app,), kwargs={"interval": 0.05, "stop": stop}
    )
    thread.start()
    try:
        _add_message(db.session, 1)
        db.session.commit()
        mail.wait_for("reader1@example.org")
        _add_message(db.session, 2)
        db.session.commit()
        mail.wait_for("reader2@example.org")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(mail.sent) == 2


def test_polling_worker_keeps_going_after_a_failed_round(app, db, mail):
    message_id = _add_message(db.session).id
    db.session.commit()
    mail.fail_next(503)

    run_polling_worker(app, once=True)
    assert _status(db.session, message_id) == OutboxStatus.PENDING
    run_polling_worker(app, once=True)

    assert _status(db.session, message_id) == OutboxStatus.SENT
    assert len(mail.sent) == 1


def test_cli_worker_once_delivers_due_mail(app, db, mail):
    message_id = _add_message(db.session).id
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "polling" in result.output
    assert [sent.to for sent in mail.sent] == ["reader1@example.org"]
    assert _status(db.session, message_id) == OutboxStatus.SENT


# --- RQ ---------------------------------------------------------------------------------------


@pytest.fixture
def redis_app(app, database_url, sendgrid, redis_url):
    """A second app on the same database, with REDIS_URL set; `app` empties the tables after."""
    rq_app = create_app(make_config(database_url, sendgrid, REDIS_URL=redis_url))
    with rq_app.app_context():
        yield rq_app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def mail_queue(redis_url) -> Queue:
    return Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))


def _delivery_jobs(queue: Queue) -> list[Job]:
    return [job for job in queue.get_jobs() if job.func_name.endswith(".deliver_job")]


def test_commit_enqueues_a_delivery_job(redis_app, mail_queue):
    message = _add_message(_db.session)
    assert mail_queue.count == 0, "queued before the transaction committed"

    _db.session.commit()

    jobs = _delivery_jobs(mail_queue)
    assert [(job.func, job.args) for job in jobs] == [(deliver_job, (message.id,))]


def test_rollback_enqueues_nothing(redis_app, mail_queue):
    _add_message(_db.session)
    _db.session.rollback()
    _db.session.commit()

    assert mail_queue.count == 0


def test_each_committed_message_gets_one_job(redis_app, mail_queue):
    first = _add_message(_db.session, 1)
    second = _add_message(_db.session, 2)
    _db.session.commit()
    _db.session.commit()

    assert sorted(job.args for job in _delivery_jobs(mail_queue)) == [(first.id,), (second.id,)]


def test_rq_worker_delivers_the_message_exactly_once(redis_app, mail, mail_queue):
    message_id = _add_message(_db.session).id
    _db.session.commit()

    run_rq_worker(redis_app, burst=True)
    run_rq_worker(redis_app, burst=True)

    assert len(mail.to("reader1@example.org")) == 1
    assert mail.requests == 1
    assert _status(_db.session, message_id) == OutboxStatus.SENT


def test_rq_sweep_delivers_mail_whose_job_was_lost(app, db, redis_app, mail):
    # Committed where no REDIS_URL is set, so no job was queued for it.
    with app.app_context():
        message_id = _add_message(_db.session).id
        _db.session.commit()

    run_rq_worker(redis_app, burst=True)

    assert len(mail.to("reader1@example.org")) == 1
    assert _status(_db.session, message_id) == OutboxStatus.SENT


def test_rq_retryable_failure_schedules_a_retry(redis_app, mail, mail_queue):
    redis_app.config["MAIL_RETRY_BASE_SECONDS"] = 60
    message_id = _add_message(_db.session).id
    _db.session.commit()
    mail.fail_next(503)

    run_rq_worker(redis_app, burst=True)

    message = _db.session.get(OutboxMessage, message_id, populate_existing=True)
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1
    assert mail.sent == []
    registry = ScheduledJobRegistry(queue=mail_queue)
    retries = [
        Job.fetch(job_id, connection=mail_queue.connection)
        for job_id in registry.get_job_ids()
        if job_id != SWEEP_JOB_ID
    ]
    assert [(job.func, job.args) for job in retries] == [(deliver_job, (message_id,))]
    scheduled_at = registry.get_scheduled_time(retries[0])
    assert abs(scheduled_at - message.next_attempt_at) < timedelta(seconds=1)


def test_rq_retry_delivers_once_it_is_due(redis_app, mail, mail_queue):
    message_id = _add_message(_db.session).id
    _db.session.commit()
    mail.fail_next(503)

    run_rq_worker(redis_app, burst=True)  # fails; the retry is due at once (base 0 s)
    run_rq_worker(redis_app, burst=True)

    assert len(mail.to("reader1@example.org")) == 1
    assert _status(_db.session, message_id) == OutboxStatus.SENT


def test_rq_sweep_repeats_itself(app, redis_app, mail, mail_queue):
    before = datetime.now(UTC)
    run_rq_worker(redis_app, burst=True)
    after = datetime.now(UTC)
    registry = ScheduledJobRegistry(queue=mail_queue)
    assert registry.get_job_ids() == [SWEEP_JOB_ID]
    # SWEEP_EVERY after the sweep ran, however long a loaded machine took to run it (RQ keeps
    # the time in whole seconds, hence the second's slack).
    next_sweep = registry.get_scheduled_time(SWEEP_JOB_ID)
    assert before + SWEEP_EVERY - timedelta(seconds=1) <= next_sweep <= after + SWEEP_EVERY

    # A message whose job was lost, then the scheduled sweep comes due: a worker that does not
    # queue a sweep of its own must still deliver it.
    with app.app_context():
        _add_message(_db.session)
        _db.session.commit()
    mail_queue.connection.zadd(registry.key, {SWEEP_JOB_ID: time.time() - 1})
    SimpleWorker([mail_queue], connection=mail_queue.connection).work(
        burst=True, with_scheduler=True
    )

    assert len(mail.to("reader1@example.org")) == 1
    assert SWEEP_JOB_ID in registry.get_job_ids()


def test_cli_worker_with_redis_runs_rq_and_delivers(redis_app, mail):
    message_id = _add_message(_db.session).id
    _db.session.commit()

    result = redis_app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "RQ" in result.output
    assert len(mail.to("reader1@example.org")) == 1
    assert _status(_db.session, message_id) == OutboxStatus.SENT


def test_a_sent_update_is_written_at_once_by_one_chain_of_jobs(
    app, db, redis_app, mail, mail_queue
):
    """kick_updates (called when an editor presses Send) starts one chain of updates jobs, not
    one per call; the chain writes the update, its mail goes out, and the chain ends."""
    from campaign.mail.worker import UPDATES_CHAIN_KEY, kick_updates
    from campaign.models import Broadcast, BroadcastStatus
    from campaign.services import broadcasts
    from campaign.services.broadcasts import BroadcastData, BroadcastText
    from tests.factories import make_campaign, make_organizer, make_subscriber

    with app.app_context():
        campaign = make_campaign()
        organizer = make_organizer()
        for n in range(3):
            make_subscriber(campaign, f"reader{n}@example.org")
        update = broadcasts.create_broadcast(
            db.session,
            organizer,
            campaign,
            BroadcastData(texts={"en": BroadcastText("News", "Some **news**.")}),
        )
        broadcasts.send_now(db.session, organizer, update)
        db.session.commit()
        update_id = update.id

    kick_updates(redis_app)
    kick_updates(redis_app)
    chain = [job for job in mail_queue.get_jobs() if job.func_name.endswith(".updates_job")]
    assert len(chain) == 1
    SimpleWorker([mail_queue], connection=mail_queue.connection).work(burst=True)

    assert sorted(m.to for m in mail.sent) == [f"reader{n}@example.org" for n in range(3)]
    assert _db.session.get(Broadcast, update_id).status == BroadcastStatus.SENT
    assert not mail_queue.connection.exists(UPDATES_CHAIN_KEY)


def test_the_queue_reuses_one_redis_client(redis_app):
    from campaign.mail.worker import _queue

    assert _queue().connection is _queue().connection
