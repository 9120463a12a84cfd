"""Backing up and restoring the configured database (`flask backup`, `flask restore`).

SQLite is copied with SQLite's online backup API, which gives a consistent copy while the app
keeps reading and writing (WAL included); a restore goes back the same way. PostgreSQL uses
`pg_dump --format=custom` and `pg_restore --clean --if-exists`, which must be installed in a
major version at least the server's. When the URL names a schema through
`options=-csearch_path=<schema>`, only that schema is dumped and restored.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump and pg_restore are the tools for the job
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import URL, make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """The backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int


def default_backup_path(database_url: str, folder: Path, now: datetime | None = None) -> Path:
    """`<folder>/campaign-<UTC timestamp>.<sqlite3|dump>`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if make_url(database_url).get_backend_name() == "sqlite" else "dump"
    return folder / f"campaign-{stamp}.{suffix}"


def backup(database_url: str, output: Path) -> Backup:
    """Write a backup of the database at `database_url` to `output` (its folder is created)."""
    url = make_url(database_url)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    backend = url.get_backend_name()
    if backend == "sqlite":
        _sqlite_copy(_sqlite_path(url), output)
    elif backend == "postgresql":
        _pg_dump(url, output)
    else:
        raise BackupError(f"backups of {backend} databases are not supported")
    return Backup(path=output, size=output.stat().st_size)


def restore(database_url: str, source: Path) -> None:
    """Replace the contents of the database at `database_url` with the backup at `source`."""
    url = make_url(database_url)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    head = source.read_bytes()[:16]
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not a SQLite backup")
        _sqlite_copy(source, _sqlite_path(url))
    elif backend == "postgresql":
        if not head.startswith(PG_CUSTOM_MAGIC):
            raise BackupError(f"{source} is not a pg_dump custom-format backup")
        _pg_restore(url, source)
    else:
        raise BackupError(f"restoring {backend} databases is not supported")


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    # The backup API copies page by page under SQLite's own locks: a consistent snapshot even
    # while the app writes, and the target's open connections see the restored data.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup from {source} to {target} failed: {exc}") from exc
    finally:
        src.close()


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_environment(url: URL) -> dict[str, str]:
    """libpq settings for the tools: the password goes in the environment, not the argv."""
    env = dict(os.environ)
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[name] = str(value)
    return env


def _pg_schema(url: URL) -> str | None:
    """The schema named by `options=-csearch_path=<schema>` in the URL, if any."""
    options = url.query.get("options")
    if isinstance(options, tuple):
        options = " ".join(options)
    match = re.search(r"-c\s*search_path\s*=\s*([^\s,]+)", unquote(options or ""))
    return match.group(1).strip('"') if match else None


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client) in the server's major version or newer"
        )
    return path


def _major(version_text: str) -> int:
    """12 from "pg_dump (PostgreSQL) 12.4 (Debian …)"."""
    match = re.search(r"\)\s*(\d+)", version_text) or re.search(r"(\d+)", version_text)
    if not match:
        raise BackupError(f"cannot read a version in {version_text!r}")
    return int(match.group(1))


def _check_versions(url: URL, tool: str) -> None:
    from sqlalchemy import create_engine, text

    client = _major(
        subprocess.run(  # noqa: S603 - a fixed tool path, no shell
            [tool, "--version"], capture_output=True, text=True, check=True
        ).stdout
    )
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            server = int(conn.execute(text("SHOW server_version_num")).scalar()) // 10000
    except Exception as exc:
        raise BackupError(f"cannot reach the database: {exc.__class__.__name__}: {exc}") from exc
    finally:
        engine.dispose()
    if client < server:
        raise BackupError(
            f"{Path(tool).name} is version {client} but the server is version {server}: "
            f"install the PostgreSQL {server} client tools (or newer)"
        )


def _run(argv: list[str], url: URL, what: str) -> None:
    result = subprocess.run(  # noqa: S603 - argv built from a fixed tool path and options
        argv, env=_pg_environment(url), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip() or result.returncode}")


def _pg_dump(url: URL, output: Path) -> None:
    tool = _tool("pg_dump")
    _check_versions(url, tool)
    argv = [tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={output}"]
    schema = _pg_schema(url)
    if schema:
        argv.append(f"--schema={schema}")
    _run(argv, url, "pg_dump")


def _pg_restore(url: URL, source: Path) -> None:
    tool = _tool("pg_restore")
    _check_versions(url, tool)
    argv = [
        tool,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        f"--dbname={url.database}",
    ]
    schema = _pg_schema(url)
    if schema:
        argv.append(f"--schema={schema}")
    argv.append(str(source))
    _run(argv, url, "pg_restore")
