"""The audit log: writing it (campaign/services/audit.py) and putting it into words
(campaign/admin/audit_log.py's labels). Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaign.admin.audit_log import ACTION_LABELS, describe, detail_items
from campaign.services import audit
from tests.factories import make_campaign, make_organizer

KNOWN_ACTIONS = [
    "campaign.create",
    "campaign.update",
    "campaign.texts",
    "campaign.status",
    "campaign.delete",
    "campaign.outcome",
    "team.invite",
    "team.join",
    "team.role",
    "team.remove",
    "team.revoke",
    "signatures.export",
    "person.export",
    "person.erase",
]


def test_record_writes_who_what_and_details(db):
    campaign = make_campaign()
    organizer = make_organizer(email="who@example.org")

    entry = audit.record(db.session, organizer, "campaign.status", campaign, to="open")
    db.session.commit()

    db.session.expire_all()
    assert entry.campaign_id == campaign.id
    assert entry.actor_id == organizer.id
    assert entry.actor_email == "who@example.org"
    assert entry.action == "campaign.status"
    assert entry.details == {"to": "open"}
    assert entry.created_at.tzinfo is not None


def test_record_without_an_actor_is_the_system(db):
    campaign = make_campaign()

    entry = audit.record(db.session, None, "campaign.status", campaign)

    assert entry.actor_id is None
    assert entry.actor_email == ""


def test_campaign_log_is_newest_first_and_only_this_campaigns(db):
    campaign, other = make_campaign(), make_campaign()
    start = datetime(2024, 5, 1, 12, tzinfo=UTC)
    for minutes in (0, 2, 1):
        entry = audit.record(db.session, None, f"test.{minutes}", campaign)
        entry.created_at = start + timedelta(minutes=minutes)
    audit.record(db.session, None, "test.elsewhere", other)
    db.session.commit()

    entries, total = audit.campaign_log(db.session, campaign)

    assert total == 3
    assert [e.action for e in entries] == ["test.2", "test.1", "test.0"]


def test_campaign_log_pages(db):
    campaign = make_campaign()
    for n in range(7):
        audit.record(db.session, None, f"test.{n}", campaign)
    db.session.commit()

    first, total = audit.campaign_log(db.session, campaign, page=1, per_page=5)
    second, _ = audit.campaign_log(db.session, campaign, page=2, per_page=5)

    assert total == 7
    assert [e.action for e in first] == [f"test.{n}" for n in (6, 5, 4, 3, 2)]
    assert [e.action for e in second] == ["test.1", "test.0"]


@pytest.mark.parametrize("action", KNOWN_ACTIONS)
def test_every_known_action_has_a_sentence(app, action):
    assert action in ACTION_LABELS
    with app.test_request_context():
        assert describe(action) != action
        assert action not in describe(action)


def test_an_unknown_action_shows_its_name(app):
    with app.test_request_context():
        assert describe("rally.cancel") == "Other action: rally.cancel"


def test_details_are_labelled_and_formatted(app):
    with app.test_request_context():
        items = detail_items(
            {"email": "a@example.org", "role": "editor", "rows": 1234, "ok": True, "x": None}
        )
    assert items == [
        ("Email", "a@example.org"),
        ("Role", "editor"),
        ("Rows", "1,234"),
        ("ok", "yes"),
        ("x", "—"),
    ]


def test_nested_details_become_text(app):
    with app.test_request_context():
        items = detail_items(
            {"fields": ["title", "body_markdown"], "filter": {"q": "x", "page": 2}}
        )
    assert items == [("Fields", "Title, Appeal"), ("Filter", "Search: x; page: 2")]


def test_changes_read_as_old_and_new(app):
    with app.test_request_context():
        items = detail_items({"changes": {"goal": [100, 2000], "default_language": ["en", "ru"]}})
    assert items == [("Changes", "Goal: 100 → 2,000; Default language: English → Russian")]


def test_codes_read_as_words(app):
    with app.test_request_context():
        items = detail_items(
            {"from": "draft", "to": "open", "old_role": "owner", "kind": "victory", "to_x": "open"}
        )
    assert items == [
        ("From", "Draft"),
        ("To", "Open"),
        ("Previous role", "owner"),
        ("Kind", "Victory"),
        ("to_x", "open"),
    ]


def test_details_that_are_not_a_mapping_show_nothing(app):
    with app.test_request_context():
        assert detail_items(None) == []
        assert detail_items(["odd"]) == []
