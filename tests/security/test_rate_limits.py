"""Rate limits on every public form and the login, per IP and per mailbox (campaign/rate_limits.py).

Each request comes from an address of its own (`REMOTE_ADDR`) when the test is about the
per-mailbox or per-link limit, and from one address with a new email each time when it is about
the per-IP limit. The limiter counts a POST before the form is read, so the posts here carry
only what the limit looks at.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from campaign.config import load_config
from tests import conftest
from tests.factories import make_campaign, make_comment, make_event
from tests.test_public import text as visible_text

PER_IP = 3
PER_MAILBOX = 2
PER_TOKEN = 2
ROOT = Path(__file__).resolve().parents[2]


def limited_config(database_url, sendgrid, **overrides) -> dict:
    limit = f"{PER_IP} per minute"
    return conftest.test_config(
        database_url,
        sendgrid,
        RATELIMIT_ENABLED=True,
        SIGN_RATE_LIMIT=limit,
        CONFIRM_RATE_LIMIT=limit,
        COMMENT_RATE_LIMIT=limit,
        COMMENT_ACTION_RATE_LIMIT=limit,
        RSVP_RATE_LIMIT=limit,
        LOGIN_RATE_LIMIT=limit,
        EMAIL_RATE_LIMIT=f"{PER_MAILBOX} per minute",
        TOKEN_RATE_LIMIT=f"{PER_TOKEN} per minute",
        # The lockout has its own tests; here only the limiter may answer 429.
        LOGIN_LOCKOUT_THRESHOLD=1000,
        **overrides,
    )


@pytest.fixture
def app_config(database_url, sendgrid):
    return limited_config(database_url, sendgrid)


@pytest.fixture
def objects(db):
    campaign = make_campaign(slug="water")
    comment = make_comment(campaign)
    event = make_event(campaign)
    db.session.commit()
    return {"slug": campaign.slug, "comment": comment.id, "event": event.id}


_addresses = (f"10.{n // 250}.{n % 250}.1" for n in itertools.count(1))


def post(client, path: str, data: dict, ip: str | None = None):
    return client.post(path, data=data, environ_base={"REMOTE_ADDR": ip or next(_addresses)})


def assert_limited(response) -> None:
    assert response.status_code == 429
    assert response.content_type.startswith("text/html")
    assert int(response.headers["Retry-After"]) > 0
    page = visible_text(response.text)
    assert "Too many requests" in page
    assert re.search(r"Please wait \d+ (seconds?|minutes?) and try again", page)
    assert "was not saved" in page
    assert "Go to the petitions" in page  # a next step, not a dead end


# (name, path template, the field that names the mailbox, other form data)
MAILBOX_FORMS = [
    ("sign", "/en/c/{slug}", "email", {"full_name": "A B", "country": "FR"}),
    ("comment", "/en/c/{slug}/comments", "email", {"author_name": "A", "body": "Hello there."}),
    ("reply", "/en/c/{slug}/comments/{comment}/reply", "email", {"body": "Hello there."}),
    ("rsvp", "/en/e/{event}", "email", {"full_name": "A B"}),
    ("propose", "/en/c/{slug}/events/propose", "host_email", {"host_name": "A"}),
    ("subscribe", "/en/subscribe", "email", {"campaign": "{slug}", "source": "footer"}),
    ("login", "/admin/login", "email", {"password": "wrong password"}),
    ("forgot password", "/admin/forgot-password", "email", {}),
]
LINK_FORMS = [
    ("confirm signature", "/en/c/{slug}/confirm/{token}"),
    ("confirm comment", "/en/c/{slug}/comments/confirm/{token}"),
    ("confirm rsvp", "/en/e/{event}/rsvp/confirm/{token}"),
    ("manage rsvp", "/en/e/{event}/rsvp/{token}"),
    ("confirm proposal", "/en/events/proposals/confirm/{token}"),
    ("host message", "/en/e/{event}/host/{token}"),
    ("confirm subscription", "/en/subscribe/confirm/{token}"),
    ("preferences", "/en/preferences/{token}"),
]
IP_ONLY_FORMS = [
    # No email in these forms: the reader is known by a cookie a script can drop, so the
    # address is what counts (one flag per reader per comment is a rule of the service).
    ("flag", "/en/c/{slug}/comments/{comment}/flag", {"reason": "spam"}),
    ("support", "/en/c/{slug}/comments/{comment}/support", {}),
]


def fill(template: str, objects: dict, **more) -> str:
    return template.format(**objects, **more)


@pytest.mark.parametrize(
    ("path", "field", "data"), [f[1:] for f in MAILBOX_FORMS], ids=[f[0] for f in MAILBOX_FORMS]
)
def test_one_mailbox_is_limited_from_any_address(client, objects, path, field, data):
    path = fill(path, objects)
    data = {k: fill(v, objects) for k, v in data.items()}
    # The login counts per mailbox with its own (per-IP sized) limit; the forms share one.
    allowed = PER_IP if path.startswith("/admin/login") else PER_MAILBOX
    # The same mailbox, written differently each time: a +tag, capitals, spaces.
    spellings = ["victim@example.org"] + [f" Victim+{n}@Example.org " for n in range(allowed)]
    for spelling in spellings[:allowed]:
        assert post(client, path, {**data, field: spelling}).status_code != 429
    assert_limited(post(client, path, {**data, field: spellings[allowed]}))
    # Another person is not affected.
    assert post(client, path, {**data, field: "someone.else@example.org"}).status_code != 429


@pytest.mark.parametrize(
    ("path", "field", "data"), [f[1:] for f in MAILBOX_FORMS], ids=[f[0] for f in MAILBOX_FORMS]
)
def test_one_address_is_limited_whatever_the_mailbox(client, objects, path, field, data):
    path = fill(path, objects)
    data = {k: fill(v, objects) for k, v in data.items()}
    for n in range(PER_IP):
        response = post(client, path, {**data, field: f"p{n}@example.org"}, ip="192.0.2.7")
        assert response.status_code != 429
    assert_limited(post(client, path, {**data, field: "p9@example.org"}, ip="192.0.2.7"))
    # Another connection is not affected.
    assert post(client, path, {**data, field: "q@example.org"}, ip="192.0.2.8").status_code != 429


@pytest.mark.parametrize("path", [f[1] for f in LINK_FORMS], ids=[f[0] for f in LINK_FORMS])
def test_one_emailed_link_is_limited_from_any_address(client, objects, path):
    link = fill(path, objects, token="a-token-from-an-email")
    for _ in range(PER_TOKEN):
        assert post(client, link, {}).status_code != 429
    assert_limited(post(client, link, {}))
    other = fill(path, objects, token="another-token")
    assert post(client, other, {}).status_code != 429


@pytest.mark.parametrize("path", [f[1] for f in LINK_FORMS], ids=[f[0] for f in LINK_FORMS])
def test_one_address_is_limited_on_emailed_links(client, objects, path):
    for n in range(PER_IP):
        link = fill(path, objects, token=f"token-{n}")
        assert post(client, link, {}, ip="192.0.2.7").status_code != 429
    assert_limited(post(client, fill(path, objects, token="token-9"), {}, ip="192.0.2.7"))


@pytest.mark.parametrize(
    ("path", "data"), [f[1:] for f in IP_ONLY_FORMS], ids=[f[0] for f in IP_ONLY_FORMS]
)
def test_comment_actions_are_limited_per_address(client, objects, path, data):
    path = fill(path, objects)
    for _ in range(PER_IP):
        assert post(client, path, data, ip="192.0.2.7").status_code != 429
    assert_limited(post(client, path, data, ip="192.0.2.7"))
    assert post(client, path, data, ip="192.0.2.8").status_code != 429


def test_reading_is_never_limited(client, objects):
    for _ in range(PER_IP + 2):
        assert client.get(f"/en/c/{objects['slug']}").status_code == 200
        assert client.get("/admin/login").status_code == 200


def test_a_limited_page_is_in_the_readers_language(client, objects):
    path = f"/ru/c/{objects['slug']}"
    for n in range(PER_IP):
        post(client, path, {"email": f"x{n}@example.org"}, ip="192.0.2.7")
    response = post(client, path, {"email": "y@example.org"}, ip="192.0.2.7")
    assert response.status_code == 429
    assert '<html lang="ru"' in response.text


def test_the_limiter_stores_no_email_address(app, client, objects, redis_url):
    """Keys are keyed digests: Redis (or memory) never holds the address."""
    from campaign import create_app

    shared = create_app({**app.config, "RATELIMIT_STORAGE_URI": redis_url})
    post(shared.test_client(), f"/en/c/{objects['slug']}", {"email": "victim@example.org"})
    from redis import Redis

    keys = [key.decode() for key in Redis.from_url(redis_url).keys("*")]
    assert any("mailbox:" in key for key in keys)
    assert not any("victim" in key or "example.org" in key for key in keys)


# --- configuration ------------------------------------------------------------------------------


def test_limits_use_redis_when_redis_url_is_set(tmp_path):
    env = {"CAMPAIGN_ENV": "testing", "SECRET_KEY": "x", "REDIS_URL": "redis://cache:6379/0"}
    assert load_config(tmp_path, env)["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    del env["REDIS_URL"]
    assert load_config(tmp_path, env)["RATELIMIT_STORAGE_URI"] == "memory://"


def test_every_limit_is_configurable(tmp_path):
    keys = [
        "SIGN_RATE_LIMIT",
        "CONFIRM_RATE_LIMIT",
        "COMMENT_RATE_LIMIT",
        "COMMENT_ACTION_RATE_LIMIT",
        "RSVP_RATE_LIMIT",
        "LOGIN_RATE_LIMIT",
        "EMAIL_RATE_LIMIT",
        "TOKEN_RATE_LIMIT",
    ]
    env = {"CAMPAIGN_ENV": "testing", "SECRET_KEY": "x", **{k: "7 per day" for k in keys}}
    config = load_config(tmp_path, env)
    assert {k: config[k] for k in keys} == {k: "7 per day" for k in keys}


# --- across processes ---------------------------------------------------------------------------

SECOND_PROCESS = """
import json, sys
from campaign import create_app
app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
response = client.post(sys.argv[2], data={"email": sys.argv[3], "full_name": "A B"},
                       environ_base={"REMOTE_ADDR": sys.argv[4]})
print(response.status_code)
"""


def post_from_another_process(config: dict, path: str, email: str, ip: str) -> int:
    env = {**os.environ, "CAMPAIGN_ENV": "testing", "SECRET_KEY": config["SECRET_KEY"]}
    result = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", SECOND_PROCESS, json.dumps(config), path, email, ip],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(result.stdout.strip().splitlines()[-1])


def test_two_processes_share_the_limits_through_redis(app, objects, redis_url):
    """Two app instances (here: this one and another Python process) with the same Redis: what
    one counted, the other sees, per mailbox and per IP alike."""
    from campaign import create_app

    config = {
        key: app.config[key]
        for key in (
            "SQLALCHEMY_DATABASE_URI",
            "SECRET_KEY",
            "BASE_URL",
            "MAIL_BACKEND",
            "SENDGRID_API_KEY",
            "SENDGRID_API_HOST",
            "LANGUAGES",
            "PASSWORD_HASH_METHOD",
            "SIGN_RATE_LIMIT",
            "EMAIL_RATE_LIMIT",
        )
    }
    config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url)
    here = create_app(config).test_client()
    path = f"/en/c/{objects['slug']}"

    for _ in range(PER_MAILBOX):
        assert post(here, path, {"email": "victim@example.org"}).status_code != 429
    assert post_from_another_process(config, path, "victim@example.org", "198.51.100.1") == 429
    assert post_from_another_process(config, path, "other@example.org", "198.51.100.2") != 429

    for n in range(PER_IP):
        post(here, path, {"email": f"ip{n}@example.org"}, ip="198.51.100.9")
    assert post_from_another_process(config, path, "new@example.org", "198.51.100.9") == 429
