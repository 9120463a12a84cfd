"""Rallies for supporters, through the test client: finding them, RSVPs and their emails, the
waitlist, changing one's mind, calendars, proposing and hosting, and the nearest rally beside the
petition."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from campaign.models import (
    AuditEntry,
    CampaignStatus,
    Event,
    EventMode,
    EventStatus,
    OutboxMessage,
    Rsvp,
    RsvpStatus,
)
from campaign.services import events as event_service
from campaign.services import host_messages, rsvps
from tests.factories import make_campaign, make_event, make_rsvp
from tests.test_public import (
    deliver_mail,
    path_of,
    sign_data,
    tag,
    tags,
    text,
)

SLUG = "clean-water"
# Saturday 5 July 2031, 18:00–20:00 in Berlin (summer time, UTC+2).
STARTS = datetime(2031, 7, 5, 16, 0, tzinfo=UTC)


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug=SLUG, languages=("en", "ru"), title="Clean water for Riverside")
    db.session.commit()
    return campaign


@pytest.fixture
def event(db, campaign):
    event = make_event(
        campaign,
        title="Vigil at the town hall",
        description="Bring a **candle**.",
        starts_at=STARTS,
        venue="Town hall square",
        address="Rathausstraße 15",
        city="Berlin",
        country="DE",
        capacity=5,
        contact="vigil@example.org",
    )
    db.session.commit()
    return event


def rsvp_data(**overrides) -> dict[str, str]:
    data = {"full_name": "Amira Haddad", "email": "amira@example.org", "consent": "y"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def rsvps_of(db, event) -> list[Rsvp]:
    db.session.expire_all()
    return list(db.session.scalars(select(Rsvp).where(Rsvp.event_id == event.id)))


def link_in_mail(mail, address: str, fragment: str) -> str:
    """The path of the one link containing `fragment` in the last email to `address`."""
    (message,) = mail.to(address)[-1:]
    links = [link for link in message.links() if fragment in link]
    assert len(links) == 1, message.text
    return path_of(links[0])


def manage_path(app, record: Rsvp, lang: str = "en") -> str:
    with app.test_request_context():
        token = rsvps.rsvp_token(record, rsvps.MANAGE_PURPOSE)
    return f"/{lang}/e/{record.event_id}/rsvp/{token}"


def host_path(app, event: Event, lang: str = "en") -> str:
    with app.test_request_context():
        token = event_service.host_token(event)
    return f"/{lang}/e/{event.id}/host/{token}"


def flashes(html: str) -> str:
    return " ".join(
        text(m) for m in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', html, re.S)
    )


# --- the campaign's rallies -------------------------------------------------------------------


def test_the_list_puts_the_readers_city_first_and_remembers_it(client, campaign, db):
    make_event(campaign, title="Berlin vigil", city="Berlin", country="DE", starts_at=STARTS)
    make_event(
        campaign,
        title="Lyon march",
        city="Lyon",
        country="FR",
        timezone="Europe/Paris",
        starts_at=STARTS + timedelta(days=20),
    )
    make_event(
        campaign,
        title="Online call",
        mode=EventMode.ONLINE,
        city="",
        country="",
        online_url="https://meet.example.org/call",
        starts_at=STARTS + timedelta(days=1),
    )
    db.session.commit()

    html = client.get(f"/en/c/{SLUG}/events?city=lyon&country=FR").text
    titles = re.findall(r'<h3 class="event-card__title"><a [^>]*>([^<]+)</a>', html)
    assert titles == ["Lyon march", "Online call", "Berlin vigil"]
    assert "Propose a rally in your city" in text(html)
    assert "France" in text(html)

    # Next time, the form and the order start from what the reader gave.
    html = client.get(f"/en/c/{SLUG}/events").text
    assert tag(html, "input", name="city")["value"] == "lyon"
    assert tag(html, "option", value="FR")["selected"] is not None
    assert re.findall(r'<h3 class="event-card__title"><a [^>]*>([^<]+)</a>', html)[0] == (
        "Lyon march"
    )


def test_a_card_says_when_in_the_events_zone_and_whether_there_is_room(client, campaign, db):
    event = make_event(campaign, title="Berlin vigil", starts_at=STARTS, capacity=2)
    make_rsvp(event)
    make_rsvp(event)
    db.session.commit()
    html = client.get(f"/en/c/{SLUG}/events").text
    time = tag(html, "time", datetime="2031-07-05T16:00:00Z")
    assert time["data-zone"] == "Europe/Berlin"
    assert "{time}" in time["data-reader-time"]
    page = text(html)
    assert "Saturday, July 5, 2031, 6:00 – 8:00 PM" in page
    assert "Central European Summer Time" in page
    assert "Full: join the waitlist" in page
    assert "In person" in page


def test_the_list_without_rallies_invites_to_propose_one(client, campaign):
    html = client.get(f"/en/c/{SLUG}/events").text
    assert "No rallies planned yet" in text(html)
    assert tags(html, "a", href=f"/en/c/{SLUG}/events/propose")


def test_the_list_names_countries_in_the_readers_language(client, campaign):
    html = client.get(f"/ru/c/{SLUG}/events").text
    assert tag(html, "option", value="DE")["value"] == "DE"
    assert "Германия" in html
    assert tag(html, "html")["lang"] == "ru"


def test_past_cancelled_and_proposed_events_are_not_listed(client, campaign, db):
    make_event(campaign, title="Long ago", starts_at=datetime(2020, 1, 1, tzinfo=UTC))
    make_event(campaign, title="Called off", status=EventStatus.CANCELLED)
    make_event(campaign, title="Waiting", status=EventStatus.PROPOSED)
    db.session.commit()
    page = text(client.get(f"/en/c/{SLUG}/events").text)
    assert "Long ago" not in page
    assert "Called off" not in page
    assert "Waiting" not in page


# --- one rally --------------------------------------------------------------------------------


def test_the_event_page_shows_what_when_where_and_the_form(client, event):
    html = client.get(f"/en/e/{event.id}").text
    page = text(html)
    assert "Vigil at the town hall" in page
    assert "<strong>candle</strong>" in html
    assert "Saturday, July 5, 2031, 6:00 – 8:00 PM" in page
    assert "(Central European Summer Time)" in page
    assert "Town hall square" in page
    assert "Rathausstraße 15" in page
    assert "Berlin, Germany" in page
    assert "vigil@example.org" in page
    assert "5 places left" in page
    # The form, found by its labels.
    for label in ("Full name", "Email", "Phone (optional)"):
        assert re.search(rf"<label[^>]*>\s*{re.escape(label)}\s*</label>", html), label
    consent = tag(html, "input", name="consent")
    assert consent["type"] == "checkbox"
    assert "required" in consent
    assert tag(html, "input", type="submit")["value"] == "RSVP"
    assert tag(html, "input", name="website")["tabindex"] == "-1"
    # Calendars, sharing, the way back.
    assert tag(html, "a", href=f"/en/e/{event.id}.ics")
    assert any("calendar.google.com" in a.get("href", "") for a in tags(html, "a"))
    assert tag(html, "input", id="share-url")["value"] == f"http://campaign.test/en/e/{event.id}"
    assert any(
        a["href"].startswith("https://wa.me/") for a in tags(html, "a", class_="share__link")
    )
    assert tags(html, "a", href=f"/en/c/{SLUG}")
    assert tag(html, "link", rel="canonical")["href"] == f"http://campaign.test/en/e/{event.id}"
    assert tag(html, "link", hreflang="ru")["href"] == f"http://campaign.test/ru/e/{event.id}"
    assert "<iframe" not in html


def test_an_event_with_coordinates_has_a_lazy_map_and_a_link(client, event, db):
    event.latitude, event.longitude = 52.5186, 13.4081
    db.session.commit()
    html = client.get(f"/en/e/{event.id}").text
    frame = tag(html, "iframe")
    assert frame["src"].startswith("https://www.openstreetmap.org/export/embed.html?bbox=")
    assert "marker=52.51860%2C13.40810" in frame["src"]
    assert frame["loading"] == "lazy"
    assert frame["title"]
    link = re.search(r'<a href="([^"]+)"[^>]*>Open the map</a>', html)
    assert link
    assert "mlat=52.51860" in link.group(1)


def test_the_event_page_in_russian(client, event):
    html = client.get(f"/ru/e/{event.id}").text
    assert tag(html, "html")["lang"] == "ru"
    assert "Германия" in text(html)
    assert "2031" in text(html)


def test_a_full_event_offers_the_waitlist(client, event, db):
    event.capacity = 1
    make_rsvp(event)
    db.session.commit()
    html = client.get(f"/en/e/{event.id}").text
    assert "Full: join the waitlist" in text(html)
    assert tag(html, "input", type="submit")["value"] == "Join the waitlist"


def test_a_cancelled_event_says_so_and_takes_no_rsvp(client, event, db):
    event.status = EventStatus.CANCELLED
    db.session.commit()
    html = client.get(f"/en/e/{event.id}").text
    assert "This event is cancelled." in text(html)
    assert not tags(html, "input", name="full_name")
    response = client.post(f"/en/e/{event.id}", data=rsvp_data())
    assert response.status_code == 302
    assert "no longer takes RSVPs" in flashes(client.get(path_of(response.location)).text)
    assert rsvps_of(db, event) == []


def test_events_of_draft_campaigns_unpublished_events_and_unknown_ids_are_not_found(client, db):
    draft = make_campaign(status=CampaignStatus.DRAFT)
    hidden = make_event(draft)
    open_campaign = make_campaign()
    proposed = make_event(open_campaign, status=EventStatus.PROPOSED)
    db.session.commit()
    for path in (
        f"/en/e/{hidden.id}",
        f"/en/e/{hidden.id}.ics",
        f"/en/c/{draft.slug}/events",
        f"/en/c/{draft.slug}/events/propose",
        f"/en/e/{proposed.id}",
        f"/en/e/{proposed.id}.ics",
        "/en/e/999999",
    ):
        assert client.get(path).status_code == 404, path


def test_the_calendar_file(client, event):
    response = client.get(f"/en/e/{event.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="event-{event.id}.ics"'
    body = response.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\n")
    assert "DTSTART:20310705T160000Z" in body
    assert "SUMMARY:Vigil at the town hall" in body
    assert f"http://campaign.test/en/e/{event.id}" in body.replace("\r\n ", "")


# --- RSVPs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "Enter your name."),
        ({"email": "not-an-address"}, "email", "Enter an email address like name@example.org."),
        ({"consent": None}, "consent", "Tick the box"),
    ],
)
def test_invalid_rsvps_are_shown_beside_the_field(client, event, db, overrides, field, message):
    response = client.post(f"/en/e/{event.id}", data=rsvp_data(phone="+49 30 1234", **overrides))
    assert response.status_code == 422
    html = response.text
    assert tag(html, id=f"{field}-error")["role"] == "alert"
    assert message in text(html)
    assert tag(html, "input", name="phone")["value"] == "+49 30 1234"
    assert rsvps_of(db, event) == []


def test_the_spam_trap_is_thanked_and_ignored(client, event, db):
    response = client.post(f"/en/e/{event.id}", data=rsvp_data(website="http://spam.example"))
    assert response.status_code == 302
    assert rsvps_of(db, event) == []


def test_rsvp_confirm_by_email_then_going(app, client, event, db, mail):
    response = client.post(f"/en/e/{event.id}", data=rsvp_data(phone="0301234"))
    assert response.status_code == 302
    assert "Check your email" in flashes(client.get(path_of(response.location)).text)
    (record,) = rsvps_of(db, event)
    assert record.status == RsvpStatus.UNCONFIRMED
    assert record.phone == "0301234"
    assert record.consent_text.startswith("The organizers of this event may use my name")

    deliver_mail(app, db)
    path = link_in_mail(mail, "amira@example.org", "/rsvp/confirm/")
    assert path.startswith(f"/en/e/{event.id}/rsvp/confirm/")
    # Opening the link (as a mail scanner would) changes nothing.
    html = client.get(path).text
    assert tag(html, "input", type="submit")["value"] == "Confirm I am coming"
    assert tag(html, "meta", name="robots")["content"] == "noindex"
    assert rsvps_of(db, event)[0].status == RsvpStatus.UNCONFIRMED

    response = client.post(path)
    assert response.status_code == 302
    assert "/rsvp/" in response.location
    assert "/confirm/" not in response.location
    html = client.get(path_of(response.location)).text
    assert "You are going" in text(html)
    assert tag(html, "a", href=f"/en/e/{event.id}.ics")
    assert tags(html, "a", href=f"/en/c/{SLUG}")
    assert tag(html, "input", name="cancel")["value"] == "I can't come"
    assert rsvps_of(db, event)[0].status == RsvpStatus.GOING

    # Following the link again just shows where they stand.
    assert client.get(path).status_code == 302


def test_a_browser_that_proved_the_address_is_going_at_once(app, client, event, campaign, db, mail):
    second = make_event(campaign, title="Second vigil", starts_at=STARTS + timedelta(days=7))
    db.session.commit()
    client.post(f"/en/e/{event.id}", data=rsvp_data())
    deliver_mail(app, db)
    client.post(link_in_mail(mail, "amira@example.org", "/rsvp/confirm/"))

    response = client.post(f"/en/e/{second.id}", data=rsvp_data())
    assert response.status_code == 302
    assert f"/en/e/{second.id}/rsvp/" in response.location
    assert "You are going" in text(client.get(path_of(response.location)).text)
    (record,) = rsvps_of(db, second)
    assert record.status == RsvpStatus.GOING


def test_someone_elses_address_learns_nothing(app, client, event, db):
    make_rsvp(event, email="noor@example.org")
    db.session.commit()
    response = client.post(f"/en/e/{event.id}", data=rsvp_data(email="noor@example.org"))
    assert response.status_code == 302
    assert f"/en/e/{event.id}/rsvp/" not in response.location
    assert "Check your email" in flashes(client.get(path_of(response.location)).text)


def test_a_full_event_puts_the_confirmed_rsvp_on_the_waitlist(app, client, event, db, mail):
    event.capacity = 1
    make_rsvp(event)
    db.session.commit()
    client.post(f"/en/e/{event.id}", data=rsvp_data())
    deliver_mail(app, db)
    response = client.post(link_in_mail(mail, "amira@example.org", "/rsvp/confirm/"))
    html = client.get(path_of(response.location)).text
    assert "You are on the waitlist" in text(html)
    assert [r.status for r in rsvps_of(db, event) if r.email == "amira@example.org"] == [
        RsvpStatus.WAITLISTED
    ]


def test_cancelling_offers_the_place_and_the_offer_can_be_taken(app, client, event, db, mail):
    event.capacity = 1
    going = make_rsvp(event, email="going@example.org")
    waiting = make_rsvp(event, email="waiting@example.org", status=RsvpStatus.WAITLISTED)
    db.session.commit()
    going_page, waiting_page = manage_path(app, going), manage_path(app, waiting)

    # Opening the page from the email cancels nothing: the button does.
    assert "You are going" in text(client.get(going_page).text)
    db.session.expire_all()
    assert db.session.get(Rsvp, going.id).status == RsvpStatus.GOING

    response = client.post(going_page, data={"cancel": "I can't come"})
    assert response.status_code == 302
    html = client.get(path_of(response.location)).text
    assert "Your RSVP is cancelled" in flashes(html)
    assert "You are not coming" in text(html)
    assert not tags(html, "input", name="cancel")

    db.session.expire_all()
    assert db.session.get(Rsvp, going.id).status == RsvpStatus.CANCELLED
    assert db.session.get(Rsvp, waiting.id).status == RsvpStatus.OFFERED

    html = client.get(waiting_page).text
    assert "A place is free for you" in text(html)
    assert tag(html, "input", name="accept")["value"] == "Take the place"
    client.post(waiting_page, data={"accept": "Take the place"})
    db.session.expire_all()
    assert db.session.get(Rsvp, waiting.id).status == RsvpStatus.GOING
    assert "You are going" in text(client.get(waiting_page).text)


def test_leaving_the_waitlist(app, client, event, db):
    waiting = make_rsvp(event, status=RsvpStatus.WAITLISTED)
    db.session.commit()
    page = manage_path(app, waiting)
    response = client.post(page, data={"cancel": "I can't come"})
    assert "You have left the waitlist." in flashes(client.get(path_of(response.location)).text)


def test_broken_expired_and_misdirected_links(app, client, event, campaign, db):
    other = make_event(campaign, starts_at=STARTS + timedelta(days=1))
    record = make_rsvp(event)
    db.session.commit()
    page = manage_path(app, record)
    assert client.get(page[:-3] + "xyz").status_code == 404
    # An RSVP's link under another event's address names nothing there.
    assert client.get(page.replace(f"/e/{event.id}/", f"/e/{other.id}/")).status_code == 404
    html = client.get(f"/en/e/{event.id}/rsvp/confirm/nonsense").text
    assert "This link does not work" in text(html)

    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    with app.test_request_context():
        token = rsvps.rsvp_token(record, rsvps.CONFIRM_PURPOSE)
    response = client.get(f"/en/e/{event.id}/rsvp/confirm/{token}")
    assert response.status_code == 410
    assert "This link has expired" in text(response.text)


def test_the_rsvp_rate_limit_has_a_setting(app):
    assert app.config["RSVP_RATE_LIMIT"] == "10 per minute;100 per hour"


# --- proposing a rally ------------------------------------------------------------------------


def proposal_data(**overrides) -> dict[str, str]:
    data = {
        "host_name": "Lena Vogel",
        "host_email": "lena@example.org",
        "title": "Picnic for clean water",
        "description": "Bring food to share.",
        "date": "2031-08-02",
        "starts": "14:00",
        "ends": "17:00",
        "timezone": "Europe/Berlin",
        "mode": "in_person",
        "venue": "Tempelhofer Feld",
        "city": "Berlin",
        "country": "DE",
        "capacity": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_proposal_form(client, campaign):
    html = client.get(f"/en/c/{SLUG}/events/propose", headers={"Accept-Language": "de-DE"}).text
    for label in ("Your name", "Your email", "Title of the event", "Date", "Time zone", "City"):
        assert re.search(rf"<label[^>]*>\s*{re.escape(label)}\s*</label>", html), label
    zone = tag(html, "select", name="timezone")
    assert "data-guess-zone" in zone
    assert tag(html, "option", value="UTC")["selected"] is not None
    assert tag(html, "option", value="Europe/Berlin")
    assert tag(html, "option", value="DE")["selected"] is not None


def test_propose_confirm_by_email_then_organizers_then_host_page(app, client, campaign, db, mail):
    response = client.post(f"/en/c/{SLUG}/events/propose", data=proposal_data())
    assert response.status_code == 302
    assert path_of(response.location) == f"/en/c/{SLUG}/events/proposed"
    assert "check your email" in text(client.get(response.location).text)
    event = db.session.scalar(select(Event).where(Event.title == "Picnic for clean water"))
    assert event.status == EventStatus.UNCONFIRMED
    assert event.starts_at == datetime(2031, 8, 2, 12, 0, tzinfo=UTC)
    assert event.host_name == "Lena Vogel"
    assert event.language == "en"

    deliver_mail(app, db)
    path = link_in_mail(mail, "lena@example.org", "/events/proposals/confirm/")
    html = client.get(path).text
    assert tag(html, "input", type="submit")["value"] == "Confirm my proposal"
    response = client.post(path)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == EventStatus.PROPOSED
    html = client.get(path).text
    assert "your proposal is with the organizers" in text(html)
    host_link = tag(html, "a", class_="button button--quiet")["href"]
    assert f"/en/e/{event.id}/host/" in host_link
    assert client.get(host_link).status_code == 200
    # Not public until an organizer publishes it.
    assert client.get(f"/en/e/{event.id}").status_code == 404


def test_a_known_host_goes_straight_to_the_organizers(app, client, campaign, event, db, mail):
    client.post(f"/en/e/{event.id}", data=rsvp_data(email="lena@example.org"))
    deliver_mail(app, db)
    client.post(link_in_mail(mail, "lena@example.org", "/rsvp/confirm/"))
    response = client.post(f"/en/c/{SLUG}/events/propose", data=proposal_data())
    assert response.location.endswith("step=review")
    assert "with the organizers" in text(client.get(response.location).text)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"city": ""}, "city", "Enter the city where people meet."),
        ({"ends": "13:00"}, "ends", "The end must be after the start."),
        ({"date": "2020-01-01"}, "date", "Choose a day and time that have not passed yet."),
        ({"mode": "online"}, "online_url", "Enter the link to join online"),
        ({"capacity": "0"}, "capacity", "Enter a number of places above zero."),
        ({"date": "soon"}, "date", "Enter a date, like 2025-01-31."),
        ({"title": ""}, "title", "Enter a title."),
        ({"host_email": "nobody"}, "host_email", "Enter an email address like"),
    ],
)
def test_invalid_proposals_are_shown_beside_the_field(
    client, campaign, db, overrides, field, message
):
    response = client.post(f"/en/c/{SLUG}/events/propose", data=proposal_data(**overrides))
    assert response.status_code == 422
    html = response.text
    assert message in element(html, f"{field}-error")
    assert tag(html, "input", name="host_name")["value"] == "Lena Vogel"
    # What the person chose stands: the script does not replace it.
    assert "data-guess-zone" not in tag(html, "select", name="timezone")
    assert tag(html, "option", value="Europe/Berlin")["selected"] is not None
    assert db.session.scalar(select(Event.id)) is None


def element(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no element {element_id}"
    return text(match.group(1))


def test_a_closed_campaign_takes_no_proposals(client, campaign, db):
    campaign.status = CampaignStatus.CLOSED
    db.session.commit()
    assert client.get(f"/en/c/{SLUG}/events/propose").status_code == 409
    assert client.post(f"/en/c/{SLUG}/events/propose", data=proposal_data()).status_code == 409
    assert "Propose a rally" not in text(client.get(f"/en/c/{SLUG}/events").text)


def test_a_broken_proposal_link(client, campaign):
    response = client.get("/en/events/proposals/confirm/nonsense")
    assert response.status_code == 404
    assert "This link does not work" in text(response.text)


def test_the_spam_trap_on_proposals(client, campaign, db):
    response = client.post(
        f"/en/c/{SLUG}/events/propose", data=proposal_data(website="http://spam.example")
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Event.id)) is None


# --- hosting ----------------------------------------------------------------------------------


@pytest.fixture
def hosted(db, event):
    event.host_name, event.host_email, event.host_email_key = (
        "Lena Vogel",
        "lena@example.org",
        "lena@example.org",
    )
    db.session.commit()
    return event


def test_the_host_page_needs_its_token(app, client, hosted, campaign, db):
    other = make_event(campaign, host_name="Max", host_email="max@example.org",
                       host_email_key="max@example.org")  # fmt: skip
    db.session.commit()
    assert client.get(f"/en/e/{hosted.id}/host/nonsense").status_code == 404
    # Another event's host link does not open this one.
    assert (
        client.get(host_path(app, other).replace(f"/e/{other.id}/", f"/e/{hosted.id}/")).status_code
        == 404
    )
    assert client.get(host_path(app, hosted)).status_code == 200


def test_the_host_sees_names_and_counts_not_addresses(app, client, hosted, db):
    make_rsvp(hosted, full_name="Going Person", email="going@example.org")
    make_rsvp(hosted, full_name="Waiting Person", status=RsvpStatus.WAITLISTED)
    make_rsvp(hosted, full_name="Gone Person", status=RsvpStatus.CANCELLED)
    make_rsvp(hosted, full_name="Unsure Person", status=RsvpStatus.UNCONFIRMED)
    db.session.commit()
    html = client.get(host_path(app, hosted)).text
    page = text(html)
    assert "Going Person" in page
    assert "Waiting Person" in page
    assert "Gone Person" not in page
    assert "Unsure Person" not in page
    assert "1 going" in page
    assert "1 on the waitlist" in page
    assert "going@example.org" not in html
    assert tag(html, "meta", name="referrer")["content"] == "no-referrer"


def test_the_host_messages_attendees_through_the_outbox(app, client, hosted, db, mail):
    make_rsvp(hosted, email="going@example.org", language="ru")
    make_rsvp(hosted, email="offered@example.org", status=RsvpStatus.OFFERED)
    make_rsvp(hosted, email="waiting@example.org", status=RsvpStatus.WAITLISTED)
    make_rsvp(hosted, email="unsure@example.org", status=RsvpStatus.UNCONFIRMED)
    make_rsvp(hosted, email="gone@example.org", status=RsvpStatus.CANCELLED)
    db.session.commit()
    page = host_path(app, hosted)

    response = client.post(page, data={"body": ""})
    assert response.status_code == 422
    assert "Write your message." in text(response.text)

    response = client.post(page, data={"body": "Meet at the fountain, 17:45."})
    assert response.status_code == 302
    assert "on its way to 3 people" in flashes(client.get(page).text)
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "event_host_message")
    ).all()
    assert sorted(m.to_email for m in messages) == [
        "going@example.org",
        "offered@example.org",
        "waiting@example.org",
    ]
    assert all("Meet at the fountain, 17:45." in m.text_body for m in messages)
    assert all("lena@example.org" not in m.text_body for m in messages)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.host_message"))
    assert entry.details == {"event": hosted.id, "recipients": 3}
    deliver_mail(app, db)
    assert "/rsvp/" in " ".join(mail.to("going@example.org")[0].links())


def test_the_host_may_send_a_few_messages_a_day(app, client, hosted, db):
    make_rsvp(hosted)
    db.session.commit()
    page = host_path(app, hosted)
    for n in range(host_messages.MESSAGES_PER_DAY):
        assert client.post(page, data={"body": f"Note {n}"}).status_code == 302
    html = client.get(page).text
    assert "as many messages as a day allows" in text(html)
    response = client.post(page, data={"body": "One more"})
    assert response.status_code == 422
    assert "Please try again tomorrow" in text(response.text)


def test_an_unpublished_event_cannot_be_messaged(app, client, hosted, db):
    hosted.status = EventStatus.PROPOSED
    make_rsvp(hosted)
    db.session.commit()
    page = host_path(app, hosted)
    html = client.get(page).text
    assert "Waiting for the organizers" in text(html)
    assert not tags(html, "textarea", name="body")
    client.post(page, data={"body": "Hello"})
    assert db.session.scalar(select(OutboxMessage.id)) is None


# --- the nearest rally beside the petition ----------------------------------------------------


def test_the_signed_page_offers_the_rally_in_the_signers_city(client, campaign, db):
    make_event(campaign, title="Berlin vigil", city="Berlin", country="DE", starts_at=STARTS)
    make_event(campaign, title="Lyon march", city="Lyon", country="FR", starts_at=STARTS)
    db.session.commit()
    response = client.post(f"/en/c/{SLUG}", data=sign_data(city="Lyon", country="FR"))
    html = client.get(path_of(response.location)).text
    card = re.search(r'<section class="card rally".*?</section>', html, re.S).group(0)
    assert "Rally near you" in text(card)
    assert "Lyon march" in text(card)
    assert "Jul 5, 2031" in text(card)
    assert "Lyon, France" in text(card)
    # The list of rallies starts from the same place.
    html = client.get(f"/en/c/{SLUG}/events").text
    assert tag(html, "input", name="city")["value"] == "Lyon"


def test_the_petition_page_guesses_the_country_from_the_browser(client, campaign, db):
    make_event(campaign, title="Berlin vigil", city="Berlin", country="DE", starts_at=STARTS)
    db.session.commit()
    html = client.get(f"/en/c/{SLUG}", headers={"Accept-Language": "de-DE,en;q=0.5"}).text
    assert "Berlin vigil" in text(html)
    html = client.get(f"/en/c/{SLUG}", headers={"Accept-Language": "fr-FR"}).text
    assert "Berlin vigil" not in text(html)
    assert "No rally near you yet" in text(html)
    assert tags(html, "a", href=f"/en/c/{SLUG}/events/propose")


def test_the_thanks_page_invites_to_propose_when_there_is_no_rally(client, campaign):
    html = client.get(f"/en/c/{SLUG}/thanks").text
    assert "No rally near you yet" in text(html)
    assert tags(html, "a", href=f"/en/c/{SLUG}/events/propose")


def test_confirming_on_another_device_offers_the_rally_in_the_signers_city(app, campaign, db):
    # Signed on a laptop, confirmed from the email on a phone: the phone's thanks page still
    # knows where the signer lives.
    from campaign.models import Signature
    from campaign.services import signing

    make_event(campaign, title="Lyon march", city="Lyon", country="FR", starts_at=STARTS)
    db.session.commit()
    app.test_client().post(f"/en/c/{SLUG}", data=sign_data(city="Lyon", country="FR"))
    signature = db.session.scalars(select(Signature)).one()
    phone = app.test_client()
    token = signing.confirmation_token(signature)
    response = phone.post(f"/en/c/{SLUG}/confirm/{token}")
    html = phone.get(path_of(response.location)).text
    assert "Lyon march" in text(html)
