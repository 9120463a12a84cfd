"""`flask db upgrade` on an empty database builds exactly the schema the models describe."""

from __future__ import annotations

import logging

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from campaign import create_app
from campaign.extensions import db as _db
from campaign.models import Campaign, CampaignTranslation
from campaign.services.demo import DEMO_SLUG, DEMO_TEXTS
from tests.conftest import drop_postgres_schema, make_postgres_schema


@pytest.fixture
def restore_logging():
    """Alembic's env.py runs logging.config.fileConfig, which disables every logger that
    exists; put them back so later tests that read logs still see them."""
    manager = logging.root.manager
    saved = {
        name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root = (logging.root.level, list(logging.root.handlers))
    yield
    for name, (level, handlers, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.disabled = disabled
    logging.root.setLevel(root[0])
    logging.root.handlers[:] = root[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """The URL of a database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    url, schema = make_postgres_schema()
    yield url
    drop_postgres_schema(schema)


@pytest.fixture
def fresh_app(empty_database, restore_logging):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": empty_database,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "BASE_URL": "http://campaign.test",
            "MAIL_BACKEND": "console",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "LANGUAGES": ["en", "ru"],
            "REDIS_URL": None,
        }
    )
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def flask(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, f"flask {' '.join(args)}: {result.output}\n{result.exception!r}"
    return result.output


def test_upgrade_creates_every_table_and_matches_the_models(fresh_app):
    with fresh_app.app_context():
        assert inspect(_db.engine).get_table_names() == []

    flask(fresh_app, "db", "upgrade")

    with fresh_app.app_context():
        tables = set(inspect(_db.engine).get_table_names())
        assert tables == set(_db.metadata.tables) | {"alembic_version"}

        with _db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(context, _db.metadata)
        assert diff == [], f"the models and the migrations differ: {diff}"


def test_upgrade_twice_is_harmless(fresh_app):
    flask(fresh_app, "db", "upgrade")
    flask(fresh_app, "db", "upgrade")
    with fresh_app.app_context():
        assert set(_db.metadata.tables) <= set(inspect(_db.engine).get_table_names())


def test_demo_loads_once(fresh_app):
    flask(fresh_app, "db", "upgrade")

    output = flask(fresh_app, "demo")
    assert "Loaded demo campaign" in output
    assert "http://campaign.test/en/c/aleppo" in output
    output = flask(fresh_app, "demo")
    assert "Already loaded" in output

    with fresh_app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(Campaign)) == 1
        campaign = _db.session.scalars(select(Campaign)).one()
        assert campaign.slug == DEMO_SLUG
        assert campaign.goal == 100_000
        assert campaign.is_open
        languages = _db.session.scalars(
            select(CampaignTranslation.language).order_by(CampaignTranslation.language)
        ).all()
        assert languages == sorted(DEMO_TEXTS)

    # The demo is a working petition on the migrated database.
    client = fresh_app.test_client()
    english = client.get("/en/c/aleppo")
    assert english.status_code == 200
    assert "Stop the bombing of civilians in Aleppo" in english.text
    russian = client.get("/ru/c/aleppo")
    assert russian.status_code == 200
    assert "Остановите бомбардировки мирных жителей Алеппо" in russian.text
    response = client.post(
        "/en/c/aleppo",
        data={"full_name": "Demo Signer", "email": "demo@example.org", "country": "GB"},
    )
    assert response.status_code == 302


def test_upgrade_turns_confirmed_public_signers_reasons_into_comments(fresh_app):
    from datetime import timedelta

    from sqlalchemy import Boolean, Integer, String, column, table

    from campaign.models import Comment, CommentStatus
    from campaign.models.types import UTCDateTime, utcnow
    from campaign.services.comments import body_hash

    flask(fresh_app, "db", "upgrade", "653bec7e65eb")  # the revision before comments
    now = utcnow()
    confirmed = now - timedelta(days=3)
    campaigns = table(
        "campaigns",
        column("id", Integer),
        column("slug", String),
        column("status", String),
        column("goal", Integer),
        column("default_language", String),
        column("signature_count", Integer),
        column("created_at", UTCDateTime),
        column("updated_at", UTCDateTime),
    )
    signatures = table(
        "signatures",
        *(column(name, String) for name in ("full_name", "email", "email_key", "country")),
        *(column(name, String) for name in ("city", "reason", "language")),
        column("id", Integer),
        column("campaign_id", Integer),
        column("is_public", Boolean),
        column("has_update_consent", Boolean),
        column("created_at", UTCDateTime),
        column("confirmed_at", UTCDateTime),
    )

    def signer(n, reason, *, public=True, confirmed_at=confirmed, name=None):
        return {
            "id": n,
            "campaign_id": 1,
            "full_name": name or f"Signer{n} Surname",
            "email": f"Signer{n}@example.org",
            "email_key": f"signer{n}@example.org",
            "country": "FR",
            "city": "",
            "reason": reason,
            "language": "en",
            "is_public": public,
            "has_update_consent": False,
            "created_at": confirmed - timedelta(hours=1),
            "confirmed_at": confirmed_at,
        }

    with fresh_app.app_context():
        with _db.engine.begin() as connection:
            connection.execute(
                campaigns.insert().values(
                    id=1,
                    slug="water",
                    status="open",
                    goal=100,
                    default_language="en",
                    signature_count=3,
                    created_at=now,
                    updated_at=now,
                )
            )
            connection.execute(
                signatures.insert(),
                [
                    signer(1, "Because water is life.", name="Alice  Marie Smith"),
                    signer(2, "Not confirmed yet.", confirmed_at=None),
                    signer(3, ""),
                    signer(4, "I would rather stay unlisted.", public=False),
                    signer(5, "Die STRASSE gehört uns."),
                ],
            )
        _db.engine.dispose()

    flask(fresh_app, "db", "upgrade")

    with fresh_app.app_context():
        comments = _db.session.scalars(select(Comment).order_by(Comment.signature_id)).all()
        assert [(c.signature_id, c.body) for c in comments] == [
            (1, "Because water is life."),
            (5, "Die STRASSE gehört uns."),
        ]
        alice = comments[0]
        assert alice.author_name == "Alice"  # the first name, as the list of signers shows
        assert alice.campaign_id == 1
        assert (alice.email, alice.email_key) == ("Signer1@example.org", "signer1@example.org")
        assert alice.status == CommentStatus.VISIBLE
        assert alice.confirmed_at == confirmed
        assert alice.created_at == confirmed
        assert alice.parent_id is None
        assert (alice.support_count, alice.flag_count, alice.hidden_by_flags) == (0, 0, False)
        # Duplicate detection finds them as it finds comments posted later.
        assert [c.body_hash for c in comments] == [body_hash(c.body) for c in comments]
        assert comments[1].body_hash == body_hash("die strasse gehört uns.")
        assert comments[1].body_hash == body_hash("Die Straße gehört uns.")
