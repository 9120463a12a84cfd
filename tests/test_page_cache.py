"""The anonymous petition page's short cache and validators, with CSRF on."""

from __future__ import annotations

import re
import time

import pytest

from campaign.models import Campaign, CommentPolicy
from tests.conftest import FreshContextClient
from tests.conftest import test_config as config_for_tests
from tests.factories import make_campaign, make_signature

SIGN = {
    "full_name": "Ada Lovelace",
    "email": "ada@example.org",
    "country": "GB",
    "city": "London",
}


@pytest.fixture
def app_config(database_url, sendgrid):
    return config_for_tests(
        database_url,
        sendgrid,
        WTF_CSRF_ENABLED=True,
        PAGE_CACHE_SECONDS=2,
        COMMENT_MIN_SECONDS=1,
    )


@pytest.fixture
def app(app):
    # A browser of its own per client, each request in its own context as in production.
    app.test_client_class = FreshContextClient
    return app


@pytest.fixture
def petition(db):
    campaign = make_campaign(slug="clean-water", title="Clean water now")
    make_signature(campaign, confirmed=True)
    db.session.execute(
        Campaign.__table__.update().where(Campaign.id == campaign.id).values(signature_count=1)
    )
    db.session.commit()
    return campaign


def _count_shown(html: str) -> str:
    match = re.search(r'data-count="(\d+)"', html) or re.search(r">\s*([\d,]+)\s*<", html)
    return match.group(1) if match else ""


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', html
    )
    assert match, f"no {name} field"
    return match.group(1)


def _bump_count(db, campaign, count):
    db.session.execute(
        Campaign.__table__.update().where(Campaign.id == campaign.id).values(signature_count=count)
    )
    db.session.commit()


def test_anonymous_readers_share_a_copy_that_lags_by_at_most_the_setting(app, db, petition):
    first = app.test_client().get("/en/c/clean-water")
    assert first.status_code == 200
    assert "max-age=2" in first.headers["Cache-Control"]
    assert "private" in first.headers["Cache-Control"]
    assert "stale-while-revalidate" in first.headers["Cache-Control"]
    assert {"Cookie", "Accept-Language"} <= set(first.vary)
    _bump_count(db, petition, 777)
    # Within the two seconds, another reader gets the copy: the new count is not there yet.
    assert "777" not in app.test_client().get("/en/c/clean-water").text
    time.sleep(2.1)
    assert "777" in app.test_client().get("/en/c/clean-water").text


def test_each_reader_gets_a_token_of_their_own_and_can_sign_from_the_copy(app, db, petition):
    alice, bob = app.test_client(), app.test_client()
    page_a = alice.get("/en/c/clean-water").text
    page_b = bob.get("/en/c/clean-water").text  # served from the copy
    token_a, token_b = _field(page_a, "csrf_token"), _field(page_b, "csrf_token")
    assert token_a != token_b
    assert "\x00" not in page_b
    response = bob.post("/en/c/clean-water", data={**SIGN, "csrf_token": token_b})
    assert response.status_code == 302, response.text[:500]
    # Someone else's token from the shared copy does not work in this session.
    response = alice.post(
        "/en/c/clean-water", data={**SIGN, "email": "eve@example.org", "csrf_token": token_b}
    )
    assert response.status_code == 400


def test_the_comment_forms_clock_is_stamped_for_each_response(app, db, petition):
    petition.comment_policy = CommentPolicy.POST_MODERATED
    db.session.commit()
    first = app.test_client().get("/en/c/clean-water").text
    time.sleep(1.1)
    later = app.test_client().get("/en/c/clean-water").text  # from the copy
    assert _field(later, "comment-started") != _field(first, "comment-started")


def test_a_browser_revalidates_its_copy_with_a_304(app, db, petition):
    reader = app.test_client()
    page = reader.get("/en/c/clean-water")
    etag = page.headers["ETag"]
    again = reader.get("/en/c/clean-water", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    # The same page rendered again after the copy expired keeps its validator...
    time.sleep(2.1)
    assert reader.get("/en/c/clean-water", headers={"If-None-Match": etag}).status_code == 304
    # ...until what it shows changes.
    _bump_count(db, petition, 4321)
    time.sleep(2.1)
    changed = reader.get("/en/c/clean-water", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "4,321" in changed.text or "4321" in changed.text
    # Another session's copy holds another token: its validator is not this one's.
    stranger = app.test_client().get("/en/c/clean-water", headers={"If-None-Match": etag})
    assert stranger.status_code == 200


def test_languages_and_preselected_countries_get_copies_of_their_own(app, db, petition):
    app.test_client().get("/en/c/clean-water", headers={"Accept-Language": "en-GB"})
    french = app.test_client().get("/en/c/clean-water", headers={"Accept-Language": "en-FR"})
    assert re.search(r'<option[^>]*selected[^>]*value="FR"|value="FR"[^>]*selected', french.text)


def test_known_readers_and_organizers_always_get_a_fresh_page(app, db, petition):
    reader = app.test_client()
    reader.get("/en/c/clean-water")
    with reader.session_transaction() as session:
        session["known_mailboxes"] = ["abc"]
    _bump_count(db, petition, 999)
    response = reader.get("/en/c/clean-water")
    assert "999" in response.text
    assert "ETag" not in response.headers


def test_errors_and_flashes_are_never_cached(app, db, petition):
    reader = app.test_client()
    token = _field(reader.get("/en/c/clean-water").text, "csrf_token")
    invalid = reader.post(
        "/en/c/clean-water", data={**SIGN, "email": "not-an-email", "csrf_token": token}
    )
    assert invalid.status_code == 422
    assert "not-an-email" not in app.test_client().get("/en/c/clean-water").text
    assert app.test_client().get("/en/c/nothing-here").status_code == 404


def test_off_when_set_to_zero(app, db, petition):
    app.extensions["page_cache"].seconds = 0
    app.config["PAGE_CACHE_SECONDS"] = 0
    app.test_client().get("/en/c/clean-water")
    _bump_count(db, petition, 555)
    response = app.test_client().get("/en/c/clean-water")
    assert "555" in response.text
    assert "ETag" not in response.headers


def test_the_signed_page_is_shared_by_signers_from_the_same_place(app, db, petition):
    pages = []
    for n in range(2):
        signer = app.test_client()
        token = _field(signer.get("/en/c/clean-water").text, "csrf_token")
        response = signer.post(
            "/en/c/clean-water",
            data={**SIGN, "email": f"signer{n}@example.org", "csrf_token": token},
        )
        assert response.status_code == 302
        page = signer.get(response.headers["Location"])
        assert page.status_code == 200
        pages.append(page)
    assert pages[0].headers["ETag"] != pages[1].headers["ETag"]  # each session's own token
    assert "max-age=2" in pages[1].headers["Cache-Control"]
    assert _field(pages[0].text, "csrf_token") != _field(pages[1].text, "csrf_token")
