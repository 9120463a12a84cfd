"""`flask backup` and `flask restore` (campaign/backups.py, campaign/cli.py) on SQLite and on
PostgreSQL: data made, backed up, changed and deleted, restored, and found exactly as it was.

Each test works on a database of its own (a SQLite file, or a fresh PostgreSQL schema), since a
restore replaces everything in it.
"""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from campaign import create_app
from campaign.backups import BackupError, _pg_schema, backup, default_backup_path, restore
from campaign.extensions import db as _db
from campaign.models import Campaign, Signature
from campaign.models.types import utcnow
from tests.conftest import drop_postgres_schema, make_postgres_schema, skip_or_fail
from tests.conftest import test_config as make_config
from tests.factories import make_campaign, make_signature


@pytest.fixture
def own_database(database_url, tmp_path):
    """An empty database with every table, of the same kind as `database_url`."""
    schema = None
    if make_url(database_url).get_backend_name() == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    else:
        if shutil.which("pg_dump") is None:
            skip_or_fail("pg_dump is not installed (Debian: postgresql-client)")
        url, schema = make_postgres_schema()
    engine = create_engine(url)
    _db.metadata.create_all(engine)
    engine.dispose()
    yield url
    if schema:
        drop_postgres_schema(schema)


@pytest.fixture
def backup_app(own_database, sendgrid):
    app = create_app(make_config(own_database, sendgrid))
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _snapshot(app) -> list[tuple]:
    with app.app_context():
        _db.session.remove()
        campaigns = _db.session.execute(
            select(Campaign.slug, Campaign.goal, Campaign.signature_count).order_by(Campaign.slug)
        ).all()
        signatures = _db.session.execute(
            select(
                Signature.full_name, Signature.email, Signature.country, Signature.confirmed_at
            ).order_by(Signature.email)
        ).all()
        _db.session.remove()
    return [tuple(row) for row in campaigns + signatures]


def _make_data(app) -> None:
    with app.app_context():
        campaign = make_campaign(slug="clean-air", goal=500)
        for n in range(5):
            make_signature(
                campaign, confirmed=n % 2 == 0, full_name=f"Signer {n} Ünïcødé", country="FR"
            )
        make_campaign(slug="quiet-streets")
        _db.session.commit()
        _db.session.remove()


def _damage(app) -> None:
    """Changes a mistake or an attack could make: an edit, a deletion, an addition."""
    with app.app_context():
        campaign = _db.session.scalar(select(Campaign).where(Campaign.slug == "clean-air"))
        campaign.goal = 1
        for signature in _db.session.scalars(select(Signature).limit(3)):
            _db.session.delete(signature)
        _db.session.delete(
            _db.session.scalar(select(Campaign).where(Campaign.slug == "quiet-streets"))
        )
        make_campaign(slug="added-later")
        _db.session.commit()
        _db.session.remove()


def test_backup_then_restore_brings_back_exactly_what_was_there(backup_app, tmp_path):
    _make_data(backup_app)
    before = _snapshot(backup_app)
    runner = backup_app.test_cli_runner()
    output = tmp_path / "backups" / "nightly.bak"

    result = runner.invoke(args=["backup", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert str(output) in result.output
    assert f"({output.stat().st_size} bytes)" in result.output

    _damage(backup_app)
    assert _snapshot(backup_app) != before

    result = runner.invoke(args=["restore", str(output), "--yes"])
    assert result.exit_code == 0, result.output
    assert _snapshot(backup_app) == before
    # The app goes on working on the restored data: a new signature, with its counter.
    with backup_app.app_context():
        campaign = _db.session.scalar(select(Campaign).where(Campaign.slug == "clean-air"))
        make_signature(campaign, confirmed=True, email="after@example.org")
        _db.session.commit()
        assert _db.session.scalar(select(func.count()).select_from(Signature)) == 6


def test_restore_refuses_without_yes_and_changes_nothing(backup_app, tmp_path):
    _make_data(backup_app)
    output = tmp_path / "b.bak"
    backup_app.test_cli_runner().invoke(args=["backup", "--output", str(output)])
    _damage(backup_app)
    damaged = _snapshot(backup_app)

    result = backup_app.test_cli_runner().invoke(args=["restore", str(output)])

    assert result.exit_code != 0
    assert "--yes" in result.output
    assert _snapshot(backup_app) == damaged


def test_backup_is_consistent_while_the_app_writes(backup_app, tmp_path):
    """A backup taken while another connection holds an open write transaction has the
    committed data and none of the uncommitted."""
    _make_data(backup_app)
    before = _snapshot(backup_app)
    url = backup_app.config["SQLALCHEMY_DATABASE_URI"]
    with backup_app.app_context():
        campaign = _db.session.scalar(select(Campaign).where(Campaign.slug == "clean-air"))
        make_signature(campaign, email="uncommitted@example.org")  # flushed, not committed
        done = backup(url, tmp_path / "during.bak")
        _db.session.rollback()
        _db.session.remove()
    _damage(backup_app)
    restore(url, done.path)
    assert _snapshot(backup_app) == before


def test_restoring_the_wrong_kind_of_file_is_refused(backup_app, tmp_path):
    _make_data(backup_app)
    before = _snapshot(backup_app)
    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"not a backup at all")

    result = backup_app.test_cli_runner().invoke(args=["restore", str(junk), "--yes"])

    assert result.exit_code != 0
    assert "is not a" in result.output
    assert _snapshot(backup_app) == before


def test_default_backup_path_is_timestamped_under_the_folder(tmp_path):
    now = utcnow()
    path = default_backup_path("sqlite:///x.sqlite3", tmp_path, now=now)
    assert path.parent == tmp_path
    assert path.name == f"campaign-{now:%Y%m%d-%H%M%S}.sqlite3"
    assert default_backup_path("postgresql+psycopg://h/db", tmp_path).suffix == ".dump"


def test_the_schema_in_the_url_is_what_a_postgresql_backup_covers():
    url = make_url("postgresql+psycopg://u@h/db?options=-csearch_path%3Dcampaign_x")
    assert _pg_schema(url) == "campaign_x"
    assert _pg_schema(make_url("postgresql+psycopg://u@h/db")) is None


def test_missing_pg_dump_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing installed here
    with pytest.raises(BackupError, match="pg_dump is not installed"):
        backup("postgresql+psycopg://postgres@127.0.0.1/test", tmp_path / "x.dump")


def test_an_older_pg_dump_than_the_server_is_a_clear_error(database_url, monkeypatch, tmp_path):
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a PostgreSQL matter")
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with pytest.raises(BackupError, match="install the PostgreSQL 1[0-9]+ client tools"):
        backup(database_url, tmp_path / "x.dump")
