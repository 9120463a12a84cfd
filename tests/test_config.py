"""Configuration from the environment, and an app factory that touches nothing outside itself."""

from __future__ import annotations

import stat

import pytest

from campaign import create_app
from campaign.config import ConfigError, load_config

SECRET = "a-long-random-secret-for-these-tests"


def test_production_requires_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(tmp_path, {"CAMPAIGN_ENV": "production"})
    with pytest.raises(ConfigError):
        load_config(tmp_path, {"CAMPAIGN_ENV": "production", "SECRET_KEY": ""})
    assert not (tmp_path / "dev-secret-key").exists()


def test_production_is_the_default_environment(tmp_path):
    with pytest.raises(ConfigError):
        load_config(tmp_path, {})


def test_production_uses_the_given_secret_key(tmp_path):
    config = load_config(tmp_path, {"CAMPAIGN_ENV": "production", "SECRET_KEY": SECRET})
    assert config["SECRET_KEY"] == SECRET
    assert config["CAMPAIGN_ENV"] == "production"


@pytest.mark.parametrize("environment", ["development", "testing"])
def test_development_generates_and_keeps_a_key(tmp_path, environment):
    instance = tmp_path / "instance"
    first = load_config(instance, {"CAMPAIGN_ENV": environment})["SECRET_KEY"]
    assert len(first) >= 32
    key_file = instance / "dev-secret-key"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    second = load_config(instance, {"CAMPAIGN_ENV": environment})["SECRET_KEY"]
    assert second == first

    elsewhere = load_config(tmp_path / "other", {"CAMPAIGN_ENV": environment})["SECRET_KEY"]
    assert elsewhere != first


def test_development_prefers_a_given_key(tmp_path):
    config = load_config(tmp_path, {"CAMPAIGN_ENV": "development", "SECRET_KEY": SECRET})
    assert config["SECRET_KEY"] == SECRET
    assert not (tmp_path / "dev-secret-key").exists()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/campaign", "postgresql+psycopg://u:p@db.example:5432/campaign"),
        ("postgresql://u:p@db.example/campaign", "postgresql+psycopg://u:p@db.example/campaign"),
        ("postgresql+psycopg://u@db/campaign", "postgresql+psycopg://u@db/campaign"),
        ("sqlite:////srv/campaign.sqlite3", "sqlite:////srv/campaign.sqlite3"),
    ],
)  # fmt: skip
def test_database_url(tmp_path, given, expected):
    env = {"CAMPAIGN_ENV": "production", "SECRET_KEY": SECRET, "DATABASE_URL": given}
    assert load_config(tmp_path, env)["SQLALCHEMY_DATABASE_URI"] == expected


def test_database_defaults_to_sqlite_under_the_instance_folder(tmp_path):
    config = load_config(tmp_path, {"CAMPAIGN_ENV": "development"})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'campaign.sqlite3'}"


def test_mail_backend(tmp_path):
    base = {"CAMPAIGN_ENV": "production", "SECRET_KEY": SECRET}
    config = load_config(tmp_path, base)
    assert config["MAIL_BACKEND"] == "console"
    assert config["SENDGRID_API_KEY"] is None
    assert config["SENDGRID_API_HOST"] == "https://api.sendgrid.com"

    config = load_config(tmp_path, {**base, "SENDGRID_API_KEY": "SG.key"})
    assert config["MAIL_BACKEND"] == "sendgrid"
    assert config["SENDGRID_API_KEY"] == "SG.key"

    config = load_config(
        tmp_path, {**base, "SENDGRID_API_KEY": "SG.key", "MAIL_BACKEND": "console"}
    )
    assert config["MAIL_BACKEND"] == "console"

    config = load_config(tmp_path, {**base, "SENDGRID_API_HOST": "http://127.0.0.1:9999"})
    assert config["SENDGRID_API_HOST"] == "http://127.0.0.1:9999"


def test_cookies_are_strict_in_production(tmp_path):
    production = load_config(tmp_path, {"CAMPAIGN_ENV": "production", "SECRET_KEY": SECRET})
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SESSION_COOKIE_SAMESITE"] == "Lax"

    development = load_config(tmp_path, {"CAMPAIGN_ENV": "development"})
    assert development["SESSION_COOKIE_SECURE"] is False


def test_redis_and_base_url(tmp_path):
    base = {"CAMPAIGN_ENV": "production", "SECRET_KEY": SECRET}
    config = load_config(tmp_path, base)
    assert config["REDIS_URL"] is None
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"

    config = load_config(
        tmp_path,
        {**base, "REDIS_URL": "redis://cache:6379/0", "BASE_URL": "https://sign.example.org/"},
    )
    assert config["REDIS_URL"] == "redis://cache:6379/0"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert config["BASE_URL"] == "https://sign.example.org"


def test_environment_is_read_when_no_dict_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/campaign")
    config = load_config(tmp_path)
    assert config["SECRET_KEY"] == SECRET
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/campaign"


# --- the app factory --------------------------------------------------------------------------


def test_create_app_does_not_touch_the_database(monkeypatch):
    # Nothing listens on port 1: any connection attempt would fail at once.
    monkeypatch.setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/campaign")
    app = create_app()
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://nobody@127.0.0.1:1/campaign"
    )

    # The app serves what needs no database, and says so when asked about it.
    client = app.test_client()
    assert client.get("/").status_code == 302
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json == {"status": "error", "database": "unreachable"}


def test_create_app_refuses_production_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("CAMPAIGN_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app()


def test_overrides_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("BASE_URL", "https://from-env.example")
    app = create_app(
        {"BASE_URL": "https://override.example", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    assert app.config["BASE_URL"] == "https://override.example"


@pytest.mark.parametrize(("proxies", "shared"), [(1, False), (0, True)])
def test_behind_a_proxy_each_reader_has_their_own_rate_limit(
    database_url, sendgrid, mail, proxies, shared
):
    """With TRUSTED_PROXIES=1 the per-IP limits key on X-Forwarded-For (the reader), not on the
    proxy's own address, which every request shares."""
    from campaign import create_app
    from tests.conftest import test_config

    app = create_app(
        test_config(
            database_url,
            sendgrid,
            TRUSTED_PROXIES=proxies,
            RATELIMIT_ENABLED=True,
            LOGIN_RATE_LIMIT="1 per minute",
        )
    )
    client = app.test_client()

    def ask(address: str) -> int:
        return client.post(
            "/admin/forgot-password",
            data={"email": "nobody@example.org"},
            headers={"X-Forwarded-For": address},
        ).status_code

    assert ask("203.0.113.1") != 429
    assert ask("203.0.113.1") == 429
    assert (ask("198.51.100.2") == 429) is shared
