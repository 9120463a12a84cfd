"""The load generator: simulated visitors who read, sign and confirm, over real HTTP.

It runs in a process of its own (`python -m bench.load`, a JSON job on stdin, JSON results on
stdout) so that its work never shares an interpreter with the runner's. Each visitor is a
thread with a keep-alive connection; a closed loop: the next action starts when the last ended.

What a visitor does, chosen by the job's weights:
- view: GET the petition page, as a new reader (no cookies).
- sign: GET the page (session cookie and CSRF token), POST the real sign form with a unique
  address and the spam trap left empty, then follow the redirect to the "signed" page.
- confirm: what the email link leads to: GET the confirmation page, POST its form, follow the
  redirect to "thanks". A visitor confirms whenever a signature is waiting; a poller finds the
  run's new signatures a few times a second and makes their links with the app's own token
  function and SECRET_KEY, as the confirmation email would carry them.
"""

from __future__ import annotations

import json
import math
import random
import sys
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field

from bench.client import Client, Response

KINDS = ["page", "sign", "signed", "confirm-page", "confirm", "thanks"]
COUNTRIES = ["FR", "DE", "US", "GB", "RU", "TR", "ES", "BR", "IN", "NG", "EG", "JP"]
CITIES = ["Lyon", "Hamburg", "Denver", "Bristol", "Perm", "Ankara", "Bilbao", "", "", ""]
POLL_EVERY = 0.2  # seconds between looks for new signatures to confirm
POLL_WINDOW = 5000  # ids below the newest seen that may still commit late (out of id order)


@dataclass
class Job:
    host: str
    port: int
    slug: str
    campaign_id: int
    seconds: float
    concurrency: int
    view_weight: float = 2.0
    sign_weight: float = 1.0
    confirm_share: float = 0.8  # of accepted signatures, how many get confirmed
    warmup: float = 2.0  # seconds at the start left out of the statistics
    secret_key: str = ""
    database_url: str = ""
    language: str = "en"
    timeout: float = 10.0
    # Page views only, alternating between these campaigns, each recorded as "page <slug>":
    # interleaved, the comparison is fair even when the machine's other load drifts.
    compare: list[str] = field(default_factory=list)


@dataclass
class Recorder:
    """One visitor's observations; merged at the end, so no lock is taken per request."""

    window: tuple[float, float]  # requests started in [start, end) count in the statistics
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    error_samples: Counter = field(default_factory=Counter)
    accepted: int = 0  # sign forms answered by a redirect to "signed" (the whole run)
    confirmed: int = 0  # confirmation forms answered by a redirect to "thanks"
    unknown: Counter = field(default_factory=Counter)  # POSTs whose outcome we never saw

    def ok(self, kind: str, started: float, elapsed: float) -> None:
        if self.window[0] <= started < self.window[1]:
            self.latencies.setdefault(kind, []).append(elapsed)

    def error(self, kind: str, started: float, what: str) -> None:
        if self.window[0] <= started < self.window[1]:
            self.errors[kind] += 1
        self.error_samples[f"{kind}: {what}"] += 1


class Visitor(threading.Thread):
    """One simulated browser tab after another, until the job's time is up."""

    def __init__(self, job: Job, number: int, pending: deque, recorder: Recorder, run_id: str):
        super().__init__(daemon=True)
        self.job = job
        self.number = number
        self.pending = pending
        self.recorder = recorder
        self.run_id = run_id
        self.random = random.Random(f"{run_id}-{number}")  # noqa: S311 - not for security
        self.client = Client(job.host, job.port, timeout=job.timeout)
        self.signed = 0  # signatures this visitor made: part of their unique addresses
        self.views = 0
        self.page = f"/{job.language}/c/{job.slug}"

    def run(self) -> None:
        deadline = self.recorder.window[1]
        while time.monotonic() < deadline:
            try:
                self.act()
            except Exception as exc:  # a bug in the bench must not hang the run silently
                self.recorder.error_samples[f"bench: {exc!r}"] += 1
        self.client.close()

    def act(self) -> None:
        """Confirm a signature if one is waiting for its link; else view or sign, by weight."""
        try:
            token = self.pending.popleft()
        except IndexError:
            token = None
        total = self.job.view_weight + self.job.sign_weight
        if token:
            self.confirm(token)
        elif self.random.random() * total < self.job.view_weight:
            self.view()
        else:
            self.sign()

    # The three journeys ---------------------------------------------------------------------

    def view(self) -> None:
        self.client.new_visitor()
        if self.job.compare:
            self.views += 1
            slug = self.job.compare[self.views % len(self.job.compare)]
            # A query of its own defeats the page cache: the comparison is of rendering.
            path = f"/{self.job.language}/c/{slug}?view={self.views}"
            self.step(f"page {slug}", "GET", path, expect=200)
        else:
            self.step("page", "GET", self.page, expect=200)

    def sign(self) -> None:
        self.client.new_visitor()
        page = self.step("page", "GET", self.page, expect=200)
        if page is None:
            return
        self.signed += 1
        email = f"bench-{self.run_id}-{self.number}-{self.signed}@example.org"
        fields = {
            "csrf_token": page.csrf_token(),
            "full_name": f"Bench Signer {self.number}-{self.signed}",
            "email": email,
            "country": self.random.choice(COUNTRIES),
            "city": self.random.choice(CITIES),
            # Some give a reason, which becomes a comment once confirmed; each one different,
            # or the app would take it for a pasted campaign.
            "reason": f"Reason {email}: because it matters." if self.random.random() < 0.1 else "",
            # The spam trap stays empty, as a person leaves it.
            "website": "",
        }
        if self.random.random() < 0.5:
            fields["is_public"] = "y"
        if self.random.random() < 0.3:
            fields["has_update_consent"] = "y"
        answer = self.step("sign", "POST", self.page, fields=fields, expect=302, to="/signed")
        if answer is not None:
            self.recorder.accepted += 1
            self.step("signed", "GET", _path(answer.location), expect=200)

    def confirm(self, token: str) -> None:
        self.client.new_visitor()
        link = f"{self.page}/confirm/{token}"
        page = self.step("confirm-page", "GET", link, expect=200)
        if page is None:
            return
        fields = {"csrf_token": page.csrf_token()}
        answer = self.step("confirm", "POST", link, fields=fields, expect=302, to="/thanks")
        if answer is not None:
            self.recorder.confirmed += 1
            self.step("thanks", "GET", _path(answer.location), expect=200)

    def step(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        fields: dict | None = None,
        expect: int,
        to: str = "",
    ) -> Response | None:
        """One request, timed and judged; None when it failed (the journey stops there)."""
        started = time.monotonic()
        try:
            if method == "POST":
                response = self.client.post_form(path, fields or {})
            else:
                response = self.client.get(path)
        except Exception as exc:
            if method == "POST":
                self.recorder.unknown[kind] += 1  # it may have been committed all the same
            self.recorder.error(kind, started, exc.__class__.__name__)
            return None
        elapsed = time.monotonic() - started
        if response.status != expect or (to and not response.location.endswith(to)):
            self.recorder.error(kind, started, f"HTTP {response.status} {response.location}")
            return None
        self.recorder.ok(kind, started, elapsed)
        return response


def _path(location: str) -> str:
    """The path of a redirect's Location, which may be absolute."""
    if "://" in location:
        location = "/" + location.split("://", 1)[1].split("/", 1)[1]
    return location


class Poller(threading.Thread):
    """Finds the run's new, unconfirmed signatures and hands out their confirmation links.

    One query a few times a second instead of one per signature, so the bench adds almost no
    load of its own to the database.
    """

    def __init__(self, job: Job, pending: deque, stop: threading.Event, run_id: str):
        super().__init__(daemon=True)
        self.job = job
        self.run_id = run_id
        self.pending = pending
        self.stop_event = stop
        self.seen: set[int] = set()
        self.random = random.Random(job.campaign_id)  # noqa: S311 - not for security

    def run(self) -> None:
        from sqlalchemy import create_engine, text

        from campaign.services.email_addresses import mailbox_digest
        from campaign.services.signing import CONFIRM_PURPOSE
        from campaign.services.tokens import make_token

        engine = create_engine(self.job.database_url)
        query = text(
            "SELECT id, email_key FROM signatures WHERE campaign_id = :c AND id > :low "
            "AND confirmed_at IS NULL AND email_key LIKE :mine"
        )
        low = 0
        while not self.stop_event.wait(POLL_EVERY):
            with engine.connect() as conn:
                rows = conn.execute(
                    query,
                    # Only this process's signers: other load processes confirm their own.
                    {"c": self.job.campaign_id, "low": low, "mine": f"bench-{self.run_id}-%"},
                ).all()
            for signature_id, email_key in rows:
                if signature_id in self.seen:
                    continue
                self.seen.add(signature_id)
                if self.random.random() < self.job.confirm_share:
                    payload = {
                        "s": signature_id,
                        "c": self.job.campaign_id,
                        "k": mailbox_digest(email_key),
                    }
                    token = make_token(self.job.secret_key, CONFIRM_PURPOSE, payload)
                    self.pending.append(token)
            if rows:
                low = max(low, max(r[0] for r in rows) - POLL_WINDOW)
        engine.dispose()


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for none)."""
    if not ordered:
        return 0.0
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def run(job: Job) -> dict:
    """Run the visitors for the job's time; the statistics as a JSON-ready dict."""
    cpu_started = time.process_time()
    started = time.monotonic()
    window = (started + job.warmup, started + job.warmup + job.seconds)
    pending: deque = deque()
    stop = threading.Event()
    poller = None
    run_id = uuid.uuid4().hex[:8]
    if job.confirm_share > 0 and job.sign_weight > 0:
        poller = Poller(job, pending, stop, run_id)
        poller.start()
    recorders = [Recorder(window) for _ in range(job.concurrency)]
    visitors = [Visitor(job, n, pending, recorders[n], run_id) for n in range(job.concurrency)]
    for visitor in visitors:
        visitor.start()
    for visitor in visitors:
        visitor.join()
    stop.set()
    if poller:
        poller.join()
    return _summary(recorders, job, time.process_time() - cpu_started, len(pending))


def _summary(recorders: list[Recorder], job: Job, cpu: float, unconfirmed_links: int) -> dict:
    raw = {}
    seen = {kind for r in recorders for kind in [*r.latencies, *r.errors]}
    for kind in KINDS + sorted(seen - set(KINDS)):
        raw[kind] = (
            [x for r in recorders for x in r.latencies.get(kind, [])],
            sum(r.errors[kind] for r in recorders),
        )
    samples: Counter = Counter()
    unknown: Counter = Counter()
    for recorder in recorders:
        samples.update(recorder.error_samples)
        unknown.update(recorder.unknown)
    return {
        "seconds": job.seconds,
        "concurrency": job.concurrency,
        "raw": raw,
        "accepted": sum(r.accepted for r in recorders),
        "confirmed": sum(r.confirmed for r in recorders),
        "unknown": dict(unknown),
        "error_samples": dict(samples),
        "links_left": unconfirmed_links,
        "cpu_seconds": cpu,
    }


def merge(parts: list[dict]) -> dict:
    """One table from the results of several load processes run side by side."""
    first = parts[0]
    seconds = first["seconds"]
    kinds = {}
    names = {kind: None for part in parts for kind in part["raw"]}
    for kind in names:
        latencies = sorted(x for part in parts for x in part["raw"].get(kind, ([], 0))[0])
        errors = sum(part["raw"].get(kind, ([], 0))[1] for part in parts)
        if not latencies and not errors:
            continue
        kinds[kind] = {
            "count": len(latencies),
            "per_second": len(latencies) / seconds,
            "errors": errors,
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "max_ms": (latencies[-1] * 1000) if latencies else 0.0,
        }
    samples: Counter = Counter()
    unknown: Counter = Counter()
    for part in parts:
        samples.update(part["error_samples"])
        unknown.update(part["unknown"])
    return {
        "seconds": seconds,
        "concurrency": sum(part["concurrency"] for part in parts),
        "processes": len(parts),
        "kinds": kinds,
        "accepted": sum(part["accepted"] for part in parts),
        "confirmed": sum(part["confirmed"] for part in parts),
        "unknown": dict(unknown),
        "error_samples": dict(samples.most_common(8)),
        "links_left": sum(part["links_left"] for part in parts),
        "cpu_seconds": sum(part["cpu_seconds"] for part in parts),
    }


def main() -> None:
    job = Job(**json.load(sys.stdin))
    json.dump(run(job), sys.stdout)


if __name__ == "__main__":
    main()
