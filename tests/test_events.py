"""Rallies: checking, creating, changing and cancelling events, proposals by supporters, finding
the nearest events and where to rally, calendars, and the emails about them
(campaign/services/events.py).

Every test here runs on SQLite and on PostgreSQL (the `app` fixture is parametrized).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from campaign.models import (
    AuditEntry,
    CampaignStatus,
    Event,
    EventMode,
    EventStatus,
    OutboxMessage,
    RsvpStatus,
    TrustedHost,
)
from campaign.models.types import utcnow
from campaign.services import events, rsvps
from campaign.services.email_addresses import mailbox_digest
from campaign.services.errors import (
    CampaignClosed,
    EventClosed,
    InvalidEmail,
    InvalidEvent,
    InvalidToken,
    NotModeratable,
    TokenExpired,
)
from campaign.services.events import EventData
from campaign.services.tokens import make_token
from tests.factories import (
    make_campaign,
    make_event,
    make_organizer,
    make_rsvp,
    make_signature,
)


@pytest.fixture
def campaign(db):
    return make_campaign(slug="air", title="Clean air now", languages=("en", "ru"))


@pytest.fixture
def organizer(db):
    return make_organizer()


def _data(**kw) -> EventData:
    values = {
        "title": "March for clean air",
        "description": "Bring a sign.",
        "language": "en",
        "starts_local": datetime(2031, 1, 15, 18, 0),
        "ends_local": datetime(2031, 1, 15, 20, 0),
        "timezone": "Europe/Berlin",
        "venue": "Alexanderplatz",
        "address": "Alexanderplatz 1",
        "city": "Berlin",
        "country": "DE",
    }
    values.update(kw)
    return EventData(**values)


def _emails(db, kind: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def _plain(text: str) -> str:
    """Text with Babel's narrow and no-break spaces ("6:00\u202fPM") as plain ones."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _reload(db, event: Event) -> Event:
    db.session.expire_all()
    return db.session.get(Event, event.id)


# --- checking what was typed --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"title": "   "}, "title", "required"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "unknown"),
        ({"timezone": ""}, "timezone", "unknown"),
        ({"timezone": "../../etc/passwd"}, "timezone", "unknown"),
        ({"ends_local": datetime(2031, 1, 15, 17, 0)}, "ends_local", "before_start"),
        ({"ends_local": datetime(2031, 1, 15, 18, 0)}, "ends_local", "before_start"),
        ({"mode": "by_carrier_pigeon"}, "mode", "unknown"),
        ({"city": "  "}, "city", "required"),
        ({"country": "XX"}, "country", "unknown"),
        ({"country": ""}, "country", "unknown"),
        ({"mode": "both", "city": ""}, "city", "required"),
        ({"mode": "both", "online_url": ""}, "online_url", "required"),
        ({"mode": "online", "online_url": "meet.example.org/x"}, "online_url", "required"),
        ({"mode": "online", "online_url": "javascript:alert(1)"}, "online_url", "required"),
        ({"mode": "online", "online_url": "https://meet.example.org", "country": "ZZ"},
         "country", "unknown"),
        ({"capacity": 0}, "capacity", "positive"),
        ({"capacity": -5}, "capacity", "positive"),
        ({"capacity": events.MAX_CAPACITY + 1}, "capacity", "positive"),
        ({"latitude": 52.5}, "latitude", "invalid"),
        ({"longitude": 13.4}, "latitude", "invalid"),
        ({"latitude": 91.0, "longitude": 13.4}, "latitude", "invalid"),
        ({"latitude": 52.5, "longitude": -181.0}, "latitude", "invalid"),
    ],
)  # fmt: skip
def test_check_refuses_with_the_field_and_the_reason(app, changes, field, reason):
    with pytest.raises(InvalidEvent) as caught:
        events.check_event(_data(**changes))
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_check_tidies_what_was_typed(app):
    values = events.check_event(
        _data(
            title="  March\n for   clean air " + "x" * 300,
            city="  Bad   Homburg ",
            country="de",
            venue="  Kurpark ",
            capacity=events.MAX_CAPACITY,
            online_url="https://ignored.example.org",
        )
    )
    assert values["title"].startswith("March for clean air x")
    assert len(values["title"]) == 200
    assert values["city"] == "Bad Homburg"
    assert values["country"] == "DE"
    assert values["venue"] == "Kurpark"
    assert values["capacity"] == events.MAX_CAPACITY
    assert values["mode"] == EventMode.IN_PERSON
    assert values["online_url"] == ""  # an event in person keeps no meeting link


def test_an_online_event_needs_no_place(app):
    values = events.check_event(
        _data(mode="online", city="", country="", online_url=" https://meet.example.org/x ")
    )
    assert values["mode"] == EventMode.ONLINE
    assert values["online_url"] == "https://meet.example.org/x"
    assert values["city"] == values["country"] == ""


def test_no_capacity_means_no_limit(app):
    assert events.check_event(_data(capacity=None))["capacity"] is None


# --- time zones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (datetime(2031, 1, 15, 18, 0), datetime(2031, 1, 15, 17, 0, tzinfo=UTC)),  # CET
        (datetime(2031, 7, 15, 18, 0), datetime(2031, 7, 15, 16, 0, tzinfo=UTC)),  # CEST
    ],
)
def test_an_event_at_six_in_berlin_is_stored_in_utc(db, campaign, organizer, local, utc):
    event = events.create_event(
        db.session, organizer, campaign,
        _data(starts_local=local, ends_local=local + timedelta(hours=2)),
    )  # fmt: skip
    db.session.commit()

    stored = _reload(db, event)
    assert stored.starts_at == utc
    assert stored.ends_at == utc + timedelta(hours=2)
    assert stored.timezone == "Europe/Berlin"
    assert events.local_time(stored).replace(tzinfo=None) == local
    assert events.local_time(stored, stored.ends_at).hour == 20


def test_times_are_in_utc_from_the_moment_the_event_is_made(db, campaign, organizer):
    # Not only once read back: the calendar of a just-created event says 17:00Z, not 18:00Z.
    event = events.create_event(db.session, organizer, campaign, _data())
    assert event.starts_at.utcoffset() == timedelta(0)
    assert "DTSTART:20310115T170000Z" in events.event_ics(event, "http://x")
    assert "dates=20310115T170000Z/20310115T190000Z" in events.calendar_links(event, "x")["google"]


def test_other_zones_are_stored_in_utc_too(db, campaign, organizer):
    event = events.create_event(
        db.session, organizer, campaign,
        _data(timezone="America/New_York", city="New York", country="US",
              starts_local=datetime(2031, 7, 4, 12, 0), ends_local=datetime(2031, 7, 4, 14, 0)),
    )  # fmt: skip
    db.session.commit()
    assert _reload(db, event).starts_at == datetime(2031, 7, 4, 16, 0, tzinfo=UTC)


def test_the_form_shows_the_local_times_again(db, campaign, organizer):
    typed = _data(starts_local=datetime(2031, 7, 15, 18, 30), ends_local=datetime(2031, 7, 16, 1))
    event = events.create_event(db.session, organizer, campaign, typed)
    db.session.commit()

    again = events.event_data(_reload(db, event))
    assert again.starts_local == datetime(2031, 7, 15, 18, 30)
    assert again.ends_local == datetime(2031, 7, 16, 1, 0)
    assert events.check_event(again) == events.check_event(typed)


def test_an_event_may_end_after_midnight_across_a_change_of_clocks(db, campaign, organizer):
    # Berlin puts its clocks back at 03:00 on 26 October 2031: 22:00 to 04:00 lasts 7 hours.
    event = events.create_event(
        db.session, organizer, campaign,
        _data(starts_local=datetime(2031, 10, 25, 22), ends_local=datetime(2031, 10, 26, 4)),
    )  # fmt: skip
    assert event.ends_at - event.starts_at == timedelta(hours=7)


# --- organizers: create, change, cancel ---------------------------------------------------------


def test_create_schedules_and_audits(db, campaign, organizer):
    event = events.create_event(db.session, organizer, campaign, _data(capacity=40))
    db.session.commit()

    event = _reload(db, event)
    assert event.status == EventStatus.SCHEDULED
    assert event.created_by_id == organizer.id
    assert event.capacity == 40
    assert event.taken == 0
    assert event.spots_left == 40
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.create"))
    assert entry.details["event"] == event.id
    assert entry.details["city"] == "Berlin"


def test_create_refuses_a_wrong_event_and_writes_nothing(db, campaign, organizer):
    with pytest.raises(InvalidEvent):
        events.create_event(db.session, organizer, campaign, _data(city=""))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_create_refuses_an_event_already_over(db, campaign, organizer):
    past = _data(starts_local=datetime(2020, 3, 1, 12), ends_local=datetime(2020, 3, 1, 14))
    with pytest.raises(InvalidEvent) as refused:
        events.create_event(db.session, organizer, campaign, past)
    assert (refused.value.field, refused.value.reason) == ("ends_local", "past")


def _event_with_people(db, campaign, organizer, **data):
    """An event with one person in every state of an RSVP."""
    event = events.create_event(db.session, organizer, campaign, _data(capacity=2, **data))
    people = {
        status: make_rsvp(event, status=status, email=f"{status.value}@example.org")
        for status in (
            RsvpStatus.GOING,
            RsvpStatus.OFFERED,
            RsvpStatus.WAITLISTED,
            RsvpStatus.UNCONFIRMED,
            RsvpStatus.CANCELLED,
        )
    }
    people[RsvpStatus.OFFERED].offer_expires_at = utcnow() + timedelta(hours=5)
    db.session.commit()
    return event, people


def test_a_new_time_is_told_to_everyone_with_a_standing_rsvp(db, campaign, organizer):
    event, _ = _event_with_people(db, campaign, organizer)

    later = _data(
        capacity=2, starts_local=datetime(2031, 1, 15, 19), ends_local=datetime(2031, 1, 15, 21)
    )
    changed = events.update_event(db.session, organizer, event, later)
    db.session.commit()

    assert changed == ["starts_at", "ends_at"]
    told = _emails(db, "event_changed")
    assert sorted(m.to_email for m in told) == [
        "going@example.org", "offered@example.org", "waitlisted@example.org",
    ]  # fmt: skip
    going = next(m for m in told if m.to_email == "going@example.org")
    assert "7:00 PM" in _plain(going.text_body)  # the new local time
    assert "/rsvp/" in going.text_body  # with the link to say they can't come


@pytest.mark.parametrize(
    "changes",
    [
        {"venue": "Brandenburger Tor"},
        {"address": "Pariser Platz"},
        {"city": "Potsdam"},
        {"timezone": "Europe/Paris"},
        {"mode": "both", "online_url": "https://meet.example.org/air"},
    ],
)
def test_a_new_place_is_told_too(db, campaign, organizer, changes):
    event, _ = _event_with_people(db, campaign, organizer)
    events.update_event(db.session, organizer, event, _data(capacity=2, **changes))
    db.session.commit()
    assert len(_emails(db, "event_changed")) == 3


def test_a_new_title_or_description_is_not_worth_an_email(db, campaign, organizer):
    event, _ = _event_with_people(db, campaign, organizer)

    changed = events.update_event(
        db.session, organizer, event,
        _data(capacity=2, title="March for cleaner air", description="Bring two signs."),
    )  # fmt: skip
    db.session.commit()

    assert changed == ["title", "description"]
    assert _emails(db, "event_changed") == []
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.update"))
    assert entry.details["fields"] == ["title", "description"]


def test_saving_without_changes_does_nothing(db, campaign, organizer):
    event, _ = _event_with_people(db, campaign, organizer)
    before = len(_emails(db))

    assert events.update_event(db.session, organizer, event, _data(capacity=2)) == []
    db.session.commit()

    assert len(_emails(db)) == before
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.update")) is None


def test_a_wrong_change_changes_nothing(db, campaign, organizer):
    event, _ = _event_with_people(db, campaign, organizer)
    with pytest.raises(InvalidEvent):
        events.update_event(db.session, organizer, event, _data(capacity=2, country="XX"))
    db.session.rollback()
    assert _reload(db, event).country == "DE"


def test_more_places_are_offered_to_the_waitlist_in_order(db, campaign, organizer):
    event = events.create_event(db.session, organizer, campaign, _data(capacity=1))
    make_rsvp(event, email="going@example.org")
    start = utcnow() - timedelta(hours=3)
    for n in (1, 2, 3):
        make_rsvp(
            event, status=RsvpStatus.WAITLISTED, email=f"wait{n}@example.org",
            waitlisted_at=start + timedelta(minutes=n),
        )  # fmt: skip
    db.session.commit()

    events.update_event(db.session, organizer, event, _data(capacity=3))
    db.session.commit()

    offers = _emails(db, "rsvp_offer")
    assert [m.to_email for m in offers] == ["wait1@example.org", "wait2@example.org"]
    event = _reload(db, event)
    assert event.taken == 3
    statuses = {r.email: r.status for r in rsvps.attendees(db.session, event)}
    assert statuses["wait3@example.org"] == RsvpStatus.WAITLISTED
    assert _emails(db, "event_changed") == []  # a bigger room is no change of place


def test_fewer_places_take_nobody_s_place_away(db, campaign, organizer):
    event = events.create_event(db.session, organizer, campaign, _data(capacity=3))
    for n in range(3):
        make_rsvp(event, email=f"going{n}@example.org")
    db.session.commit()

    events.update_event(db.session, organizer, event, _data(capacity=1))
    db.session.commit()

    event = _reload(db, event)
    assert event.spots_left == 0
    assert all(r.status == RsvpStatus.GOING for r in rsvps.attendees(db.session, event))


def test_a_cancelled_event_cannot_be_changed(db, campaign, organizer):
    event, _ = _event_with_people(db, campaign, organizer)
    events.cancel_event(db.session, organizer, event)
    db.session.commit()
    with pytest.raises(NotModeratable):
        events.update_event(db.session, organizer, event, _data(venue="Elsewhere"))


def test_cancelling_tells_everyone_with_a_standing_rsvp(db, campaign, organizer):
    event, people = _event_with_people(db, campaign, organizer)
    people[RsvpStatus.GOING].language = "ru"
    db.session.commit()

    told = events.cancel_event(db.session, organizer, event)
    db.session.commit()

    assert told == 3
    event = _reload(db, event)
    assert event.status == EventStatus.CANCELLED
    assert event.cancelled_at is not None
    notices = _emails(db, "event_cancelled")
    assert {(m.to_email, m.language) for m in notices} == {
        ("going@example.org", "ru"), ("offered@example.org", "en"),
        ("waitlisted@example.org", "en"),
    }  # fmt: skip
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.cancel"))
    assert entry.details["told"] == 3


def test_a_cancelled_event_takes_no_more_rsvps_and_cannot_be_cancelled_again(
    db, campaign, organizer
):
    event, _ = _event_with_people(db, campaign, organizer)
    events.cancel_event(db.session, organizer, event)
    db.session.commit()

    with pytest.raises(NotModeratable):
        events.cancel_event(db.session, organizer, event)
    with pytest.raises(EventClosed):
        rsvps.rsvp(
            db.session, event, rsvps.RsvpData("Late Comer", "late@example.org"), language="en"
        )


# --- proposals by supporters --------------------------------------------------------------------


def _propose(db, campaign, *, email="Host.Person+rally@gmail.com", known=(), **data):
    event = events.propose_event(
        db.session, campaign, _data(**data),
        host_name="  Hana   Host ", host_email=email, ui_language="ru", known_mailboxes=known,
    )  # fmt: skip
    db.session.commit()
    return event


def _link_token(message: OutboxMessage, path: str) -> str:
    return re.search(re.escape(path) + r"([A-Za-z0-9_.\-]+)", message.text_body).group(1)


def test_a_proposal_waits_for_the_host_to_confirm_their_address(db, campaign):
    event = _propose(db, campaign)

    assert event.status == EventStatus.UNCONFIRMED
    assert event.host_name == "Hana Host"
    assert event.host_email == "Host.Person+rally@gmail.com"
    assert event.host_email_key == "hostperson@gmail.com"
    [message] = _emails(db)
    assert message.kind == "event_proposal_confirm"
    assert message.to_email == event.host_email
    assert message.language == "ru"  # the language the host was reading in
    assert "/ru/events/proposals/confirm/" in message.text_body
    assert events.public_event(db.session, event.id) is None


def test_confirming_a_proposal_sends_it_to_the_organizers(db, campaign):
    event = _propose(db, campaign)
    token = _link_token(_emails(db)[0], "/events/proposals/confirm/")

    assert events.confirm_proposal(db.session, token).id == event.id
    db.session.commit()

    assert _reload(db, event).status == EventStatus.PROPOSED
    [received] = _emails(db, "event_proposal_received")
    assert "/host/" in received.text_body
    assert events.public_event(db.session, event.id) is None
    # The link works once; following it again changes nothing and sends nothing.
    events.confirm_proposal(db.session, token)
    db.session.commit()
    assert _reload(db, event).status == EventStatus.PROPOSED
    assert len(_emails(db, "event_proposal_received")) == 1


def test_a_browser_that_proved_the_address_skips_the_confirmation(db, campaign):
    event = _propose(db, campaign, known=(mailbox_digest("hostperson@gmail.com"),))

    assert event.status == EventStatus.PROPOSED
    assert [m.kind for m in _emails(db)] == ["event_proposal_received"]


def test_a_trusted_host_is_published_at_once(db, campaign, organizer):
    events.trust_host(db.session, organizer, campaign, "hostperson@gmail.com", "Hana")
    event = _propose(db, campaign, known=(mailbox_digest("hostperson@gmail.com"),))

    assert event.status == EventStatus.SCHEDULED
    assert events.public_event(db.session, event.id).id == event.id
    [received] = _emails(db, "event_proposal_received")
    assert f"/e/{event.id}\n" in received.text_body  # it says where the event is published


def test_trust_on_another_campaign_does_not_count(db, campaign, organizer):
    other = make_campaign(slug="water")
    events.trust_host(db.session, organizer, other, "hostperson@gmail.com", "Hana")
    event = _propose(db, campaign, known=(mailbox_digest("hostperson@gmail.com"),))
    assert event.status == EventStatus.PROPOSED


def test_the_proposal_emails_say_whether_it_waits(db, campaign, organizer):
    waiting = _propose(db, campaign, known=(mailbox_digest("hostperson@gmail.com"),))
    events.trust_host(db.session, organizer, campaign, "other@example.org", "Olga")
    live = _propose(db, campaign, email="other@example.org",
                    known=(mailbox_digest("other@example.org"),))  # fmt: skip

    waiting_mail, live_mail = _emails(db, "event_proposal_received")
    assert f"/e/{waiting.id}\n" not in waiting_mail.text_body
    assert f"/e/{live.id}\n" in live_mail.text_body


def test_proposals_need_an_open_campaign_a_name_and_an_address(db, campaign):
    with pytest.raises(InvalidEvent) as caught:
        events.propose_event(
            db.session, campaign, _data(), host_name=" ", host_email="a@example.org",
            ui_language="en",
        )  # fmt: skip
    assert caught.value.field == "host_name"
    with pytest.raises(InvalidEmail):
        events.propose_event(
            db.session, campaign, _data(), host_name="Ann", host_email="not an address",
            ui_language="en",
        )  # fmt: skip
    with pytest.raises(InvalidEvent):
        events.propose_event(
            db.session, campaign, _data(city=""), host_name="Ann", host_email="a@example.org",
            ui_language="en",
        )  # fmt: skip
    db.session.rollback()
    campaign.status = CampaignStatus.CLOSED
    db.session.commit()
    with pytest.raises(CampaignClosed):
        _propose(db, campaign)


def test_approving_publishes_and_tells_the_host(db, campaign, organizer):
    event = _propose(db, campaign, known=(mailbox_digest("hostperson@gmail.com"),))

    events.approve_proposal(db.session, organizer, event, trust=False)
    db.session.commit()

    assert _reload(db, event).status == EventStatus.SCHEDULED
    [approved] = _emails(db, "event_proposal_approved")
    assert approved.to_email == "Host.Person+rally@gmail.com"
    assert approved.language == "en"  # the event's language, as it was confirmed
    assert f"/e/{event.id}" in approved.text_body
    assert "/host/" in approved.text_body
    assert db.session.scalar(select(func.count()).select_from(TrustedHost)) == 0
    with pytest.raises(NotModeratable):
        events.approve_proposal(db.session, organizer, event, trust=False)


def test_approving_with_trust_lets_the_next_proposal_through(db, campaign, organizer):
    first = _propose(db, campaign, known=(mailbox_digest("hostperson@gmail.com"),))
    events.approve_proposal(db.session, organizer, first, trust=True)
    db.session.commit()

    # Another spelling of the same mailbox is the same host.
    second = _propose(db, campaign, email="hostperson@googlemail.com",
                      known=(mailbox_digest("hostperson@gmail.com"),))  # fmt: skip

    assert second.status == EventStatus.SCHEDULED
    [host] = db.session.scalars(select(TrustedHost)).all()
    assert (host.email_key, host.name) == ("hostperson@gmail.com", "Hana Host")
    # Trusting twice keeps one row.
    events.trust_host(db.session, organizer, campaign, "hostperson@gmail.com", "Hana")
    assert db.session.scalar(select(func.count()).select_from(TrustedHost)) == 1


def test_declining_keeps_the_event_off_the_site(db, campaign, organizer):
    event = _propose(db, campaign, known=(mailbox_digest("hostperson@gmail.com"),))

    events.decline_proposal(db.session, organizer, event)
    db.session.commit()

    assert _reload(db, event).status == EventStatus.DECLINED
    assert events.public_event(db.session, event.id) is None
    assert events.upcoming_events(db.session, campaign) == []
    with pytest.raises(NotModeratable):
        events.decline_proposal(db.session, organizer, event)
    with pytest.raises(NotModeratable):
        events.approve_proposal(db.session, organizer, event, trust=False)


def test_an_unconfirmed_proposal_cannot_be_approved(db, campaign, organizer):
    event = _propose(db, campaign)
    with pytest.raises(NotModeratable):
        events.approve_proposal(db.session, organizer, event, trust=False)


def test_the_host_link_opens_the_hosts_event_only(app, db, campaign):
    event = _propose(db, campaign)
    other = _propose(db, campaign, email="someone@example.org")
    token = events.host_token(event)

    assert events.event_for_host_token(db.session, token).id == event.id
    assert events.event_for_host_token(db.session, events.host_token(other)).id == other.id
    with pytest.raises(InvalidToken):
        events.event_for_host_token(db.session, token[:-2] + "xx")
    # A proposal link is not a host link, and the other way round.
    proposal = _link_token(_emails(db)[0], "/events/proposals/confirm/")
    with pytest.raises(InvalidToken):
        events.event_for_host_token(db.session, proposal)
    with pytest.raises(InvalidToken):
        events.confirm_proposal(db.session, token)
    # A token naming the event with another mailbox opens nothing.
    forged = make_token(
        app.config["SECRET_KEY"], events.HOST_PURPOSE,
        {"e": event.id, "k": mailbox_digest("someone@example.org")},
    )  # fmt: skip
    with pytest.raises(InvalidToken):
        events.event_for_host_token(db.session, forged)


def test_an_organizers_event_has_no_host_link(app, db, campaign, organizer):
    event = events.create_event(db.session, organizer, campaign, _data())
    token = make_token(app.config["SECRET_KEY"], events.HOST_PURPOSE, {"e": event.id, "k": ""})
    with pytest.raises(InvalidToken):
        events.event_for_host_token(db.session, token)


def test_a_proposal_link_expires(app, db, campaign):
    _propose(db, campaign)
    token = _link_token(_emails(db)[0], "/events/proposals/confirm/")
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    with pytest.raises(TokenExpired):
        events.confirm_proposal(db.session, token)


# --- what the public sees -----------------------------------------------------------------------


def test_public_event_shows_scheduled_and_cancelled_events_of_public_campaigns(db, campaign):
    scheduled = make_event(campaign)
    cancelled = make_event(campaign, status=EventStatus.CANCELLED)
    hidden = [make_event(campaign, status=s) for s in
              (EventStatus.PROPOSED, EventStatus.UNCONFIRMED, EventStatus.DECLINED)]  # fmt: skip
    draft = make_event(make_campaign(status=CampaignStatus.DRAFT))

    assert events.public_event(db.session, scheduled.id) is scheduled
    assert events.public_event(db.session, cancelled.id) is cancelled
    for event in [*hidden, draft]:
        assert events.public_event(db.session, event.id) is None
    assert events.public_event(db.session, 999_999) is None


def test_upcoming_events_put_the_nearest_first(db, campaign):
    soon = timedelta(days=1)
    later = timedelta(days=5)
    elsewhere_soon = make_event(campaign, starts_in=soon, city="Madrid", country="ES")
    online_later = make_event(
        campaign, starts_in=later, mode=EventMode.ONLINE, city="", country="",
        online_url="https://meet.example.org",
    )  # fmt: skip
    online_soon = make_event(
        campaign, starts_in=soon, mode=EventMode.ONLINE, city="", country="",
        online_url="https://meet.example.org",
    )  # fmt: skip
    country_later = make_event(campaign, starts_in=later, city="Leipzig", country="DE")
    country_soon = make_event(campaign, starts_in=soon, city="Hamburg", country="DE")
    city_later = make_event(campaign, starts_in=later, city="Berlin", country="DE")
    city_soon = make_event(campaign, starts_in=soon, city="berlin", country="DE")
    both_in_city = make_event(
        campaign, starts_in=timedelta(days=9), city="BERLIN", country="DE", mode=EventMode.BOTH,
        online_url="https://meet.example.org",
    )  # fmt: skip
    berlin_elsewhere = make_event(campaign, starts_in=soon, city="Berlin", country="US")

    found = events.upcoming_events(db.session, campaign, city=" Berlin", country="de")

    assert found == [
        city_soon, city_later, both_in_city,
        country_soon, country_later,
        online_soon, online_later,
        elsewhere_soon, berlin_elsewhere,
    ]  # fmt: skip
    assert events.upcoming_events(db.session, campaign, city="Berlin", country="DE", limit=2) == [
        city_soon, city_later,
    ]  # fmt: skip
    # With nothing known about the reader: online first, then soonest.
    anywhere = events.upcoming_events(db.session, campaign)
    assert anywhere[:3] == [online_soon, online_later, both_in_city]


def test_upcoming_events_leave_out_the_past_and_the_unpublished(db, campaign):
    now = utcnow()
    over = make_event(campaign, starts_at=now - timedelta(hours=3), hours=2)
    happening = make_event(campaign, starts_at=now - timedelta(hours=1), hours=2)
    future = make_event(campaign)
    for status in (EventStatus.CANCELLED, EventStatus.PROPOSED, EventStatus.UNCONFIRMED,
                   EventStatus.DECLINED):  # fmt: skip
        make_event(campaign, status=status)
    make_event(make_campaign(slug="elsewhere"))

    found = events.upcoming_events(db.session, campaign)

    assert found == [happening, future]
    assert over not in found
    # Seen from later on, the one happening now has ended too.
    assert events.upcoming_events(db.session, campaign, now=now + timedelta(hours=2)) == [future]


def test_nearest_event_is_in_the_city_the_country_or_online_else_none(db, campaign):
    make_event(campaign, city="Madrid", country="ES")
    assert events.nearest_event(db.session, campaign, city="Berlin", country="DE") is None
    leipzig = make_event(campaign, city="Leipzig", country="DE", starts_in=timedelta(days=2))
    assert events.nearest_event(db.session, campaign, city="Berlin", country="DE") == leipzig
    berlin = make_event(campaign, city="Berlin", country="DE", starts_in=timedelta(days=20))
    assert events.nearest_event(db.session, campaign, city="berlin", country="DE") == berlin


def test_where_to_rally_ranks_cities_with_this_weeks_supporters_and_events(db, campaign):
    now = utcnow()
    long_ago = now - timedelta(days=30)
    for _ in range(4):
        make_signature(campaign, confirmed=True, city="Berlin", country="DE")
    for city in ("Berlin", " berlin"):  # one city however it is typed
        make_signature(campaign, confirmed=True, city=city, country="DE").confirmed_at = long_ago
    for _ in range(3):
        make_signature(campaign, confirmed=True, city="Москва", country="RU")
    make_signature(campaign, confirmed=True, city="МОСКВА", country="RU").confirmed_at = long_ago
    make_signature(campaign, city="Paris", country="FR")  # never confirmed: not a supporter
    make_signature(campaign, confirmed=True, city="Paris", country="FR").confirmed_at = long_ago
    make_signature(make_campaign(slug="other"), confirmed=True, city="Paris", country="FR")
    rally = make_event(campaign, city="BERLIN", country="DE")
    make_event(campaign, city="Paris", country="FR", starts_at=now - timedelta(days=2))  # over
    make_event(campaign, city="Москва", country="US")  # a Moscow in another country
    db.session.commit()

    ranked = events.where_to_rally(db.session, campaign, now=now)

    assert [(c.city, c.country, c.supporters, c.new_this_week) for c in ranked] == [
        ("Berlin", "DE", 6, 4),
        ("Москва", "RU", 4, 3),
        ("Paris", "FR", 1, 0),
    ]
    assert [c.event for c in ranked] == [rally, None, None]


def test_where_to_rally_prefers_the_soonest_event_in_a_city(db, campaign):
    make_signature(campaign, confirmed=True, city="Berlin", country="DE")
    later = make_event(campaign, city="Berlin", country="DE", starts_in=timedelta(days=9))
    sooner = make_event(campaign, city="Berlin", country="DE", starts_in=timedelta(days=2))
    online = make_event(
        campaign, starts_in=timedelta(days=1), mode=EventMode.ONLINE, city="Berlin",
        country="DE", online_url="https://meet.example.org",
    )  # fmt: skip
    [berlin] = events.where_to_rally(db.session, campaign)
    assert berlin.event == sooner
    assert berlin.event not in (later, online)


def test_where_to_rally_is_empty_without_supporters(db, campaign):
    make_event(campaign)
    assert events.where_to_rally(db.session, campaign) == []


# --- calendars ----------------------------------------------------------------------------------


def _unfold(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")


def _ics_event(db, campaign, **fields):
    fields.setdefault("starts_at", datetime(2031, 1, 15, 17, 0, tzinfo=UTC))
    return make_event(campaign, **fields)


def test_ics_is_a_valid_calendar_with_crlf_lines(app, db, campaign):
    event = _ics_event(db, campaign)
    url = f"http://campaign.test/en/e/{event.id}"

    ics = events.event_ics(event, url)

    assert ics.endswith("\r\n")
    assert "\n" not in ics.replace("\r\n", "")  # no bare line feeds
    lines = _unfold(ics)[:-1]
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 1
    assert "VERSION:2.0" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    props = dict(line.split(":", 1) for line in lines)
    assert props["UID"] == f"event-{event.id}@campaign.test"
    assert re.fullmatch(r"\d{8}T\d{6}Z", props["DTSTAMP"])
    assert props["DTSTART"] == "20310115T170000Z"
    assert props["DTEND"] == "20310115T190000Z"
    assert props["URL"] == url
    assert props["STATUS"] == "CONFIRMED"
    assert props["LOCATION"] == f"{event.venue}\\, Berlin"
    for line in ics.split("\r\n"):
        assert re.fullmatch(r"[A-Z-]+[:;].*| .+|", line), line


def test_ics_escapes_text(app, db, campaign):
    event = _ics_event(
        db, campaign, title="Air; water, and soil \\ more", description="Line one\nLine, two",
        venue="Café; Bar",
    )  # fmt: skip
    props = dict(line.split(":", 1) for line in _unfold(events.event_ics(event, "http://x"))[:-1])
    assert props["SUMMARY"] == "Air\\; water\\, and soil \\\\ more"
    assert props["DESCRIPTION"] == "Line one\\nLine\\, two\\n\\nhttp://x"
    assert props["LOCATION"] == "Café\\; Bar\\, Berlin"


def test_ics_folds_long_lines_at_75_octets_without_splitting_characters(app, db, campaign):
    title = "Митинг за чистый воздух у ратуши, приходите все вместе с друзьями и соседями"
    event = _ics_event(db, campaign, title=title, description="ü" * 300)

    ics = events.event_ics(event, "http://campaign.test/en/e/1")

    raw_lines = ics.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in raw_lines)
    assert any(line.startswith(" ") for line in raw_lines)  # something was folded
    props = dict(line.split(":", 1) for line in _unfold(ics)[:-1])
    assert props["SUMMARY"] == title.replace(",", "\\,")
    assert props["DESCRIPTION"].startswith("ü" * 300)


def test_ics_of_a_cancelled_or_online_event(app, db, campaign):
    event = _ics_event(
        db, campaign, status=EventStatus.CANCELLED, mode=EventMode.BOTH,
        online_url="https://meet.example.org/air",
    )  # fmt: skip
    props = dict(line.split(":", 1) for line in _unfold(events.event_ics(event, "http://x"))[:-1])
    assert props["STATUS"] == "CANCELLED"
    assert props["LOCATION"].endswith("· https://meet.example.org/air")
    online = _ics_event(
        db, campaign, mode=EventMode.ONLINE, city="", country="", venue="",
        online_url="https://meet.example.org/air",
    )  # fmt: skip
    props = dict(line.split(":", 1) for line in _unfold(events.event_ics(online, "http://x"))[:-1])
    assert props["LOCATION"] == "https://meet.example.org/air"


def test_calendar_links_carry_the_event_in_utc(app, db, campaign):
    event = _ics_event(db, campaign, title="Air & water", description="Come!")
    url = f"http://campaign.test/en/e/{event.id}"

    links = events.calendar_links(event, url)

    google = parse_qs(urlsplit(links["google"]).query)
    assert urlsplit(links["google"]).netloc == "calendar.google.com"
    assert google["action"] == ["TEMPLATE"]
    assert google["text"] == ["Air & water"]
    assert google["dates"] == ["20310115T170000Z/20310115T190000Z"]
    assert google["details"] == [f"Come!\n\n{url}"]
    assert google["location"] == [f"{event.venue}, Berlin"]
    outlook = parse_qs(urlsplit(links["outlook"]).query)
    assert urlsplit(links["outlook"]).netloc == "outlook.live.com"
    assert outlook["subject"] == ["Air & water"]
    assert outlook["startdt"] == ["2031-01-15T17:00:00Z"]
    assert outlook["enddt"] == ["2031-01-15T19:00:00Z"]


def test_event_as_dict_has_the_local_times(app, db, campaign):
    event = _ics_event(db, campaign, capacity=10)
    data = events.event_as_dict(event)
    assert data["starts_local"] == datetime(2031, 1, 15, 18, 0)
    assert data["spots_left"] == 10
    assert data["status"] == "scheduled"
    assert data["id"] == event.id


# --- the emails ---------------------------------------------------------------------------------


def test_event_emails_show_the_local_time_and_place(db, campaign):
    event = _ics_event(db, campaign, capacity=5, address="Alexanderplatz 1")
    rsvp = make_rsvp(event)
    rsvps.queue_rsvp_email(db.session, rsvp, "rsvp_going")

    [message] = _emails(db)
    assert "When: Wednesday, January 15, 2031, 6:00 PM–8:00 PM (Europe/Berlin time)" in _plain(
        message.text_body
    )
    assert f"{event.venue}, Alexanderplatz 1, Berlin, Germany" in message.text_body
    assert f"http://campaign.test/en/e/{event.id}.ics" in message.text_body
    assert f"http://campaign.test/en/e/{event.id}/rsvp/" in message.text_body
    assert "http://campaign.test/en/c/air" in message.text_body  # the campaign it is for
    assert "Clean air now" in message.text_body
    assert 'lang="en"' in message.html_body
    assert f'href="http://campaign.test/en/e/{event.id}.ics"' in message.html_body


def test_event_emails_use_the_readers_language_for_dates_and_countries(db, campaign):
    event = _ics_event(db, campaign)
    rsvp = make_rsvp(event, language="ru")
    rsvps.queue_rsvp_email(db.session, rsvp, "rsvp_reminder")

    [message] = _emails(db)
    assert message.language == "ru"
    assert "15 января 2031" in message.text_body  # Babel's Russian, catalogs or not
    assert "Германия" in message.text_body
    assert "/ru/e/" in message.text_body
    assert 'lang="ru"' in message.html_body


def test_an_event_over_several_days_shows_both_dates(db, campaign):
    event = _ics_event(db, campaign, hours=27)
    rsvps.queue_rsvp_email(db.session, make_rsvp(event), "rsvp_going")
    [message] = _emails(db)
    assert (
        "When: From Wednesday, January 15, 2031, 6:00 PM to Thursday, January 16, 2031, 9:00 PM"
        in _plain(message.text_body)
    )


def test_event_emails_escape_what_people_typed(db, campaign):
    event = _ics_event(db, campaign, title="<b>Loud</b> & clear", venue="<script>")
    rsvps.queue_rsvp_email(db.session, make_rsvp(event, full_name="<i>Ann</i>"), "rsvp_going")
    [message] = _emails(db)
    assert "<b>Loud</b>" not in message.html_body
    assert "&lt;b&gt;Loud&lt;/b&gt; &amp; clear" in message.html_body
    assert "<script>" not in message.html_body
    assert "<i>Ann</i>" not in message.html_body
    assert "<b>Loud</b> & clear" in message.text_body  # plain text stays as typed


@pytest.mark.parametrize(
    "template",
    [
        "rsvp_confirm", "rsvp_going", "rsvp_waitlisted", "rsvp_status", "rsvp_offer",
        "rsvp_offer_expired", "rsvp_reminder", "event_changed", "event_cancelled",
    ],
)  # fmt: skip
@pytest.mark.parametrize("status", [RsvpStatus.GOING, RsvpStatus.WAITLISTED, RsvpStatus.OFFERED])
def test_every_rsvp_email_renders_for_every_standing(db, campaign, template, status):
    event = _ics_event(db, campaign, capacity=3, mode=EventMode.BOTH,
                       online_url="https://meet.example.org/air")  # fmt: skip
    rsvp = make_rsvp(event, status=status, language="ru")
    if status == RsvpStatus.OFFERED:
        rsvp.offered_at = utcnow()
        rsvp.offer_expires_at = rsvp.offered_at + timedelta(hours=rsvps.OFFER_HOURS)

    rsvps.queue_rsvp_email(db.session, rsvp, template)

    [message] = _emails(db)
    assert message.kind == template
    assert message.language == "ru"
    assert message.subject.endswith(event.title)
    for body in (message.text_body, message.html_body):
        assert event.title in body
        assert "https://meet.example.org/air" in body
        assert "/ru/c/air" in body
        assert "{{" not in body
        assert "{%" not in body
    assert "<html" in message.html_body
    assert "</html>" in message.html_body


@pytest.mark.parametrize("template", ["proposal_confirm", "proposal_received", "proposal_approved"])
@pytest.mark.parametrize("status", [EventStatus.PROPOSED, EventStatus.SCHEDULED])
def test_every_host_email_renders(db, campaign, template, status):
    event = make_event(campaign, status=status, host_name="Hana", host_email="hana@example.org",
                       host_email_key="hana@example.org")  # fmt: skip

    events._queue_host_email(db.session, event, "ru", template)

    [message] = _emails(db)
    assert message.to_email == "hana@example.org"
    assert message.language == "ru"
    for body in (message.text_body, message.html_body):
        assert event.title in body
        assert "/ru/c/air" in body
        assert "{{" not in body
    if template == "proposal_confirm":
        assert "/ru/events/proposals/confirm/" in message.text_body
    else:
        assert f"/ru/e/{event.id}/host/" in message.text_body
