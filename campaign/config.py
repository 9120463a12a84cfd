"""Settings read from the environment, with safe defaults.

`load_config()` is called once by `create_app`; tests pass overrides as a dict.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_LANGUAGES = "en,ar,ru,fr,es,de,tr,eo"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app (e.g. no SECRET_KEY in production)."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret_key(instance_path: Path) -> str:
    """A random key kept under instance/ so links in emails survive a restart of `make run`."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "dev-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(instance_path: Path, env: dict[str, str] | None = None) -> dict:
    """Build the app's configuration from environment variables."""
    env = dict(os.environ if env is None else env)
    environment = env.get("CAMPAIGN_ENV", "production").strip().lower()
    development = environment in {"development", "testing"}

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if not development:
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
                "or set CAMPAIGN_ENV=development for a local run."
            )
        secret_key = _dev_secret_key(instance_path)

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'campaign.sqlite3'}"
    # Heroku-style URLs name the old driver; SQLAlchemy wants an explicit one.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]

    redis_url = env.get("REDIS_URL") or None
    sendgrid_key = env.get("SENDGRID_API_KEY") or None
    mail_backend = env.get("MAIL_BACKEND") or ("sendgrid" if sendgrid_key else "console")
    languages = [
        code.strip() for code in env.get("LANGUAGES", DEFAULT_LANGUAGES).split(",") if code.strip()
    ]

    return {
        "CAMPAIGN_ENV": environment,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SITE_NAME": env.get("SITE_NAME", "campaign"),
        "LANGUAGES": languages,
        "BABEL_DEFAULT_LOCALE": languages[0] if languages else "en",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        # Mail
        "MAIL_FROM": env.get("MAIL_FROM", "campaign <noreply@campaign.invalid>"),
        "MAIL_BACKEND": mail_backend,
        "SENDGRID_API_KEY": sendgrid_key,
        "SENDGRID_API_HOST": env.get("SENDGRID_API_HOST", "https://api.sendgrid.com"),
        "SENDGRID_TIMEOUT": float(env.get("SENDGRID_TIMEOUT", "10")),
        "SENDGRID_WEBHOOK_PUBLIC_KEY": env.get("SENDGRID_WEBHOOK_PUBLIC_KEY") or None,
        "MAIL_MAX_ATTEMPTS": int(env.get("MAIL_MAX_ATTEMPTS", "6")),
        "MAIL_RETRY_BASE_SECONDS": float(env.get("MAIL_RETRY_BASE_SECONDS", "30")),
        # A message claimed this long ago by a worker that never reported back is given up on,
        # never re-sent: a duplicate is worse than a visible failure the signer can fix by
        # signing again.
        "MAIL_SENDING_LEASE_SECONDS": int(env.get("MAIL_SENDING_LEASE_SECONDS", "600")),
        # Signing
        "CONFIRM_TOKEN_MAX_AGE": int(env.get("CONFIRM_TOKEN_MAX_AGE", str(7 * 24 * 3600))),
        "SIGN_RATE_LIMIT": env.get("SIGN_RATE_LIMIT", "20 per minute;200 per hour"),
        "CONFIRM_RATE_LIMIT": env.get("CONFIRM_RATE_LIMIT", "30 per minute"),
        # Privacy: an address supporters can write to about their data, shown on the privacy
        # page when set; how long a "see or withdraw your signature" link works; how often one
        # network may ask for those links (each mailbox is limited by EMAIL_RATE_LIMIT too).
        "PRIVACY_CONTACT": env.get("PRIVACY_CONTACT", "").strip(),
        "SIGNATURE_MANAGE_TOKEN_MAX_AGE": int(
            env.get("SIGNATURE_MANAGE_TOKEN_MAX_AGE", str(365 * 24 * 3600))
        ),
        "MY_SIGNATURES_RATE_LIMIT": env.get("MY_SIGNATURES_RATE_LIMIT", "5 per minute;30 per hour"),
        # Unconfirmed signatures older than this many days are deleted daily by the worker
        # (`flask signatures purge-unconfirmed`): nobody will confirm them, and they are
        # personal data kept for nothing.
        "UNCONFIRMED_SIGNATURE_DAYS": int(env.get("UNCONFIRMED_SIGNATURE_DAYS", "30")),
        # Suspicious activity (admin): at least SUSPICIOUS_BURST_SIZE signatures from one
        # network (/24 or /48) or one email domain within SUSPICIOUS_BURST_MINUTES make a burst,
        # looked for over the last SUSPICIOUS_LOOKBACK_DAYS. A common free-mail domain needs
        # SUSPICIOUS_FREEMAIL_FACTOR times as many: thousands of people use it honestly.
        "SUSPICIOUS_BURST_SIZE": int(env.get("SUSPICIOUS_BURST_SIZE", "10")),
        "SUSPICIOUS_BURST_MINUTES": int(env.get("SUSPICIOUS_BURST_MINUTES", "10")),
        "SUSPICIOUS_LOOKBACK_DAYS": int(env.get("SUSPICIOUS_LOOKBACK_DAYS", "30")),
        "SUSPICIOUS_FREEMAIL_FACTOR": int(env.get("SUSPICIOUS_FREEMAIL_FACTOR", "5")),
        # scrypt is deliberately slow; the test suite, which makes thousands of accounts, sets
        # a fast method instead.
        "PASSWORD_HASH_METHOD": env.get("PASSWORD_HASH_METHOD", "scrypt"),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        # Lockout per account (and per unknown address alike, so it reveals nothing): after
        # this many failed logins in a row, refused for LOGIN_LOCKOUT_SECONDS, doubled at each
        # further failure up to LOGIN_LOCKOUT_MAX_SECONDS. A success or a password reset ends it.
        "LOGIN_LOCKOUT_THRESHOLD": int(env.get("LOGIN_LOCKOUT_THRESHOLD", "5")),
        "LOGIN_LOCKOUT_SECONDS": int(env.get("LOGIN_LOCKOUT_SECONDS", "60")),
        "LOGIN_LOCKOUT_MAX_SECONDS": int(env.get("LOGIN_LOCKOUT_MAX_SECONDS", "3600")),
        # Public forms, per mailbox named in the form (whatever address posts it): a script on
        # many addresses cannot flood one person with confirmation links.
        "EMAIL_RATE_LIMIT": env.get("EMAIL_RATE_LIMIT", "5 per minute;20 per hour"),
        # Posts to one emailed link (confirm, manage an RSVP, preferences), from any address.
        "TOKEN_RATE_LIMIT": env.get("TOKEN_RATE_LIMIT", "10 per minute;30 per hour"),
        # Discussion
        "COMMENT_MAX_LENGTH": int(env.get("COMMENT_MAX_LENGTH", "2000")),
        "COMMENT_MAX_LINKS": int(env.get("COMMENT_MAX_LINKS", "2")),
        "COMMENT_FLAG_THRESHOLD": int(env.get("COMMENT_FLAG_THRESHOLD", "3")),
        "COMMENT_EMAIL_LIMIT_PER_HOUR": int(env.get("COMMENT_EMAIL_LIMIT_PER_HOUR", "5")),
        # Seconds a person needs at least to write a comment; quicker posts come from scripts.
        "COMMENT_MIN_SECONDS": float(env.get("COMMENT_MIN_SECONDS", "3")),
        "COMMENT_RATE_LIMIT": env.get("COMMENT_RATE_LIMIT", "5 per minute;30 per hour"),
        # Supporting and flagging, per address.
        "COMMENT_ACTION_RATE_LIMIT": env.get("COMMENT_ACTION_RATE_LIMIT", "30 per minute"),
        "COMMENTS_PER_PAGE": int(env.get("COMMENTS_PER_PAGE", "20")),
        # Rallies: RSVPs, proposals and hosts' messages, per address.
        "RSVP_RATE_LIMIT": env.get("RSVP_RATE_LIMIT", "10 per minute;100 per hour"),
        # Open data (/api/v1/): requests per address, and seconds answers may be cached by
        # browsers and proxies (counts in them lag by as much).
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "120 per minute"),
        "API_CACHE_SECONDS": int(env.get("API_CACHE_SECONDS", "60")),
        # Web
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session cookie
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), not development),
        # Flask-Login's "remember me" cookie is never set, but it is cleared on some responses;
        # even that must carry the same flags as the session cookie.
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), not development),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # How many reverse proxies stand in front of the app and set X-Forwarded-For/-Proto/
        # -Host. Behind one (nginx, a load balancer), set 1: otherwise every reader has the
        # proxy's address and the per-IP rate limits become one bucket for the whole site.
        # Never more than there are: a client could then forge its address.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # Request bodies larger than this are refused with a 413 page before any form is read;
        # the largest real form (an update in eight languages) stays well under it.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(2 * 1024 * 1024))),
        # Seconds an anonymous reader's petition page may be served from the process's cache
        # (counts on it lag by as much); 0 turns the cache off.
        "PAGE_CACHE_SECONDS": float(env.get("PAGE_CACHE_SECONDS", "5")),
    }
