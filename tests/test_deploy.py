"""The deployment files in deploy/ and the Procfile: gunicorn starts with our settings file and
serves the app from a migrated database. (The systemd units and the nginx sample are not run
here: there is no systemd or nginx in the test machine.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CAMPAIGN_", "GUNICORN_"))},
        "CAMPAIGN_ENV": "production",
        "SECRET_KEY": "deploy-test-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_ACCESSLOG": str(tmp_path / "access.log"),
    }
    subprocess.run(  # noqa: S603 - our own venv's flask, fixed arguments
        [str(BIN / "flask"), "--app", "app", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    server = subprocess.Popen(  # noqa: S603 - the venv's gunicorn, fixed arguments
        [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310 - loopback
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"gunicorn did not start:\n{server.stdout.read().decode()}")
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=30)


def test_gunicorn_serves_the_app_with_the_deploy_settings(gunicorn):
    with urllib.request.urlopen(f"{gunicorn}/healthz") as response:  # noqa: S310 - loopback
        assert response.status == 200
    with urllib.request.urlopen(f"{gunicorn}/en/") as response:  # noqa: S310 - loopback
        html = response.read().decode()
    assert 'lang="en"' in html


def test_the_procfile_runs_migrations_the_web_and_a_worker():
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert lines["release"].strip() == "flask --app app db upgrade"
    assert "-c deploy/gunicorn.conf.py" in lines["web"]
    assert lines["worker"].strip() == "flask --app app worker"
