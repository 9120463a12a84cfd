"""Browser tests: the real app, served by gunicorn, driven by Debian's Chromium through Playwright.

One server, one outbox worker and one SQLite database serve the whole e2e session. They are
prepared the way an operator would: `flask db upgrade` and `flask demo` as subprocesses, with
mail going to the SendGrid stand-in, so a test can read the email and open its link.

Without /usr/bin/chromium or the playwright package these tests skip (they fail instead when
CAMPAIGN_REQUIRE_SERVICES=1). Screenshots go to $SCREENSHOT_DIR, by default
test-artifacts/screenshots under the repository root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.sendgrid_fake import FakeSendGrid

try:
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
STARTUP_TIMEOUT = 60.0  # a busy CI machine can take this long to start gunicorn


@dataclass
class LiveServer:
    """The running app: its address, the mail it sent, and where its logs are."""

    url: str
    mail: FakeSendGrid
    log_dir: Path
    env: dict[str, str]

    def run_python(self, code: str) -> str:
        """Run `code` in a Python process of the app's own (same database and settings), as
        a test's setup through the real models; returns what it printed."""
        result = subprocess.run(  # noqa: S603 - our own venv's python, the test's own code
            [_venv_tool("python"), "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"setup code failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result.stdout

    def cli(self, *args: str) -> None:
        """Run `flask --app app <args>` against the app under test."""
        _run_cli(list(args), self.env)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.log_dir.glob("*.log"))
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _venv_tool(name: str) -> str:
    """A console script of the interpreter running the tests (the project's .venv)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed next to {sys.executable} nor on PATH")
    return found


def _server_env(database_url: str, base_url: str, mail: FakeSendGrid) -> dict[str, str]:
    """The subprocesses' environment, spelled out: tests/conftest.py changed ours at import."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CAMPAIGN_", "FLASK_", "SENDGRID_", "MAIL_", "RATELIMIT_"))
        and key not in {"DATABASE_URL", "REDIS_URL", "BASE_URL", "SECRET_KEY", "LANGUAGES"}
        and not key.startswith("COMMENT")
    }
    env.update(
        CAMPAIGN_ENV="testing",
        SECRET_KEY="e2e-secret-key-not-for-production",
        DATABASE_URL=database_url,
        BASE_URL=base_url,
        MAIL_BACKEND="sendgrid",
        SENDGRID_API_KEY=mail.api_key,
        SENDGRID_API_HOST=mail.url,
        SENDGRID_TIMEOUT="2",
        MAIL_RETRY_BASE_SECONDS="0",
        RATELIMIT_ENABLED="0",
        LANGUAGES="en,ar,ru,fr,es,de,tr,eo",
        # Browsers under test fill a form at once; the minimum time has its own unit tests.
        COMMENT_MIN_SECONDS="0",
        # Journeys check a page right after changing what it shows, from another browser;
        # the page cache has its own tests (tests/test_page_cache.py).
        PAGE_CACHE_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def _run_cli(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(  # noqa: S603 - our own venv's flask, fixed arguments
        [_venv_tool("flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`flask {' '.join(args)}` exited with {result.returncode}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )


def _wait_until_healthy(server: LiveServer, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                pytest.fail(
                    f"{process.args[0]} exited with {process.returncode} while starting\n"
                    f"{server.logs()}"
                )
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not answer /healthz within {STARTUP_TIMEOUT}s\n{server.logs()}")


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def e2e_available() -> None:
    """Skip (or, in CI, fail) when the browser or its driver is missing."""
    if sync_playwright is None:
        skip_or_fail("playwright is not installed (pip install -r requirements-dev.txt)")
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")


@pytest.fixture(scope="session")
def live_server(e2e_available, tmp_path_factory) -> Iterator[LiveServer]:
    """gunicorn serving the app with the demo loaded, plus `flask worker` delivering its mail."""
    mail = FakeSendGrid(api_key="SG.e2e-fake-key").start()
    workdir = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = _server_env(f"sqlite:///{workdir / 'e2e.sqlite3'}", url, mail)
    server = LiveServer(url=url, mail=mail, log_dir=workdir, env=env)
    processes: list[subprocess.Popen] = []
    logs = []
    try:
        _run_cli(["db", "upgrade"], env)
        _run_cli(["demo"], env)
        commands = {
            "web": [
                _venv_tool("gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--graceful-timeout",
                "2",
                "app:app",
            ],
            "worker": [_venv_tool("flask"), "--app", "app", "worker", "--interval", "0.2"],
        }
        for name, command in commands.items():
            log = (workdir / f"{name}.log").open("w")
            logs.append(log)
            processes.append(
                subprocess.Popen(  # noqa: S603 - fixed arguments
                    command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )
        _wait_until_healthy(server, processes)
        yield server
    finally:
        _stop(processes)
        for log in logs:
            log.close()
        mail.stop()


@pytest.fixture(scope="session")
def browser(e2e_available) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def context(browser, live_server) -> Iterator[BrowserContext]:
    """A fresh profile (no cookies) of an English-speaking reader in the US, at desktop size."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        viewport=DESKTOP,
        timezone_id="Europe/Berlin",
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context, screenshot_dir, request) -> Iterator[Page]:
    """A tab; if the test fails, its last state is saved as FAILED-<test>.png."""
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        path = screenshot_dir / f"FAILED-{request.node.name}.png"
        page.screenshot(path=str(path), full_page=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so `page` can photograph a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """$SCREENSHOT_DIR (default test-artifacts/screenshots), without last run's failure shots."""
    directory = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "test-artifacts" / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("FAILED-*.png"):
        stale.unlink()
    return directory


@pytest.fixture(scope="session")
def screenshot(screenshot_dir) -> Callable[[Page, str], dict[str, int]]:
    """`screenshot(page, name)`: full-page shots at phone and desktop widths, `<name>-phone.png`
    and `<name>-desktop.png`. Returns the page's scrollWidth at each width (for overflow checks)
    and puts the viewport back as it was."""
    directory = screenshot_dir

    def take(page: Page, name: str) -> dict[str, int]:
        original = page.viewport_size
        widths = {}
        try:
            for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
                page.set_viewport_size(size)
                widths[label] = page.evaluate("document.documentElement.scrollWidth")
                page.screenshot(path=str(directory / f"{name}-{label}.png"), full_page=True)
        finally:
            if original:
                page.set_viewport_size(original)
        return widths

    return take
