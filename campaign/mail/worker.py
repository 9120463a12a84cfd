"""The outbox worker: a polling loop on the database, or RQ jobs when REDIS_URL is set."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from campaign.database import begin_write
from campaign.extensions import db
from campaign.mail.backends import backend_from_config
from campaign.mail.delivery import (
    deliver_due,
    deliver_message,
    due_message_ids,
    expire_stale_claims,
)
from campaign.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

QUEUE_NAME = "mail"
SWEEP_JOB_ID = "campaign-outbox-sweep"
SWEEP_EVERY = timedelta(seconds=30)
# Marks a running chain of `updates_job`s; it outlives one link (`broadcasts.RUN_SECONDS`).
UPDATES_CHAIN_KEY = "campaign:updates-chain"
UPDATES_CHAIN_TTL = 120
# How often the polling worker runs the periodic tasks below; each task decides for itself
# what is due (moderation alerts go out at most once an hour per campaign, say).
PERIODIC_EVERY = timedelta(minutes=1)


def _moderation_alerts(session) -> int:
    from campaign.services.moderation import send_moderation_alerts

    return send_moderation_alerts(session)


def _rally_reminders_and_offers(session) -> int:
    from campaign.services.rsvps import run_due

    return sum(run_due(session).values())


def _organizer_digests(session) -> int:
    from campaign.services.digests import send_due

    return send_due(session)


def _updates(session) -> int:
    from campaign.services.broadcasts import run_due

    return run_due(session)


def _purge_unconfirmed(session) -> int:
    from campaign.services.retention import purge_if_due

    # Daily: the task itself checks when it last ran (on any machine).
    return purge_if_due(session, current_app.config["UNCONFIRMED_SIGNATURE_DAYS"])


# Tasks the worker runs about once a minute: each takes the session, commits what it did and
# returns how much it did. Later features append their own.
PERIODIC_TASKS = [_moderation_alerts, _rally_reminders_and_offers, _organizer_digests, _updates]
PERIODIC_TASKS.append(_purge_unconfirmed)


def _run_task(task) -> int:
    """Run one periodic task and commit; never raises. A failed task (database restarting, say)
    is logged and rolled back: its next round retries it."""
    try:
        result = task(db.session)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("periodic task %s failed; trying again later", task.__name__)
        return 0
    if result:
        log.info("periodic task %s: %s", task.__name__, result)
    return result or 0


def run_periodic() -> int:
    """Run every periodic task once; never raises, and one failed task does not stop the rest."""
    return sum(_run_task(task) for task in PERIODIC_TASKS)


def _updates_left() -> bool:
    """Whether an update is still being written into the outbox (see `broadcasts.run_due`,
    which stops after a while so that mail gets delivered in between)."""
    from campaign.services.broadcasts import writing_left

    try:
        left = writing_left(db.session)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not tell whether updates are being sent; trying again later")
        return False
    return left


def run_polling_worker(
    app: Flask, *, interval: float = 1.0, stop: threading.Event | None = None, once: bool = False
) -> None:
    """Deliver due messages every `interval` seconds until `stop` is set (or once).

    About once a minute (and on the first round) it also runs the periodic tasks (moderation
    alerts, rally reminders and offers), before the delivery round so that their mail goes out
    in it.
    """
    stop = stop or threading.Event()
    next_periodic = time.monotonic()
    with app.app_context():
        backend = backend_from_config(app.config)
        log.info(
            "outbox worker polling every %ss with the %s backend",
            interval,
            app.config["MAIL_BACKEND"],
        )
        while True:
            if time.monotonic() >= next_periodic:
                next_periodic = time.monotonic() + PERIODIC_EVERY.total_seconds()
                run_periodic()
            elif _updates_left():
                # An update just sent, or a large one: its batches now, not in a minute.
                _run_task(_updates)
            db.session.remove()
            try:
                deliver_due(db.session, backend, app.config)
            except Exception:
                # One bad round (database restarting, say) must not stop mail for good.
                db.session.rollback()
                log.exception("outbox round failed; trying again")
            finally:
                db.session.remove()
            if once or stop.wait(interval):
                return


# --- RQ ---------------------------------------------------------------------------------------


def _queue():
    from redis import Redis
    from rq import Queue

    # One client (and its connection pool) per app and URL: a new connection for every
    # committed email cost more than the rest of signing (see `make bench --profile`).
    clients = current_app.extensions.setdefault("campaign.redis", {})
    url = current_app.config["REDIS_URL"]
    if url not in clients:
        clients[url] = Redis.from_url(url)
    return Queue(QUEUE_NAME, connection=clients[url])


def deliver_job(message_id: int) -> str | None:
    """RQ job: deliver one outbox message, and schedule the next try if it failed for now."""
    config = current_app.config
    status = deliver_message(
        db.session,
        message_id,
        backend_from_config(config),
        max_attempts=config["MAIL_MAX_ATTEMPTS"],
        retry_base_seconds=config["MAIL_RETRY_BASE_SECONDS"],
    )
    if status == OutboxStatus.PENDING:
        message = db.session.get(OutboxMessage, message_id)
        _queue().enqueue_at(message.next_attempt_at, deliver_job, message_id)
    db.session.remove()
    return status.value if status else None


def sweep_job() -> int:
    """RQ job: queue every due message (catching any whose enqueue was lost); repeats itself.

    It also runs the periodic tasks: their emails are queued on commit like any other; an
    update still being written gets its own chain of jobs (`updates_job`).
    """
    run_periodic()
    if _updates_left():
        _start_updates_chain()
    begin_write(db.session)
    expire_stale_claims(db.session, current_app.config["MAIL_SENDING_LEASE_SECONDS"])
    db.session.commit()
    queue = _queue()
    ids = due_message_ids(db.session, limit=1000)
    for message_id in ids:
        queue.enqueue(deliver_job, message_id)
    db.session.remove()
    # A fixed id keeps one sweep scheduled however many workers start.
    queue.enqueue_in(SWEEP_EVERY, sweep_job, job_id=SWEEP_JOB_ID)
    return len(ids)


def _start_updates_chain() -> None:
    """Queue `updates_job` unless a chain of them is already running (on any machine)."""
    queue = _queue()
    if queue.connection.set(UPDATES_CHAIN_KEY, "1", nx=True, ex=UPDATES_CHAIN_TTL):
        queue.enqueue(updates_job)


def kick_updates(app: Flask) -> None:
    """An update was just sent: under RQ, start writing it now rather than at the next sweep
    (the polling worker notices by itself). Never fails the request: the sweep catches up."""
    if not app.config.get("REDIS_URL"):
        return
    try:
        _start_updates_chain()
    except Exception:
        log.exception("could not queue the update's batches; the next sweep will")


def updates_job() -> int:
    """RQ job: write the next batches of the updates being sent, then queue itself again while
    any remain. Their delivery jobs are queued batch by batch meanwhile, so mail flows at once.

    One chain runs at a time: a Redis key marks it, renewed by each link; if a worker dies in
    the middle, the key lapses and the next sweep starts a new chain (a repeat writes nothing
    twice: see `broadcasts.write_batch`).
    """
    written = _run_task(_updates)
    queue = _queue()
    if _updates_left():
        queue.connection.set(UPDATES_CHAIN_KEY, "1", ex=UPDATES_CHAIN_TTL)
        queue.enqueue(updates_job)
    else:
        queue.connection.delete(UPDATES_CHAIN_KEY)
    db.session.remove()
    return written


def run_rq_worker(app: Flask, *, burst: bool = False) -> None:
    """Run an RQ worker on the mail queue in this process (no fork, so the engine stays valid)."""
    from rq import SimpleWorker

    with app.app_context():
        queue = _queue()
        queue.enqueue(sweep_job, job_id=SWEEP_JOB_ID)
        worker = SimpleWorker([queue], connection=queue.connection)
        worker.work(burst=burst, with_scheduler=True)


_listening = False


def _collect_new_messages(session, flush_context):
    new_ids = [obj.id for obj in session.new if isinstance(obj, OutboxMessage)]
    if new_ids:
        session.info.setdefault("outbox_new", []).extend(new_ids)


def _enqueue_committed_messages(session):
    ids = session.info.pop("outbox_new", None)
    if not ids or not has_app_context() or not current_app.config.get("REDIS_URL"):
        return
    try:
        queue = _queue()
        for message_id in ids:
            queue.enqueue(deliver_job, message_id)
    except Exception:
        # The rows are committed; the next sweep queues them. Never fail the signer's request.
        log.exception("could not queue mail %s; the sweep will pick it up", ids)


def _forget_rolled_back_messages(session):
    session.info.pop("outbox_new", None)


def init_app(app: Flask) -> None:
    """With REDIS_URL, queue a delivery job for every outbox row once its transaction commits."""
    global _listening
    if _listening:
        return
    event.listen(Session, "after_flush", _collect_new_messages)
    event.listen(Session, "after_commit", _enqueue_committed_messages)
    event.listen(Session, "after_rollback", _forget_rolled_back_messages)
    _listening = True
