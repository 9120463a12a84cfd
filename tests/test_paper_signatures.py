"""Paper signatures: the service's rules, and the organizers' screen that uses it.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from campaign.models import AuditEntry, Campaign, CampaignStatus, PaperSignatureBatch, Role
from campaign.services import campaigns as campaign_service
from campaign.services import paper_signatures as paper
from campaign.services.errors import InvalidPaperSignatures, PaperSignaturesNotFound
from tests.factories import add_member, login, make_campaign, make_event, make_organizer

SECRET_TITLE = "Paper screens secret title"


def _data(count=10, collected_on=None, **kw) -> paper.PaperSignatureData:
    return paper.PaperSignatureData(
        count=count, collected_on=collected_on or date.today() - timedelta(days=1), **kw
    )


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug="paper", title=SECRET_TITLE, languages=("en", "ru"))
    db.session.commit()
    return campaign


@pytest.fixture
def owner(db, campaign):
    organizer = make_organizer(email="owner@example.org")
    add_member(campaign, organizer, Role.OWNER)
    db.session.commit()
    return organizer


def _entries(db, action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# --- the service ---------------------------------------------------------------------------------


def test_adding_counts_them_apart_from_online_signatures(db, campaign, owner):
    campaign.signature_count = 7
    event = make_event(campaign)
    paper.add(db.session, owner, campaign, _data(120, event_id=event.id, note=" Market stall "))
    paper.add(db.session, owner, campaign, _data(30))
    db.session.commit()

    db.session.expire_all()
    stored = db.session.get(Campaign, campaign.id)
    assert stored.paper_signature_count == 150
    assert paper.total(db.session, stored) == 150
    assert campaign_service.paper_signature_count(stored) == 150
    assert stored.signature_count == 7  # online signatures are untouched
    assert campaign_service.progress_percent(stored) == 0  # 7 of 1000: paper does not inflate it
    batch = db.session.scalars(
        select(PaperSignatureBatch).where(PaperSignatureBatch.count == 120)
    ).one()
    assert batch.event_id == event.id
    assert batch.note == "Market stall"
    assert batch.entered_by_id == owner.id


def test_every_change_is_in_the_audit_log(db, campaign, owner):
    collected = date.today() - timedelta(days=2)
    batch = paper.add(db.session, owner, campaign, _data(42, collected_on=collected, note="x"))
    paper.delete(db.session, owner, campaign, batch.id)
    db.session.commit()

    (added,) = _entries(db, "paper.add")
    (deleted,) = _entries(db, "paper.delete")
    for entry in (added, deleted):
        assert entry.campaign_id == campaign.id
        assert entry.actor_email == "owner@example.org"
        assert entry.details["count"] == 42
        assert entry.details["collected_on"] == collected.isoformat()
        assert entry.details["note"] == "x"


def test_deleting_a_mistaken_entry_takes_it_off_the_total(db, campaign, owner):
    keep = paper.add(db.session, owner, campaign, _data(5))
    mistake = paper.add(db.session, owner, campaign, _data(500))
    paper.delete(db.session, owner, campaign, mistake.id)
    db.session.commit()

    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).paper_signature_count == 5
    assert paper.total(db.session, campaign) == 5
    assert db.session.get(PaperSignatureBatch, mistake.id) is None
    with pytest.raises(PaperSignaturesNotFound):
        paper.delete(db.session, owner, campaign, mistake.id)
    assert paper.get(db.session, campaign, keep.id).count == 5


def test_an_entry_of_another_campaign_cannot_be_deleted_through_this_one(db, campaign, owner):
    other = make_campaign(slug="other")
    theirs = paper.add(db.session, owner, other, _data(3))
    with pytest.raises(PaperSignaturesNotFound):
        paper.delete(db.session, owner, campaign, theirs.id)
    assert db.session.get(Campaign, other.id).paper_signature_count == 3


@pytest.mark.parametrize("count", [0, -4, paper.MAX_COUNT + 1, True, 2.5, "12"])
def test_the_count_is_a_whole_number_in_range(db, campaign, owner, count):
    with pytest.raises(InvalidPaperSignatures) as error:
        paper.add(db.session, owner, campaign, _data(count))
    assert (error.value.field, error.value.reason) == ("count", "count")
    assert paper.total(db.session, campaign) == 0
    assert _entries(db, "paper.add") == []


def test_the_largest_count_is_accepted(db, campaign, owner):
    paper.add(db.session, owner, campaign, _data(paper.MAX_COUNT))
    assert campaign.paper_signature_count == paper.MAX_COUNT


def test_the_date_is_not_in_the_future(db, campaign, owner):
    # The latest day accepted is today somewhere on Earth (UTC+14), not a day more.
    latest = paper.latest_allowed_date()
    assert latest - date.today() <= timedelta(days=1)
    paper.add(db.session, owner, campaign, _data(1, collected_on=latest))
    with pytest.raises(InvalidPaperSignatures) as error:
        paper.add(db.session, owner, campaign, _data(1, collected_on=latest + timedelta(days=1)))
    assert (error.value.field, error.value.reason) == ("collected_on", "future")
    assert campaign.paper_signature_count == 1


def test_the_event_belongs_to_the_campaign(db, campaign, owner):
    elsewhere = make_event(make_campaign(slug="elsewhere"))
    for event_id in (elsewhere.id, 999_999):
        with pytest.raises(InvalidPaperSignatures) as error:
            paper.add(db.session, owner, campaign, _data(2, event_id=event_id))
        assert error.value.field == "event_id"


def test_a_long_note_is_refused(db, campaign, owner):
    with pytest.raises(InvalidPaperSignatures) as error:
        paper.add(db.session, owner, campaign, _data(2, note="n" * (paper.MAX_NOTE + 1)))
    assert error.value.field == "note"


def test_a_draft_takes_no_paper_signatures(db, owner):
    draft = make_campaign(slug="draft-paper", status=CampaignStatus.DRAFT)
    with pytest.raises(InvalidPaperSignatures) as error:
        paper.add(db.session, owner, draft, _data(2))
    assert error.value.reason == "draft"


def test_a_closed_campaign_still_takes_the_sheets_collected_before(db, owner):
    closed = make_campaign(slug="closed-paper", status=CampaignStatus.CLOSED)
    paper.add(db.session, owner, closed, _data(9))
    assert closed.paper_signature_count == 9


def test_the_database_refuses_a_count_below_one(db, campaign):
    from sqlalchemy.exc import IntegrityError

    db.session.add(PaperSignatureBatch(campaign_id=campaign.id, count=0, collected_on=date.today()))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_batches_are_listed_latest_collection_first_a_page_at_a_time(db, campaign, owner):
    today = date.today()
    for days_ago in (5, 1, 3):
        paper.add(
            db.session, owner, campaign, _data(days_ago, collected_on=today - timedelta(days_ago))
        )
    rows, total = paper.batches(db.session, campaign, page=1, per_page=2)
    assert total == 3
    assert [b.count for b in rows] == [1, 3]
    rows, _ = paper.batches(db.session, campaign, page=2, per_page=2)
    assert [b.count for b in rows] == [5]


def test_deleting_the_event_keeps_the_count(db, campaign, owner):
    event = make_event(campaign)
    batch = paper.add(db.session, owner, campaign, _data(11, event_id=event.id))
    db.session.commit()
    db.session.delete(event)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(PaperSignatureBatch, batch.id).event_id is None
    assert db.session.get(Campaign, campaign.id).paper_signature_count == 11


# --- the organizers' screen ----------------------------------------------------------------------


def _member(db, campaign, role: Role):
    organizer = make_organizer(email=f"{role.value}@example.org")
    add_member(campaign, organizer, role)
    db.session.commit()
    return organizer


def _text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def _form(count="25", collected_on=None, **kw) -> dict:
    return {
        "count": count,
        "collected_on": (collected_on or date.today() - timedelta(days=1)).isoformat(),
        "event_id": "",
        "note": "",
        **kw,
    }


@pytest.mark.parametrize("role", [Role.OWNER, Role.EDITOR])
def test_owners_and_editors_enter_paper_signatures(db, client, campaign, role):
    login(client, _member(db, campaign, role))
    event = make_event(campaign, title="Town hall rally")
    db.session.commit()

    page = client.get("/admin/c/paper/paper")
    assert page.status_code == 200
    assert "Town hall rally" in _text(page)
    assert "No paper signatures yet" in _text(page)

    response = client.post(
        "/admin/c/paper/paper", data=_form("1234", event_id=str(event.id), note="Stall")
    )
    assert response.status_code == 302
    listing = client.get(response.location)
    text = _text(listing)
    assert "1,234 paper signatures added. The total on paper is now 1,234." in text
    assert "Stall" in text
    assert f"{role.value}@example.org" in text
    assert db.session.get(Campaign, campaign.id).paper_signature_count == 1234
    (entry,) = _entries(db, "paper.add")
    assert entry.actor_email == f"{role.value}@example.org"


@pytest.mark.parametrize("role", [Role.MODERATOR])
def test_moderators_may_not(db, client, campaign, role):
    login(client, _member(db, campaign, role))
    assert client.get("/admin/c/paper/paper").status_code == 403
    assert client.post("/admin/c/paper/paper", data=_form()).status_code == 403
    assert db.session.get(Campaign, campaign.id).paper_signature_count == 0
    assert "/admin/c/paper/paper" not in client.get("/admin/c/paper/").get_data(as_text=True)


def test_organizers_of_other_campaigns_are_told_nothing(db, client, campaign):
    other = make_campaign(slug="theirs")
    organizer = make_organizer()
    add_member(other, organizer, Role.OWNER)
    login(client, organizer)
    response = client.post("/admin/c/paper/paper", data=_form())
    assert response.status_code == 404
    assert SECRET_TITLE not in response.get_data(as_text=True)
    assert db.session.get(Campaign, campaign.id).paper_signature_count == 0


def test_anonymous_visitors_are_sent_to_log_in(client, campaign):
    response = client.post("/admin/c/paper/paper", data=_form())
    assert response.status_code == 302
    assert "/admin/login" in response.location


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"count": ""}, "count", "Enter how many signatures you counted."),
        ({"count": "a dozen"}, "count", "Enter a whole number, like 1000."),
        ({"count": "12.5"}, "count", "Enter a whole number, like 1000."),
        ({"count": "0"}, "count", "Enter a whole number from 1 to 100,000."),
        ({"count": "-3"}, "count", "Enter a whole number from 1 to 100,000."),
        ({"count": "100001"}, "count", "Enter a whole number from 1 to 100,000."),
        ({"collected_on": ""}, "collected_on", "Enter the day they were collected."),
        ({"collected_on": "yesterday"}, "collected_on", "Enter a date, like 2025-01-31."),
        (
            {"collected_on": (date.today() + timedelta(days=3)).isoformat()},
            "collected_on",
            "That date is in the future. Enter the day they were collected.",
        ),
        ({"event_id": "999999"}, "event_id", "Choose one of the options in the list."),
        ({"note": "n" * 501}, "note", "Use at most 500 characters."),
    ],
)
def test_mistakes_are_explained_and_nothing_is_saved(
    db, client, campaign, owner, form, field, message
):
    login(client, owner)
    response = client.post("/admin/c/paper/paper", data={**_form(), **form})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f'id="{field}-error" role="alert"' in body
    assert message in _text(response)
    assert 'aria-invalid="true"' in body
    assert db.session.get(Campaign, campaign.id).paper_signature_count == 0
    assert _entries(db, "paper.add") == []


def test_a_draft_has_no_form(db, client, owner):
    draft = make_campaign(slug="draft-screen", status=CampaignStatus.DRAFT)
    add_member(draft, owner, Role.OWNER)
    login(client, owner)
    page = client.get("/admin/c/draft-screen/paper")
    assert page.status_code == 200
    assert "open it before counting signatures" in _text(page)
    assert 'name="count"' not in page.get_data(as_text=True)
    client.post("/admin/c/draft-screen/paper", data=_form())
    assert db.session.get(Campaign, draft.id).paper_signature_count == 0


def test_deleting_asks_first_then_takes_the_entry_off(db, client, campaign, owner):
    keep = paper.add(db.session, owner, campaign, _data(40))
    mistake = paper.add(db.session, owner, campaign, _data(400, note="typed twice"))
    keep_id, mistake_id = keep.id, mistake.id
    db.session.commit()
    login(client, owner)

    listing = client.get("/admin/c/paper/paper").get_data(as_text=True)
    url = f"/admin/c/paper/paper/{mistake_id}/delete"
    assert f'href="{url}"' in listing
    confirm = client.get(url)
    assert confirm.status_code == 200
    text = _text(confirm)
    assert "Delete the entry of 400 paper signatures?" in text
    assert "The total on paper goes from 440 to 40." in text
    assert db.session.get(PaperSignatureBatch, mistake_id) is not None  # a GET changes nothing

    response = client.post(url)
    assert response.status_code == 302
    assert "The entry of 400 paper signatures is deleted. The total on paper is now 40." in _text(
        client.get(response.location)
    )
    assert db.session.get(PaperSignatureBatch, mistake_id) is None
    assert db.session.get(PaperSignatureBatch, keep_id) is not None
    assert db.session.get(Campaign, campaign.id).paper_signature_count == 40
    assert client.post(url).status_code == 404  # twice: already gone
    (entry,) = _entries(db, "paper.delete")
    assert entry.details["note"] == "typed twice"


def test_an_entry_of_another_campaign_is_a_404_here(db, client, campaign, owner):
    other = make_campaign(slug="other-screen")
    add_member(other, owner, Role.OWNER)
    theirs = paper.add(db.session, owner, other, _data(8))
    db.session.commit()
    login(client, owner)
    assert client.get(f"/admin/c/paper/paper/{theirs.id}/delete").status_code == 404
    assert client.post(f"/admin/c/paper/paper/{theirs.id}/delete").status_code == 404
    assert db.session.get(Campaign, other.id).paper_signature_count == 8


def test_the_audit_log_says_what_happened_in_words(db, client, campaign, owner):
    batch = paper.add(db.session, owner, campaign, _data(1500, note="Saturday market"))
    paper.delete(db.session, owner, campaign, batch.id)
    db.session.commit()
    login(client, owner)
    text = _text(client.get("/admin/c/paper/audit"))
    assert "Entered paper signatures" in text
    assert "Deleted an entry of paper signatures" in text
    assert "Number of signatures" in text
    assert "1,500" in text
    assert "Saturday market" in text


def test_the_screen_is_in_the_campaign_menu_and_links_the_print_pages(db, client, campaign, owner):
    login(client, owner)
    overview = client.get("/admin/c/paper/").get_data(as_text=True)
    assert 'href="/admin/c/paper/paper"' in overview
    assert 'href="/en/c/paper/poster"' in overview
    assert 'href="/en/c/paper/clipboard"' in overview
    screen = client.get("/admin/c/paper/paper").get_data(as_text=True)
    for lang in ("en", "ru"):
        assert f'href="/{lang}/c/paper/poster"' in screen
        assert f'href="/{lang}/c/paper/clipboard"' in screen
