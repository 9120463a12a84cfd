"""No open redirects: every redirect the app builds from what a visitor sends stays on the site.

The `next` of the organizer login (given in the form or in the query string, as Flask-Login
sends it), and the redirect of unprefixed paths to the reader's language.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.factories import DEFAULT_PASSWORD, make_organizer

HOSTILE = [
    "//evil.example",
    "//evil.example/admin/",
    "///evil.example",
    "https://evil.example",
    "https:evil.example",
    "http://campaign.test@evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "%0d%0aLocation:%20https://evil.example",
    "/admin\r\nLocation: https://evil.example",
]


def stays_on_site(location: str) -> bool:
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return parts.scheme in ("http", "https") and parts.netloc == "campaign.test"
    return location.startswith("/") and not location.startswith("//") and "\\" not in location


@pytest.fixture
def ada(db):
    organizer = make_organizer(email="ada@example.org")
    db.session.commit()
    return organizer


@pytest.mark.parametrize("target", HOSTILE)
def test_login_next_in_the_form_stays_on_the_site(client, ada, target):
    response = client.post(
        "/admin/login", data={"email": ada.email, "password": DEFAULT_PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert stays_on_site(response.location), response.location
    assert "\n" not in response.headers["Location"]


@pytest.mark.parametrize("target", HOSTILE)
def test_login_next_in_the_query_string_stays_on_the_site(client, ada, target):
    page = client.get("/admin/login", query_string={"next": target})
    assert page.status_code == 200
    response = client.post(
        "/admin/login",
        query_string={"next": target},
        data={"email": ada.email, "password": DEFAULT_PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert stays_on_site(response.location), response.location
    assert "\n" not in response.headers["Location"]


@pytest.mark.parametrize("target", HOSTILE)
def test_unprefixed_paths_redirect_within_the_site(client, target):
    # The raw path a server would see for `GET <path> HTTP/1.1` (the test client would read a
    # leading `//` as another host).
    path = target if target.startswith("/") else "/" + target
    for suffix in ("", "/"):
        response = client.get(
            "/",
            base_url="http://campaign.test",
            environ_overrides={"PATH_INFO": path + suffix},
        )
        if response.status_code in (301, 302, 303, 307, 308):
            assert stays_on_site(response.location), response.location


def test_the_login_redirect_for_a_panel_page_keeps_only_the_path(client):
    response = client.get("/admin/account?x=1", base_url="http://campaign.test")
    assert response.status_code == 302
    location = response.location
    assert stays_on_site(location), location
