"""The processes under test: gunicorn, the optional mail worker, a SendGrid stand-in; and what
they cost in CPU and memory, read from /proc.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def venv_tool(name: str) -> str:
    """A console script of the project's .venv (what `make` installed)."""
    return str(BIN / name)


# --- mail ---------------------------------------------------------------------------------


class CountingSendGrid:
    """Accepts SendGrid v3 `mail/send` requests and only counts them.

    tests/sendgrid_fake.py keeps every message for tests to read; tens of thousands of them
    would only cost memory here, so the bench has its own, lighter stand-in.
    """

    api_key = "SG.bench-fake-key"

    def __init__(self) -> None:
        self.accepted = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CountingSendGrid:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as SendGrid's API offers

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = self.headers.get("Authorization") == f"Bearer {fake.api_key}"
                if ok:
                    with fake._lock:
                        fake.accepted += 1
                self.send_response(202 if ok else 401)
                self.send_header("X-Message-Id", uuid.uuid4().hex)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


# --- processes ----------------------------------------------------------------------------


@dataclass
class Served:
    """The running app: its address, its processes and their logs."""

    url: str
    port: int
    web: subprocess.Popen
    worker: subprocess.Popen | None
    log_dir: Path
    log_files: list = field(default_factory=list)

    @property
    def processes(self) -> list[subprocess.Popen]:
        return [p for p in (self.web, self.worker) if p is not None]

    def web_workers(self) -> list[int]:
        """The pids of gunicorn's worker processes (the master only supervises)."""
        return children(self.web.pid)

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}"
            for path in sorted(self.log_dir.glob("*.log"))
        )


def flask_cli(env: dict[str, str], *args: str) -> None:
    """`flask --app app <args>`, as an operator would run it; raises with its output."""
    result = subprocess.run(  # noqa: S603 - our venv's flask, fixed arguments
        [venv_tool("flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def gunicorn_command(port: int, workers: int, threads: int, extra: list[str]) -> list[str]:
    """gunicorn as README's "Running at scale" runs it, with threads so that a worker waiting
    on the database still serves, and without an access log (writing it would be measured)."""
    return [
        venv_tool("gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        # A backlog deep enough for every simulated visitor at once.
        "--backlog",
        "2048",
        "--keep-alive",
        "5",
        "--graceful-timeout",
        "5",
        *extra,
        "app:app",
    ]


def start(
    env: dict[str, str],
    log_dir: Path,
    *,
    workers: int,
    threads: int,
    with_worker: bool,
    gunicorn_extra: list[str] | None = None,
) -> Served:
    """Start gunicorn (and the outbox worker if asked) on a free port; wait until healthy."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**env, "BASE_URL": url}
    logs: list = []
    web = _spawn(
        "web", gunicorn_command(port, workers, threads, gunicorn_extra or []), env, log_dir, logs
    )
    worker = None
    if with_worker:
        worker_command = [venv_tool("flask"), "--app", "app", "worker", "--interval", "0.2"]
        worker = _spawn("worker", worker_command, env, log_dir, logs)
    served = Served(url, port, web, worker, log_dir, logs)
    try:
        _wait_until_healthy(served)
    except Exception:
        stop(served)
        raise
    return served


def _spawn(name: str, command: list[str], env: dict[str, str], log_dir: Path, logs: list):
    log = (log_dir / f"{name}.log").open("w")
    logs.append(log)
    return subprocess.Popen(  # noqa: S603 - fixed arguments, our venv's tools
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _wait_until_healthy(served: Served, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in served.processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited while starting\n{served.logs()}")
        try:
            with urllib.request.urlopen(f"{served.url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200 and json.load(response).get("status") == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"no healthy answer from {served.url}/healthz in {timeout}s\n{served.logs()}"
    )


def stop(served: Served) -> None:
    """Ask every process to stop (SIGTERM: gunicorn stops gracefully), then insist."""
    for process in served.processes:
        if process.poll() is None:
            process.terminate()
    for process in served.processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    for log in served.log_files:
        log.close()


# --- /proc --------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces), or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """Direct children of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def processes_named(command: str) -> list[int]:
    """Pids whose command name is `command` (e.g. every PostgreSQL backend)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (finished ones count as 0)."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (10^6 bytes, as the target is stated), 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return 0.0


class CpuMeter:
    """CPU used by groups of processes between `start()` and `stop()`, and by the whole
    machine: on a shared machine, what other processes took is part of the result."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        # Each group is a function returning its current pids: gunicorn may replace a worker,
        # and PostgreSQL starts a backend for each new connection.
        self.groups = groups
        self._before: dict[str, dict[int, float]] = {}
        self._machine_before = 0.0
        self.used: dict[str, float] = {}
        self.machine = 0.0  # core-seconds every process on the machine used
        self.seconds = 0.0
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._machine_before = machine_busy_seconds()
        self._before = {name: _per_pid(pids()) for name, pids in self.groups.items()}

    def stop(self) -> None:
        self.seconds = time.monotonic() - self._started
        self.machine = machine_busy_seconds() - self._machine_before
        for name, pids in self.groups.items():
            now = _per_pid(pids())
            before = self._before.get(name, {})
            # A process born during the run counts from zero: all its CPU is the run's.
            self.used[name] = sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())


def _per_pid(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds([pid]) for pid in pids}


def machine_busy_seconds() -> float:
    """Core-seconds the machine spent not idle since boot (/proc/stat's first line)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / CLOCK_TICKS
