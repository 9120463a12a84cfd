"""Cookie flags: every cookie the app sets is HttpOnly and SameSite=Lax, and Secure outside
development (the flags come from campaign/config.py, read here from the environment as in a
real deployment)."""

from __future__ import annotations

import re

import pytest

from campaign import create_app
from campaign.config import load_config
from campaign.extensions import db as _db
from tests import conftest
from tests.factories import make_campaign, make_organizer

COOKIE_KEYS = (
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_SECURE",
    "REMEMBER_COOKIE_HTTPONLY",
    "REMEMBER_COOKIE_SAMESITE",
    "REMEMBER_COOKIE_SECURE",
)


def cookie_settings(tmp_path, environment: str) -> dict:
    config = load_config(tmp_path, {"CAMPAIGN_ENV": environment, "SECRET_KEY": "k" * 40})
    return {key: config[key] for key in COOKIE_KEYS}


def test_production_cookies_are_secure_by_default(tmp_path):
    settings = cookie_settings(tmp_path, "production")
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_cookies_work_over_plain_http(tmp_path):
    assert cookie_settings(tmp_path, "development")["SESSION_COOKIE_SECURE"] is False


def test_an_operator_can_force_secure_cookies_in_development(tmp_path):
    env = {"CAMPAIGN_ENV": "development", "SECRET_KEY": "k", "SESSION_COOKIE_SECURE": "1"}
    assert load_config(tmp_path, env)["SESSION_COOKIE_SECURE"] is True


def set_cookies(response) -> list[tuple[str, dict]]:
    cookies = []
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = header.split(";")
        name = first.split("=", 1)[0].strip()
        flags = {}
        for attribute in attributes:
            key, _, value = attribute.strip().partition("=")
            flags[key.lower()] = value
        cookies.append((name, flags))
    return cookies


@pytest.mark.parametrize("environment", ["development", "production"])
def test_every_cookie_carries_the_flags(database_url, sendgrid, mail, tmp_path, environment):
    secure = environment == "production"
    app = create_app(
        conftest.test_config(
            database_url, sendgrid, WTF_CSRF_ENABLED=True, **cookie_settings(tmp_path, environment)
        )
    )
    base = "https://campaign.test" if secure else "http://campaign.test"
    try:
        with app.app_context():
            make_campaign(slug="water")
            make_organizer(email="ada@example.org")
            _db.session.commit()
        client = app.test_client()
        seen: dict[str, dict] = {}

        def visit(path, method="GET", **kwargs):
            with app.app_context():
                # Over HTTPS, Flask-WTF also wants a same-site Referer, as a browser sends.
                headers = {"Referer": base + path}
                response = client.open(
                    path, method=method, base_url=base, headers=headers, **kwargs
                )
            for name, flags in set_cookies(response):
                if flags.get("max-age") == "0":
                    # A cookie being deleted (Flask-Login clears its unused "remember me"
                    # cookie) holds nothing to protect.
                    continue
                seen.setdefault(name, flags)
                assert "httponly" in flags, f"{name} is readable by scripts"
                assert flags.get("samesite") == "Lax", f"{name}: SameSite {flags.get('samesite')}"
                assert ("secure" in flags) is secure, f"{name}: Secure should be {secure}"
            return response

        page = visit("/en/c/water")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
        visit(
            "/en/c/water",
            "POST",
            data={
                "full_name": "A B",
                "email": "a@example.org",
                "country": "FR",
                "csrf_token": token,
            },
        )
        visit("/ru/")
        login = visit("/admin/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.text).group(1)
        response = visit(
            "/admin/login",
            "POST",
            data={
                "email": "ada@example.org",
                "password": "correct horse battery",
                "csrf_token": token,
            },
        )
        assert response.status_code == 302
        visit("/admin/")
        # The session and the language cookie at least were seen and checked.
        assert {"session", "lang"} <= set(seen), seen
    finally:
        with app.app_context():
            _db.session.remove()
            with _db.engine.begin() as conn:
                for table in reversed(_db.metadata.sorted_tables):
                    conn.execute(table.delete())
            _db.engine.dispose()


def test_the_session_cookie_has_no_readable_personal_data(client, db):
    """Flask's session is signed, not encrypted: what the public site keeps there about a signer
    must be digests, never the address or the name."""
    make_campaign(slug="water")
    db.session.commit()
    client.post(
        "/en/c/water",
        data={"full_name": "Amira Haddad", "email": "amira@example.org", "country": "FR"},
    )
    import base64
    import zlib

    value = client.get_cookie("session").value
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if value.startswith("."):
        raw = zlib.decompress(raw)
    text = raw.decode()
    assert "amira" not in text.lower()
    assert "Haddad" not in text
