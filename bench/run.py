"""`make bench`: serve the app with gunicorn, load it over HTTP, and print what it sustained.

    .venv/bin/python -m bench.run [--seconds 60] [--signatures 1000] [--big 1000000] …

The run, in order:
1. a database of its own (PostgreSQL, else SQLite, saying so) and an empty Redis database
   (else none), `flask db upgrade`, two campaigns with existing confirmed signatures loaded
   in bulk (`--signatures` for the main one, `--big` for the comparison and the export);
2. the raw single-row insert rate of the database, before the app starts;
3. gunicorn (and with `--worker`, the mail worker and a SendGrid stand-in);
4. petition page views only: at one client, alternating between the two campaigns (the
   latency comparison), then on each at full concurrency (the views per second);
5. the realistic mix for `--seconds`: views, signatures through the real form, confirmations;
6. the check that the database holds exactly what was accepted and confirmed;
7. the organizers' CSV export of the big campaign, and its memory: in the gunicorn worker
   serving it, and in a fresh process running the export service alone;
8. everything stopped and dropped; the tables printed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench import dataset, environment, report, server
from bench.client import Client
from bench.export import measure_export, measure_export_direct
from bench.load import Job, merge

ROOT = Path(__file__).resolve().parents[1]
ADMIN_EMAIL = "bench-admin@example.org"
MIX_SLUG = "bench-petition"
BIG_SLUG = "bench-big"
RAW_SECONDS = 5.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cores = os.cpu_count() or 2
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--seconds", type=float, default=20, help="length of the mixed load (target: 60)")
    add("--signatures", type=int, default=1000, help="existing signatures, main campaign")
    add(
        "--big",
        type=int,
        default=100_000,
        help="existing signatures of the comparison campaign, also exported (target: 1000000; "
        "0 skips the comparison and exports the main campaign)",
    )
    add("--page-seconds", type=float, default=5, help="length of each page-only measurement")
    add("--warmup", type=float, default=2, help="seconds left out at the start of each load")
    add("--workers", type=int, default=cores, help="gunicorn worker processes")
    add("--threads", type=int, default=4, help="threads per gunicorn worker")
    add(
        "--concurrency",
        type=int,
        default=0,
        help="simulated visitors (default: 2 x workers x threads)",
    )
    add(
        "--load-processes",
        type=int,
        default=cores,
        help="processes the simulated visitors are shared between (default: one per core)",
    )
    add("--mix", default="view=2,sign=1", help="weights of page views and signatures")
    add("--confirm-share", type=float, default=0.8, help="share of signatures confirmed")
    add("--worker", action="store_true", help="also run the mail worker (SendGrid stand-in)")
    add("--profile", metavar="DIR", help="CPU-profile the gunicorn workers during the mix")
    add(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="server to create the run's database on (the database named is not touched)",
    )
    add("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379"))
    args = parser.parse_args(argv)
    args.concurrency = args.concurrency or 2 * args.workers * args.threads
    args.weights = _weights(args.mix)
    return args


def _weights(mix: str) -> dict[str, float]:
    weights = {"view": 0.0, "sign": 0.0}
    for part in mix.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in weights:
            raise SystemExit(f"--mix knows view and sign, not {name!r}")
        weights[name.strip()] = float(value)
    return weights


class Clock:
    """Progress lines on stderr, stamped with the seconds since the start."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        print(f"[{self.elapsed():6.1f}s] {message}", file=sys.stderr, flush=True)


def server_env(services: environment.Services, secret_key: str, mail) -> dict[str, str]:
    """Production settings for gunicorn, the worker and `flask db upgrade`; the developer's own
    CAMPAIGN_/MAIL_/… variables are left out so that they cannot change what is measured."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CAMPAIGN_", "FLASK_", "SENDGRID_", "MAIL_", "RATELIMIT_"))
        and key not in {"DATABASE_URL", "REDIS_URL", "BASE_URL", "SECRET_KEY", "LANGUAGES"}
    }
    env.update(
        CAMPAIGN_ENV="production",
        SECRET_KEY=secret_key,
        DATABASE_URL=services.database_url,
        # One address signs thousands of times a second here: the limits would be the result.
        RATELIMIT_ENABLED="0",
        MAIL_BACKEND="console",
        PYTHONUNBUFFERED="1",
    )
    if services.redis_url:
        env["REDIS_URL"] = services.redis_url
    if mail is not None:
        env.update(
            MAIL_BACKEND="sendgrid", SENDGRID_API_KEY=mail.api_key, SENDGRID_API_HOST=mail.url
        )
    return env


def run_load(job: Job, processes: int = 1) -> dict:
    """Run `bench.load` in processes of their own, the visitors shared out between them (one
    Python process cannot drive more than a core's worth of requests), and merge what they saw."""
    processes = max(1, min(processes, job.concurrency))
    jobs = [
        replace(job, concurrency=job.concurrency // processes + (n < job.concurrency % processes))
        for n in range(processes)
    ]
    running = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.load"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in jobs
    ]
    parts = []
    for process, part in zip(running, jobs, strict=True):
        out, err = process.communicate(
            json.dumps(asdict(part)), timeout=job.warmup + job.seconds + 120
        )
        if process.returncode != 0:
            raise RuntimeError(f"the load generator failed:\n{err[-3000:]}")
        parts.append(json.loads(out))
    return merge(parts)


def page_job(args, served, campaign, concurrency: int, compare: list[str] = ()) -> Job:
    """Page views only, for `--page-seconds` per campaign."""
    return Job(
        host="127.0.0.1",
        port=served.port,
        slug=campaign.slug,
        campaign_id=campaign.id,
        seconds=args.page_seconds * max(1, len(compare)),
        concurrency=concurrency,
        view_weight=1,
        sign_weight=0,
        confirm_share=0,
        warmup=args.warmup,
        compare=list(compare),
    )


def warm_up(served, campaigns, clock: Clock) -> None:
    """A worker's first requests load templates, translations and more, for seconds: send
    every worker some before anything is measured (gunicorn hands connections out unevenly,
    hence many parallel ones)."""
    clock.say("warming up the workers")
    paths = [f"/en/c/{c.slug}" for c in campaigns]

    def visit() -> None:
        for _ in range(3):
            for path in paths:
                client = Client("127.0.0.1", served.port, timeout=60)
                client.get(path)
                client.close()

    threads = [threading.Thread(target=visit) for _ in range(4 * len(served.web_workers()))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure_pages(args, served, campaigns, clock: Clock) -> list[tuple]:
    """Page views only: each campaign in turn at one client (the latency comparison; with two
    campaigns, their requests alternate), then each at full concurrency (views per second).
    Returns (campaign, 1-client statistics, full-concurrency statistics) per campaign."""
    slugs = [c.slug for c in campaigns]
    clock.say(f"page views at 1 client, alternating between {', '.join(slugs)}")
    alone = run_load(page_job(args, served, campaigns[0], 1, compare=slugs))["kinds"]
    rows = []
    for campaign in campaigns:
        clock.say(
            f"page views, {campaign.signatures:,} existing signatures, {args.concurrency} clients"
        )
        job = page_job(args, served, campaign, args.concurrency)
        loaded = run_load(job, args.load_processes)["kinds"]["page"]
        rows.append((campaign, alone[f"page {campaign.slug}"], loaded))
    return rows


def measure_mix(run: Run, served: server.Served, campaign) -> tuple[dict, server.CpuMeter]:
    """The realistic mix, with the CPU each part of the system used meanwhile."""
    args, services = run.args, run.services
    job = Job(
        host="127.0.0.1",
        port=served.port,
        slug=campaign.slug,
        campaign_id=campaign.id,
        seconds=args.seconds,
        concurrency=args.concurrency,
        view_weight=args.weights["view"],
        sign_weight=args.weights["sign"],
        confirm_share=args.confirm_share,
        warmup=args.warmup,
        secret_key=run.secret_key,
        database_url=services.database_url,
    )
    groups = {
        "gunicorn": lambda: [served.web.pid, *served.web_workers()],
        "Redis": lambda: server.processes_named("redis-server"),
    }
    if services.backend == "postgresql":
        groups["PostgreSQL (this run)"] = lambda: environment.postgres_pids(services)
    if served.worker is not None:
        groups["mail worker"] = lambda: [served.worker.pid]
    meter = server.CpuMeter(groups)
    run.clock.say(
        f"mixed load: {args.seconds:g}s (+{args.warmup:g}s warm-up), "
        f"{args.concurrency} visitors, mix {args.mix}"
    )
    # The workers profile while this file exists (see profiling_settings).
    flag = Path(args.profile).resolve() / "profiling" if args.profile else None
    if flag:
        flag.touch()
    meter.start()
    try:
        result = run_load(job, args.load_processes)
    finally:
        meter.stop()
        if flag:
            flag.unlink(missing_ok=True)
    meter.used["load generator"] = result["cpu_seconds"]
    # On a shared machine, what others took is part of the result.
    meter.used["other processes on the machine"] = max(
        0.0, meter.machine - sum(meter.used.values())
    )
    return result, meter


def versions(services: environment.Services) -> tuple[str, str]:
    """The database's and Redis's versions, and the settings that bound their write rate."""
    from sqlalchemy import create_engine, text

    engine = create_engine(services.database_url)
    with engine.connect() as conn:
        if services.backend == "postgresql":
            version = conn.execute(text("SHOW server_version")).scalar_one()
            settings = {
                name: conn.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("synchronous_commit", "shared_buffers", "max_connections")
            }
            database = f"PostgreSQL {version} " + ", ".join(f"{k}={v}" for k, v in settings.items())
        else:
            version = conn.execute(text("select sqlite_version()")).scalar_one()
            database = f"SQLite {version} (fallback)"
    engine.dispose()
    redis = "none (fallback)"
    if services.redis_url:
        from redis import Redis

        conn = Redis.from_url(services.redis_url)
        redis = f"Redis {conn.info('server')['redis_version']}"
        conn.close()
    return database, redis


@dataclass
class Run:
    """One run's settings and services, and what it measured so far."""

    args: argparse.Namespace
    services: environment.Services
    env: dict[str, str]  # the app's environment (gunicorn, worker, flask commands)
    secret_key: str
    clock: Clock
    workdir: Path  # logs; kept if the run fails
    mail: server.CountingSendGrid | None
    results: report.Results = field(default_factory=report.Results)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clock = Clock()
    workdir = Path(tempfile.mkdtemp(prefix="campaign-bench-"))
    services = environment.open_services(args.postgres_url, args.redis_url, workdir)
    for note in services.notes:
        clock.say(f"NOTE: {note}")
    clock.say(f"database: {services.backend}; Redis: {services.redis_url or 'none'}")
    mail = server.CountingSendGrid().start() if args.worker else None
    secret_key = secrets.token_urlsafe(48)
    run = Run(
        args, services, server_env(services, secret_key, mail), secret_key, clock, workdir, mail
    )
    run.results.notes = services.notes
    try:
        run.results.database, run.results.redis = versions(services)
        prepare(run)
        serve_and_measure(run)
    except BaseException:
        print(f"(logs kept in {workdir})", file=sys.stderr)
        raise
    finally:
        clock.say("dropping the run's database and Redis keys")
        environment.close_services(services)
        if mail is not None:
            mail.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    run.results.elapsed = clock.elapsed()
    print(report.render(args, run.results), flush=True)
    return 0


def prepare(run: Run) -> None:
    """Schema, campaigns with their existing signatures, an admin; then the raw insert rate."""
    args, services, say = run.args, run.services, run.clock.say
    say("flask db upgrade")
    server.flask_cli(run.env, "db", "upgrade")
    # The app itself, in this process, for the models and services that set up the data.
    os.environ.update(run.env)
    from campaign import create_app

    app = create_app()
    sizes = [(MIX_SLUG, args.signatures)] + ([(BIG_SLUG, args.big)] if args.big else [])
    for slug, count in sizes:
        say(f"loading {count:,} existing signatures into {slug}")
        campaign_id = dataset.create_campaign(app, slug)
        seconds = dataset.load_signatures(app, campaign_id, count, services.backend, say)
        run.results.campaigns.append(dataset.LoadedCampaign(slug, campaign_id, count, seconds))
    dataset.create_admin(app, ADMIN_EMAIL, run.admin_password)
    # As many connections as the app can use at once: one per gunicorn thread.
    connections = args.workers * args.threads
    say(f"raw insert rate, {RAW_SECONDS:g}s")
    run.results.raw = dataset.raw_insert_rate(
        services.backend, services.database_url, connections, RAW_SECONDS
    )


def serve_and_measure(run: Run) -> None:
    """Everything that needs gunicorn; it is stopped whatever happens."""
    args, results, say = run.args, run.results, run.clock.say
    env, extra = run.env, []
    if args.profile:
        env, extra = profiling_settings(args.profile, env)
    say(f"starting gunicorn: {args.workers} workers x {args.threads} threads")
    served = server.start(
        env,
        run.workdir,
        workers=args.workers,
        threads=args.threads,
        with_worker=args.worker,
        gunicorn_extra=extra,
    )
    main, exported = results.campaigns[0], results.campaigns[-1]
    try:
        warm_up(served, results.campaigns, run.clock)
        results.pages = measure_pages(args, served, results.campaigns, run.clock)
        results.mix, results.cpu = measure_mix(run, served, main)
        if served.worker is not None:
            say("giving the mail worker 5s to catch up")
            time.sleep(5)
        results.census = dataset.census(run.services.database_url, main.id)
        results.mail_accepted = run.mail.accepted if run.mail is not None else None
        say(f"CSV export of {exported.signatures:,} signatures through the panel")
        results.export = measure_export(served, exported.slug, ADMIN_EMAIL, run.admin_password)
    finally:
        say("stopping gunicorn")
        server.stop(served)
    say(f"CSV export of {exported.signatures:,} signatures in a fresh process")
    results.direct_export = measure_export_direct(run.env, exported.id, warm_up_with=main.id)
    if args.profile:
        results.profile = report.profile_summary(args.profile)


def profiling_settings(directory: str, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """gunicorn's environment and arguments for `--profile` (see bench/profiling.py)."""
    out = Path(directory).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("worker-*.prof"):
        old.unlink()
    env = {**env, "BENCH_PROFILE_DIR": str(out), "BENCH_PROFILE_FLAG": str(out / "profiling")}
    return env, ["--config", str(ROOT / "bench" / "profiling.py")]


if __name__ == "__main__":
    sys.exit(main())
