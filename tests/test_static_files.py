"""Static files (campaign/static_files.py): fingerprinted URLs, cached for a year."""

from __future__ import annotations

import os
import re

from flask import Flask, url_for

from campaign import static_files
from tests.test_public import tag


def test_pages_link_fingerprinted_assets_cached_for_a_year(client):
    html = client.get("/en/").text
    href = tag(html, "link", rel="stylesheet")["href"]
    assert re.fullmatch(r"/static/css/site\.css\?v=[0-9a-f]{12}", href)
    response = client.get(href)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    response.close()


def test_a_bare_asset_url_is_not_kept_for_long(client):
    response = client.get("/static/css/site.css")
    assert "max-age=31536000" not in response.headers.get("Cache-Control", "")
    response.close()


def test_the_fingerprint_changes_with_the_file(tmp_path):
    asset = tmp_path / "x.css"
    asset.write_text("a{}")
    app = Flask(__name__, static_folder=str(tmp_path))
    static_files.init_app(app)
    with app.test_request_context():
        first = url_for("static", filename="x.css")
        asset.write_text("b{}")
        os.utime(asset, (1, 1))  # a new release: another file, another time
        assert url_for("static", filename="x.css") != first
