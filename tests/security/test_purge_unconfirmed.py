"""Unconfirmed signatures older than N days are purged: by command, and daily by the worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from campaign.mail.worker import PERIODIC_TASKS, run_periodic, run_polling_worker
from campaign.models import AuditEntry, OutboxMessage, OutboxStatus, Signature
from campaign.models.types import utcnow
from campaign.services.retention import purge_if_due
from campaign.services.signing import SignatureData, sign
from tests.factories import make_campaign, make_signature


@pytest.fixture
def campaign(db):
    return make_campaign(slug="clean-water")


@pytest.fixture
def signatures(db, campaign):
    now = utcnow()
    old = sign(
        db.session, campaign, SignatureData("Old Waiting", "old@example.org", "FR"), "en"
    ).signature
    old.created_at = now - timedelta(days=40)
    rows = {
        "old": old,
        "recent": make_signature(campaign, created_at=now - timedelta(days=5)),
        "old_confirmed": make_signature(
            campaign, confirmed=True, created_at=now - timedelta(days=40)
        ),
    }
    db.session.commit()
    return {name: s.id for name, s in rows.items()}


def _left(db) -> set[int]:
    # A fresh transaction: on SQLite an open one keeps reading its old snapshot.
    db.session.rollback()
    return set(db.session.scalars(select(Signature.id)))


def _invoke(app, *args):
    result = app.test_cli_runner().invoke(args=["signatures", "purge-unconfirmed", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_dry_run_counts_and_changes_nothing(app, db, signatures):
    output = _invoke(app, "--dry-run")
    assert "Would delete 1 unconfirmed signature older than 30 days" in output
    assert "clean-water: 1" in output
    assert _left(db) == set(signatures.values())
    assert db.session.scalar(select(AuditEntry).limit(1)) is None


def test_purge_deletes_only_old_unconfirmed_and_audits(app, db, signatures):
    output = _invoke(app)
    assert "Deleted 1 unconfirmed signature older than 30 days" in output
    assert _left(db) == {signatures["recent"], signatures["old_confirmed"]}
    # Its confirmation, never delivered, will never be sent with a dead link.
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.status == OutboxStatus.FAILED
    entries = {e.action: e for e in db.session.scalars(select(AuditEntry))}
    purge = entries["signatures.purge_unconfirmed"]
    assert purge.actor_id is None
    assert purge.campaign_id is not None
    assert purge.details["signatures"] == 1
    assert purge.details["days"] == 30
    # Nothing purged, nothing recorded: the log is not filled with empty runs.
    assert "Deleted 0" in _invoke(app)
    assert db.session.scalars(select(AuditEntry)).all() == [purge]


def test_days_option_and_config(app, db, signatures):
    assert "Deleted 2" in _invoke(app, "--days", "3")
    assert _left(db) == {signatures["old_confirmed"]}


def test_config_sets_the_default_age(app, db, signatures):
    app.config["UNCONFIRMED_SIGNATURE_DAYS"] = 60
    assert "Deleted 0 unconfirmed signatures older than 60 days" in _invoke(app)
    assert len(_left(db)) == 3


def test_days_must_be_positive(app, db):
    result = app.test_cli_runner().invoke(args=["signatures", "purge-unconfirmed", "--days", "0"])
    assert result.exit_code != 0


def test_the_worker_purges_daily(app, db, campaign, signatures, mail):
    assert any(task.__name__ == "_purge_unconfirmed" for task in PERIODIC_TASKS)
    run_polling_worker(app, once=True)  # periodic tasks run on the first round
    assert _left(db) == {signatures["recent"], signatures["old_confirmed"]}
    # Within the day, the next rounds leave it alone, on this machine or another.
    stale = make_signature(campaign, created_at=utcnow() - timedelta(days=50)).id
    db.session.commit()
    run_periodic()
    assert stale in _left(db)
    # A day later it runs again.
    assert purge_if_due(db.session, 30, now=utcnow() + timedelta(days=1, minutes=1)) == 1
    db.session.commit()
    assert stale not in _left(db)


def test_the_rq_worker_purges_in_its_sweep(app, db, signatures, database_url, sendgrid, redis_url):
    from campaign import create_app
    from campaign.extensions import db as _db
    from campaign.mail.worker import run_rq_worker
    from tests.conftest import test_config

    # A second app on the same database with REDIS_URL: the sweep job runs the periodic tasks.
    rq_app = create_app(test_config(database_url, sendgrid, REDIS_URL=redis_url))
    with rq_app.app_context():
        run_rq_worker(rq_app, burst=True)
        _db.session.remove()
        _db.engine.dispose()
    assert _left(db) == {signatures["recent"], signatures["old_confirmed"]}
