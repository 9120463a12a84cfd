"""CSRF on every state-changing request, found by walking the app's URL map.

Every rule that accepts POST, PUT, PATCH or DELETE is requested without a CSRF token, by a
logged-in site admin who owns the campaign (so the request would otherwise be allowed), with
URLs built from real rows. It must get the friendly 400 page and change nothing in the database.
A route added later without protection fails this test until it is protected, or added to
ALLOWLIST with the reason and the check that replaces the token.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from campaign.extensions import db as _db
from tests import conftest
from tests.factories import (
    add_member,
    make_campaign,
    make_comment,
    make_event,
    make_organizer,
    make_rsvp,
)
from tests.test_public import text as visible_text

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}

# Endpoints that take no CSRF token, each authenticated another way (tested below).
ALLOWLIST = {
    # SendGrid's event webhook: a server-to-server call with no browser session to ride on;
    # every request must carry SendGrid's ECDSA signature over its timestamp and body.
    "webhooks.sendgrid_events": "signed by SendGrid (SENDGRID_WEBHOOK_PUBLIC_KEY)",
    # RFC 8058 one-click unsubscribe: mail clients POST `List-Unsubscribe=One-Click` with no
    # cookie and no form; the signed token in the URL is the authorization, and the only thing
    # it can do is stop mail to the address it was issued for.
    "public.unsubscribe": "signed single-purpose token in the URL",
}


@pytest.fixture
def app_config(database_url, sendgrid):
    return conftest.test_config(database_url, sendgrid, WTF_CSRF_ENABLED=True)


class Browser:
    """A client whose every request runs in an app context of its own, as on a real server
    (Flask-WTF keeps the current token on `g`)."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def open(self, path: str, method: str = "GET", **kwargs):
        with self.app.app_context():
            response = self.client.open(path, method=method, **kwargs)
        _db.session.rollback()
        return response


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def world(app, db):
    """One of everything a URL can name, owned by a logged-in site admin."""
    campaign = make_campaign(slug="water")
    comment = make_comment(campaign)
    event = make_event(campaign)
    rsvp = make_rsvp(event)
    owner = make_organizer(email="owner@example.org", is_admin=True)
    add_member(campaign, owner, "owner")
    db.session.commit()
    browser = Browser(app)
    token = csrf_token(browser.open("/admin/login").text)
    response = browser.open(
        "/admin/login",
        "POST",
        data={"email": owner.email, "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 302, "the admin could not log in"
    from campaign.models import Membership

    membership = db.session.scalar(select(Membership.id).where(Membership.organizer_id == owner.id))
    values = {
        "lang": "en",
        "language": "en",
        "slug": campaign.slug,
        "comment_id": comment.id,
        "event_id": event.id,
        "rsvp_id": rsvp.id,
        "membership_id": membership,
        "token": "a-token",
    }
    return browser, values


def state_changing_rules(app):
    return sorted(
        (
            (rule.endpoint, method)
            for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods & STATE_CHANGING)
        ),
    )


def build(app, endpoint: str, values: dict) -> str:
    (rule,) = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint][:1]
    args = {}
    for name in rule.arguments:
        if name in values:
            args[name] = values[name]
        else:
            # An id with no row of its own here: 1 is still a well-formed URL.
            converter = rule._converters[name]
            args[name] = 1 if type(converter).__name__ == "IntegerConverter" else "x"
    adapter = app.url_map.bind("campaign.test")
    return adapter.build(endpoint, args)


def row_counts(db) -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_every_state_changing_route_refuses_a_request_without_a_token(app, db, world):
    browser, values = world
    rules = state_changing_rules(app)
    assert len(rules) > 40, "the URL map was not walked"
    unprotected = []
    for endpoint, method in rules:
        if endpoint in ALLOWLIST:
            continue
        path = build(app, endpoint, values)
        before = row_counts(db)
        response = browser.open(path, method, data={"email": "x@example.org", "body": "x"})
        page = visible_text(response.text) if response.status_code == 400 else ""
        if response.status_code != 400 or "Your form expired" not in page:
            unprotected.append(f"{method} {path} ({endpoint}): {response.status_code}")
        assert row_counts(db) == before, f"{method} {path} changed the database"
    assert not unprotected, "routes that accept a request without a CSRF token:\n" + "\n".join(
        unprotected
    )


def test_a_forged_token_is_refused_too(app, db, world):
    browser, values = world
    for endpoint, method in state_changing_rules(app):
        if endpoint in ALLOWLIST:
            continue
        path = build(app, endpoint, values)
        response = browser.open(path, method, data={"csrf_token": "forged"})
        assert response.status_code == 400, f"{method} {path}"


def test_with_the_token_the_same_session_gets_through(app, db, world):
    """The control: the refusals above are about the token, not a broken URL or session."""
    browser, values = world
    token = csrf_token(browser.open("/admin/account").text)
    response = browser.open(
        "/admin/account",
        "POST",
        data={"csrf_token": token, "name": "Owner", "language": "en", "submit": "Save"},
    )
    assert response.status_code == 302


def test_the_allowlist_names_real_routes(app):
    endpoints = {endpoint for endpoint, _ in state_changing_rules(app)}
    assert set(ALLOWLIST) <= endpoints


def test_the_webhook_refuses_an_unsigned_request(app, db, world):
    browser, _ = world
    before = row_counts(db)
    for key in (None, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" + "A" * 87 + "=="):
        app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = key
        response = browser.open("/webhooks/sendgrid", "POST", json=[{"event": "bounce"}])
        assert response.status_code in (403, 503)
    assert row_counts(db) == before


def test_one_click_unsubscribe_needs_a_signed_token(app, db, world):
    browser, _ = world
    before = row_counts(db)
    response = browser.open("/u/forged-token", "POST", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404
    assert row_counts(db) == before
