"""The services a run uses, and the database and Redis database it owns for its duration.

On PostgreSQL the run creates a database of its own (`campaign_bench_<random>`) and drops it at
the end, so the `test` database other suites share is never touched. Without PostgreSQL it
falls back to an SQLite file in a temporary directory; without Redis, to none (the app then
needs no Redis: mail waits in the outbox table, rate limits are off for the run anyway).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

# Redis databases the bench may use; the test suite takes 4 to 15 (tests/conftest.py). A run
# takes the first empty one and empties it again when done.
REDIS_DATABASES = (3, 2, 1)


@dataclass
class Services:
    """What this run talks to, and the notes explaining any fallback."""

    database_url: str  # for the app (SQLAlchemy form)
    backend: str  # "postgresql" or "sqlite"
    redis_url: str | None
    notes: list[str] = field(default_factory=list)
    # For cleanup: the server's maintenance url and the database the run created there.
    admin_url: str | None = None
    database_name: str | None = None

    @property
    def libpq_dsn(self) -> str:
        """The database for psycopg (the driver name SQLAlchemy wants dropped)."""
        return self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def postgres_reachable(url: str) -> str | None:
    """None if PostgreSQL answers at `url`, otherwise why not."""
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"{exc.__class__.__name__}: {str(exc).strip().splitlines()[0]}"


def create_postgres_database(admin_url: str) -> tuple[str, str]:
    """Create a fresh database next to the one `admin_url` names; returns (its url, its name)."""
    name = f"campaign_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_database(admin_url, name)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url, name


def drop_postgres_database(admin_url: str, name: str) -> None:
    """Drop the run's database; FORCE ends any connection a crashed process left behind."""
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def pick_redis(base_url: str) -> tuple[str | None, str | None]:
    """(url of an empty Redis database for the run, None) or (None, why there is none)."""
    try:
        from redis import Redis

        for number in REDIS_DATABASES:
            url = f"{base_url.rstrip('/')}/{number}"
            conn = Redis.from_url(url, socket_connect_timeout=2)
            empty = conn.dbsize() == 0
            conn.close()
            if empty:
                return url, None
        return None, f"Redis databases {REDIS_DATABASES} at {base_url} are all in use"
    except Exception as exc:
        return None, f"{exc.__class__.__name__}: {exc}"


def flush_redis(url: str) -> None:
    """Empty the run's Redis database (it was empty when the run took it)."""
    from redis import Redis

    conn = Redis.from_url(url, socket_connect_timeout=2)
    conn.flushdb()
    conn.close()


def open_services(postgres_url: str, redis_base_url: str, workdir: Path) -> Services:
    """Reach PostgreSQL and Redis, or fall back to SQLite and no Redis, saying why."""
    notes = []
    why_not = postgres_reachable(postgres_url)
    if why_not is None:
        url, name = create_postgres_database(postgres_url)
        services = Services(url, "postgresql", None, notes, postgres_url, name)
    else:
        notes.append(f"PostgreSQL unreachable at {postgres_url} ({why_not}): using SQLite")
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        services = Services(url, "sqlite", None, notes)
    redis_url, why_not = pick_redis(redis_base_url)
    if redis_url is None:
        notes.append(f"Redis unavailable ({why_not}): running without Redis")
    services.redis_url = redis_url
    return services


def postgres_pids(services: Services) -> list[int]:
    """The server processes working for this run: its database's backends, and the shared
    ones (WAL writer, checkpointer…) that every commit relies on. Other databases' backends,
    such as a test suite running meanwhile, are not ours."""
    if services.backend != "postgresql":
        return []
    with psycopg.connect(services.libpq_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE (datname = current_database() AND pid <> pg_backend_pid()) "
            "OR backend_type <> 'client backend'"
        ).fetchall()
    return [pid for (pid,) in rows]


def close_services(services: Services) -> None:
    """Drop what the run created: its PostgreSQL database, its Redis keys."""
    if services.database_name and services.admin_url:
        drop_postgres_database(services.admin_url, services.database_name)
    if services.redis_url:
        flush_redis(services.redis_url)
