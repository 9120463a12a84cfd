"""Fingerprinted static files: `url_for("static", ...)` adds `?v=<hash of the file>`, and a
request carrying it is cached for a year, so a new release is fetched at once (its hash
differs) while returning readers load nothing twice."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, request

ONE_YEAR = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    folder = Path(app.static_folder or "")
    fingerprints: dict[tuple[str, float], str] = {}

    def fingerprint(filename: str) -> str | None:
        path = folder / filename
        try:
            modified = os.stat(path).st_mtime
        except OSError:
            return None
        key = (filename, modified)
        if key not in fingerprints:
            fingerprints[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return fingerprints[key]

    @app.url_defaults
    def _add_fingerprint(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = fingerprint(values["filename"])
            if version:
                values["v"] = version

    default_max_age = app.get_send_file_max_age

    def max_age(filename: str | None) -> int | None:
        # Only a URL naming the file's version may be kept: a bare one may change under it.
        if request.args.get("v"):
            return ONE_YEAR
        return default_max_age(filename)

    app.get_send_file_max_age = max_age
