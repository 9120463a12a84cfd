"""Forms with CSRF protection on, as in production: no token, no change.

Flask-WTF keeps the token of the current request on `g`. The `app` fixture holds one app
context (so one `g`) for a whole test, which a request made inside it would reuse; `Browser`
gives every request an app context of its own, as a real server does, so two browsers never
share a token by accident.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from campaign.mail.backends import backend_from_config
from campaign.mail.delivery import deliver_due
from campaign.models import Campaign, OutboxMessage, Signature
from tests import conftest
from tests.factories import make_campaign

SIGN_DATA = {"full_name": "Amira Haddad", "email": "amira@example.org", "country": "FR"}


@pytest.fixture
def app_config(database_url, sendgrid):
    return conftest.test_config(database_url, sendgrid, WTF_CSRF_ENABLED=True)


@pytest.fixture
def petition(db):
    campaign = make_campaign(slug="clean-water")
    db.session.commit()
    return campaign


class Browser:
    """A test client whose every request runs in a fresh app context."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def get(self, path: str, **kwargs):
        with self.app.app_context():
            return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs):
        with self.app.app_context():
            return self.client.post(path, **kwargs)


@pytest.fixture
def browser(app):
    return Browser(app)


def csrf_token(html: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def assert_form_expired_page(response) -> None:
    assert response.status_code == 400
    assert response.content_type.startswith("text/html")
    page = " ".join(re.sub(r"<[^>]+>", " ", response.text).split())
    assert "Your form expired" in page
    assert "reload the page and submit again" in page
    assert '<html lang="en" dir="ltr">' in response.text


def test_csrf_is_on(app):
    assert app.config["WTF_CSRF_ENABLED"] is True


def test_sign_without_a_token_is_refused(browser, petition, db):
    browser.get("/en/c/clean-water")  # a session exists, but the token is not sent
    response = browser.post("/en/c/clean-water", data=SIGN_DATA)
    assert_form_expired_page(response)
    assert count(db, Signature) == 0
    assert count(db, OutboxMessage) == 0


def test_sign_with_a_wrong_token_is_refused(browser, petition, db):
    browser.get("/en/c/clean-water")
    response = browser.post("/en/c/clean-water", data={**SIGN_DATA, "csrf_token": "forged"})
    assert_form_expired_page(response)
    assert count(db, Signature) == 0


def test_token_from_another_session_is_refused(app, browser, petition, db):
    token = csrf_token(Browser(app).get("/en/c/clean-water").text)
    assert csrf_token(browser.get("/en/c/clean-water").text) != token
    response = browser.post("/en/c/clean-water", data={**SIGN_DATA, "csrf_token": token})
    assert_form_expired_page(response)
    assert count(db, Signature) == 0


def test_sign_with_the_token_from_the_page(browser, petition, db):
    token = csrf_token(browser.get("/en/c/clean-water").text)
    response = browser.post("/en/c/clean-water", data={**SIGN_DATA, "csrf_token": token})
    assert response.status_code == 302
    assert response.location.endswith("/en/c/clean-water/signed")
    assert count(db, Signature) == 1


def test_confirm_needs_the_token(app, browser, petition, db, mail):
    token = csrf_token(browser.get("/en/c/clean-water").text)
    browser.post("/en/c/clean-water", data={**SIGN_DATA, "csrf_token": token})
    deliver_due(db.session, backend_from_config(app.config), app.config)
    (link,) = [link for link in mail.sent[0].links() if "/confirm/" in link]
    path = link.removeprefix("http://campaign.test")

    # The person opens the link on another device: the confirm page brings its own token.
    phone = Browser(app)
    page = phone.get(path)
    assert page.status_code == 200

    assert_form_expired_page(phone.post(path))
    db.session.rollback()  # end the read transaction: see what the requests committed
    assert db.session.get(Campaign, petition.id).signature_count == 0
    assert db.session.scalars(select(Signature)).one().confirmed_at is None

    response = phone.post(path, data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    assert response.location.endswith("/en/c/clean-water/thanks")
    db.session.rollback()  # end the read transaction: see what the requests committed
    assert db.session.get(Campaign, petition.id).signature_count == 1
