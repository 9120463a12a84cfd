"""The organizers' CSV export of a big campaign, and the memory it takes, measured twice:

- through the panel: an organizer logs in (the real form, CSRF included) and downloads
  /admin/c/<slug>/signatures.csv while the resident memory of every gunicorn worker is sampled
  from /proc. This is what an operator sees, but a worker's memory also holds whatever earlier
  requests left in it;
- in a fresh process (`python -m bench.export <campaign id> <warm-up campaign id>`) that runs
  the same export service into /dev/null: once on a small campaign, so that what the first
  export loads (modules, locale data, compiled queries) is in place, then on the big one. The
  kernel's peak-RSS mark is reset between the two (/proc/self/clear_refs), so the peak is the
  big export's alone, and so is its growth over the RSS at the reset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.client import Client
from bench.server import ROOT, Served, rss_mb

SAMPLE_EVERY = 0.02  # seconds


@dataclass(frozen=True)
class ExportResult:
    rows: int
    megabytes: float
    seconds: float
    rss_before_mb: float  # the largest worker, before the download
    rss_peak_mb: float  # the largest worker, at any moment of the download


class RssSampler(threading.Thread):
    """Keeps the highest resident memory any gunicorn worker reached while it runs."""

    def __init__(self, served: Served):
        super().__init__(daemon=True)
        self.served = served
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max([self.peak, *(rss_mb(p) for p in self.served.web_workers())])
            self.done.wait(SAMPLE_EVERY)


def log_in(client: Client, email: str, password: str) -> None:
    page = client.get("/admin/login")
    answer = client.post_form(
        "/admin/login",
        {"csrf_token": page.csrf_token(), "email": email, "password": password, "next": ""},
    )
    if answer.status != 302:
        raise RuntimeError(f"organizer login answered {answer.status}")


def measure_export(served: Served, slug: str, email: str, password: str) -> ExportResult:
    """Download the campaign's export as an admin; count it and watch the workers' memory."""
    client = Client("127.0.0.1", served.port, timeout=120)
    log_in(client, email, password)
    before = max(rss_mb(p) for p in served.web_workers())
    sampler = RssSampler(served)
    sampler.start()
    started = time.monotonic()
    size = lines = 0
    try:
        for piece in client.stream(f"/admin/c/{slug}/signatures.csv"):
            size += len(piece)
            lines += piece.count(b"\n")
    finally:
        sampler.done.set()
        sampler.join()
    return ExportResult(
        rows=lines - 1,  # the header
        megabytes=size / 1e6,
        seconds=time.monotonic() - started,
        rss_before_mb=before,
        rss_peak_mb=sampler.peak,
    )


@dataclass(frozen=True)
class DirectExport:
    rows: int
    seconds: float
    rss_before_mb: float  # the process with the app loaded, after the warm-up export
    rss_peak_mb: float  # its peak during the big export


def measure_export_direct(env: dict[str, str], campaign_id: int, warm_up_with: int) -> DirectExport:
    """Run the export service in a fresh process (see the module's docstring)."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.export", str(campaign_id), str(warm_up_with)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the direct export failed:\n{result.stderr[-3000:]}")
    return DirectExport(**json.loads(result.stdout))


def _export_to_devnull(campaign_id: int, warm_up_id: int) -> dict:
    """In the child: the organizers' export of every signature, written to /dev/null."""
    from campaign import create_app

    app = create_app()
    with app.app_context():
        _export(warm_up_id)
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
        before = rss_mb(os.getpid())
        started = time.monotonic()
        rows = _export(campaign_id)
        seconds = time.monotonic() - started
        peak = _peak_rss_mb()
    return {"rows": rows, "seconds": seconds, "rss_before_mb": before, "rss_peak_mb": peak}


def _peak_rss_mb() -> float:
    """The process's peak resident memory (VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmHWM in /proc/self/status")


def _export(campaign_id: int) -> int:
    """The panel's export service, every signature of the campaign; returns the rows."""
    from campaign.extensions import db
    from campaign.models import Campaign
    from campaign.services import signature_admin

    campaign = db.session.get(Campaign, campaign_id)
    rows = signature_admin.csv_rows(db.session, campaign, signature_admin.SignatureFilter(), "en")
    lines = 0
    with open(os.devnull, "w") as sink:
        for chunk in signature_admin.csv_chunks(rows):
            sink.write(chunk)
            lines += chunk.count("\n")
    db.session.rollback()
    return lines - 1  # the header


if __name__ == "__main__":
    json.dump(_export_to_devnull(int(sys.argv[1]), int(sys.argv[2])), sys.stdout)
