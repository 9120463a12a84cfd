"""Real concurrent clients against gunicorn on PostgreSQL: counts stay exact under races.

One gunicorn (several processes, each with threads) serves a schema of its own on the test
PostgreSQL server, prepared the way an operator would (`flask db upgrade`). Clients are plain
HTTP clients in threads, each with its own cookies: they open the petition for its CSRF token,
wait at a barrier until every one of them is ready, then post the real sign form together.

No outbox worker runs: the confirmation links are read from the outbox rows, the very text the
worker would email (mail settings point at a local SendGrid stand-in all the same, so nothing
could ever leave the machine).

PostgreSQL only (SQLite serializes every write, so it has no race to lose): without it these
tests skip, unless CAMPAIGN_REQUIRE_SERVICES=1, where they fail.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.conftest import drop_postgres_schema, make_postgres_schema
from tests.e2e.conftest import (
    ROOT,
    LiveServer,
    _free_port,
    _run_cli,
    _server_env,
    _stop,
    _venv_tool,
    _wait_until_healthy,
)
from tests.sendgrid_fake import FakeSendGrid

SIGNERS = 500
SAME_MAILBOX_SUBMISSIONS = 50
CONFIRM_RACERS = 30
# Each rendezvous waits for every client's page to load first; on a slow machine that can take
# a while for 500 of them, but a client that never arrives must not hang the run.
BARRIER_TIMEOUT = 90.0
HTTP_TIMEOUT = 60.0
SLUGS = ("crowd", "same-mailbox", "double-confirm")

CREATE_CAMPAIGNS = f"""
from app import app
from campaign.extensions import db
from tests.factories import make_campaign

with app.app_context():
    for slug in {SLUGS!r}:
        make_campaign(slug=slug, goal=10_000)
    db.session.commit()
"""

T = TypeVar("T")


@dataclass(frozen=True)
class Reply:
    status: int  # 0: no HTTP answer at all (connection refused or reset, timeout)
    location: str
    body: str

    def __str__(self) -> str:
        return f"{self.status} {self.location or self.body[:200]!r}"


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back as they are: the tests look at where they point."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Client:
    """One person's browser, reduced to what matters here: its own cookie jar."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _KeepRedirects()
        )

    def request(self, url: str, data: dict[str, str] | None = None) -> Reply:
        if url.startswith("/"):
            url = self.base_url + url
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            response = self._opener.open(url, data=body, timeout=HTTP_TIMEOUT)
        except urllib.error.HTTPError as error:  # 3xx (kept as is), 4xx, 5xx
            response = error
        except (urllib.error.URLError, OSError) as exc:
            return Reply(0, "", repr(exc))
        with response:
            return Reply(
                response.status,
                response.headers.get("Location", ""),
                response.read().decode("utf-8", "replace"),
            )

    def form_token(self, url: str) -> str:
        """Open a page with a form and return its CSRF token (tied to this client's session)."""
        reply = self.request(url)
        if reply.status != 200:
            raise AssertionError(f"GET {url} answered {reply}")
        tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', reply.body)
        value = re.search(r'value="([^"]+)"', tag.group(0)) if tag else None
        if not value:
            raise AssertionError(f"GET {url}: no CSRF token in the page")
        return value.group(1)


@dataclass
class Server:
    url: str
    live: LiveServer
    engine: Engine

    def scalar(self, sql: str, **params) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()

    def api_count(self, slug: str) -> int:
        reply = Client(self.url).request(f"/api/v1/campaigns/{slug}")
        assert reply.status == 200, reply
        return json.loads(reply.body)["signature_count"]

    def counts(self, slug: str) -> dict[str, int]:
        """Everything that says how many signed: rows, confirmed rows, the maintained counter
        (in the database and as the public API shows it)."""
        return {
            "rows": self.scalar(
                "SELECT count(*) FROM signatures s JOIN campaigns c ON c.id = s.campaign_id"
                " WHERE c.slug = :slug",
                slug=slug,
            ),
            "confirmed": self.scalar(
                "SELECT count(*) FROM signatures s JOIN campaigns c ON c.id = s.campaign_id"
                " WHERE c.slug = :slug AND s.confirmed_at IS NOT NULL",
                slug=slug,
            ),
            "counter": self.scalar(
                "SELECT signature_count FROM campaigns WHERE slug = :slug", slug=slug
            ),
            "api": self.api_count(slug),
        }

    def confirmation_emails(self, slug: str) -> list[tuple[str, str]]:
        """(address, link) of every confirmation email queued for the campaign, oldest first:
        the link as the signer gets it."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT to_email, text_body FROM outbox_messages"
                    " WHERE kind = 'signature_confirmation' ORDER BY id"
                )
            ).all()
        pattern = re.compile(rf"{re.escape(self.url)}/\w+/c/{re.escape(slug)}/confirm/[^\s<>\"]+")
        return [
            (to_email, found.group(0)) for to_email, body in rows if (found := pattern.search(body))
        ]

    def server_errors(self) -> str:
        """gunicorn's log, where Flask writes the traceback of every 500."""
        return self.live.logs()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """gunicorn (4 processes × 8 threads) on a schema of its own, with three open campaigns.
    Everything it starts is stopped, and the schema dropped, however the tests end."""
    database_url, schema = make_postgres_schema()
    workdir = tmp_path_factory.mktemp("concurrency")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as cleanup:  # undoes in reverse order: server first, schema last
        cleanup.callback(drop_postgres_schema, schema)
        engine = create_engine(database_url)
        cleanup.callback(engine.dispose)
        mail = FakeSendGrid(api_key="SG.concurrency-fake-key").start()
        cleanup.callback(mail.stop)
        env = _server_env(database_url, url, mail)
        live = LiveServer(url=url, mail=mail, log_dir=workdir, env=env)
        _run_cli(["db", "upgrade"], env)
        live.run_python(CREATE_CAMPAIGNS)
        log = cleanup.enter_context((workdir / "gunicorn.log").open("w"))
        processes: list[subprocess.Popen] = []
        cleanup.callback(_stop, processes)
        command = [
            _venv_tool("gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "4",
            "--threads",
            "8",
            "--backlog",
            "2048",
            "--timeout",
            "120",
            "--graceful-timeout",
            "2",
            "app:app",
        ]
        processes.append(
            subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        )
        _wait_until_healthy(live, processes)
        yield Server(url=url, live=live, engine=engine)


def together(items: Iterable[T], prepare: Callable[[T], Any], act: Callable[[T, Any], Reply]):
    """For every item, in a thread of its own: `prepare(item)`, then wait until all are prepared,
    then `act(item, prepared)` at the same moment as the others. Returns the replies in order."""
    items = list(items)
    barrier = threading.Barrier(len(items))

    def run(item: T) -> Reply:
        try:
            prepared = prepare(item)
        except BaseException:
            barrier.abort()  # release the others at once rather than after the timeout
            raise
        barrier.wait(timeout=BARRIER_TIMEOUT)
        return act(item, prepared)

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(run, item) for item in items]
    errors = [future.exception() for future in futures if future.exception()]
    # The first real failure, not the broken barrier it caused in the other threads.
    for error in sorted(errors, key=lambda e: isinstance(e, threading.BrokenBarrierError)):
        raise error
    return [future.result() for future in futures]


def sign_form(email: str, name: str, csrf_token: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token,
        "full_name": name,
        "email": email,
        "country": "FR",
        "city": "Lyon",
        "website": "",  # the spam trap, left empty as a person leaves it
        "submit": "Sign",
    }


def sign_together(server: Server, slug: str, emails: list[str]) -> list[Reply]:
    """Each address signs from a browser of its own, all at the same moment."""
    petition = f"/en/c/{slug}"
    clients = [(Client(server.url), email) for email in emails]
    return together(
        clients,
        lambda pair: pair[0].form_token(petition),
        lambda pair, token: pair[0].request(
            petition, sign_form(pair[1], f"Signer {pair[1].split('@')[0]}", token)
        ),
    )


def confirm_together(server: Server, links: list[str]) -> list[Reply]:
    """Each link is opened in a browser of its own, and its button pressed at the same moment."""
    clients = [(Client(server.url), link) for link in links]
    return together(
        clients,
        lambda pair: pair[0].form_token(pair[1]),
        lambda pair, token: pair[0].request(pair[1], {"csrf_token": token}),
    )


def assert_all_redirect_to(replies: list[Reply], path: str, server: Server) -> None:
    """Every request was answered, none with an error, each with the redirect a person gets."""
    outcomes = Counter(
        "redirect" if reply.status in (302, 303) and reply.location.endswith(path) else str(reply)
        for reply in replies
    )
    assert outcomes == {"redirect": len(replies)}, (
        f"{outcomes.most_common(10)}\n{server.server_errors()}"
    )


def test_five_hundred_signers_at_once_all_count_exactly(server):
    slug = "crowd"
    before = server.counts(slug)
    emails = [f"crowd{n:03d}@example.org" for n in range(SIGNERS)]

    replies = sign_together(server, slug, emails)

    assert_all_redirect_to(replies, f"/c/{slug}/signed", server)
    assert server.counts(slug) == {**before, "rows": before["rows"] + SIGNERS}
    sent = server.confirmation_emails(slug)
    assert sorted(to for to, _ in sent) == emails  # one confirmation email each, none lost
    links = dict(sent)

    replies = confirm_together(server, [links[email] for email in emails])

    assert_all_redirect_to(replies, f"/c/{slug}/thanks", server)
    assert server.counts(slug) == {
        "rows": before["rows"] + SIGNERS,
        "confirmed": before["confirmed"] + SIGNERS,
        "counter": before["counter"] + SIGNERS,
        "api": before["api"] + SIGNERS,
    }


def test_fifty_submissions_of_one_mailbox_make_one_signature(server):
    slug = "same-mailbox"
    # Gmail delivers all of these to one mailbox, so they are one signer (services.email_addresses).
    variants = [
        "jane.doe@gmail.com",
        "JANE.DOE@GMAIL.COM",
        "janedoe@gmail.com",
        "Jane.Doe@Gmail.com",
        "jane.doe+petition@gmail.com",
        "j.a.n.e.d.o.e@googlemail.com",
        "jane.doe+{n}@gmail.com",
    ]
    emails = [variants[n % len(variants)].format(n=n) for n in range(SAME_MAILBOX_SUBMISSIONS)]

    replies = sign_together(server, slug, emails)

    # The page never tells whether this mailbox signed before: the same redirect for everyone.
    assert_all_redirect_to(replies, f"/c/{slug}/signed", server)
    counts = server.counts(slug)
    assert counts["rows"] == 1, server.server_errors()
    assert (
        server.scalar(
            "SELECT email_key FROM signatures s JOIN campaigns c ON c.id = s.campaign_id"
            " WHERE c.slug = :slug",
            slug=slug,
        )
        == "janedoe@gmail.com"
    )
    # Every submission was answered by email: the first link, then the same signature's again.
    sent = server.confirmation_emails(slug)
    assert len(sent) == SAME_MAILBOX_SUBMISSIONS

    # Pressing the button in several of those emails at once still counts one person.
    links = sorted({link for _, link in sent})
    assert_all_redirect_to(confirm_together(server, links), f"/c/{slug}/thanks", server)
    assert server.counts(slug) == {"rows": 1, "confirmed": 1, "counter": 1, "api": 1}


def test_racing_confirmations_count_once(server):
    slug = "double-confirm"
    email = "racer@example.org"
    replies = sign_together(server, slug, [email])
    assert_all_redirect_to(replies, f"/c/{slug}/signed", server)
    [(_, link)] = server.confirmation_emails(slug)
    before = server.counts(slug)

    replies = confirm_together(server, [link] * CONFIRM_RACERS)

    assert_all_redirect_to(replies, f"/c/{slug}/thanks", server)
    assert server.counts(slug) == {
        "rows": before["rows"],
        "confirmed": before["confirmed"] + 1,
        "counter": before["counter"] + 1,
        "api": before["api"] + 1,
    }
