"""Security headers on every response, and the request size limit (campaign/security.py)."""

from __future__ import annotations

import pytest

from tests.test_public import text as visible_text

PAGES = ["/en/", "/admin/login", "/en/no-such-page", "/api/v1/campaigns", "/healthz"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_has_the_security_headers(client, path):
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # plain HTTP: no HSTS


def test_only_the_embeddable_widget_may_be_framed(client, db):
    from tests.factories import make_campaign

    make_campaign(slug="framed")
    db.session.commit()
    widget = client.get("/embed/framed").headers
    assert "X-Frame-Options" not in widget
    assert "frame-ancestors *" in widget["Content-Security-Policy"]
    assert "frame-ancestors 'none'" not in widget["Content-Security-Policy"]
    assert "object-src 'none'" in widget["Content-Security-Policy"]
    for path in ("/en/c/framed", "/en/c/framed/signed", "/en/c/framed/share.png"):
        headers = client.get(path).headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path


def test_hsts_over_tls(client):
    response = client.get("/en/", base_url="https://campaign.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_have_no_inline_script(client):
    import re

    html = client.get("/en/").text + client.get("/admin/login").text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_a_huge_request_gets_a_clear_413_and_saves_nothing(client):
    response = client.post(
        "/admin/login", data={"email": "x@example.org", "password": "x" * (3 * 1024 * 1024)}
    )
    assert response.status_code == 413
    assert "larger than this site accepts" in visible_text(response.text)
