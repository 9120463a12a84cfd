"""RSVPs to rallies: confirming, places and the waitlist, offers of freed places, reminders, and a
person's RSVPs in their data (campaign/services/rsvps.py).

People sign up through the service and follow the links in the emails it writes, as they would.
Every test here runs on SQLite and on PostgreSQL (the `app` fixture is parametrized); the ones
with threads race real connections against each other.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from babel.dates import format_time
from sqlalchemy import func, select

from campaign.models import (
    CampaignStatus,
    Event,
    EventStatus,
    OutboxMessage,
    OutboxStatus,
    Rsvp,
    RsvpStatus,
    TrustedHost,
)
from campaign.models.types import utcnow
from campaign.services import events, people, rsvps
from campaign.services.email_addresses import mailbox_digest
from campaign.services.errors import EventClosed, InvalidEmail, InvalidToken, PersonNotFound
from campaign.services.rsvps import RsvpData
from campaign.services.tokens import make_token
from tests.factories import make_campaign, make_event, make_organizer, make_rsvp

CONFIRM_LINK = re.compile(r"/e/\d+/rsvp/confirm/([A-Za-z0-9_.\-]+)")
MANAGE_LINK = re.compile(r"/e/\d+/rsvp/(?!confirm/)([A-Za-z0-9_.\-]+)")


@pytest.fixture
def campaign(db):
    return make_campaign(slug="air", title="Clean air now", languages=("en", "ru"))


@pytest.fixture
def event(db, campaign):
    """A rally with two places, three days ahead."""
    event = make_event(campaign, capacity=2)
    db.session.commit()
    return event


# --- helpers: people act through the service and the links in their emails ----------------------


def _sign_up(db, event, email, *, name=None, language="en", known=(), phone="") -> rsvps.RsvpResult:
    result = rsvps.rsvp(
        db.session,
        db.session.get(Event, event.id),
        RsvpData(name or email.split("@")[0].title(), email, phone, "I agree to be contacted."),
        language=language,
        known_mailboxes=known,
    )
    db.session.commit()
    return result


def _emails(db, *, to: str | None = None, kind: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if to:
        query = query.where(OutboxMessage.to_email == to)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def _last_email(db, to: str, kind: str | None = None) -> OutboxMessage:
    found = _emails(db, to=to, kind=kind)
    assert found, f"no {kind or 'email'} to {to}"
    return found[-1]


def _link(message: OutboxMessage, pattern: re.Pattern) -> str:
    return pattern.search(message.text_body).group(1)


def _confirm(db, email) -> Rsvp:
    """Follow the confirmation link in the last email to `email`."""
    record = rsvps.confirm(db.session, _link(_last_email(db, email, "rsvp_confirm"), CONFIRM_LINK))
    db.session.commit()
    return record


def _join(db, event, email, **kw) -> Rsvp:
    """Sign up and confirm: the person ends up going or on the waitlist."""
    _sign_up(db, event, email, **kw)
    return _confirm(db, email)


def _manage_token(db, email, kind: str | None = None) -> str:
    return _link(_last_email(db, email, kind), MANAGE_LINK)


def _cant_come(db, email, kind: str | None = None) -> Rsvp:
    """Follow the "I can't come" link in the last email (of `kind`) to `email`."""
    record = rsvps.cancel(db.session, _manage_token(db, email, kind))
    db.session.commit()
    return record


def _status(db, email) -> RsvpStatus:
    db.session.expire_all()
    return db.session.scalar(select(Rsvp.status).where(Rsvp.email == email))


def _rsvp_of(db, email) -> Rsvp:
    db.session.expire_all()
    return db.session.scalar(select(Rsvp).where(Rsvp.email == email))


def _taken(db, event: Event | int) -> int:
    event_id = event if isinstance(event, int) else event.id
    db.session.expire_all()
    return db.session.get(Event, event_id).taken


def _soon(db, event, hours: float = 20) -> None:
    """Move the event to start within the reminder's reach."""
    event = db.session.get(Event, event.id)
    event.starts_at = utcnow() + timedelta(hours=hours)
    event.ends_at = event.starts_at + timedelta(hours=2)
    db.session.commit()


# --- what the issue calls done -------------------------------------------------------------------


def test_three_supporters_two_places_one_cancels_from_the_reminder(db, event):
    for name in ("ann", "ben", "cem"):
        _sign_up(db, event, f"{name}@example.org")
    for name in ("ann", "ben", "cem"):
        _confirm(db, f"{name}@example.org")

    assert _status(db, "ann@example.org") == RsvpStatus.GOING
    assert _status(db, "ben@example.org") == RsvpStatus.GOING
    assert _status(db, "cem@example.org") == RsvpStatus.WAITLISTED
    assert _last_email(db, "cem@example.org").kind == "rsvp_waitlisted"

    _soon(db, event)
    assert rsvps.send_reminders(db.session) == 2
    assert rsvps.send_reminders(db.session) == 0  # the job ran twice: nobody hears twice
    reminders = _emails(db, kind="rsvp_reminder")
    assert sorted(m.to_email for m in reminders) == ["ann@example.org", "ben@example.org"]

    _cant_come(db, "ben@example.org", "rsvp_reminder")  # the link in the reminder

    assert _status(db, "ben@example.org") == RsvpStatus.CANCELLED
    assert _status(db, "cem@example.org") == RsvpStatus.OFFERED
    offer = _last_email(db, "cem@example.org")
    assert offer.kind == "rsvp_offer"
    assert _taken(db, event) == 2  # Ben's place is held for Cem

    rsvps.accept_offer(db.session, _manage_token(db, "cem@example.org", "rsvp_offer"))
    db.session.commit()

    assert _status(db, "cem@example.org") == RsvpStatus.GOING
    assert _last_email(db, "cem@example.org").kind == "rsvp_going"
    assert _taken(db, event) == 2
    # Cem went from the waitlist to a place after the reminders: the next run reminds Cem only.
    assert rsvps.send_reminders(db.session) == 1
    assert rsvps.send_reminders(db.session) == 0
    assert len(_emails(db, kind="rsvp_reminder")) == 3


# --- signing up and confirming -------------------------------------------------------------------


def test_signing_up_sends_a_confirmation_link_and_takes_no_place(db, event):
    result = _sign_up(db, event, "Ann@Example.org", name="  Ann   Lee ", phone=" +49 30 1234 ")

    assert result.needs_confirmation
    record = _rsvp_of(db, "Ann@example.org")
    assert record.status == RsvpStatus.UNCONFIRMED
    assert record.full_name == "Ann Lee"
    assert record.email_key == "ann@example.org"
    assert record.phone == "+49 30 1234"
    assert record.consent_text == "I agree to be contacted."
    assert record.confirmed_at is None
    assert _taken(db, event) == 0
    [message] = _emails(db)
    assert message.kind == "rsvp_confirm"
    assert message.to_email == "Ann@example.org"
    assert message.to_name == "Ann Lee"
    assert CONFIRM_LINK.search(message.text_body)
    assert f"/en/e/{event.id}/rsvp/confirm/" in message.html_body


def test_confirming_takes_a_place_and_says_so(db, event):
    _sign_up(db, event, "ann@example.org")
    record = _confirm(db, "ann@example.org")

    assert record.status == RsvpStatus.GOING
    assert record.confirmed_at is not None
    assert _taken(db, event) == 1
    going = _last_email(db, "ann@example.org")
    assert going.kind == "rsvp_going"
    assert f"/en/e/{event.id}.ics" in going.text_body
    assert MANAGE_LINK.search(going.text_body)  # "I can't come"


def test_confirming_twice_takes_one_place(db, event):
    _sign_up(db, event, "ann@example.org")
    token = _link(_last_email(db, "ann@example.org"), CONFIRM_LINK)
    rsvps.confirm(db.session, token)
    db.session.commit()
    rsvps.confirm(db.session, token)
    db.session.commit()

    assert _taken(db, event) == 1
    assert len(_emails(db, kind="rsvp_going")) == 1


def test_when_the_places_are_gone_people_join_the_waitlist(db, event):
    _join(db, event, "ann@example.org")
    _join(db, event, "ben@example.org")
    record = _join(db, event, "cem@example.org")

    assert record.status == RsvpStatus.WAITLISTED
    assert record.waitlisted_at is not None
    assert _taken(db, event) == 2
    waitlisted = _last_email(db, "cem@example.org")
    assert waitlisted.kind == "rsvp_waitlisted"
    assert "24 hours" in waitlisted.text_body
    assert MANAGE_LINK.search(waitlisted.text_body)


def test_an_event_without_a_limit_never_waitlists(db, campaign):
    event = make_event(campaign, capacity=None)
    db.session.commit()
    for n in range(5):
        assert _join(db, event, f"p{n}@example.org").status == RsvpStatus.GOING
    assert _taken(db, event) == 5


def test_a_browser_that_proved_the_address_needs_no_confirmation(db, event):
    result = _sign_up(db, event, "ann@example.org", known=(mailbox_digest("ann@example.org"),))

    assert not result.needs_confirmation
    assert _status(db, "ann@example.org") == RsvpStatus.GOING
    assert [m.kind for m in _emails(db)] == ["rsvp_going"]


def test_signing_up_again_before_confirming_sends_the_link_again(db, event):
    first = _sign_up(db, event, "Ann.Lee@gmail.com")
    again = _sign_up(db, event, "annlee+rally@googlemail.com")  # the same mailbox

    assert again.needs_confirmation
    assert again.rsvp.id == first.rsvp.id
    assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 1
    assert [m.kind for m in _emails(db)] == ["rsvp_confirm", "rsvp_confirm"]
    # Either link works.
    _confirm(db, "Ann.Lee@gmail.com")
    assert _status(db, "Ann.Lee@gmail.com") == RsvpStatus.GOING


def test_signing_up_again_from_a_proven_browser_confirms(db, event):
    _sign_up(db, event, "ann@example.org")
    result = _sign_up(db, event, "ann@example.org", known=(mailbox_digest("ann@example.org"),))

    assert not result.needs_confirmation
    assert _status(db, "ann@example.org") == RsvpStatus.GOING
    assert _taken(db, event) == 1


@pytest.mark.parametrize(
    ("people_ahead", "status", "words"),
    [(0, RsvpStatus.GOING, "You have a place."),
     (2, RsvpStatus.WAITLISTED, "You are on the waitlist")],
)  # fmt: skip
def test_signing_up_again_after_confirming_tells_where_you_stand(
    db, event, people_ahead, status, words
):
    for n in range(people_ahead):
        _join(db, event, f"ahead{n}@example.org")
    _join(db, event, "ann@example.org")

    result = _sign_up(db, event, "ann@example.org")

    assert not result.needs_confirmation
    assert result.rsvp.status == status
    message = _last_email(db, "ann@example.org")
    assert message.kind == "rsvp_status"
    assert words in message.text_body
    assert MANAGE_LINK.search(message.text_body)
    assert _taken(db, event) == (2 if people_ahead else 1)


def test_coming_after_all_after_cancelling(db, event):
    _join(db, event, "ann@example.org")
    _soon(db, event)
    rsvps.send_reminders(db.session)
    first = _cant_come(db, "ann@example.org")
    assert _taken(db, event) == 0

    again = _sign_up(db, event, "ann@example.org", name="Ann Again", language="ru")

    assert again.needs_confirmation
    assert again.rsvp.id == first.id  # the same row, made new
    record = _rsvp_of(db, "ann@example.org")
    assert record.status == RsvpStatus.UNCONFIRMED
    assert (record.full_name, record.language) == ("Ann Again", "ru")
    assert record.cancelled_at is record.confirmed_at is record.reminder_sent_at is None
    assert _last_email(db, "ann@example.org").language == "ru"
    _confirm(db, "ann@example.org")
    assert _status(db, "ann@example.org") == RsvpStatus.GOING
    assert rsvps.send_reminders(db.session) == 1  # a new RSVP, a new reminder


def test_coming_back_after_cancelling_goes_to_the_back_of_the_waitlist(db, event):
    _join(db, event, "ann@example.org")
    _join(db, event, "ben@example.org")
    _join(db, event, "cem@example.org")  # waitlisted
    _cant_come(db, "cem@example.org")
    _join(db, event, "dan@example.org")  # waitlisted
    _join(db, event, "cem@example.org")  # back, behind Dan

    _cant_come(db, "ann@example.org")

    assert _status(db, "dan@example.org") == RsvpStatus.OFFERED
    assert _status(db, "cem@example.org") == RsvpStatus.WAITLISTED


@pytest.mark.parametrize("closed", ["cancelled", "over", "draft"])
def test_no_rsvps_to_an_event_that_is_closed(db, campaign, closed):
    event = make_event(campaign)
    if closed == "cancelled":
        event.status = EventStatus.CANCELLED
    elif closed == "over":
        event.starts_at = utcnow() - timedelta(hours=5)
        event.ends_at = utcnow() - timedelta(hours=3)
    else:
        campaign.status = CampaignStatus(closed)
    db.session.commit()

    assert not rsvps.accepts_rsvps(event)
    with pytest.raises(EventClosed):
        _sign_up(db, event, "ann@example.org")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 0
    assert _emails(db) == []


def test_an_event_cancelled_before_the_link_is_followed_takes_no_one(db, event):
    _sign_up(db, event, "ann@example.org")
    events.cancel_event(db.session, None, db.session.get(Event, event.id))
    db.session.commit()

    with pytest.raises(EventClosed):
        _confirm(db, "ann@example.org")
    db.session.rollback()
    assert _status(db, "ann@example.org") == RsvpStatus.UNCONFIRMED
    assert _taken(db, event) == 0


def test_signing_up_needs_a_name_and_an_address(db, event):
    with pytest.raises(InvalidEmail):
        _sign_up(db, event, "not-an-address")
    db.session.rollback()
    with pytest.raises(ValueError, match="full_name"):
        _sign_up(db, event, "ann@example.org", name="   ")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 0


def test_links_open_only_their_own_rsvp_for_their_own_purpose(app, db, event):
    _sign_up(db, event, "ann@example.org")
    confirm_token = _link(_last_email(db, "ann@example.org"), CONFIRM_LINK)
    manage_token = rsvps.rsvp_token(_rsvp_of(db, "ann@example.org"), rsvps.MANAGE_PURPOSE)

    with pytest.raises(InvalidToken):
        rsvps.cancel(db.session, confirm_token)
    with pytest.raises(InvalidToken):
        rsvps.confirm(db.session, manage_token)
    with pytest.raises(InvalidToken):
        rsvps.confirm(db.session, confirm_token[:-3] + "abc")
    record = _rsvp_of(db, "ann@example.org")
    forged = make_token(
        app.config["SECRET_KEY"], rsvps.CONFIRM_PURPOSE,
        {"r": record.id, "k": mailbox_digest("ben@example.org")},
    )  # fmt: skip
    with pytest.raises(InvalidToken):
        rsvps.confirm(db.session, forged)
    with pytest.raises(InvalidToken):
        rsvps.rsvp_for_token(db.session, make_token(
            app.config["SECRET_KEY"], rsvps.MANAGE_PURPOSE, {"r": 999_999, "k": "x"}
        ), rsvps.MANAGE_PURPOSE)  # fmt: skip
    with pytest.raises(InvalidToken):
        rsvps.rsvp_for_token(
            db.session, make_token(app.config["SECRET_KEY"], rsvps.MANAGE_PURPOSE, [1, 2]),
            rsvps.MANAGE_PURPOSE,
        )  # fmt: skip
    assert _status(db, "ann@example.org") == RsvpStatus.UNCONFIRMED


# --- cancelling and the waitlist -----------------------------------------------------------------


def _full_with_waitlist(db, event, waiting: int = 2) -> None:
    _join(db, event, "ann@example.org")
    _join(db, event, "ben@example.org")
    for n in range(1, waiting + 1):
        _join(db, event, f"wait{n}@example.org")


def test_cancelling_frees_the_place_for_the_first_on_the_waitlist(db, event):
    _full_with_waitlist(db, event, waiting=3)

    record = _cant_come(db, "ann@example.org")

    assert record.status == RsvpStatus.CANCELLED
    assert record.cancelled_at is not None
    assert _status(db, "wait1@example.org") == RsvpStatus.OFFERED
    assert _status(db, "wait2@example.org") == RsvpStatus.WAITLISTED
    assert _status(db, "wait3@example.org") == RsvpStatus.WAITLISTED
    offered = _rsvp_of(db, "wait1@example.org")
    assert offered.offer_expires_at - offered.offered_at == timedelta(hours=rsvps.OFFER_HOURS)
    offer = _last_email(db, "wait1@example.org")
    assert offer.kind == "rsvp_offer"
    assert "24 hours" in offer.text_body
    assert MANAGE_LINK.search(offer.text_body)
    assert _taken(db, event) == 2
    assert [m.kind for m in _emails(db, to="ann@example.org")][-1] == "rsvp_going"  # no email


def test_cancelling_twice_frees_one_place(db, event):
    _full_with_waitlist(db, event)
    token = _manage_token(db, "ann@example.org")

    rsvps.cancel(db.session, token)
    db.session.commit()
    rsvps.cancel(db.session, token)
    db.session.commit()

    assert _status(db, "wait1@example.org") == RsvpStatus.OFFERED
    assert _status(db, "wait2@example.org") == RsvpStatus.WAITLISTED
    assert len(_emails(db, kind="rsvp_offer")) == 1
    assert rsvps.cancel_rsvp(db.session, _rsvp_of(db, "ann@example.org")) is False


def test_leaving_the_waitlist_frees_no_place(db, event):
    _full_with_waitlist(db, event)

    _cant_come(db, "wait1@example.org")

    assert _status(db, "wait1@example.org") == RsvpStatus.CANCELLED
    assert _status(db, "wait2@example.org") == RsvpStatus.WAITLISTED
    assert _emails(db, kind="rsvp_offer") == []
    assert _taken(db, event) == 2


def test_an_unconfirmed_rsvp_can_be_cancelled(db, event):
    _sign_up(db, event, "ann@example.org")
    rsvps.cancel(
        db.session, rsvps.rsvp_token(_rsvp_of(db, "ann@example.org"), rsvps.MANAGE_PURPOSE)
    )
    db.session.commit()
    assert _status(db, "ann@example.org") == RsvpStatus.CANCELLED
    assert _taken(db, event) == 0


def test_the_waitlist_keeps_its_order(db, event):
    _full_with_waitlist(db, event, waiting=3)

    _cant_come(db, "ann@example.org")
    _cant_come(db, "ben@example.org")

    assert _status(db, "wait1@example.org") == RsvpStatus.OFFERED
    assert _status(db, "wait2@example.org") == RsvpStatus.OFFERED
    assert _status(db, "wait3@example.org") == RsvpStatus.WAITLISTED
    # An offer declined goes to the next in line.
    _cant_come(db, "wait1@example.org", "rsvp_offer")
    assert _status(db, "wait3@example.org") == RsvpStatus.OFFERED
    assert _taken(db, event) == 2


def test_nobody_overtakes_the_waitlist(db, campaign):
    # A place is free while people wait (say it was just freed and not yet offered): a newcomer
    # joins the back of the line instead of taking it.
    event = make_event(campaign, capacity=3)
    make_rsvp(event, email="going1@example.org")
    make_rsvp(event, email="going2@example.org")
    make_rsvp(event, status=RsvpStatus.WAITLISTED, email="waiting@example.org")
    db.session.commit()

    record = _join(db, event, "newcomer@example.org")

    assert record.status == RsvpStatus.WAITLISTED
    assert _taken(db, event) == 2
    # When the free place is offered, it goes to the one who waited longest.
    assert rsvps.offer_free_places(db.session, db.session.get(Event, event.id)) == 1
    db.session.commit()
    assert _status(db, "waiting@example.org") == RsvpStatus.OFFERED
    assert _status(db, "newcomer@example.org") == RsvpStatus.WAITLISTED


def test_an_organizer_cancelling_an_rsvp_frees_the_place_too(db, event):
    _full_with_waitlist(db, event)
    assert rsvps.cancel_rsvp(db.session, _rsvp_of(db, "ben@example.org")) is True
    db.session.commit()
    assert _status(db, "wait1@example.org") == RsvpStatus.OFFERED


# --- offers --------------------------------------------------------------------------------------


def test_taking_an_offered_place(db, event):
    _full_with_waitlist(db, event)
    _cant_come(db, "ann@example.org")

    record = rsvps.accept_offer(db.session, _manage_token(db, "wait1@example.org", "rsvp_offer"))
    db.session.commit()

    assert record.status == RsvpStatus.GOING
    assert record.offered_at is record.offer_expires_at is None
    assert _last_email(db, "wait1@example.org").kind == "rsvp_going"
    assert _taken(db, event) == 2
    # Following the link again changes nothing.
    rsvps.accept_offer(db.session, _manage_token(db, "wait1@example.org", "rsvp_offer"))
    db.session.commit()
    assert len(_emails(db, to="wait1@example.org", kind="rsvp_going")) == 1


def test_only_an_offer_can_be_accepted(db, event):
    _full_with_waitlist(db, event)
    for email in ("ann@example.org", "wait1@example.org"):
        status = _status(db, email)
        rsvps.accept_offer(db.session, _manage_token(db, email))
        db.session.commit()
        assert _status(db, email) == status
    assert _taken(db, event) == 2


def test_an_offer_not_taken_in_time_passes_on(db, event):
    _full_with_waitlist(db, event)
    _cant_come(db, "ann@example.org")
    deadline = _rsvp_of(db, "wait1@example.org").offer_expires_at

    assert rsvps.expire_offers(db.session, now=deadline - timedelta(minutes=1)) == 0
    db.session.commit()
    assert _status(db, "wait1@example.org") == RsvpStatus.OFFERED

    assert rsvps.expire_offers(db.session, now=deadline) == 1
    db.session.commit()

    assert _status(db, "wait1@example.org") == RsvpStatus.CANCELLED
    expired = _last_email(db, "wait1@example.org")
    assert expired.kind == "rsvp_offer_expired"
    assert f"/en/e/{event.id}" in expired.text_body  # where to sign up again
    assert _status(db, "wait2@example.org") == RsvpStatus.OFFERED
    assert _rsvp_of(db, "wait2@example.org").offered_at == deadline
    assert _taken(db, event) == 2
    # The lapsed link no longer takes the place.
    rsvps.accept_offer(db.session, _manage_token(db, "wait1@example.org", "rsvp_offer"))
    db.session.commit()
    assert _status(db, "wait1@example.org") == RsvpStatus.CANCELLED


def test_an_offer_past_its_time_cannot_be_taken_even_before_the_job_runs(db, event):
    _full_with_waitlist(db, event)
    _cant_come(db, "ann@example.org")
    record = _rsvp_of(db, "wait1@example.org")
    record.offer_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    rsvps.accept_offer(db.session, _manage_token(db, "wait1@example.org", "rsvp_offer"))
    db.session.commit()

    assert _status(db, "wait1@example.org") == RsvpStatus.OFFERED  # the job passes it on
    assert rsvps.expire_offers(db.session) == 1
    db.session.commit()
    assert _status(db, "wait1@example.org") == RsvpStatus.CANCELLED
    assert _status(db, "wait2@example.org") == RsvpStatus.OFFERED


def test_an_offer_never_outlives_the_start(db, campaign):
    event = make_event(campaign, capacity=1, starts_in=timedelta(hours=5))
    db.session.commit()
    _join(db, event, "ann@example.org")
    _join(db, event, "ben@example.org")

    _cant_come(db, "ann@example.org")

    record = _rsvp_of(db, "ben@example.org")
    assert record.offer_expires_at == db.session.get(Event, event.id).starts_at
    assert "when the event starts" in _last_email(db, "ben@example.org").text_body


def test_an_offer_on_a_cancelled_event_cannot_be_taken_and_lapses_quietly(db, event):
    _full_with_waitlist(db, event)
    _cant_come(db, "ann@example.org")
    events.cancel_event(db.session, None, db.session.get(Event, event.id))
    db.session.commit()
    assert _last_email(db, "wait1@example.org").kind == "event_cancelled"

    with pytest.raises(EventClosed):
        rsvps.accept_offer(db.session, _manage_token(db, "wait1@example.org", "rsvp_offer"))
    db.session.rollback()
    assert _status(db, "wait1@example.org") == RsvpStatus.OFFERED

    deadline = _rsvp_of(db, "wait1@example.org").offer_expires_at
    rsvps.expire_offers(db.session, now=deadline)
    db.session.commit()
    # They were told of the cancellation; no "your place has gone to the next person" after it.
    assert _last_email(db, "wait1@example.org").kind == "event_cancelled"
    assert _status(db, "wait2@example.org") == RsvpStatus.WAITLISTED


def test_no_offers_once_the_event_has_started(db, campaign):
    # An offer ends at the start at the latest: made later, it would lapse at once and the
    # next run would pass it on, down the whole waitlist, an email to each.
    event = make_event(campaign, capacity=1, starts_in=timedelta(hours=2))
    db.session.commit()
    _join(db, event, "ann@example.org")
    _join(db, event, "ben@example.org")
    _join(db, event, "cem@example.org")
    _cant_come(db, "ann@example.org")
    assert _status(db, "ben@example.org") == RsvpStatus.OFFERED
    start = db.session.get(Event, event.id).starts_at

    assert rsvps.expire_offers(db.session, now=start) == 1
    db.session.commit()
    assert rsvps.expire_offers(db.session, now=start + timedelta(minutes=1)) == 0
    db.session.commit()

    assert _last_email(db, "ben@example.org").kind == "rsvp_offer_expired"
    assert _status(db, "cem@example.org") == RsvpStatus.WAITLISTED
    assert _emails(db, to="cem@example.org", kind="rsvp_offer") == []
    assert _taken(db, event) == 0


def test_no_offers_once_the_event_is_over(db, campaign):
    event = make_event(campaign, capacity=1, starts_in=timedelta(hours=-3))
    make_rsvp(event, status=RsvpStatus.WAITLISTED)
    db.session.commit()
    assert rsvps.offer_free_places(db.session, event) == 0
    assert _statuses(db) == [RsvpStatus.WAITLISTED]


# --- reminders -----------------------------------------------------------------------------------


def test_reminders_go_to_people_going_to_events_within_a_day(db, campaign):
    tomorrow = make_event(campaign, starts_in=timedelta(hours=23), capacity=1)
    statuses = [RsvpStatus.GOING, RsvpStatus.WAITLISTED, RsvpStatus.UNCONFIRMED,
                RsvpStatus.CANCELLED]  # fmt: skip
    for status in statuses:
        make_rsvp(tomorrow, status=status, email=f"{status.value}@example.org")
    offered_event = make_event(campaign, starts_in=timedelta(hours=10))
    make_rsvp(offered_event, status=RsvpStatus.OFFERED, email="offered@example.org")
    later = make_event(campaign, starts_in=timedelta(hours=25))
    make_rsvp(later, email="later@example.org")
    started = make_event(campaign, starts_in=timedelta(hours=-1))
    make_rsvp(started, email="started@example.org")
    cancelled = make_event(campaign, starts_in=timedelta(hours=5), status=EventStatus.CANCELLED)
    make_rsvp(cancelled, email="cancelled-event@example.org")
    db.session.commit()

    assert rsvps.send_reminders(db.session) == 1

    [reminder] = _emails(db, kind="rsvp_reminder")
    assert reminder.to_email == "going@example.org"
    assert MANAGE_LINK.search(reminder.text_body)
    assert _rsvp_of(db, "going@example.org").reminder_sent_at is not None
    # A day later, the one that was 25 hours away is due.
    assert rsvps.send_reminders(db.session, now=utcnow() + timedelta(hours=2)) == 1
    assert _last_email(db, "later@example.org").kind == "rsvp_reminder"


def test_reminders_are_sent_once_however_often_the_job_runs(db, event):
    _join(db, event, "ann@example.org")
    _join(db, event, "ben@example.org")
    _soon(db, event)

    assert rsvps.send_reminders(db.session) == 2
    assert rsvps.send_reminders(db.session) == 0
    assert rsvps.run_due(db.session) == {"expired_offers": 0, "reminders": 0}
    assert len(_emails(db, kind="rsvp_reminder")) == 2


def test_reminders_are_claimed_once_across_sessions(app, db, event):
    # Two workers that both listed the same people: the second finds them claimed.
    _join(db, event, "ann@example.org")
    _soon(db, event)
    first = db.session
    second = db.session.session_factory()
    try:
        with pytest.MonkeyPatch.context() as patch:
            listed = []
            original = second.scalars

            def list_then_let_the_other_worker_run(*args, **kwargs):
                result = original(*args, **kwargs).all()
                listed.extend(result)
                assert rsvps.send_reminders(first) == 1  # the other worker claims meanwhile
                return _Listed(result)

            patch.setattr(second, "scalars", list_then_let_the_other_worker_run)
            assert rsvps.send_reminders(second) == 0
        assert listed  # the second worker did see Ann as due
    finally:
        second.close()
    assert len(_emails(db, kind="rsvp_reminder")) == 1


class _Listed:
    def __init__(self, rows):
        self.rows = rows

    def all(self):
        return self.rows


def _move(db, event, starts_in: timedelta) -> None:
    """An organizer moves the event (its length kept)."""
    organizer = make_organizer()
    current = db.session.get(Event, event.id)
    data = events.event_data(current)
    zone = events.local_time(current).tzinfo
    start = (utcnow() + starts_in).astimezone(zone).replace(tzinfo=None, microsecond=0)
    length = data.ends_local - data.starts_local
    events.update_event(
        db.session, organizer, current,
        events.EventData(**{**data.__dict__, "starts_local": start, "ends_local": start + length}),
    )  # fmt: skip
    db.session.commit()


def test_a_rally_moved_to_another_day_is_reminded_of_again(db, event):
    _join(db, event, "ann@example.org")
    _soon(db, event)
    assert rsvps.send_reminders(db.session) == 1

    _move(db, event, timedelta(days=7))
    assert rsvps.send_reminders(db.session) == 0  # not due yet
    assert rsvps.send_reminders(db.session, now=utcnow() + timedelta(days=6, hours=1)) == 1

    assert [m.kind for m in _emails(db, to="ann@example.org")][-3:] == [
        "rsvp_reminder", "event_changed", "rsvp_reminder",
    ]  # fmt: skip


def test_a_rally_moved_by_an_hour_is_not_reminded_of_twice(db, event):
    _join(db, event, "ann@example.org")
    _soon(db, event)
    rsvps.send_reminders(db.session)

    _move(db, event, timedelta(hours=21))

    assert rsvps.send_reminders(db.session) == 0  # the change notice told them


def test_an_offer_ends_by_the_new_start_of_a_rally_moved_earlier(db, campaign):
    event = make_event(campaign, capacity=1, starts_in=timedelta(days=3))
    db.session.commit()
    _join(db, event, "ann@example.org")
    _join(db, event, "ben@example.org")
    _cant_come(db, "ann@example.org")

    _move(db, event, timedelta(hours=6))

    new_start = db.session.get(Event, event.id).starts_at
    assert _rsvp_of(db, "ben@example.org").offer_expires_at == new_start
    notice = _last_email(db, "ben@example.org")
    assert notice.kind == "event_changed"
    start = events.local_time(db.session.get(Event, event.id))
    keeping = re.search(r"keeping it until (.*)\.", notice.text_body).group(1)
    assert format_time(start, "short", locale="en") in keeping  # the new start, not a day on


def test_each_reminder_is_in_the_persons_language(db, event):
    _join(db, event, "ann@example.org", language="ru")
    _join(db, event, "ben@example.org", language="en")
    _soon(db, event)

    rsvps.send_reminders(db.session)

    languages = {m.to_email: m.language for m in _emails(db, kind="rsvp_reminder")}
    assert languages == {"ann@example.org": "ru", "ben@example.org": "en"}
    russian = _last_email(db, "ann@example.org")
    assert f"/ru/e/{event.id}/rsvp/" in russian.text_body
    assert 'lang="ru"' in russian.html_body
    assert "Германия" in russian.text_body  # Babel names the country in Russian


def test_every_email_of_an_rsvp_is_in_its_language(db, event):
    _full_with_waitlist(db, event)
    _join(db, event, "olga@example.org", language="ru")
    _cant_come(db, "ann@example.org")
    _cant_come(db, "wait1@example.org", "rsvp_offer")
    _cant_come(db, "wait2@example.org", "rsvp_offer")
    rsvps.accept_offer(db.session, _manage_token(db, "olga@example.org", "rsvp_offer"))
    db.session.commit()

    kinds = [(m.kind, m.language) for m in _emails(db, to="olga@example.org")]
    assert kinds == [
        ("rsvp_confirm", "ru"), ("rsvp_waitlisted", "ru"), ("rsvp_offer", "ru"),
        ("rsvp_going", "ru"),
    ]  # fmt: skip


def test_run_due_lapses_offers_then_reminds(db, event):
    _full_with_waitlist(db, event)
    _cant_come(db, "ann@example.org")
    deadline = _rsvp_of(db, "wait1@example.org").offer_expires_at
    _soon(db, event, hours=30)

    done = rsvps.run_due(db.session, now=deadline)

    assert done == {"expired_offers": 1, "reminders": 1}  # Ben, going, is reminded
    assert _status(db, "wait2@example.org") == RsvpStatus.OFFERED


# --- never oversold: people racing for the last places ------------------------------------------


def _run_in_threads(app, db, count: int, work) -> tuple[list, list[BaseException]]:
    """Run `work(index)` in `count` threads released at once; returns results and errors."""
    db.session.close()  # the test's own session must hold no transaction while threads run
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []
    lock = threading.Lock()

    def target(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results[index] = work(index)
        except BaseException as exc:  # collected: the test asserts there are none
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


def _statuses(db) -> list[RsvpStatus]:
    db.session.expire_all()
    return list(db.session.scalars(select(Rsvp.status)))


def test_people_confirming_at_once_never_overfill_the_event(app, db, event):
    event_id = event.id
    count = 8
    for n in range(count):
        _sign_up(db, event, f"p{n}@example.org")
    tokens = [_link(_last_email(db, f"p{n}@example.org"), CONFIRM_LINK) for n in range(count)]

    def work(index):
        record = rsvps.confirm(db.session, tokens[index])
        db.session.commit()
        return record.status

    results, errors = _run_in_threads(app, db, count, work)

    assert errors == []
    assert results.count(RsvpStatus.GOING) == 2
    assert results.count(RsvpStatus.WAITLISTED) == count - 2
    assert _taken(db, event_id) == 2
    assert _statuses(db).count(RsvpStatus.GOING) == 2


def test_one_person_signing_up_twice_at_once_makes_one_rsvp(app, db, event):
    variants = ["ann.lee@gmail.com", "Ann.Lee@gmail.com", "annlee+rally@gmail.com"]

    def work(index):
        own_event = db.session.get(Event, event_id)
        result = rsvps.rsvp(
            db.session, own_event, RsvpData("Ann Lee", variants[index % 3]), language="en"
        )
        db.session.commit()
        return result.needs_confirmation

    event_id = event.id
    results, errors = _run_in_threads(app, db, 6, work)

    assert errors == []
    assert results == [True] * 6
    assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 1
    assert len(_emails(db, kind="rsvp_confirm")) == 6  # each submission gets its link


def test_one_link_followed_at_once_takes_one_place(app, db, event):
    event_id = event.id
    _sign_up(db, event, "ann@example.org")
    token = _link(_last_email(db, "ann@example.org"), CONFIRM_LINK)

    def work(_index):
        rsvps.confirm(db.session, token)
        db.session.commit()

    _, errors = _run_in_threads(app, db, 6, work)

    assert errors == []
    assert _taken(db, event_id) == 1
    assert len(_emails(db, kind="rsvp_going")) == 1


def test_one_cancellation_clicked_at_once_frees_one_place(app, db, event):
    event_id = event.id
    _full_with_waitlist(db, event)
    token = _manage_token(db, "ann@example.org")

    def work(_index):
        rsvps.cancel(db.session, token)
        db.session.commit()

    _, errors = _run_in_threads(app, db, 6, work)

    assert errors == []
    assert _taken(db, event_id) == 2  # Ann's place, held for the first on the waitlist
    assert _status(db, "wait1@example.org") == RsvpStatus.OFFERED
    assert _status(db, "wait2@example.org") == RsvpStatus.WAITLISTED
    assert len(_emails(db, kind="rsvp_offer")) == 1


def test_accepting_while_the_offer_lapses_ends_one_way(app, db, event):
    event_id = event.id
    _full_with_waitlist(db, event)
    _cant_come(db, "ann@example.org")
    token = _manage_token(db, "wait1@example.org", "rsvp_offer")
    deadline = _rsvp_of(db, "wait1@example.org").offer_expires_at
    record = _rsvp_of(db, "wait1@example.org")
    record.offer_expires_at = utcnow() + timedelta(seconds=30)
    db.session.commit()

    def work(index):
        if index % 2:
            rsvps.accept_offer(db.session, token)
        else:
            rsvps.expire_offers(db.session, now=deadline)
        db.session.commit()

    _, errors = _run_in_threads(app, db, 4, work)

    assert errors == []
    statuses = {email: _status(db, f"{email}@example.org") for email in ("wait1", "wait2", "ben")}
    if statuses["wait1"] == RsvpStatus.GOING:
        assert statuses["wait2"] == RsvpStatus.WAITLISTED
    else:
        assert statuses["wait1"] == RsvpStatus.CANCELLED
        assert statuses["wait2"] == RsvpStatus.OFFERED
    assert _taken(db, event_id) == 2
    holding = [s for s in _statuses(db) if s in (RsvpStatus.GOING, RsvpStatus.OFFERED)]
    assert len(holding) == 2


def test_reminder_jobs_running_at_once_send_each_reminder_once(app, db, campaign):
    event = make_event(campaign, starts_in=timedelta(hours=12))
    for n in range(12):
        make_rsvp(event, email=f"p{n}@example.org")
    db.session.commit()

    def work(_index):
        return rsvps.send_reminders(db.session)

    results, errors = _run_in_threads(app, db, 4, work)

    assert errors == []
    assert sum(results) == 12
    reminders = _emails(db, kind="rsvp_reminder")
    assert len(reminders) == 12
    assert len({m.to_email for m in reminders}) == 12


# --- the attendee list ---------------------------------------------------------------------------


def test_attendees_are_listed_going_first_then_by_their_turn(db, campaign):
    event = make_event(campaign, capacity=5)
    now = utcnow()
    make_rsvp(event, status=RsvpStatus.CANCELLED, full_name="Zoe")
    make_rsvp(event, status=RsvpStatus.WAITLISTED, full_name="Yan", waitlisted_at=now)
    make_rsvp(event, status=RsvpStatus.WAITLISTED, full_name="Xia",
              waitlisted_at=now + timedelta(minutes=1))  # fmt: skip
    make_rsvp(event, status=RsvpStatus.UNCONFIRMED, full_name="Wim")
    make_rsvp(event, status=RsvpStatus.OFFERED, full_name="Val")
    make_rsvp(event, full_name="Uma")
    db.session.commit()

    names = [r.full_name for r in rsvps.attendees(db.session, event)]

    assert names == ["Uma", "Val", "Yan", "Xia", "Wim", "Zoe"]


# --- a person's data -----------------------------------------------------------------------------


@pytest.fixture
def owner(db, campaign):
    return make_organizer()


def test_someone_who_only_rsvped_is_found_and_exported(db, campaign, event, owner):
    _join(db, event, "Ann.Lee+rally@gmail.com", name="Ann Lee", phone="+49 30 1")

    person = people.find_person(db.session, campaign, "annlee@gmail.com")
    assert person.is_found
    assert {m.kind for m in person.messages} == {"rsvp_confirm", "rsvp_going"}

    document = people.export_person(db.session, campaign, owner, "annlee@gmail.com").document
    document = json.loads(json.dumps(document))
    [exported] = document["rsvps"]
    assert exported["event_id"] == event.id
    assert exported["event_title"] == event.title
    assert exported["full_name"] == "Ann Lee"
    assert exported["email"] == "Ann.Lee+rally@gmail.com"
    assert exported["phone"] == "+49 30 1"
    assert exported["status"] == "going"
    assert exported["consent_text"] == "I agree to be contacted."
    assert exported["created_at"]
    assert exported["confirmed_at"]
    assert {m["kind"] for m in document["emails"]} == {"rsvp_confirm", "rsvp_going"}


def test_erasing_a_person_removes_their_rsvps_and_offers_their_place(db, campaign, event, owner):
    _full_with_waitlist(db, event)
    other_campaign = make_campaign(slug="water")
    elsewhere = make_event(other_campaign)
    db.session.commit()
    _join(db, elsewhere, "ann@example.org")

    report = people.erase_person(db.session, campaign, owner, "ann@example.org")
    db.session.commit()

    assert report.counts["rsvps"] == 1
    rows = list(db.session.scalars(select(Rsvp).where(Rsvp.email == "ann@example.org")))
    assert [r.event_id for r in rows] == [elsewhere.id]  # the other campaign keeps its own
    assert _status(db, "wait1@example.org") == RsvpStatus.OFFERED
    assert _taken(db, event) == 2
    # The emails about this campaign's event are scrubbed; the other campaign's are not.
    scrubbed = _emails(db, to=people.ERASED_ADDRESS)
    assert {m.kind for m in scrubbed} == {"rsvp_confirm", "rsvp_going"}
    assert len(scrubbed) == 2
    assert len(_emails(db, to="ann@example.org")) == 2
    assert not people.find_person(db.session, campaign, "ann@example.org").is_found
    with pytest.raises(PersonNotFound):
        people.erase_person(db.session, campaign, owner, "ann@example.org")


def test_an_erased_persons_links_open_nothing(db, campaign, event, owner):
    _join(db, event, "ann@example.org")
    token = _manage_token(db, "ann@example.org")
    people.erase_person(db.session, campaign, owner, "ann@example.org")
    db.session.commit()
    with pytest.raises(InvalidToken):
        rsvps.cancel(db.session, token)


def test_erasing_a_host_keeps_their_event_without_them(db, campaign, owner):
    event = events.propose_event(
        db.session, campaign,
        events.event_data(make_event(campaign)),
        host_name="Hana Host", host_email="hana@example.org", ui_language="en",
        known_mailboxes=(mailbox_digest("hana@example.org"),),
    )  # fmt: skip
    events.approve_proposal(db.session, owner, event, trust=True)
    db.session.commit()
    host_link = events.host_token(event)

    export = people.export_person(db.session, campaign, owner, "hana@example.org").document
    [hosted] = export["hosted_events"]
    assert (hosted["event_id"], hosted["host_name"]) == (event.id, "Hana Host")
    assert hosted["host_email"] == "hana@example.org"
    assert export["trusted_host"]["name"] == "Hana Host"

    report = people.erase_person(db.session, campaign, owner, "hana@example.org")
    db.session.commit()

    assert report.counts["hosted_events"] == 1
    assert report.counts["trusted_hosts"] == 1
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.status == EventStatus.SCHEDULED
    assert (event.host_name, event.host_email, event.host_email_key) == (
        "", people.ERASED_ADDRESS, "",
    )  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(TrustedHost)) == 0
    assert {m.status for m in _emails(db, to=people.ERASED_ADDRESS)} <= {
        OutboxStatus.FAILED,
        OutboxStatus.SENT,
    }
    assert len(_emails(db, to=people.ERASED_ADDRESS)) == 2  # received, approved
    with pytest.raises(InvalidToken):
        events.event_for_host_token(db.session, host_link)
    assert not people.find_person(db.session, campaign, "hana@example.org").is_found
