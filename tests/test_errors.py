"""Friendly error pages: 404, 500 and 429, in the page shell of the reader's language."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from campaign import create_app
from campaign.models import Signature
from tests import conftest
from tests.factories import make_campaign


def html_tag(html: str) -> str:
    match = re.search(r"<html[^>]*>", html)
    assert match, "no <html> tag"
    return match.group(0)


def visible_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def signature_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Signature))


# --- 404 --------------------------------------------------------------------------------------


# Under /api/ errors are JSON (tests/test_api.py).
@pytest.mark.parametrize("path", ["/en/c/no-such-campaign", "/en/no/such/page", "/no/such/page"])
def test_404_is_friendly(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    assert html_tag(response.text) == '<html lang="en" dir="ltr">'
    page = visible_text(response.text)
    assert "Page not found" in page
    assert "Go to the petitions" in page
    assert 'href="/en/"' in response.text


def test_404_in_russian_for_a_russian_reader(client):
    response = client.get("/no/such/page", headers={"Accept-Language": "ru"})
    assert response.status_code == 404
    assert html_tag(response.text) == '<html lang="ru" dir="ltr">'
    assert 'href="/ru/"' in response.text


def test_404_of_a_russian_page_is_russian(client):
    response = client.get("/ru/c/no-such-campaign", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert html_tag(response.text) == '<html lang="ru" dir="ltr">'


def test_404_under_a_language_prefix_follows_the_prefix(client):
    """A broken link under /ru/ is answered in Russian, whatever the browser prefers."""
    response = client.get("/ru/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert html_tag(response.text) == '<html lang="ru" dir="ltr">'


# --- 500 --------------------------------------------------------------------------------------


@pytest.fixture
def failing_app(app_config):
    """A throwaway app with a route that fails, configured like production about errors."""
    app = create_app({**app_config, "TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    @app.route("/boom")
    def boom():
        raise RuntimeError("something broke")

    return app


@pytest.mark.parametrize(("accept", "lang"), [("en", "en"), ("ru", "ru")])
def test_500_is_friendly(failing_app, accept, lang):
    response = failing_app.test_client().get("/boom", headers={"Accept-Language": accept})
    assert response.status_code == 500
    assert response.content_type.startswith("text/html")
    assert html_tag(response.text) == f'<html lang="{lang}" dir="ltr">'
    assert "something broke" not in response.text
    assert "Traceback" not in response.text
    if lang == "en":
        page = visible_text(response.text)
        assert "Something went wrong on our side" in page
        assert "what you submitted was not saved" in page


# --- 429 --------------------------------------------------------------------------------------


class TestRateLimit:
    @pytest.fixture
    def app_config(self, database_url, sendgrid):
        return conftest.test_config(
            database_url, sendgrid, RATELIMIT_ENABLED=True, SIGN_RATE_LIMIT="2 per minute"
        )

    def test_third_signature_in_a_minute_is_refused_with_a_clear_page(self, client, db):
        make_campaign(slug="busy")
        db.session.commit()

        def sign(n: int):
            return client.post(
                "/en/c/busy",
                data={"full_name": f"Signer {n}", "email": f"s{n}@example.org", "country": "FR"},
            )

        assert sign(1).status_code == 302
        assert sign(2).status_code == 302
        response = sign(3)
        assert response.status_code == 429
        assert response.content_type.startswith("text/html")
        assert html_tag(response.text) == '<html lang="en" dir="ltr">'
        page = visible_text(response.text)
        assert "Too many requests" in page
        assert "Please wait 1 minute and try again" in page
        assert 0 < int(response.headers["Retry-After"]) <= 60
        assert signature_count(db) == 2

        # Reading is not limited.
        assert client.get("/en/c/busy").status_code == 200
