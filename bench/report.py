"""What the run prints: the machine, one table per measurement, and the targets met or missed."""

from __future__ import annotations

import os
import platform
import pstats
from dataclasses import dataclass, field
from pathlib import Path

# The targets of the issue that asked for `make bench`.
TARGET_SIGNS_PER_SECOND = 1000
TARGET_SIGN_SECONDS = 60
TARGET_SIGN_P99_MS = 250
TARGET_PAGES_PER_SECOND = 2500
TARGET_PAGE_RATIO = 1.20  # page latency with 1,000,000 signatures / with 1,000
TARGET_PAGE_BIG = 1_000_000
TARGET_EXPORT_MB = 200
TARGET_EXPORT_ROWS = 1_000_000

MIX_LABELS = {
    "page": "petition page (GET)",
    "sign": "sign form (POST)",
    "signed": "'signed' page (GET)",
    "confirm-page": "confirm link (GET)",
    "confirm": "confirm form (POST)",
    "thanks": "'thanks' page (GET)",
}
KIND_HEADERS = ["request", "count", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"]


@dataclass
class Results:
    """Everything one run measured, filled in phase by phase."""

    database: str = ""
    redis: str = ""
    notes: list[str] = field(default_factory=list)
    campaigns: list = field(default_factory=list)  # dataset.LoadedCampaign, main one first
    raw: object = None  # dataset.RawRate
    pages: list[tuple] = field(default_factory=list)  # (campaign, 1-client stats, loaded stats)
    mix: dict = field(default_factory=dict)  # bench.load's summary
    cpu: object = None  # server.CpuMeter
    census: object = None  # dataset.Census
    mail_accepted: int | None = None
    export: object = None  # export.ExportResult
    direct_export: object = None  # export.DirectExport
    profile: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def signs_per_second(self) -> float:
        return self.mix["kinds"].get("sign", {}).get("per_second", 0.0)


def render(args, results: Results) -> str:
    """The whole report, as plain text."""
    sections = [
        _header(args, results),
        _pages(args, results),
        _mix(args, results),
        _check(results),
        _export(results),
        _targets(args, results),
    ]
    if results.profile:
        sections.append("\n".join(results.profile))
    sections.append(f"Total time: {results.elapsed:.0f}s")
    return "\n\n".join(sections) + "\n"


def table(headers: list[str], rows: list[list]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [headers] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _verdict(met: bool) -> str:
    return "MET   " if met else "MISSED"


# --- sections -----------------------------------------------------------------------------


def _header(args, results: Results) -> str:
    main, *others = results.campaigns
    sizes = f"main campaign {main.signatures:,} existing signatures"
    sizes += f"; comparison campaign {others[0].signatures:,}" if others else "; no comparison"
    lines = [
        "campaign load benchmark",
        "=======================",
        *machine(results.database, results.redis),
        f"App:        gunicorn gthread, {args.workers} workers x {args.threads} threads, "
        f"CAMPAIGN_ENV=production, rate limits off, mail worker "
        f"{'on' if args.worker else 'off'}",
        *(f"NOTE:       {note}" for note in results.notes),
        f"Sizes:      {sizes}",
        *(
            f"            loaded {c.signatures:,} in {c.seconds:.1f}s ({c.slug})"
            for c in results.campaigns
        ),
    ]
    return "\n".join(lines)


def machine(database: str, redis: str) -> list[str]:
    """One line each: CPU, memory, OS, Python, database, Redis."""
    return [
        f"CPU:        {os.cpu_count()} cores, {_cpu_model()}",
        f"Memory:     {_memory_gib():.1f} GiB",
        f"OS:         {platform.system()} {platform.release()}",
        f"Python:     {platform.python_version()} ({platform.python_implementation()})",
        f"Database:   {database}",
        f"Redis:      {redis}",
    ]


def _cpu_model() -> str:
    for line in _read_lines("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    for line in _read_lines("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def _pages(args, results: Results) -> str:
    rows = [
        [
            f"{campaign.signatures:,}",
            alone["p50_ms"],
            alone["p95_ms"],
            alone["p99_ms"],
            loaded["per_second"],
            loaded["p50_ms"],
            loaded["p99_ms"],
            alone["errors"] + loaded["errors"],
        ]
        for campaign, alone, loaded in results.pages
    ]
    headers = ["existing signatures", "rendered p50", "p95", "p99"]
    headers += [f"{args.concurrency} new readers req/s", "p50", "p99", "errors"]
    title = (
        f"Petition page views only ({args.page_seconds:g}s each, latency in ms): rendered each "
        "time at 1 client (a query of its own defeats the page cache), then new readers at full "
        f"concurrency (the anonymous page cache on, {args.load_processes} load processes)"
    )
    return f"{title}\n{table(headers, rows)}"


def _mix(args, results: Results) -> str:
    mix, cpu, raw = results.mix, results.cpu, results.raw
    rows = []
    for kind, label in MIX_LABELS.items():
        if (stats := mix["kinds"].get(kind)) is not None:
            rows.append(
                [label, stats["count"], stats["per_second"], stats["p50_ms"], stats["p95_ms"]]
                + [stats["p99_ms"], stats["max_ms"], stats["errors"]]
            )
    confirms = mix["kinds"].get("confirm", {}).get("per_second", 0.0)
    lines = [
        f"Mixed load: {args.seconds:g}s measured after {args.warmup:g}s warm-up, "
        f"{args.concurrency} visitors, weights {args.mix}, {args.confirm_share:.0%} confirm",
        table(KIND_HEADERS, rows),
        "",
        f"Accepted signatures:  {results.signs_per_second:,.1f}/s = "
        f"{results.signs_per_second / raw.rows_per_second:.4f} x the raw insert rate",
        f"Confirmations:        {confirms:,.1f}/s",
        f"Raw insert rate:      {raw.rows_per_second:,.0f} rows/s ({raw.what}; "
        f"{raw.connections} connections, {raw.seconds:g}s, measured before the app started)",
        f"CPU during the mix, in cores busy on average (the machine has {os.cpu_count()}):",
    ]
    for name, used in sorted(cpu.used.items(), key=lambda item: -item[1]):
        lines.append(f"  {name:32} {used / cpu.seconds:5.2f}")
    if mix["error_samples"]:
        seen = "; ".join(f"{what} x{n}" for what, n in mix["error_samples"].items())
        lines.append(f"Errors seen: {seen}")
    return "\n".join(lines)


def _check(results: Results) -> str:
    census, mix, main = results.census, results.mix, results.campaigns[0]
    checks = [
        (
            "signatures",
            census.signatures,
            main.signatures + mix["accepted"],
            f"{main.signatures:,} preloaded + {mix['accepted']:,} accepted",
        ),
        (
            "confirmed",
            census.confirmed,
            main.signatures + mix["confirmed"],
            f"{main.signatures:,} preloaded + {mix['confirmed']:,} confirmed",
        ),
        ("public counter", census.public_counter, census.confirmed, "the confirmed signatures"),
    ]
    lines = ["Database check of the main campaign (the whole mix, warm-up included)"]
    for name, actual, expected, how in checks:
        status = "OK" if actual == expected else "MISMATCH"
        lines.append(f"  {name:15} {actual:>10,}  expected {expected:>10,} = {how}  {status}")
    if unknown := sum(mix["unknown"].values()):
        lines.append(f"  {unknown} POSTs got no answer (timeouts): their outcome is unknown")
    outbox = ", ".join(f"{k} {v:,}" for k, v in sorted(census.outbox.items())) or "empty"
    lines.append(f"  outbox          {outbox}")
    if results.mail_accepted is not None:
        lines.append(f"  SendGrid stand-in accepted {results.mail_accepted:,} messages")
    return "\n".join(lines)


def _export(results: Results) -> str:
    export, direct = results.export, results.direct_export
    rate = export.rows / max(export.seconds, 1e-9)
    return "\n".join(
        [
            "CSV export of the last campaign (memory as resident set size, MB = 10^6 bytes)",
            f"  panel download: {export.rows:,} rows, {export.megabytes:,.1f} MB of CSV in "
            f"{export.seconds:.1f}s ({rate:,.0f} rows/s); largest gunicorn worker "
            f"{export.rss_before_mb:,.1f} MB before, {export.rss_peak_mb:,.1f} MB at the peak",
            f"  fresh process:  {direct.rows:,} rows in {direct.seconds:.1f}s; "
            f"{direct.rss_before_mb:,.1f} MB after a small warm-up export, "
            f"{direct.rss_peak_mb:,.1f} MB at the peak "
            f"(+{direct.rss_peak_mb - direct.rss_before_mb:,.1f} MB for the export)",
        ]
    )


def _targets(args, results: Results) -> str:
    lines = ["Targets"]
    sign = results.mix["kinds"].get("sign", {"p99_ms": float("inf")})
    signs = results.signs_per_second
    met = signs >= TARGET_SIGNS_PER_SECOND and sign["p99_ms"] < TARGET_SIGN_P99_MS
    note = ""
    if args.seconds < TARGET_SIGN_SECONDS:
        note = f" (ran {args.seconds:g}s; the target is for {TARGET_SIGN_SECONDS}s)"
    lines.append(
        f"  {_verdict(met)} >= {TARGET_SIGNS_PER_SECOND:,} signatures/s with p99 < "
        f"{TARGET_SIGN_P99_MS} ms: {signs:,.1f}/s, p99 {sign['p99_ms']:,.1f} ms{note}"
    )
    views = results.pages[0][2]["per_second"]
    lines.append(
        f"  {_verdict(views >= TARGET_PAGES_PER_SECOND)} >= {TARGET_PAGES_PER_SECOND:,} "
        f"page views/s: {views:,.1f}/s (page views only, {args.concurrency} clients)"
    )
    if len(results.pages) > 1:
        lines.append(_page_ratio_line(results))
    lines += _export_target_lines(results)
    return "\n".join(lines)


def _page_ratio_line(results: Results) -> str:
    (_, small, _), (big_campaign, big, _) = results.pages[:2]
    ratio50 = big["p50_ms"] / small["p50_ms"]
    ratio95 = big["p95_ms"] / small["p95_ms"]
    note = ""
    if big_campaign.signatures < TARGET_PAGE_BIG:
        note = (
            f" (compared with {big_campaign.signatures:,}; the target is for "
            f"{TARGET_PAGE_BIG:,}: --big {TARGET_PAGE_BIG})"
        )
    met = max(ratio50, ratio95) <= TARGET_PAGE_RATIO
    return (
        f"  {_verdict(met)} page latency with many signatures within 20% of few: "
        f"p50 x{ratio50:.2f}, p95 x{ratio95:.2f} at 1 client{note}"
    )


def _export_target_lines(results: Results) -> list[str]:
    export, direct = results.export, results.direct_export
    note = ""
    if direct.rows < TARGET_EXPORT_ROWS:
        note = f" (exported {direct.rows:,} rows; the target is for {TARGET_EXPORT_ROWS:,})"
    lines = [
        f"  {_verdict(direct.rss_peak_mb < TARGET_EXPORT_MB)} CSV export under "
        f"{TARGET_EXPORT_MB} MB: {direct.rss_peak_mb:,.1f} MB peak for a process that loads "
        f"the app and exports{note}"
    ]
    if export.rss_peak_mb >= TARGET_EXPORT_MB:
        lines.append(
            f"         but the gunicorn worker that served it peaked at "
            f"{export.rss_peak_mb:,.1f} MB ({export.rss_before_mb:,.1f} MB before it began)"
        )
    return lines


def profile_summary(directory: str, limit: int = 25) -> list[str]:
    """The functions that took the most CPU in the workers: by own time and by cumulative."""
    files = sorted(Path(directory).glob("worker-*.prof"))
    if not files:
        return ["Profile: no worker wrote one"]
    merged = Path(directory, "workers.prof")
    pstats.Stats(*map(str, files)).dump_stats(str(merged))
    lines = [f"Profile of the gunicorn workers during the mix (CPU time; {merged})"]
    for order in ("tottime", "cumulative"):
        stream = _Capture()
        pstats.Stats(str(merged), stream=stream).sort_stats(order).print_stats(limit)
        text = stream.text()
        lines += [f"-- by {order}", text[text.find("   ncalls") :].rstrip()]
    return lines


class _Capture:
    """A file-like object pstats can print into."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)
