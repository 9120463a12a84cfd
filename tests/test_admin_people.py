"""The People screen: find a person, export their data, erase it (campaign/admin/people.py).

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from campaign.models import AuditEntry, Role, Signature
from campaign.services.email_addresses import mailbox_key
from tests.factories import add_member, login, make_campaign, make_organizer, make_signature

EMAIL = "Jane.Doe+petition@gmail.com"
NAME = "Jane Secretname"
SECRET_TITLE = "People screen secret title"


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug="river", title=SECRET_TITLE)
    make_signature(
        campaign, email=EMAIL, email_key=mailbox_key(EMAIL), full_name=NAME, confirmed=True,
        city="Leipzig", country="DE",
    )  # fmt: skip
    make_signature(campaign, email="neighbour@example.org", confirmed=True)
    db.session.commit()
    return campaign


@pytest.fixture
def owner(db, campaign):
    organizer = make_organizer(email="owner@example.org")
    add_member(campaign, organizer, Role.OWNER)
    db.session.commit()
    return organizer


def _url(campaign, path: str = "") -> str:
    return f"/admin/c/{campaign.slug}/people{path}"


def _public_count(client, campaign) -> int:
    return client.get(f"/api/v1/campaigns/{campaign.slug}").get_json()["signature_count"]


def _signatures(db, campaign) -> list[Signature]:
    db.session.expire_all()
    return list(db.session.scalars(select(Signature).where(Signature.campaign_id == campaign.id)))


# Who may use it


def test_owner_sees_the_search_form(client, campaign, owner):
    login(client, owner)

    response = client.get(_url(campaign))

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'role="search"' in body
    assert '<label for="email">Email</label>' in body
    assert NAME not in body


@pytest.mark.parametrize("role", [Role.EDITOR, Role.MODERATOR])
@pytest.mark.parametrize(("method", "path"), [("GET", ""), ("POST", "/export"), ("POST", "/erase")])
def test_editors_and_moderators_are_refused(db, client, campaign, role, method, path):
    organizer = make_organizer()
    add_member(campaign, organizer, role)
    login(client, organizer)

    response = client.open(
        _url(campaign, path) + ("?email=janedoe@gmail.com" if method == "GET" else ""),
        method=method,
        data={"export-email": EMAIL, "erase-email": EMAIL, "erase-confirm": "y"},
    )

    assert response.status_code == 403
    assert NAME not in response.get_data(as_text=True)
    assert len(_signatures(db, campaign)) == 2


@pytest.mark.parametrize(("method", "path"), [("GET", ""), ("POST", "/export"), ("POST", "/erase")])
def test_another_campaigns_owner_is_told_nothing(db, client, campaign, method, path):
    stranger = make_organizer()
    add_member(make_campaign(), stranger, Role.OWNER)
    login(client, stranger)

    response = client.open(
        _url(campaign, path) + ("?email=janedoe@gmail.com" if method == "GET" else ""),
        method=method,
        data={"export-email": EMAIL, "erase-email": EMAIL, "erase-confirm": "y"},
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert NAME not in body
    assert SECRET_TITLE not in body
    assert len(_signatures(db, campaign)) == 2


@pytest.mark.parametrize(("method", "path"), [("GET", ""), ("POST", "/export"), ("POST", "/erase")])
def test_anonymous_visitors_are_sent_to_log_in(db, client, campaign, method, path):
    response = client.open(_url(campaign, path), method=method, data={"erase-email": EMAIL})

    assert response.status_code == 302
    assert "/admin/login" in response.location
    assert len(_signatures(db, campaign)) == 2


def test_a_site_admin_may_use_it_on_any_campaign(db, client, campaign):
    admin = make_organizer(is_admin=True)
    login(client, admin)

    response = client.get(_url(campaign), query_string={"email": EMAIL})

    assert response.status_code == 200
    assert NAME in response.get_data(as_text=True)


# Finding


@pytest.mark.parametrize("typed", [EMAIL, "JANEDOE@gmail.com", "jane.doe+x@googlemail.com"])
def test_finding_a_person_shows_their_data_and_actions(client, campaign, owner, typed):
    login(client, owner)

    response = client.get(_url(campaign), query_string={"email": typed})

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert NAME in body
    assert EMAIL in body
    assert "Leipzig" in body
    assert "Germany" in body
    assert "Export as JSON" in body
    assert 'action="/admin/c/river/people/export"' in body
    assert 'action="/admin/c/river/people/erase"' in body
    assert "neighbour@example.org" not in body


def test_nobody_found_says_so_and_nothing_else(db, client, campaign, owner):
    other = make_campaign()
    make_signature(other, email="elsewhere@example.org", full_name="Elsewhere Person")
    login(client, owner)

    response = client.get(_url(campaign), query_string={"email": "elsewhere@example.org"})

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No signature in this campaign matches that address." in body
    assert "Elsewhere Person" not in body
    assert "Export as JSON" not in body


@pytest.mark.parametrize(("typed", "error"), [("", "Enter the person"), ("nope", "not a valid")])
def test_a_bad_address_is_explained(client, campaign, owner, typed, error):
    login(client, owner)

    response = client.get(_url(campaign), query_string={"email": typed})

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error in body
    assert 'role="alert"' in body
    assert 'aria-invalid="true"' in body


# Exporting


def test_export_downloads_json_and_is_audited(db, client, campaign, owner):
    login(client, owner)

    response = client.post(_url(campaign, "/export"), data={"export-email": "janedoe@gmail.com"})

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="?river-person-[0-9a-f]{16}\.json"?', disposition)
    assert response.headers["Cache-Control"] == "no-store"
    document = json.loads(response.get_data(as_text=True))
    assert document["campaign"] == "river"
    assert [s["full_name"] for s in document["signatures"]] == [NAME]
    assert document["signatures"][0]["email"] == EMAIL
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.export"))
    assert entry.actor_email == "owner@example.org"
    assert entry.details["person"] in disposition
    assert "jane" not in json.dumps(entry.details).lower()


def test_export_of_nobody_goes_back_with_a_message(db, client, campaign, owner):
    login(client, owner)

    response = client.post(
        _url(campaign, "/export"),
        data={"export-email": "nobody@example.org"},
        follow_redirects=True,
    )

    body = response.get_data(as_text=True)
    assert response.request.path == _url(campaign)
    assert "No signature in this campaign matches that address." in body
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.export")) is None


def test_export_without_an_address_goes_back_to_the_search(client, campaign, owner):
    login(client, owner)

    response = client.post(_url(campaign, "/export"), data={}, follow_redirects=True)

    assert response.request.path == _url(campaign)
    assert "Find the person first" in response.get_data(as_text=True)


# Erasing


def test_erase_needs_the_confirmation_box(db, client, campaign, owner):
    login(client, owner)

    response = client.post(_url(campaign, "/erase"), data={"erase-email": EMAIL})

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tick the box to confirm the erasure." in body
    assert 'id="erase-confirm-error" role="alert"' in body
    assert NAME in body  # the person is shown again, with the error
    assert len(_signatures(db, campaign)) == 2
    assert _public_count(client, campaign) == 2


def test_erase_removes_the_person_and_the_public_count_drops(db, client, campaign, owner):
    login(client, owner)
    assert _public_count(client, campaign) == 2

    response = client.post(
        _url(campaign, "/erase"),
        data={"erase-email": "janedoe@gmail.com", "erase-confirm": "y"},
    )

    assert response.status_code == 302
    assert response.location.endswith(_url(campaign))
    assert [s.email for s in _signatures(db, campaign)] == ["neighbour@example.org"]
    assert _public_count(client, campaign) == 1
    page = client.get(response.location).get_data(as_text=True)
    assert "Erased 1 signature" in page
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.erase"))
    assert entry.actor_email == "owner@example.org"
    text = json.dumps(entry.details).lower()
    assert "jane" not in text
    assert "secretname" not in text


def test_erasing_again_says_nothing_was_there(db, client, campaign, owner):
    login(client, owner)
    data = {"erase-email": EMAIL, "erase-confirm": "y"}
    client.post(_url(campaign, "/erase"), data=data)

    response = client.post(_url(campaign, "/erase"), data=data, follow_redirects=True)

    assert "Nothing was changed." in response.get_data(as_text=True)
    assert _public_count(client, campaign) == 1


def test_erase_with_csrf_on_needs_the_pages_token(app, db, client, campaign, owner):
    login(client, owner)
    app.config["WTF_CSRF_ENABLED"] = True
    data = {"erase-email": EMAIL, "erase-confirm": "y"}

    refused = client.post(_url(campaign, "/erase"), data=data)
    assert refused.status_code == 400
    assert len(_signatures(db, campaign)) == 2

    page = client.get(_url(campaign), query_string={"email": EMAIL}).get_data(as_text=True)
    erase_form = page[page.index('action="/admin/c/river/people/erase"') :]
    token = re.search(r'name="erase-csrf_token" type="hidden" value="([^"]+)"', erase_form)
    assert token, erase_form[:500]
    accepted = client.post(_url(campaign, "/erase"), data={**data, "erase-csrf_token": token[1]})
    assert accepted.status_code == 302
    assert len(_signatures(db, campaign)) == 1
