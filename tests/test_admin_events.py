"""The organizers' side of rallies: events, proposals, attendees, exports, where to rally.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from campaign.extensions import db as _db
from campaign.models import (
    AuditEntry,
    Event,
    EventMode,
    EventStatus,
    OutboxMessage,
    Role,
    Rsvp,
    RsvpStatus,
    TrustedHost,
)
from campaign.models.types import utcnow
from campaign.services.event_admin import previous_timezone
from tests.factories import (
    add_member,
    login,
    make_campaign,
    make_event,
    make_organizer,
    make_rsvp,
    make_signature,
)

SECRET_TITLE = "Rally screens secret title"


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug="rallies", title=SECRET_TITLE, languages=("en", "ru"))
    db.session.commit()
    return campaign


@pytest.fixture
def owner(db, campaign):
    organizer = make_organizer(email="owner@example.org")
    add_member(campaign, organizer, Role.OWNER)
    db.session.commit()
    return organizer


@pytest.fixture
def as_owner(client, owner):
    login(client, owner)
    return client


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    """The page's text with tags and runs of spaces removed, for reading sentences."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def finish(response) -> bytes:
    """Read a streamed response to its end (see tests/test_admin_signatures.py)."""
    data = response.get_data()
    _db.session.rollback()
    return data


def form_data(**overrides) -> dict:
    data = {
        "title": "Rally at the Brandenburg Gate",
        "description": "Bring a candle.",
        "language": "en",
        "date": "2030-01-15",
        "start_time": "18:00",
        "end_time": "20:00",
        "end_date": "",
        "timezone": "Europe/Berlin",
        "mode": "in_person",
        "venue": "Pariser Platz",
        "address": "Pariser Platz, 10117 Berlin",
        "city": "Berlin",
        "country": "DE",
        "online_url": "",
        "latitude": "",
        "longitude": "",
        "capacity": "",
        "contact": "rally@example.org",
    }
    data.update(overrides)
    return data


def outbox(kind: str) -> list[OutboxMessage]:
    return list(_db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def audit_actions(campaign) -> list[AuditEntry]:
    return list(
        _db.session.scalars(
            select(AuditEntry).where(AuditEntry.campaign_id == campaign.id).order_by(AuditEntry.id)
        )
    )


def error_of(body: str, field: str) -> str:
    """The error shown beside a field (render_field's `<id>-error`), or ""."""
    match = re.search(rf'<p class="error" id="{field}-error" role="alert">(.*?)</p>', body, re.S)
    return unescape(match[1]) if match else ""


# --- who may see these screens ------------------------------------------------------------------

SCREENS = [
    "/admin/c/rallies/events",
    "/admin/c/rallies/events/new",
    "/admin/c/rallies/events/{id}/edit",
    "/admin/c/rallies/events/{id}/cancel",
    "/admin/c/rallies/events/{id}/attendees",
    "/admin/c/rallies/events/{id}/attendees.csv",
    "/admin/c/rallies/events/{id}/sign-in-sheet",
    "/admin/c/rallies/where-to-rally",
]


@pytest.mark.parametrize("url", SCREENS)
def test_editors_reach_every_screen(db, client, campaign, url):
    event = make_event(campaign)
    make_rsvp(event, full_name="Private Person", email="private@example.org")
    editor = make_organizer()
    add_member(campaign, editor, Role.EDITOR)
    login(client, editor)

    response = client.get(url.format(id=event.id))

    assert response.status_code == 200
    finish(response)


@pytest.mark.parametrize("url", SCREENS)
def test_moderators_are_refused_and_see_no_attendee(db, client, campaign, url):
    event = make_event(campaign)
    make_rsvp(event, full_name="Private Person", email="private@example.org")
    moderator = make_organizer()
    add_member(campaign, moderator, Role.MODERATOR)
    login(client, moderator)

    response = client.get(url.format(id=event.id))

    assert response.status_code == 403
    assert "private@example.org" not in response.get_data(as_text=True)


@pytest.mark.parametrize("url", SCREENS)
def test_another_campaigns_organizer_is_told_nothing(db, client, campaign, url):
    event = make_event(campaign)
    outsider = make_organizer()
    add_member(make_campaign(), outsider, Role.OWNER)
    login(client, outsider)

    response = client.get(url.format(id=event.id))

    assert response.status_code == 404
    assert SECRET_TITLE not in response.get_data(as_text=True)


def test_an_event_of_another_campaign_is_not_found_here(db, as_owner, campaign):
    elsewhere = make_event(make_campaign(), title="Not yours")
    db.session.commit()

    for url in (
        f"/admin/c/rallies/events/{elsewhere.id}/attendees",
        f"/admin/c/rallies/events/{elsewhere.id}/edit",
        f"/admin/c/rallies/events/{elsewhere.id}/sign-in-sheet",
    ):
        assert as_owner.get(url).status_code == 404
    assert as_owner.post(f"/admin/c/rallies/events/{elsewhere.id}/cancel").status_code == 404
    assert db.session.get(Event, elsewhere.id).status == EventStatus.SCHEDULED


def test_the_campaign_menu_has_events_for_owners_and_editors_only(db, client, campaign, owner):
    login(client, owner)
    body = page(client, "/admin/c/rallies/where-to-rally")
    assert re.search(r'<a href="/admin/c/rallies/events"\s+aria-current="page">Events</a>', body)

    client.post("/admin/logout")
    moderator = make_organizer()
    add_member(campaign, moderator, Role.MODERATOR)
    login(client, moderator)
    body = page(client, "/admin/c/rallies/comments")
    assert "/admin/c/rallies/comments" in body
    assert "/admin/c/rallies/events" not in body


# --- the list -----------------------------------------------------------------------------------


def test_no_events_yet_points_to_where_to_rally(as_owner, campaign):
    body = page(as_owner, "/admin/c/rallies/events")

    assert "No events yet." in body
    assert 'href="/admin/c/rallies/where-to-rally"' in body
    assert 'href="/admin/c/rallies/events/new"' in body
    assert "New event" in body
    assert "<table" not in body


def test_the_list_shows_upcoming_and_past_events_with_their_numbers(db, as_owner, campaign):
    winter = datetime(2030, 1, 18, 17, tzinfo=UTC)  # 18:00 in Berlin
    upcoming = make_event(campaign, title="Big rally", starts_at=winter, capacity=50)
    for _ in range(3):
        make_rsvp(upcoming)
    make_rsvp(upcoming, status=RsvpStatus.WAITLISTED)
    make_rsvp(upcoming, status=RsvpStatus.UNCONFIRMED)
    make_event(campaign, title="Last year's vigil", starts_in=timedelta(days=-300))
    make_event(campaign, title="Online talk", mode=EventMode.ONLINE, city="", country="",
               online_url="https://meet.example.org/x", starts_in=timedelta(days=1))  # fmt: skip
    make_event(campaign, title="Hidden proposal host-unconfirmed", status=EventStatus.UNCONFIRMED)
    db.session.commit()

    body = page(as_owner, "/admin/c/rallies/events")
    upcoming_part = body.split('id="upcoming-heading"', 1)[1].split('id="past-heading"', 1)[0]
    past_part = body.split('id="past-heading"', 1)[1]

    assert upcoming_part.index("Online talk") < upcoming_part.index("Big rally")
    row = text_of(upcoming_part.split(f'id="event-{upcoming.id}"', 1)[1].split("</tr>", 1)[0])
    assert "Scheduled" in row
    assert "Friday, January 18, 2030, 6:00 PM – 8:00 PM (Europe/Berlin)" in row
    assert "Berlin, Germany" in row
    assert "3 of 50" in row
    assert "Online" in upcoming_part
    assert "Last year&#39;s vigil" in past_part
    assert "Hidden proposal" not in body
    assert 'href="/admin/c/rallies/where-to-rally"' in body


def test_dates_follow_the_organizers_language(db, client, campaign):
    russian = make_organizer(language="ru")
    add_member(campaign, russian, Role.OWNER)
    make_event(campaign, starts_at=datetime(2030, 1, 18, 17, tzinfo=UTC))
    login(client, russian)

    body = page(client, "/admin/c/rallies/events")

    assert "18 января 2030" in body
    assert "18:00" in body
    assert "Германия" in body


# --- creating -----------------------------------------------------------------------------------


def test_new_event_in_berlin_winter_time_is_stored_in_utc(db, as_owner, campaign, owner):
    response = as_owner.post("/admin/c/rallies/events/new", data=form_data())

    event = db.session.scalars(select(Event)).one()
    assert response.status_code == 302
    assert response.location.endswith(f"/admin/c/rallies/events/{event.id}/attendees")
    assert event.starts_at == datetime(2030, 1, 15, 17, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2030, 1, 15, 19, 0, tzinfo=UTC)
    assert event.timezone == "Europe/Berlin"
    assert event.status == EventStatus.SCHEDULED
    assert event.created_by_id == owner.id
    assert (event.city, event.country, event.capacity) == ("Berlin", "DE", None)
    assert [e.action for e in audit_actions(campaign)] == ["event.create"]
    body = text_of(page(as_owner, response.location))
    assert "The event “Rally at the Brandenburg Gate” is published." in body
    assert "Tuesday, January 15, 2030, 6:00 PM – 8:00 PM (Europe/Berlin)" in body


def test_summer_time_is_an_hour_less_from_utc(db, as_owner):
    as_owner.post("/admin/c/rallies/events/new", data=form_data(date="2030-07-15"))

    event = db.session.scalars(select(Event)).one()
    assert event.starts_at == datetime(2030, 7, 15, 16, 0, tzinfo=UTC)


def test_an_event_can_end_on_another_day(db, as_owner):
    as_owner.post(
        "/admin/c/rallies/events/new",
        data=form_data(start_time="22:00", end_time="02:00", end_date="2030-01-16"),
    )

    event = db.session.scalars(select(Event)).one()
    assert event.ends_at == datetime(2030, 1, 16, 1, 0, tzinfo=UTC)


def test_the_new_form_starts_in_the_organizers_last_time_zone(db, as_owner, owner, campaign):
    body = page(as_owner, "/admin/c/rallies/events/new")
    assert '<option selected value="UTC">UTC</option>' in body
    assert 'type="date"' in body
    assert 'type="time"' in body

    as_owner.post(
        "/admin/c/rallies/events/new", data=form_data(timezone="Asia/Tokyo", city="Tokyo",
                                                      country="JP")
    )  # fmt: skip
    assert previous_timezone(db.session, owner) == "Asia/Tokyo"
    body = page(as_owner, "/admin/c/rallies/events/new")
    assert '<option selected value="Asia/Tokyo">Asia/Tokyo</option>' in body


def test_the_new_form_offers_the_campaigns_languages_and_named_countries(as_owner):
    body = page(as_owner, "/admin/c/rallies/events/new")

    language = body.split('id="language"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'value="(\w+)"', language) == ["en", "ru"]
    assert '<option value="DE">Germany</option>' in body


def test_one_step_start_from_where_to_rally_prefills_the_place(as_owner):
    body = page(as_owner, "/admin/c/rallies/events/new?city=Berlin&country=DE")

    assert re.search(r'<input[^>]*id="city"[^>]*value="Berlin"', body)
    assert '<option selected value="DE">Germany</option>' in body
    assert re.search(r'<input[^>]*id="title"[^>]*value="Rally in Berlin"', body)


def test_a_made_up_country_in_the_link_is_ignored(as_owner):
    body = page(as_owner, "/admin/c/rallies/events/new?city=Atlantis&country=XX")

    assert '<option selected value="">Choose a country</option>' in body


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "  "}, "title", "Enter a title."),
        ({"date": ""}, "date", "Enter the date."),
        ({"date": "15/01/2030"}, "date", "Enter a date, like 2025-01-31."),
        ({"start_time": "6pm"}, "start_time", "Enter a time, like 18:00."),
        (
            {"end_time": "17:00"},
            "end_time",
            "The end must be after the start. For an event that ends after midnight, give the"
            " day it ends on.",
        ),
        ({"timezone": "Mars/Olympus"}, "timezone", "Choose one of the options in the list."),
        ({"city": ""}, "city", "Enter the city: an event in person needs one."),
        ({"country": ""}, "country", "Choose the country from the list."),
        (
            {"mode": "online", "city": "", "country": ""},
            "online_url",
            "Enter the link where people join online, starting with https://.",
        ),
        (
            {"capacity": "0"},
            "capacity",
            "Enter a number of places above zero, or leave it empty for no limit.",
        ),
        ({"capacity": "many"}, "capacity", "Enter a whole number, like 1000."),
        (
            {"latitude": "52.5"},
            "latitude",
            "Enter both a latitude (−90 to 90) and a longitude (−180 to 180), or neither.",
        ),
        (
            {"latitude": "95", "longitude": "13.4"},
            "latitude",
            "Enter both a latitude (−90 to 90) and a longitude (−180 to 180), or neither.",
        ),
        ({"longitude": "east"}, "longitude", "Enter a number, like 52.52."),
        ({"title": "x" * 201}, "title", "Use at most 200 characters."),
    ],
)
def test_mistakes_are_shown_beside_their_field(db, as_owner, overrides, field, message):
    response = as_owner.post("/admin/c/rallies/events/new", data=form_data(**overrides))

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(body, field) == message
    assert f'aria-describedby="{field}' in body
    assert "Please correct the fields marked below." in body
    assert db.session.scalars(select(Event)).first() is None


def test_an_online_event_needs_no_city(db, as_owner):
    as_owner.post(
        "/admin/c/rallies/events/new",
        data=form_data(mode="online", city="", country="", venue="",
                       online_url="https://meet.example.org/rally"),
    )  # fmt: skip

    event = db.session.scalars(select(Event)).one()
    assert event.mode == EventMode.ONLINE
    assert event.online_url == "https://meet.example.org/rally"


# --- editing ------------------------------------------------------------------------------------


def test_the_edit_form_shows_local_times(db, as_owner, campaign):
    event = make_event(
        campaign, starts_at=datetime(2030, 1, 18, 17, tzinfo=UTC), hours=2, capacity=30
    )
    db.session.commit()

    body = page(as_owner, f"/admin/c/rallies/events/{event.id}/edit")

    assert re.search(r'<input[^>]*id="date"[^>]*value="2030-01-18"', body)
    assert re.search(r'<input[^>]*id="start_time"[^>]*value="18:00"', body)
    assert re.search(r'<input[^>]*id="end_time"[^>]*value="20:00"', body)
    assert re.search(r'<input[^>]*id="end_date"[^>]*value=""', body)
    assert '<option selected value="Europe/Berlin">Europe/Berlin</option>' in body
    assert re.search(r'<input[^>]*id="capacity"[^>]*value="30"', body)


def test_a_new_time_is_saved_and_told_to_people_coming(db, as_owner, campaign):
    event = make_event(campaign, starts_at=datetime(2030, 1, 18, 17, tzinfo=UTC))
    make_rsvp(event, email="going@example.org")
    make_rsvp(event, status=RsvpStatus.WAITLISTED, email="waiting@example.org")
    make_rsvp(event, status=RsvpStatus.UNCONFIRMED, email="unsure@example.org")
    db.session.commit()

    response = as_owner.post(
        f"/admin/c/rallies/events/{event.id}/edit",
        data=form_data(title=event.title, date="2030-01-18", start_time="19:00",
                       end_time="21:00", venue=event.venue, address="", contact=""),
    )  # fmt: skip

    assert response.status_code == 302
    db.session.refresh(event)
    assert event.starts_at == datetime(2030, 1, 18, 18, tzinfo=UTC)
    assert sorted(m.to_email for m in outbox("event_changed")) == [
        "going@example.org",
        "waiting@example.org",
    ]
    assert "2 people who RSVPed are told of the new time or place" in page(
        as_owner, response.location
    )
    entry = audit_actions(campaign)[-1]
    assert entry.action == "event.update"
    assert "starts_at" in entry.details["fields"]


def test_saving_without_changes_changes_nothing(db, as_owner, campaign):
    event = make_event(campaign, starts_at=datetime(2030, 1, 18, 17, tzinfo=UTC),
                       venue="Square", address="", description="", contact="")  # fmt: skip
    db.session.commit()

    response = as_owner.post(
        f"/admin/c/rallies/events/{event.id}/edit",
        data=form_data(title=event.title, date="2030-01-18", venue="Square", address="",
                       description=event.description, contact=""),
    )  # fmt: skip

    assert "Nothing was changed." in page(as_owner, response.location)
    assert audit_actions(campaign) == []


def test_a_cancelled_event_cannot_be_edited(db, as_owner, campaign):
    event = make_event(campaign, status=EventStatus.CANCELLED)
    db.session.commit()

    get = as_owner.get(f"/admin/c/rallies/events/{event.id}/edit")
    post = as_owner.post(f"/admin/c/rallies/events/{event.id}/edit", data=form_data())

    assert get.status_code == post.status_code == 302
    assert "can no longer be changed" in page(as_owner, get.location)
    assert db.session.get(Event, event.id).title == event.title


# --- cancelling ---------------------------------------------------------------------------------


def test_cancelling_asks_first_and_says_who_will_be_told(db, as_owner, campaign):
    event = make_event(campaign, title="Doomed rally")
    make_rsvp(event)
    make_rsvp(event, status=RsvpStatus.WAITLISTED)
    make_rsvp(event, status=RsvpStatus.UNCONFIRMED)
    make_rsvp(event, status=RsvpStatus.CANCELLED)
    db.session.commit()

    body = text_of(page(as_owner, f"/admin/c/rallies/events/{event.id}/cancel"))

    assert "Cancel “Doomed rally”?" in body
    assert "2 people who RSVPed will be told by email that it is cancelled." in body
    assert db.session.get(Event, event.id).status == EventStatus.SCHEDULED


def test_cancelling_tells_everyone_with_a_standing_rsvp(db, as_owner, campaign):
    event = make_event(campaign, title="Doomed rally")
    make_rsvp(event, email="going@example.org")
    make_rsvp(event, status=RsvpStatus.OFFERED, email="offered@example.org")
    make_rsvp(event, status=RsvpStatus.WAITLISTED, email="waiting@example.org")
    make_rsvp(event, status=RsvpStatus.UNCONFIRMED, email="unsure@example.org")
    make_rsvp(event, status=RsvpStatus.CANCELLED, email="gone@example.org")
    db.session.commit()

    response = as_owner.post(f"/admin/c/rallies/events/{event.id}/cancel")

    assert response.status_code == 302
    assert response.location.endswith("/admin/c/rallies/events")
    assert db.session.get(Event, event.id).status == EventStatus.CANCELLED
    assert sorted(m.to_email for m in outbox("event_cancelled")) == [
        "going@example.org",
        "offered@example.org",
        "waiting@example.org",
    ]
    assert "“Doomed rally” is cancelled. 3 people were told by email." in unescape(
        page(as_owner, response.location)
    )
    entry = audit_actions(campaign)[-1]
    assert (entry.action, entry.details["told"]) == ("event.cancel", 3)


def test_cancelling_twice_changes_nothing(db, as_owner, campaign):
    event = make_event(campaign, status=EventStatus.CANCELLED)
    db.session.commit()

    response = as_owner.post(f"/admin/c/rallies/events/{event.id}/cancel")

    assert response.status_code == 302
    assert "already cancelled" in page(as_owner, response.location)
    assert audit_actions(campaign) == []


# --- proposals ----------------------------------------------------------------------------------


def _proposal(campaign, **fields):
    return make_event(
        campaign,
        status=EventStatus.PROPOSED,
        host_name=fields.pop("host_name", "Hanna Host"),
        host_email=fields.pop("host_email", "hanna@example.org"),
        host_email_key=fields.pop("host_email_key", "hanna@example.org"),
        **fields,
    )


def test_proposals_wait_with_their_three_buttons(db, as_owner, campaign):
    event = _proposal(campaign, title="Picnic for the petition")
    db.session.commit()

    body = page(as_owner, "/admin/c/rallies/events")

    assert "1 proposal waits for approval" in body
    card = body.split(f'id="event-{event.id}"', 1)[1].split("</li>", 1)[0]
    assert "Picnic for the petition" in card
    assert "Hanna Host" in card
    assert "hanna@example.org" in card
    assert f'action="/admin/c/rallies/events/{event.id}/approve"' in card
    assert ">Approve</button>" in card
    assert 'name="trust" value="1">Approve and trust the host</button>' in card
    assert f'action="/admin/c/rallies/events/{event.id}/decline"' in card
    assert "No events yet." not in body


def test_a_proposal_can_be_approved_from_its_own_page_too(db, as_owner, campaign):
    event = _proposal(campaign)
    db.session.commit()

    body = page(as_owner, f"/admin/c/rallies/events/{event.id}/attendees")

    assert "Waiting for approval" in body
    assert f'action="/admin/c/rallies/events/{event.id}/approve"' in body
    assert f'action="/admin/c/rallies/events/{event.id}/decline"' in body
    assert "hanna@example.org" in body


def test_approving_publishes_and_tells_the_host(db, as_owner, campaign):
    event = _proposal(campaign, title="Picnic")
    db.session.commit()

    response = as_owner.post(f"/admin/c/rallies/events/{event.id}/approve")

    assert response.status_code == 302
    assert db.session.get(Event, event.id).status == EventStatus.SCHEDULED
    assert [m.to_email for m in outbox("event_proposal_approved")] == ["hanna@example.org"]
    assert db.session.scalars(select(TrustedHost)).first() is None
    assert "“Picnic” is published." in unescape(page(as_owner, response.location))


def test_approving_with_trust_lists_the_host(db, as_owner, campaign):
    event = _proposal(campaign)
    db.session.commit()

    response = as_owner.post(f"/admin/c/rallies/events/{event.id}/approve", data={"trust": "1"})

    host = db.session.scalars(select(TrustedHost)).one()
    assert (host.campaign_id, host.email_key, host.name) == (
        campaign.id,
        "hanna@example.org",
        "Hanna Host",
    )
    body = page(as_owner, response.location)
    assert "Hanna Host is a trusted host now" in body
    trusted = body.split('id="trusted-heading"', 1)[1]
    assert "<li>Hanna Host" in trusted
    assert [e.action for e in audit_actions(campaign)] == ["event.trust_host", "event.approve"]


def test_a_trusted_host_can_be_untrusted(db, as_owner, campaign):
    event = _proposal(campaign)
    db.session.commit()
    as_owner.post(f"/admin/c/rallies/events/{event.id}/approve", data={"trust": "1"})
    host = db.session.scalars(select(TrustedHost)).one()
    body = page(as_owner, "/admin/c/rallies/events")
    remove = f"/admin/c/rallies/trusted-hosts/{host.id}/remove"
    assert f'action="{remove}"' in body

    response = as_owner.post(remove)
    assert "no longer trusted" in page(as_owner, response.location)
    db.session.rollback()
    assert db.session.scalars(select(TrustedHost)).first() is None
    assert audit_actions(campaign)[-1].action == "event.untrust_host"
    # Again: nothing left to remove, said plainly.
    assert "Nothing was changed" in page(as_owner, as_owner.post(remove).location)


def test_declining_keeps_it_unpublished(db, as_owner, campaign):
    event = _proposal(campaign, title="Bad idea")
    db.session.commit()

    response = as_owner.post(f"/admin/c/rallies/events/{event.id}/decline")

    assert db.session.get(Event, event.id).status == EventStatus.DECLINED
    body = page(as_owner, response.location)
    assert "“Bad idea” is declined." in unescape(body)
    assert "waits for approval" not in body
    assert f'id="event-{event.id}"' not in body


def test_a_proposal_already_handled_is_left_alone(db, as_owner, campaign):
    event = make_event(campaign, title="Already on")
    db.session.commit()

    for action in ("approve", "decline"):
        response = as_owner.post(f"/admin/c/rallies/events/{event.id}/{action}")
        assert "no longer waiting for approval" in page(as_owner, response.location)
    assert db.session.get(Event, event.id).status == EventStatus.SCHEDULED
    assert audit_actions(campaign) == []


def test_no_trusted_hosts_says_how_to_get_one(as_owner):
    assert "No trusted hosts yet." in page(as_owner, "/admin/c/rallies/events")


# --- attendees ----------------------------------------------------------------------------------


def test_attendees_are_counted_and_listed_with_their_data(db, as_owner, campaign):
    event = make_event(campaign, capacity=2)
    make_rsvp(event, full_name="Anna Going", email="anna@example.org", phone="+49 30 1234")
    make_rsvp(event, full_name="Boris Offered", status=RsvpStatus.OFFERED,
              offer_expires_at=utcnow() + timedelta(hours=5))  # fmt: skip
    first = make_rsvp(event, full_name="Chloé Waiting", status=RsvpStatus.WAITLISTED)
    first.waitlisted_at = utcnow() - timedelta(hours=2)
    make_rsvp(event, full_name="Dmitri Waiting", status=RsvpStatus.WAITLISTED)
    make_rsvp(event, full_name="Eve Unsure", status=RsvpStatus.UNCONFIRMED)
    db.session.commit()

    body = page(as_owner, f"/admin/c/rallies/events/{event.id}/attendees")
    counts = text_of(body.split('class="details attendee-counts"', 1)[1].split("</dl>", 1)[0])
    rows = re.findall(r'<th scope="row">([^<]*)</th>', body)
    table = text_of(body.split('class="data data--stack attendees"', 1)[1])

    assert "Going 1 of 2" in counts
    assert "Place offered 1" in counts
    assert "Waitlist 2" in counts
    assert "Not confirmed 1" in counts
    assert rows == ["Anna Going", "Boris Offered", "Chloé Waiting", "Dmitri Waiting", "Eve Unsure"]
    assert "anna@example.org" in table
    assert "+49 30 1234" in table
    assert "Waitlist, number 1" in table.split("Chloé Waiting", 1)[1].split("Dmitri", 1)[0]
    assert "Waitlist, number 2" in table.split("Dmitri Waiting", 1)[1]
    assert "Place offered, until" in table
    assert f'href="/admin/c/rallies/events/{event.id}/attendees.csv"' in body
    assert f'href="/admin/c/rallies/events/{event.id}/sign-in-sheet"' in body


def test_no_rsvps_yet_says_so(db, as_owner, campaign):
    event = make_event(campaign)
    db.session.commit()

    body = page(as_owner, f"/admin/c/rallies/events/{event.id}/attendees")

    assert "Nobody has RSVPed yet." in body
    assert "attendees.csv" not in body


def test_an_organizer_cancels_an_rsvp_and_the_place_goes_to_the_waitlist(db, as_owner, campaign):
    event = make_event(campaign, capacity=1)
    going = make_rsvp(event, full_name="Anna Going")
    waiting = make_rsvp(event, status=RsvpStatus.WAITLISTED, email="next@example.org")
    db.session.commit()
    url = f"/admin/c/rallies/events/{event.id}/attendees/{going.id}/cancel"

    confirm = text_of(page(as_owner, url))
    assert "Cancel the RSVP of Anna Going?" in confirm
    assert "offered to the first person on the waitlist" in confirm
    response = as_owner.post(url)

    assert response.status_code == 302
    assert response.location.endswith(f"/admin/c/rallies/events/{event.id}/attendees")
    assert db.session.get(Rsvp, going.id).status == RsvpStatus.CANCELLED
    assert db.session.get(Rsvp, waiting.id).status == RsvpStatus.OFFERED
    assert [m.to_email for m in outbox("rsvp_offer")] == ["next@example.org"]
    entry = audit_actions(campaign)[-1]
    assert entry.action == "rsvp.cancel"
    assert entry.details == {"event": event.id, "name": "Anna Going"}
    assert "The RSVP of Anna Going is cancelled." in page(as_owner, response.location)


def test_an_rsvp_of_another_event_is_not_found(db, as_owner, campaign):
    event, other = make_event(campaign), make_event(campaign)
    record = make_rsvp(other)
    db.session.commit()

    response = as_owner.post(f"/admin/c/rallies/events/{event.id}/attendees/{record.id}/cancel")

    assert response.status_code == 404
    assert db.session.get(Rsvp, record.id).status == RsvpStatus.GOING


# --- the export ---------------------------------------------------------------------------------


def test_the_export_is_formula_safe_and_on_record(db, as_owner, campaign):
    event = make_event(campaign)
    make_rsvp(
        event,
        full_name='=HYPERLINK("http://evil")',
        email="a@example.org",
        phone="+49 30 1234",
        consent_text="I agree to be contacted about this event.",
    )
    make_rsvp(event, full_name="@SUM(1)", email="b@example.org", status=RsvpStatus.WAITLISTED)
    make_rsvp(make_event(campaign), email="other-event@example.org")
    db.session.commit()

    response = as_owner.get(f"/admin/c/rallies/events/{event.id}/attendees.csv")
    data = finish(response)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))

    assert data.startswith(b"\xef\xbb\xbf")
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith(
        f"attachment; filename=attendees-rallies-{event.id}-"
    )
    assert rows[0] == ["name", "email", "phone", "status", "rsvp_at", "confirmed_at", "consent"]
    assert rows[1][:4] == ['\'=HYPERLINK("http://evil")', "a@example.org", "'+49 30 1234", "going"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[1][4])
    assert rows[1][6] == "I agree to be contacted about this event."
    assert rows[2][0] == "'@SUM(1)"
    assert rows[2][3] == "waitlisted"
    assert len(rows) == 3
    entry = audit_actions(campaign)[-1]
    assert (entry.action, entry.details["event"]) == ("event.export", event.id)


# --- the sign-in sheet --------------------------------------------------------------------------


def test_the_sign_in_sheet_lists_people_going_and_lines_for_walk_ins(db, as_owner, campaign):
    event = make_event(campaign, title="Vigil", venue="Town hall",
                       starts_at=datetime(2030, 1, 18, 17, tzinfo=UTC))  # fmt: skip
    make_rsvp(event, full_name="Zoe Going", email="zoe@example.org")
    make_rsvp(event, full_name="Adam Going")
    make_rsvp(event, full_name="Wendy Waiting", status=RsvpStatus.WAITLISTED)
    make_rsvp(event, full_name="Carl Cancelled", status=RsvpStatus.CANCELLED)
    db.session.commit()

    body = page(as_owner, f"/admin/c/rallies/events/{event.id}/sign-in-sheet?blank=4")

    assert 'class="print-sheet sign-in-sheet"' in body
    assert '<h1 lang="en">Vigil</h1>' in body
    assert "Friday, January 18, 2030, 6:00 PM – 8:00 PM (Europe/Berlin)" in text_of(body)
    assert "Town hall, Berlin, Germany" in body
    assert re.findall(r'<th scope="row">([^<]*)</th>', body) == ["Adam Going", "Zoe Going"]
    assert body.count('class="sign-in__blank"') == 4
    assert "zoe@example.org" not in body
    assert "Signature" in body


def test_the_sign_in_sheet_has_fifteen_empty_lines_by_default(db, as_owner, campaign):
    event = make_event(campaign)
    db.session.commit()

    body = page(as_owner, f"/admin/c/rallies/events/{event.id}/sign-in-sheet?blank=-3")
    assert body.count('class="sign-in__blank"') == 0
    body = page(as_owner, f"/admin/c/rallies/events/{event.id}/sign-in-sheet")
    assert body.count('class="sign-in__blank"') == 15


def test_printing_hides_the_panel_around_the_sheet(app):
    with open(f"{app.static_folder}/css/site.css", encoding="utf-8") as f:
        css = f.read()
    print_rules = css.split("@media print", 1)[1].split("\n}\n", 1)[0]
    for chrome in (".site-header", ".site-footer", ".admin-campaign", ".no-print"):
        assert chrome in print_rules


# --- where to rally -----------------------------------------------------------------------------


def test_where_to_rally_ranks_cities_and_offers_the_one_step_start(db, as_owner, campaign):
    for _ in range(3):
        make_signature(campaign, confirmed=True, city="Berlin", country="DE")
    for _ in range(2):
        make_signature(campaign, confirmed=True, city="Paris", country="FR")
    make_signature(campaign, confirmed=True, city="Lyon", country="FR")
    make_signature(campaign, confirmed=False, city="Lyon", country="FR")
    paris = make_event(campaign, title="Paris rally", city="Paris", country="FR")
    db.session.commit()

    body = page(as_owner, "/admin/c/rallies/where-to-rally")
    rows = re.findall(r'<th scope="row">([^<]*) <span class="muted">([^<]*)</span></th>', body)
    table = body.split("<tbody>", 1)[1]
    berlin = text_of(table.split("</tr>", 1)[0])
    paris_row = table.split("</tr>", 2)[1]

    assert rows == [("Berlin", "Germany"), ("Paris", "France"), ("Lyon", "France")]
    assert "Berlin: 3 supporters, no event" in berlin
    assert "+3" in berlin  # all new this week
    assert 'href="/admin/c/rallies/events/new?city=Berlin&amp;country=DE"' in table
    assert f'href="/admin/c/rallies/events/{paris.id}/attendees"' in paris_row
    assert "no event" not in paris_row
    assert "Lyon: 1 supporter, no event" in text_of(table)
    # The best next step, above the table.
    assert "Start an event in Berlin" in body.split("<table", 1)[0]

    start = as_owner.get("/admin/c/rallies/events/new?city=Berlin&country=DE")
    assert re.search(r'<input[^>]*id="city"[^>]*value="Berlin"', start.get_data(as_text=True))


def test_where_to_rally_without_cities_says_so(db, as_owner, campaign):
    make_signature(campaign, confirmed=True, city="")
    make_signature(campaign, confirmed=False, city="Berlin", country="DE")
    db.session.commit()

    body = page(as_owner, "/admin/c/rallies/where-to-rally")

    assert "No confirmed signature names a city yet." in body
    assert "<table" not in body


# --- the audit log ------------------------------------------------------------------------------


def test_the_audit_log_tells_the_events_story(db, as_owner, campaign):
    as_owner.post("/admin/c/rallies/events/new", data=form_data(title="Logged rally"))
    event = db.session.scalars(select(Event)).one()
    as_owner.post(f"/admin/c/rallies/events/{event.id}/cancel")

    body = text_of(page(as_owner, "/admin/c/rallies/audit"))

    assert "Created an event" in body
    assert "Cancelled an event" in body
    assert f"Event number {event.id}" in body
    assert "Country Germany" in body
    assert "People told by email 0" in body
