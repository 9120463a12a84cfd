"""Fixtures: an app on SQLite and on PostgreSQL, an empty database per test, a SendGrid stand-in.

Every test that uses `app` (or anything built on it) runs once per database backend. PostgreSQL
is reached at TEST_DATABASE_URL (default: the local server, database `test`); each run works in a
schema of its own. Without PostgreSQL those runs skip, unless CAMPAIGN_REQUIRE_SERVICES=1, where
they fail.
"""

from __future__ import annotations

import os
import uuid

import pytest

# Settings of the developer's shell must not leak into tests.
for _name in ("DATABASE_URL", "REDIS_URL", "MAIL_BACKEND", "SENDGRID_API_KEY", "BASE_URL"):
    os.environ.pop(_name, None)
os.environ["CAMPAIGN_ENV"] = "testing"
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from campaign import create_app  # noqa: E402
from campaign.extensions import db as _db  # noqa: E402
from tests.sendgrid_fake import FakeSendGrid  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def services_required() -> bool:
    return os.environ.get("CAMPAIGN_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str):
    """Skip a test whose service is missing, or fail it when CI requires every service."""
    if services_required():
        pytest.fail(f"{reason} (CAMPAIGN_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def postgres_base_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)


def make_postgres_schema() -> tuple[str, str]:
    """Create a fresh schema on the test server; returns (url using it, schema name)."""
    base = postgres_base_url()
    schema = f"campaign_test_{uuid.uuid4().hex[:10]}"
    try:
        engine = create_engine(base, connect_args={"connect_timeout": 3})
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    except Exception as exc:
        skip_or_fail(f"PostgreSQL is not reachable at {base}: {exc.__class__.__name__}")
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", schema


def drop_postgres_schema(schema: str) -> None:
    engine = create_engine(postgres_base_url())
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A database with every table, shared by the tests of one backend and emptied after each."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    else:
        url, schema = make_postgres_schema()
    engine = create_engine(url)
    _db.metadata.create_all(engine)
    engine.dispose()
    yield url
    if schema:
        drop_postgres_schema(schema)


@pytest.fixture(scope="session")
def sendgrid():
    """The SendGrid stand-in, one for the run; emptied before each test by `mail`."""
    server = FakeSendGrid().start()
    yield server
    server.stop()


@pytest.fixture
def mail(sendgrid):
    sendgrid.reset()
    return sendgrid


def test_config(database_url: str, sendgrid: FakeSendGrid, **overrides) -> dict:
    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://campaign.test",
        "MAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": sendgrid.api_key,
        "SENDGRID_API_HOST": sendgrid.url,
        "SENDGRID_TIMEOUT": 2.0,
        "MAIL_RETRY_BASE_SECONDS": 0.0,
        "LANGUAGES": ["en", "ru"],
        "REDIS_URL": None,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Tests post forms at once; the minimum time on the comment form has its own tests.
        "COMMENT_MIN_SECONDS": 0,
        # Pages change as soon as a test changes the data; tests/test_page_cache.py turns it on.
        "PAGE_CACHE_SECONDS": 0,
    }
    config.update(overrides)
    return config


@pytest.fixture
def app_config(database_url, sendgrid):
    """Overrides for `app`; a test module can override this fixture to change settings."""
    return test_config(database_url, sendgrid)


@pytest.fixture
def app(app_config, mail):
    app = create_app(app_config)
    with app.app_context():
        yield app
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The Flask-SQLAlchemy handle, bound to this test's empty database."""
    return _db


class FreshContextClient(FlaskClient):
    """Runs each request in an app context of its own, as production does: its own `g` and its
    own database session. The test's session is rolled back afterwards so it reads what the
    request committed (on SQLite an open read transaction would keep its old snapshot)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.rollback()
        return response


@pytest.fixture
def client(app):
    app.test_client_class = FreshContextClient
    return app.test_client()


@pytest.fixture
def redis_url():
    """A Redis database for this test (flushed before and after): number 15, or one of its own
    for each pytest-xdist worker (15, 14, …) so that parallel runs do not flush each other."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    if url.endswith("/15") and worker.isdigit():
        url = url.removesuffix("/15") + f"/{15 - int(worker) % 12}"
    try:
        from redis import Redis

        conn = Redis.from_url(url, socket_connect_timeout=2)
        conn.ping()
    except Exception as exc:
        skip_or_fail(f"Redis is not reachable at {url}: {exc.__class__.__name__}")
    conn.flushdb()
    yield url
    conn.flushdb()
