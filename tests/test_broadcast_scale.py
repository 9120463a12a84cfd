"""The issue's scale check: an update to 10,000 people in three languages, delivered through the
SendGrid stand-in (a real local HTTP server) by the real worker code, on SQLite and PostgreSQL,
by the polling worker and by RQ.

Every recipient gets exactly one email, in their language; no suppressed mailbox gets any.
Recipients are inserted with core INSERTs so the test spends its time where production would.
"""

from __future__ import annotations

import multiprocessing
import time

import pytest
from sqlalchemy import func, insert, select

from campaign import create_app
from campaign.extensions import db as _db
from campaign.mail.worker import run_polling_worker, run_rq_worker
from campaign.models import (
    Audience,
    Broadcast,
    BroadcastStatus,
    OutboxMessage,
    Subscriber,
    Subscription,
    Suppression,
)
from campaign.models.types import utcnow
from campaign.services import broadcasts
from campaign.services.broadcasts import BroadcastData, BroadcastText
from tests.conftest import test_config as make_config
from tests.factories import make_campaign, make_organizer

RECIPIENTS = 10_000
SUPPRESSED = 150
LANGUAGES = ("en", "ru", "ar")
SUBJECTS = {"en": "Big news", "ru": "Большие новости", "ar": "أخبار كبيرة"}
WORKERS = 4


@pytest.fixture
def app_config(database_url, sendgrid):
    return make_config(database_url, sendgrid, LANGUAGES=list(LANGUAGES))


def _address(n: int) -> str:
    return f"reader{n:05d}@example.org"


def _prepare(db) -> int:
    """10,000 subscribers to reach and 150 suppressed ones, in bulk; returns the update's id."""
    campaign = make_campaign(languages=LANGUAGES)
    organizer = make_organizer()
    now = utcnow()
    total = RECIPIENTS + SUPPRESSED
    db.session.execute(
        insert(Subscriber),
        [
            {
                "email": _address(n),
                "email_key": _address(n),
                "language": LANGUAGES[n % 3],
                "created_at": now,
                "confirmed_at": now,
            }
            for n in range(total)
        ],
    )
    ids = dict(db.session.execute(select(Subscriber.email_key, Subscriber.id)).all())
    db.session.execute(
        insert(Subscription),
        [
            {
                "subscriber_id": ids[_address(n)],
                "campaign_id": campaign.id,
                "source": "campaign",
                "consent_text": "Email me updates.",
                "consent_language": LANGUAGES[n % 3],
                "consented_at": now,
            }
            for n in range(total)
        ],
    )
    db.session.execute(
        insert(Suppression),
        [
            {"email_key": _address(n), "reason": "bounce", "source": "sendgrid", "created_at": now}
            for n in range(RECIPIENTS, total)
        ],
    )
    broadcast = broadcasts.create_broadcast(
        db.session,
        organizer,
        campaign,
        BroadcastData(
            texts={
                language: BroadcastText(SUBJECTS[language], f"**{SUBJECTS[language]}**")
                for language in LANGUAGES
            },
            audience=Audience.SUBSCRIBERS,
        ),
    )
    count = broadcasts.recipient_count(db.session, broadcast)
    assert (count.total, count.suppressed, count.unsubscribed) == (RECIPIENTS, SUPPRESSED, 0)
    assert broadcasts.send_now(db.session, organizer, broadcast) == RECIPIENTS
    db.session.commit()
    return broadcast.id


def _check(db, mail, broadcast_id: int) -> None:
    received: dict[str, list] = {}
    for sent in mail.sent:
        received.setdefault(sent.to, []).append(sent)
    assert len(mail.sent) == RECIPIENTS
    assert len(received) == RECIPIENTS, "someone got two emails"
    for n in range(RECIPIENTS + SUPPRESSED):
        address = _address(n)
        if n >= RECIPIENTS:
            assert address not in received, "a suppressed mailbox got an update"
            continue
        (sent,) = received[address]
        assert sent.subject == SUBJECTS[LANGUAGES[n % 3]]
    db.session.rollback()
    progress = broadcasts.progress(db.session, db.session.get(Broadcast, broadcast_id))
    assert (progress.total, progress.sent, progress.queued, progress.waiting) == (
        RECIPIENTS,
        RECIPIENTS,
        0,
        0,
    )
    assert db.session.get(Broadcast, broadcast_id).status == BroadcastStatus.SENT


def _all_sent(mail, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(mail.sent) < RECIPIENTS and time.monotonic() < deadline:
        time.sleep(0.1)


def _polling_worker_process(config: dict, stop) -> None:
    """A worker in a process of its own, as on another machine: `flask worker` in a function."""
    app = create_app(config)
    run_polling_worker(app, interval=0.01, stop=stop)


def test_ten_thousand_recipients_by_polling_workers(app, db, mail, app_config, request):
    started = time.monotonic()
    broadcast_id = _prepare(db)
    prepared = time.monotonic()

    # Several worker processes at once, as on several machines: each runs the periodic task
    # (so they race to draw up the list and write batches) and delivers.
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    workers = [
        context.Process(target=_polling_worker_process, args=(app_config, stop), daemon=True)
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    try:
        _all_sent(mail, timeout=240)
        time.sleep(0.5)  # a duplicate would arrive now
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    delivered = time.monotonic()
    _check(db, mail, broadcast_id)
    print(
        f"\n[{request.node.name}] prepared {prepared - started:.1f}s, "
        f"delivered {delivered - prepared:.1f}s"
    )


@pytest.fixture
def redis_app(app, database_url, sendgrid, redis_url):
    rq_app = create_app(
        make_config(database_url, sendgrid, REDIS_URL=redis_url, LANGUAGES=list(LANGUAGES))
    )
    with rq_app.app_context():
        yield rq_app
        _db.session.remove()
        _db.engine.dispose()


def test_ten_thousand_recipients_by_rq(app, db, redis_app, mail, request):
    started = time.monotonic()
    with app.app_context():
        broadcast_id = _prepare(db)
    prepared = time.monotonic()

    # The sweep runs the periodic task, which writes the batches; each batch's commit queues
    # a delivery job per email. One burst worker drains it all.
    run_rq_worker(redis_app, burst=True)
    delivered = time.monotonic()

    assert _db.session.scalar(select(func.count()).select_from(OutboxMessage)) == RECIPIENTS
    _check(_db, mail, broadcast_id)
    print(
        f"\n[{request.node.name}] prepared {prepared - started:.1f}s, "
        f"delivered {delivered - prepared:.1f}s"
    )
