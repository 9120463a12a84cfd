"""What the run measures against: campaigns with existing signatures, loaded in bulk; the raw
insert rate of the database for comparison; and the check that every accepted signature is
there, once.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import create_engine, func, insert, select, text

COUNTRIES = ["FR", "DE", "US", "GB", "RU", "TR", "ES", "SY", "LB", "IT", "BR", "IN"]
CITIES = ["Paris", "Berlin", "Boston", "Leeds", "Kazan", "Izmir", "Sevilla", "Homs", "", ""]
CAMPAIGN_GOAL = 2_000_000
LOAD_BATCH = 100_000  # rows per INSERT … SELECT, so progress shows while a million load


@dataclass(frozen=True)
class LoadedCampaign:
    slug: str
    id: int
    signatures: int  # existing, all confirmed
    seconds: float  # how long loading them took


def create_campaign(app, slug: str) -> int:
    """An open campaign with the demo's appeal (a realistic page), through the app's models."""
    from campaign.extensions import db
    from campaign.models import Campaign, CampaignStatus, CampaignTranslation
    from campaign.services.demo import DEMO_TEXTS

    with app.app_context():
        campaign = Campaign(
            slug=slug, status=CampaignStatus.OPEN, goal=CAMPAIGN_GOAL, default_language="en"
        )
        campaign.translations.append(CampaignTranslation(language="en", **DEMO_TEXTS["en"]))
        db.session.add(campaign)
        db.session.commit()
        return campaign.id


def create_admin(app, email: str, password: str) -> None:
    """A site admin, who may export any campaign's signatures."""
    from campaign.extensions import db
    from campaign.services.organizers import create_organizer

    with app.app_context():
        create_organizer(db.session, email=email, password=password, is_admin=True)
        db.session.commit()


def load_signatures(app, campaign_id: int, count: int, backend: str, say) -> float:
    """Add `count` confirmed signatures to the campaign in bulk; returns the seconds it took.

    Not the ORM one row at a time: a million rows must load in seconds. The campaign's public
    counter is set to match, as `signing.confirm` would have kept it.
    """
    started = time.monotonic()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if backend == "postgresql":
        _load_postgres(url, campaign_id, count, say)
    else:
        _load_sqlite(url, campaign_id, count, say)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE campaigns SET signature_count = :n WHERE id = :id"),
            {"n": count, "id": campaign_id},
        )
    engine.dispose()
    return time.monotonic() - started


def _load_postgres(url: str, campaign_id: int, count: int, say) -> None:
    """INSERT … SELECT FROM generate_series: the rows are made inside the server, in batches.

    Timestamps are naive UTC, as the app's UTCDateTime stores them; the newest signature is an
    hour old, so the run's own confirmations are the most recent on the page.
    """
    statement = """
        INSERT INTO signatures (campaign_id, full_name, email, email_key, country, city,
                                reason, language, is_public, has_update_consent,
                                created_at, confirmed_at)
        SELECT %(campaign)s, 'Signer ' || i,
               'preloaded-' || %(campaign)s || '-' || i || '@example.org',
               'preloaded-' || %(campaign)s || '-' || i || '@example.org',
               (%(countries)s::text[])[1 + i %% %(n_countries)s],
               (%(cities)s::text[])[1 + i %% %(n_cities)s],
               '', 'en', i %% 2 = 0, i %% 3 = 0,
               signed_at, signed_at + interval '2 minutes'
        FROM generate_series(%(first)s::int, %(last)s::int) AS i,
             LATERAL (SELECT (now() AT TIME ZONE 'utc') - interval '1 hour'
                             - make_interval(secs => %(total)s::int - i) AS signed_at) AS t
    """
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for first in range(1, count + 1, LOAD_BATCH):
            last = min(count, first + LOAD_BATCH - 1)
            conn.execute(
                statement,
                {
                    "campaign": campaign_id,
                    "countries": COUNTRIES,
                    "n_countries": len(COUNTRIES),
                    "cities": CITIES,
                    "n_cities": len(CITIES),
                    "total": count,
                    "first": first,
                    "last": last,
                },
            )
            if count > LOAD_BATCH:
                say(f"  … {last:,} of {count:,}")
        # Fresh statistics and visibility map, as autovacuum would give a table in service.
        conn.execute("VACUUM ANALYZE signatures")


def _load_sqlite(url: str, campaign_id: int, count: int, say) -> None:
    """Multi-row INSERTs through SQLAlchemy Core (which stores timestamps the way the app does)."""
    from campaign.models import Signature

    engine = create_engine(url)
    newest = datetime.now(UTC) - timedelta(hours=1)
    with engine.begin() as conn:
        for first in range(1, count + 1, LOAD_BATCH):
            rows = [
                _signature_row(campaign_id, i, newest - timedelta(seconds=count - i))
                for i in range(first, min(count, first + LOAD_BATCH - 1) + 1)
            ]
            conn.execute(insert(Signature), rows)
            if count > LOAD_BATCH:
                say(f"  … {first + len(rows) - 1:,} of {count:,}")
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _signature_row(campaign_id: int, i: int, created: datetime) -> dict:
    email = f"preloaded-{campaign_id}-{i}@example.org"
    return {
        "campaign_id": campaign_id,
        "full_name": f"Signer {i}",
        "email": email,
        "email_key": email,
        "country": COUNTRIES[i % len(COUNTRIES)],
        "city": CITIES[i % len(CITIES)],
        "reason": "",
        "language": "en",
        "is_public": i % 2 == 0,
        "has_update_consent": i % 3 == 0,
        "created_at": created,
        "confirmed_at": created + timedelta(minutes=2),
    }


# --- the raw insert rate ------------------------------------------------------------------

RAW_TABLE = """
    CREATE TABLE bench_raw_inserts (
        id serial PRIMARY KEY,
        campaign_id integer NOT NULL,
        full_name varchar(120) NOT NULL,
        email varchar(254) NOT NULL,
        email_key varchar(254) NOT NULL,
        country varchar(2) NOT NULL,
        city varchar(120) NOT NULL,
        reason text NOT NULL,
        language varchar(16) NOT NULL,
        is_public boolean NOT NULL,
        has_update_consent boolean NOT NULL,
        created_at timestamp NOT NULL,
        confirmed_at timestamp,
        UNIQUE (campaign_id, email_key)
    )
"""
RAW_INDEXES = [
    "CREATE INDEX ON bench_raw_inserts (campaign_id, confirmed_at)",
    "CREATE INDEX ON bench_raw_inserts (campaign_id, created_at)",
]
RAW_INSERT = """
    INSERT INTO bench_raw_inserts (campaign_id, full_name, email, email_key, country, city,
        reason, language, is_public, has_update_consent, created_at)
    VALUES (1, 'Raw Insert', %(email)s, %(email)s, 'FR', 'Paris', '', 'en', true, false,
        now() AT TIME ZONE 'utc')
"""


@dataclass(frozen=True)
class RawRate:
    rows_per_second: float
    connections: int
    seconds: float
    what: str


def raw_insert_rate(backend: str, url: str, connections: int, seconds: float) -> RawRate:
    """Single-row INSERT + COMMIT in a loop on `connections` connections at once.

    The table has the signatures table's columns and indexes, and is an ordinary (logged)
    table: a TEMP or UNLOGGED one skips the write-ahead log, and so the fsync at each commit
    that bounds the real rate. It is dropped afterwards.
    """
    if backend != "postgresql":
        return _sqlite_raw_rate(url, seconds)
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(RAW_TABLE)
        for statement in RAW_INDEXES:
            conn.execute(statement)
    try:
        # Processes, not threads: the loop's Python overhead must not share one GIL. The clock
        # starts when every one of them is connected (starting them can take seconds on a busy
        # machine).
        context = multiprocessing.get_context("spawn")
        ready = context.Barrier(connections)
        results = context.Queue()
        loops = [
            context.Process(target=_insert_loop, args=(dsn, n, ready, seconds, results))
            for n in range(connections)
        ]
        for loop in loops:
            loop.start()
        counts = [results.get(timeout=seconds + 120) for _ in loops]
        for loop in loops:
            loop.join()
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE bench_raw_inserts")
    return RawRate(
        sum(counts) / seconds,
        connections,
        seconds,
        "PostgreSQL single-row INSERT+COMMIT, signatures' columns and indexes",
    )


def _insert_loop(dsn: str, number: int, ready, seconds: float, results) -> None:
    """One connection's share: insert and commit one row at a time until time is up."""
    with psycopg.connect(dsn) as conn:
        ready.wait()
        deadline = time.monotonic() + seconds
        done = 0
        while time.monotonic() < deadline:
            conn.execute(RAW_INSERT, {"email": f"raw-{number}-{done}@example.org"})
            conn.commit()
            done += 1
    results.put(done)


def _sqlite_raw_rate(url: str, seconds: float) -> RawRate:
    """SQLite takes one writer at a time, so one connection, with the app's pragmas."""
    path = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(RAW_TABLE.replace("serial", "integer"))
    insert_sql = RAW_INSERT.replace("%(email)s", ":email").replace(
        "now() AT TIME ZONE 'utc'", "CURRENT_TIMESTAMP"
    )
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn.execute("BEGIN")
        conn.execute(insert_sql, {"email": f"raw-{done}@example.org"})
        conn.execute("COMMIT")
        done += 1
    conn.execute("DROP TABLE bench_raw_inserts")
    conn.close()
    return RawRate(done / seconds, 1, seconds, "SQLite single-row INSERT+COMMIT (WAL)")


# --- the check ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Census:
    """What the database holds for one campaign."""

    signatures: int
    confirmed: int
    public_counter: int
    outbox: dict[str, int]


def census(url: str, campaign_id: int) -> Census:
    """Count the campaign's signatures the slow, certain way (COUNT(*)), and the outbox."""
    from campaign.models import Campaign, OutboxMessage, Signature

    engine = create_engine(url)
    with engine.connect() as conn:
        signatures = conn.scalar(
            select(func.count()).select_from(Signature).where(Signature.campaign_id == campaign_id)
        )
        confirmed = conn.scalar(
            select(func.count())
            .select_from(Signature)
            .where(Signature.campaign_id == campaign_id, Signature.confirmed_at.is_not(None))
        )
        counter = conn.scalar(select(Campaign.signature_count).where(Campaign.id == campaign_id))
        outbox = dict(
            conn.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
    engine.dispose()
    return Census(signatures, confirmed, counter, {str(k): v for k, v in outbox.items()})
