"""The editors' updates screens (admin/broadcasts.py): write, count, preview, test, send,
schedule, pause, through the panel as an organizer uses it. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from campaign.mail.worker import run_polling_worker
from campaign.models import Broadcast, BroadcastStatus, Role, Suppression
from campaign.models.types import utcnow
from tests.factories import (
    add_member,
    login,
    make_campaign,
    make_organizer,
    make_subscriber,
)


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug="updates", languages=("en", "ru", "ar"))
    db.session.commit()
    return campaign


@pytest.fixture
def editor(db, campaign):
    organizer = make_organizer(email="editor@example.org")
    organizer.timezone = "Europe/Moscow"
    add_member(campaign, organizer, Role.EDITOR)
    db.session.commit()
    return organizer


@pytest.fixture
def as_editor(client, editor):
    login(client, editor)
    return client


@pytest.fixture
def audience(db, campaign):
    """Three subscribers in three languages, one suppressed, one unsubscribed."""
    make_subscriber(campaign, "en@example.org", language="en")
    make_subscriber(campaign, "ru@example.org", language="ru")
    make_subscriber(campaign, "fr@example.org", language="fr")
    make_subscriber(campaign, "bounced@example.org", language="en")
    make_subscriber(campaign, "left@example.org", language="en", unsubscribed_here=True)
    db.session.add(Suppression(email_key="bounced@example.org", reason="bounce"))
    db.session.commit()


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def write(client, slug: str = "updates", **fields):
    data = {
        "audience": "subscribers",
        "subject_en": "We won a hearing",
        "body_en": "The council **will hear** us on Monday.",
        "subject_ru": "Нас выслушают",
        "body_ru": "Совет **выслушает** нас в понедельник.",
        "save": "1",
    }
    data.update(fields)
    return client.post(f"/admin/c/{slug}/updates/new", data=data)


def only_broadcast(db) -> Broadcast:
    db.session.rollback()
    return db.session.scalars(select(Broadcast)).one()


def test_the_menu_and_the_empty_list_lead_to_writing_one(as_editor, campaign):
    overview = as_editor.get(f"/admin/c/{campaign.slug}/").get_data(as_text=True)
    assert f"/admin/c/{campaign.slug}/updates" in overview
    page = as_editor.get(f"/admin/c/{campaign.slug}/updates").get_data(as_text=True)
    assert "No updates yet" in page
    assert f"/admin/c/{campaign.slug}/updates/new" in page


def test_a_draft_needs_the_default_language_and_keeps_what_was_typed(as_editor, db, campaign):
    response = write(as_editor, subject_en="", body_en="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    assert "Fill in this field." in page
    assert "Нас выслушают" in page  # nothing typed is lost
    assert db.session.scalars(select(Broadcast)).first() is None


def test_a_subject_without_a_body_is_refused_beside_the_body(as_editor, db):
    response = write(as_editor, body_ru="")
    assert response.status_code == 422
    assert re.search(r'id="body_ru-error"[^>]*>Fill in this field', response.get_data(as_text=True))


def test_an_event_audience_needs_an_event(as_editor):
    response = write(as_editor, audience="event")
    assert response.status_code == 422
    assert 'id="event-error"' in response.get_data(as_text=True)


def test_preview_renders_the_markdown_without_saving(as_editor, db):
    response = write(as_editor, save="", preview="1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<strong>will hear</strong>" in page
    assert "<strong>выслушает</strong>" in page
    db.session.rollback()
    assert db.session.scalars(select(Broadcast)).first() is None


def test_the_update_page_shows_the_exact_count_by_language_and_who_is_left_out(
    as_editor, db, audience
):
    response = write(as_editor)
    assert response.status_code == 302
    broadcast = only_broadcast(db)
    assert broadcast.status == BroadcastStatus.DRAFT
    page = text_of(as_editor.get(response.headers["Location"]).get_data(as_text=True))
    assert "3 people get this update." in page
    # The French reader gets the default (English) version: English 2, Russian 1.
    assert "English: 2" in page
    assert "Russian: 1" in page
    assert "1 reader asked for a language this update has no version in" in page
    # The one who unsubscribed from the campaign is not in its audience at all.
    assert "Left out: 1 whose address bounced, was blocked or complained, and 0 who" in page
    assert "We won a hearing" in page
    assert "Нас выслушают" in page


def test_a_test_goes_to_the_editor_only_marked_as_a_test(as_editor, app, db, mail, audience):
    write(as_editor)
    broadcast = only_broadcast(db)
    response = as_editor.post(
        f"/admin/c/updates/updates/{broadcast.id}/test", data={"language": "ru"}
    )
    assert response.status_code == 302
    run_polling_worker(app, once=True)
    (sent,) = mail.wait_for("editor@example.org")
    assert sent.subject == "[Тест] Нас выслушают"  # the test is in the version's language
    assert len(mail.sent) == 1
    assert only_broadcast(db).status == BroadcastStatus.DRAFT


def test_send_now_goes_once_to_each_in_their_language_with_progress(
    as_editor, app, db, mail, audience
):
    write(as_editor)
    broadcast = only_broadcast(db)
    url = f"/admin/c/updates/updates/{broadcast.id}"
    response = as_editor.post(f"{url}/send", follow_redirects=True)
    assert "Sending to 3 people." in response.get_data(as_text=True)
    sending = as_editor.get(url).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in sending
    assert "/pause" in sending
    for _ in range(3):
        run_polling_worker(app, once=True)
    mail.wait_for("ru@example.org")
    subjects = {m.to: m.subject for m in mail.sent}
    assert subjects == {
        "en@example.org": "We won a hearing",
        "ru@example.org": "Нас выслушают",
        "fr@example.org": "We won a hearing",
    }
    assert only_broadcast(db).status == BroadcastStatus.SENT
    done = as_editor.get(url).get_data(as_text=True)
    assert re.search(r'id="progress-sent">3<', done)
    assert '<meta http-equiv="refresh"' not in done
    # Sent: no second send, no edit.
    as_editor.post(f"{url}/send")
    run_polling_worker(app, once=True)
    assert len(mail.sent) == 3
    edit = as_editor.get(f"{url}/edit")
    assert edit.status_code == 302
    listing = text_of(as_editor.get("/admin/c/updates/updates").get_data(as_text=True))
    assert "3 of 3" in listing


def test_an_empty_audience_offers_no_send_button(as_editor, db):
    write(as_editor)
    broadcast = only_broadcast(db)
    page = as_editor.get(f"/admin/c/updates/updates/{broadcast.id}").get_data(as_text=True)
    assert "Nobody is in this audience yet" in page
    assert f"/updates/{broadcast.id}/send" not in page
    response = as_editor.post(
        f"/admin/c/updates/updates/{broadcast.id}/send", follow_redirects=True
    )
    assert "Nobody would get this update" in response.get_data(as_text=True)
    assert only_broadcast(db).status == BroadcastStatus.DRAFT


def test_scheduling_is_on_the_editors_clock_and_can_be_cancelled(as_editor, db, audience):
    write(as_editor)
    broadcast = only_broadcast(db)
    url = f"/admin/c/updates/updates/{broadcast.id}"
    past = as_editor.post(f"{url}/schedule", data={"date": "2020-01-01", "time": "10:00"})
    assert past.status_code == 422
    assert "Choose a time in the future." in past.get_data(as_text=True)
    day = (utcnow() + timedelta(days=2)).date()
    response = as_editor.post(
        f"{url}/schedule", data={"date": day.isoformat(), "time": "09:30"}, follow_redirects=True
    )
    assert "Scheduled for" in response.get_data(as_text=True)
    scheduled = only_broadcast(db)
    assert scheduled.status == BroadcastStatus.SCHEDULED
    local = scheduled.scheduled_at.astimezone(ZoneInfo("Europe/Moscow"))
    assert (local.date(), local.hour, local.minute) == (day, 9, 30)
    as_editor.post(f"{url}/unschedule")
    assert only_broadcast(db).status == BroadcastStatus.DRAFT


def test_pause_and_resume_from_the_page(as_editor, app, db, mail, audience):
    write(as_editor)
    broadcast = only_broadcast(db)
    url = f"/admin/c/updates/updates/{broadcast.id}"
    as_editor.post(f"{url}/send")
    response = as_editor.post(f"{url}/pause", follow_redirects=True)
    assert "Paused." in response.get_data(as_text=True)
    assert only_broadcast(db).status == BroadcastStatus.PAUSED
    run_polling_worker(app, once=True)
    assert mail.sent == []
    as_editor.post(f"{url}/resume")
    for _ in range(3):
        run_polling_worker(app, once=True)
    mail.wait_for("fr@example.org")
    assert len(mail.sent) == 3


def test_editing_a_draft_changes_it(as_editor, db, audience):
    write(as_editor)
    broadcast = only_broadcast(db)
    url = f"/admin/c/updates/updates/{broadcast.id}/edit"
    form = as_editor.get(url).get_data(as_text=True)
    assert "We won a hearing" in form
    response = as_editor.post(
        url,
        data={
            "audience": "country",
            "country": "DE",
            "subject_en": "A new date",
            "body_en": "Now on Tuesday.",
            "save": "1",
        },
    )
    assert response.status_code == 302
    changed = only_broadcast(db)
    assert changed.audience.value == "country"
    assert changed.audience_country == "DE"
    assert [t.language for t in changed.translations] == ["en"]


def test_a_moderator_cannot_reach_updates_and_a_stranger_sees_nothing(client, db, campaign):
    moderator = make_organizer(email="mod@example.org")
    add_member(campaign, moderator, Role.MODERATOR)
    db.session.commit()
    login(client, moderator)
    assert client.get(f"/admin/c/{campaign.slug}/updates").status_code == 403
    assert write(client).status_code == 403
    client.post("/admin/logout")
    stranger = make_organizer(email="stranger@example.org")
    db.session.commit()
    login(client, stranger)
    assert client.get(f"/admin/c/{campaign.slug}/updates").status_code == 404


def test_an_update_of_another_campaign_is_not_found(as_editor, db, editor):
    other = make_campaign(slug="other")
    add_member(other, editor, Role.OWNER)
    db.session.commit()
    write(as_editor, slug="other")
    broadcast = only_broadcast(db)
    assert as_editor.get(f"/admin/c/updates/updates/{broadcast.id}").status_code == 404
