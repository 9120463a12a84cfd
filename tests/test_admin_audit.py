"""The audit log screen (campaign/admin/audit_log.py). Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from campaign.models import Role
from campaign.services import audit
from tests.factories import add_member, login, make_campaign, make_organizer

SECRET_TITLE = "Audit screen secret title"
START = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug="logged", title=SECRET_TITLE)
    db.session.commit()
    return campaign


@pytest.fixture
def owner(db, campaign):
    organizer = make_organizer(email="owner@example.org")
    add_member(campaign, organizer, Role.OWNER)
    db.session.commit()
    return organizer


def _entry(db, campaign, action, *, actor=None, minutes=0, **details):
    entry = audit.record(db.session, actor, action, campaign, **details)
    entry.created_at = START + timedelta(minutes=minutes)
    db.session.commit()
    return entry


def _rows(body: str) -> list[str]:
    tbody = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", tbody, flags=re.S)


def test_entries_are_listed_newest_first_with_who_and_what(db, client, campaign, owner):
    _entry(db, campaign, "campaign.create", actor=owner, minutes=0)
    _entry(db, campaign, "person.erase", actor=owner, minutes=2, person="0123abcd0123abcd")
    _entry(db, campaign, "campaign.status", minutes=1, to="open")
    _entry(db, make_campaign(), "campaign.delete", actor=owner, minutes=3)
    login(client, owner)

    response = client.get("/admin/c/logged/audit")

    assert response.status_code == 200
    rows = _rows(response.get_data(as_text=True))
    assert len(rows) == 3
    assert "Erased a person&#39;s data" in rows[0]
    assert "owner@example.org" in rows[0]
    assert "0123abcd0123abcd" in rows[0]
    assert "Person (anonymous reference)" in rows[0]
    assert "Changed the campaign&#39;s status" in rows[1]
    assert "system" in rows[1]
    assert "<dt>To</dt> <dd>Open</dd>" in rows[1]
    assert "Created the campaign" in rows[2]
    assert (
        '<time datetime="2024-05-01T09:30:00+00:00">May 1, 2024, 9:30:00\u202fAM</time>'
        in (rows[2])
    )


def test_an_unknown_action_is_shown_by_its_name(db, client, campaign, owner):
    _entry(db, campaign, "rally.cancelled", actor=owner)
    login(client, owner)

    body = client.get("/admin/c/logged/audit").get_data(as_text=True)

    assert "Other action: rally.cancelled" in body


def test_details_are_escaped(db, client, campaign, owner):
    _entry(db, campaign, "campaign.texts", actor=owner, title="<script>alert(1)</script>")
    login(client, owner)

    body = client.get("/admin/c/logged/audit").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_dates_follow_the_organizers_language(db, client, campaign):
    russian = make_organizer(language="ru")
    add_member(campaign, russian, Role.OWNER)
    _entry(db, campaign, "campaign.create", actor=russian)
    login(client, russian)

    body = client.get("/admin/c/logged/audit").get_data(as_text=True)

    assert "1 мая 2024" in body


def test_the_log_is_paginated_by_fifty(db, client, campaign, owner):
    for n in range(53):
        audit.record(db.session, owner, f"test.{n:02d}", campaign).created_at = START + timedelta(
            minutes=n
        )
    db.session.commit()
    login(client, owner)

    first = client.get("/admin/c/logged/audit").get_data(as_text=True)
    second = client.get("/admin/c/logged/audit?page=2").get_data(as_text=True)

    assert len(_rows(first)) == 50
    assert "test.52" in _rows(first)[0]
    assert "Page 1 of 2" in first
    assert 'href="/admin/c/logged/audit?page=2"' in first
    assert [re.search(r"test\.\d\d", row)[0] for row in _rows(second)] == [
        "test.02",
        "test.01",
        "test.00",
    ]
    assert "Page 2 of 2" in second


def test_a_page_past_the_end_goes_to_the_last_page(db, client, campaign, owner):
    _entry(db, campaign, "campaign.create", actor=owner)
    login(client, owner)

    response = client.get("/admin/c/logged/audit?page=9")

    assert response.status_code == 302
    assert response.location.endswith("/admin/c/logged/audit?page=1")


def test_an_empty_log_says_so(client, campaign, owner):
    login(client, owner)

    body = client.get("/admin/c/logged/audit").get_data(as_text=True)

    assert "Nothing has been recorded for this campaign yet." in body
    assert "<table" not in body


@pytest.mark.parametrize("role", [Role.EDITOR, Role.MODERATOR])
def test_editors_and_moderators_are_refused(db, client, campaign, role):
    _entry(db, campaign, "team.invite", email="invited@example.org")
    organizer = make_organizer()
    add_member(campaign, organizer, role)
    login(client, organizer)

    response = client.get("/admin/c/logged/audit")

    assert response.status_code == 403
    assert "invited@example.org" not in response.get_data(as_text=True)


def test_another_campaigns_owner_is_told_nothing(db, client, campaign):
    _entry(db, campaign, "team.invite", email="invited@example.org")
    stranger = make_organizer()
    add_member(make_campaign(), stranger, Role.OWNER)
    login(client, stranger)

    response = client.get("/admin/c/logged/audit")

    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "invited@example.org" not in body
    assert SECRET_TITLE not in body


def test_anonymous_visitors_are_sent_to_log_in(client, campaign):
    response = client.get("/admin/c/logged/audit")

    assert response.status_code == 302
    assert "/admin/login" in response.location


def test_a_site_admin_sees_any_campaigns_log(db, client, campaign):
    _entry(db, campaign, "team.invite", email="invited@example.org")
    login(client, make_organizer(is_admin=True))

    response = client.get("/admin/c/logged/audit")

    assert response.status_code == 200
    assert "invited@example.org" in response.get_data(as_text=True)


def test_the_campaign_menu_links_here_and_to_people(client, campaign, owner):
    login(client, owner)
    owners_menu = client.get("/admin/c/logged/audit").get_data(as_text=True)
    assert 'href="/admin/c/logged/audit" aria-current="page"' in re.sub(r"\s+", " ", owners_menu)
    assert 'href="/admin/c/logged/people"' in owners_menu
