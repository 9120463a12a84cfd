"""Updates (services/broadcasts.py): who gets them, in which language, sent once, in batches,
paused and resumed, scheduled; and the campaign page's updates."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from campaign.mail.worker import run_polling_worker
from campaign.models import (
    Audience,
    AuditEntry,
    BroadcastRecipient,
    BroadcastStatus,
    OutboxMessage,
    OutboxStatus,
    RsvpStatus,
    Suppression,
)
from campaign.models.types import utcnow
from campaign.services import broadcasts
from campaign.services.broadcasts import BroadcastData, BroadcastText
from campaign.services.errors import (
    BroadcastLocked,
    InvalidBroadcast,
    InvalidTransition,
    NoRecipients,
)
from tests.factories import (
    make_campaign,
    make_event,
    make_organizer,
    make_rsvp,
    make_signature,
    make_subscriber,
)

# --- helpers ----------------------------------------------------------------------------------


def suppress(db, email: str) -> None:
    db.session.add(Suppression(email_key=email.lower(), reason="bounce"))
    db.session.flush()


def texts(**by_language: str) -> dict[str, BroadcastText]:
    return {
        language: BroadcastText(subject=f"Subject {language}", body_markdown=body)
        for language, body in by_language.items()
    }


def draft(db, campaign, organizer=None, *, audience=Audience.SUBSCRIBERS, **kw):
    organizer = organizer or make_organizer()
    data = BroadcastData(
        texts=kw.pop("texts", None) or texts(en="Hello **everyone**."), audience=audience, **kw
    )
    return broadcasts.create_broadcast(db.session, organizer, campaign, data)


def keys(db, broadcast) -> list[str]:
    return [r.email_key for r in broadcasts.recipients(db.session, broadcast)]


def send_all(app, db, broadcast, organizer=None) -> None:
    """Send now, then let the real worker write and deliver everything."""
    broadcasts.send_now(db.session, organizer or make_organizer(), broadcast)
    db.session.commit()
    deliver(app, db)


def deliver(app, db) -> None:
    for _ in range(20):
        run_polling_worker(app, once=True)
        db.session.rollback()
        pending = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        )
        if not pending:
            return
    raise AssertionError("the outbox did not drain")


@pytest.fixture
def campaign(db):
    return make_campaign(languages=("en", "ru"))


# --- drafts -----------------------------------------------------------------------------------


def test_create_needs_the_default_language(db, campaign):
    with pytest.raises(InvalidBroadcast) as error:
        draft(db, campaign, texts=texts(ru="Привет"))
    assert (error.value.field, error.value.reason) == ("subject_en", "required")


def test_a_version_needs_both_subject_and_body(db, campaign):
    data = texts(en="Hello")
    data["ru"] = BroadcastText(subject="Тема", body_markdown="  ")
    with pytest.raises(InvalidBroadcast) as error:
        draft(db, campaign, texts=data)
    assert (error.value.field, error.value.reason) == ("body_ru", "required")


def test_an_empty_language_is_left_out_and_audience_checked(db, campaign):
    data = texts(en="Hello")
    data["ru"] = BroadcastText(subject="", body_markdown="")
    broadcast = draft(db, campaign, texts=data)
    assert [t.language for t in broadcast.translations] == ["en"]
    with pytest.raises(InvalidBroadcast) as error:
        draft(db, campaign, audience=Audience.EVENT)
    assert error.value.field == "event"
    with pytest.raises(InvalidBroadcast) as error:
        draft(db, campaign, audience=Audience.COUNTRY, country="XX")
    assert (error.value.field, error.value.reason) == ("country", "unknown")
    other_event = make_event(make_campaign())
    with pytest.raises(InvalidBroadcast) as error:
        draft(db, campaign, audience=Audience.EVENT, event_id=other_event.id)
    assert (error.value.field, error.value.reason) == ("event", "unknown")


def test_update_records_what_changed_and_audits(db, campaign):
    organizer = make_organizer()
    broadcast = draft(db, campaign, organizer)
    changed = broadcasts.update_broadcast(
        db.session,
        organizer,
        broadcast,
        BroadcastData(texts=texts(en="Hello", ru="Привет"), audience=Audience.SIGNERS),
    )
    assert changed == ["audience", "text_en", "text_ru"]
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["broadcast.create", "broadcast.update"]
    assert (
        broadcasts.update_broadcast(
            db.session, organizer, broadcast, broadcasts.broadcast_data(broadcast)
        )
        == []
    )


# --- who gets it ------------------------------------------------------------------------------


def test_subscribers_are_the_confirmed_and_still_subscribed(db, campaign):
    make_subscriber(campaign, "yes@example.org")
    make_subscriber(campaign, "unconfirmed@example.org", confirmed=False)
    make_subscriber(campaign, "left@example.org", unsubscribed_here=True)
    make_subscriber(campaign, "gone@example.org", unsubscribed_all=True)
    make_subscriber(make_campaign(), "elsewhere@example.org")
    broadcast = draft(db, campaign)

    assert keys(db, broadcast) == ["yes@example.org"]


def test_signers_are_the_confirmed_who_consented(db, campaign):
    make_signature(campaign, confirmed=True, has_update_consent=True, email="yes@example.org")
    make_signature(campaign, confirmed=True, has_update_consent=False, email="no@example.org")
    make_signature(campaign, confirmed=False, has_update_consent=True, email="later@example.org")
    broadcast = draft(db, campaign, audience=Audience.SIGNERS)

    assert keys(db, broadcast) == ["yes@example.org"]


def test_event_audience_is_everyone_whose_rsvp_stands(db, campaign):
    event = make_event(campaign)
    for status in RsvpStatus:
        make_rsvp(event, status=status, email=f"{status.value}@example.org")
    make_rsvp(make_event(campaign), email="other-event@example.org")
    broadcast = draft(db, campaign, audience=Audience.EVENT, event_id=event.id)

    assert keys(db, broadcast) == [
        "going@example.org",
        "offered@example.org",
        "waitlisted@example.org",
    ]


def test_country_audience_is_subscribers_and_consenting_signers_there(db, campaign):
    make_signature(campaign, confirmed=True, has_update_consent=True, country="FR", email="a@x.org")
    make_signature(campaign, confirmed=True, has_update_consent=True, country="DE", email="b@x.org")
    # A subscriber who signed from France without ticking the box: there, and subscribed.
    make_signature(campaign, confirmed=True, country="FR", email="c@x.org")
    make_subscriber(campaign, "c@x.org")
    make_subscriber(campaign, "d@x.org")  # never signed: where they live is unknown
    broadcast = draft(db, campaign, audience=Audience.COUNTRY, country="FR")

    assert keys(db, broadcast) == ["a@x.org", "c@x.org"]


def test_one_email_per_mailbox_with_the_subscribers_language(db, campaign):
    make_signature(
        campaign,
        confirmed=True,
        has_update_consent=True,
        country="FR",
        email="both@example.org",
        full_name="Marie Curie",
        language="en",
    )
    make_subscriber(campaign, "both@example.org", language="ru")
    broadcast = draft(db, campaign, audience=Audience.COUNTRY, country="FR")

    (recipient,) = broadcasts.recipients(db.session, broadcast)
    assert (recipient.email_key, recipient.name, recipient.language) == (
        "both@example.org",
        "Marie Curie",
        "ru",
    )


def test_suppressed_and_unsubscribed_are_left_out_and_counted(db, campaign):
    event = make_event(campaign)
    for name in ("ok", "bounced", "left", "gone"):
        make_rsvp(event, email=f"{name}@example.org")
    suppress(db, "bounced@example.org")
    make_subscriber(campaign, "left@example.org", unsubscribed_here=True)
    make_subscriber(make_campaign(), "gone@example.org", unsubscribed_all=True)
    broadcast = draft(db, campaign, audience=Audience.EVENT, event_id=event.id)

    assert keys(db, broadcast) == ["ok@example.org"]
    count = broadcasts.recipient_count(db.session, broadcast)
    assert (count.total, count.suppressed, count.unsubscribed) == (1, 1, 2)


def test_count_by_language_version(db, campaign):
    make_subscriber(campaign, "en@example.org", language="en")
    make_subscriber(campaign, "ru@example.org", language="ru")
    make_subscriber(campaign, "de@example.org", language="de")
    broadcast = draft(db, campaign, texts=texts(en="Hello", ru="Привет"))

    count = broadcasts.recipient_count(db.session, broadcast)
    assert count.total == 3
    assert count.by_language == {"en": 2, "ru": 1}
    assert count.fallback == 1


# --- sending ----------------------------------------------------------------------------------


def test_each_gets_their_language_or_the_default(app, db, campaign, mail):
    make_subscriber(campaign, "en@example.org", language="en")
    make_subscriber(campaign, "ru@example.org", language="ru")
    make_subscriber(campaign, "de@example.org", language="de")
    broadcast = draft(db, campaign, texts=texts(en="Hello **all**", ru="Привет **всем**"))

    send_all(app, db, broadcast)

    assert [m.subject for m in mail.to("en@example.org")] == ["Subject en"]
    assert [m.subject for m in mail.to("ru@example.org")] == ["Subject ru"]
    assert [m.subject for m in mail.to("de@example.org")] == ["Subject en"]
    (russian,) = mail.to("ru@example.org")
    assert "<strong>всем</strong>" in russian.html
    assert 'lang="ru"' in russian.html
    assert "Привет **всем**" in russian.text
    db.session.rollback()
    assert db.session.get(type(broadcast), broadcast.id).status == BroadcastStatus.SENT


def test_every_email_carries_unsubscribe_and_preference_links(app, db, campaign, mail):
    make_subscriber(campaign, "reader@example.org")
    broadcast = draft(db, campaign)

    send_all(app, db, broadcast)

    (sent,) = mail.to("reader@example.org")
    headers = sent.payload.get("headers") or sent.payload["personalizations"][0].get("headers")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe in sent.text
    assert unsubscribe in sent.html
    assert "/preferences/" in sent.text
    assert "/preferences/" in sent.html
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "broadcast"))
    assert message.is_bulk
    assert json.loads(message.headers)["List-Unsubscribe"] == f"<{unsubscribe}>"


def test_unsubscribe_link_in_an_update_leaves_the_next_one_out(app, db, client, campaign, mail):
    make_subscriber(campaign, "reader@example.org")
    first = draft(db, campaign)
    send_all(app, db, first)
    (sent,) = mail.to("reader@example.org")
    headers = sent.payload.get("headers") or sent.payload["personalizations"][0].get("headers")
    response = client.post(headers["List-Unsubscribe"].strip("<>"))
    assert response.status_code < 400

    second = draft(db, db.session.merge(campaign))
    assert keys(db, second) == []
    with pytest.raises(NoRecipients):
        broadcasts.send_now(db.session, make_organizer(), second)


def test_suppressed_after_listing_is_skipped_by_delivery(app, db, campaign, mail):
    make_subscriber(campaign, "ok@example.org")
    make_subscriber(campaign, "bounces@example.org")
    broadcast = draft(db, campaign)
    broadcasts.send_now(db.session, make_organizer(), broadcast)
    db.session.commit()
    broadcasts.run_due(db.session)
    suppress(db, "bounces@example.org")
    db.session.commit()

    deliver(app, db)

    assert [m.to for m in mail.sent] == ["ok@example.org"]
    progress = broadcasts.progress(db.session, broadcast)
    assert (progress.total, progress.sent, progress.suppressed, progress.queued) == (2, 1, 1, 0)
    assert progress.percent == 100


def test_batches_each_commit_and_the_last_marks_it_sent(db, campaign):
    for n in range(5):
        make_subscriber(campaign, f"r{n}@example.org")
    broadcast = draft(db, campaign)
    broadcasts.send_now(db.session, make_organizer(), broadcast)
    db.session.commit()

    assert broadcasts.draw_up(db.session, broadcast.id) == 5
    assert [broadcasts.write_batch(db.session, broadcast.id, 2) for _ in range(4)] == [
        2,
        2,
        1,
        None,
    ]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 5
    assert broadcast.status == BroadcastStatus.SENT
    assert broadcast.sent_at is not None
    progress = broadcasts.progress(db.session, broadcast)
    assert (progress.total, progress.waiting, progress.queued) == (5, 0, 5)


def test_run_due_stops_after_its_time_and_carries_on_next_run(db, campaign):
    for n in range(5):
        make_subscriber(campaign, f"r{n}@example.org")
    broadcast = draft(db, campaign)
    broadcasts.send_now(db.session, make_organizer(), broadcast)
    db.session.commit()

    assert broadcasts.run_due(db.session, batch_size=2, seconds=0) == 2
    assert broadcasts.run_due(db.session, batch_size=2) == 3
    db.session.rollback()
    assert broadcast.status == BroadcastStatus.SENT


def test_a_resend_or_a_second_worker_never_duplicates(app, db, campaign, mail):
    for n in range(3):
        make_subscriber(campaign, f"r{n}@example.org")
    broadcast = draft(db, campaign)
    organizer = make_organizer()
    broadcasts.send_now(db.session, organizer, broadcast)
    db.session.commit()

    assert broadcasts.draw_up(db.session, broadcast.id) == 3
    assert broadcasts.draw_up(db.session, broadcast.id) == 0  # listed once
    # Even a list drawn up again runs into the unique key.
    rows = [
        {
            "broadcast_id": broadcast.id,
            "email": f"r{n}@example.org",
            "email_key": f"r{n}@example.org",
            "name": "",
            "language": "en",
        }
        for n in range(3)
    ]
    broadcasts._insert_ignoring_duplicates(db.session, rows)
    db.session.commit()
    broadcasts.run_due(db.session)
    broadcasts.run_due(db.session)
    with pytest.raises(InvalidTransition):
        broadcasts.send_now(db.session, organizer, broadcast)
    db.session.rollback()
    deliver(app, db)

    assert sorted(m.to for m in mail.sent) == [f"r{n}@example.org" for n in range(3)]
    assert db.session.scalar(select(func.count()).select_from(BroadcastRecipient)) == 3


def test_later_subscribers_are_not_added_to_a_send(db, campaign):
    make_subscriber(campaign, "early@example.org")
    broadcast = draft(db, campaign)
    broadcasts.send_now(db.session, make_organizer(), broadcast)
    db.session.commit()
    broadcasts.draw_up(db.session, broadcast.id)
    make_subscriber(campaign, "late@example.org")
    db.session.commit()
    broadcasts.run_due(db.session)

    assert db.session.scalars(select(OutboxMessage.to_email)).all() == ["early@example.org"]


def test_a_sent_update_can_no_longer_change(db, campaign):
    make_subscriber(campaign, "r@example.org")
    organizer = make_organizer()
    broadcast = draft(db, campaign, organizer)
    broadcasts.send_now(db.session, organizer, broadcast)
    db.session.commit()
    with pytest.raises(BroadcastLocked):
        broadcasts.update_broadcast(
            db.session, organizer, broadcast, BroadcastData(texts=texts(en="Changed"))
        )


# --- pause and resume -------------------------------------------------------------------------


def test_pause_holds_what_is_not_yet_on_its_way_and_resume_sends_it_once(app, db, campaign, mail):
    for n in range(5):
        make_subscriber(campaign, f"r{n}@example.org")
    organizer = make_organizer()
    broadcast = draft(db, campaign, organizer)
    broadcasts.send_now(db.session, organizer, broadcast)
    db.session.commit()
    broadcasts.run_due(db.session, batch_size=2, seconds=0)  # 2 emails in the outbox

    held = broadcasts.pause(db.session, organizer, broadcast)
    db.session.commit()

    assert held == 2
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert broadcasts.run_due(db.session) == 0
    deliver(app, db)
    assert mail.sent == []
    progress = broadcasts.progress(db.session, broadcast)
    assert (progress.total, progress.waiting) == (5, 5)
    with pytest.raises(InvalidTransition):
        broadcasts.pause(db.session, organizer, broadcast)

    broadcasts.resume(db.session, organizer, broadcast)
    db.session.commit()
    deliver(app, db)

    assert sorted(m.to for m in mail.sent) == [f"r{n}@example.org" for n in range(5)]
    db.session.rollback()
    assert broadcast.status == BroadcastStatus.SENT
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["broadcast.create", "broadcast.send", "broadcast.pause", "broadcast.resume"]


def test_pause_keeps_what_was_already_sent(app, db, campaign, mail):
    for n in range(3):
        make_subscriber(campaign, f"r{n}@example.org")
    organizer = make_organizer()
    broadcast = draft(db, campaign, organizer)
    broadcasts.send_now(db.session, organizer, broadcast)
    db.session.commit()
    broadcasts.run_due(db.session, batch_size=2, seconds=0)
    deliver(app, db)  # the periodic task in the worker writes the last one too
    db.session.rollback()
    assert len(mail.sent) == 3

    with pytest.raises(InvalidTransition):  # it is sent: nothing to pause
        broadcasts.pause(db.session, organizer, broadcast)
    assert broadcasts.progress(db.session, broadcast).sent == 3


def test_resume_needs_a_paused_send(db, campaign):
    broadcast = draft(db, campaign)
    with pytest.raises(InvalidTransition):
        broadcasts.resume(db.session, make_organizer(), broadcast)


# --- scheduling -------------------------------------------------------------------------------


def test_a_scheduled_update_starts_when_due(app, db, campaign, mail):
    make_subscriber(campaign, "r@example.org")
    organizer = make_organizer()
    broadcast = draft(db, campaign, organizer)
    when = utcnow() + timedelta(hours=2)
    broadcasts.schedule(db.session, organizer, broadcast, when)
    db.session.commit()

    assert broadcasts.run_due(db.session) == 0
    db.session.rollback()
    assert broadcast.status == BroadcastStatus.SCHEDULED

    assert broadcasts.run_due(db.session, now=when + timedelta(seconds=1)) == 1
    deliver(app, db)
    assert [m.to for m in mail.sent] == ["r@example.org"]
    db.session.rollback()
    assert broadcast.status == BroadcastStatus.SENT


def test_schedule_in_the_past_is_refused_and_unschedule_returns_a_draft(db, campaign):
    organizer = make_organizer()
    broadcast = draft(db, campaign, organizer)
    with pytest.raises(InvalidBroadcast) as error:
        broadcasts.schedule(db.session, organizer, broadcast, utcnow() - timedelta(minutes=1))
    assert error.value.field == "scheduled_at"
    broadcasts.schedule(db.session, organizer, broadcast, utcnow() + timedelta(days=1))
    broadcasts.unschedule(db.session, organizer, broadcast)
    assert broadcast.status == BroadcastStatus.DRAFT
    assert broadcast.scheduled_at is None


def test_local_time_in_the_organizers_zone(app):
    from datetime import date, time

    moment = broadcasts.local_to_utc(date(2030, 7, 1), time(9, 0), "Europe/Berlin")
    assert moment.isoformat() == "2030-07-01T07:00:00+00:00"
    assert broadcasts.local_to_utc(date(2030, 1, 1), time(9, 0), "").hour == 9


# --- a test to oneself ------------------------------------------------------------------------


def test_send_test_goes_to_the_organizer_marked_as_a_test(app, db, campaign, mail):
    organizer = make_organizer(email="me@example.org", name="Me")
    broadcast = draft(db, campaign, organizer, texts=texts(en="Hello", ru="Привет"))
    broadcasts.send_test(db.session, organizer, broadcast, "ru")
    db.session.commit()
    deliver(app, db)

    (sent,) = mail.to("me@example.org")
    assert "Subject ru" in sent.subject
    assert sent.subject != "Subject ru"  # marked as a test
    assert "Привет" in sent.text
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == (
        "broadcast.test"
    )
    db.session.rollback()
    assert broadcast.status == BroadcastStatus.DRAFT


def test_previews_put_the_default_language_first(db):
    campaign = make_campaign(languages=("en", "ru"), default_language="ru")
    broadcast = draft(
        db,
        campaign,
        texts={
            "en": BroadcastText("Subject en", "Hello *you*"),
            "ru": BroadcastText("Subject ru", "Привет"),
        },
    )
    previews = broadcasts.previews(broadcast)
    assert [p.language for p in previews] == ["ru", "en"]
    assert "<em>you</em>" in previews[1].body_html
    fallback = broadcasts.version(broadcast, "de")
    assert (fallback.language, fallback.is_fallback) == ("ru", True)


# --- the campaign page ------------------------------------------------------------------------


def test_sent_updates_are_listed_on_the_petition_and_readable(app, db, client, campaign, mail):
    make_subscriber(campaign, "r@example.org")
    broadcast = draft(
        db,
        campaign,
        texts={
            "en": BroadcastText("We won a hearing", "The **council** listens."),
            "ru": BroadcastText("Слушания назначены", "Совет **слушает**."),
        },
    )
    hidden = draft(db, campaign, audience=Audience.EVENT, event_id=make_event(campaign).id)
    send_all(app, db, broadcast)
    slug, broadcast_id, hidden_id = campaign.slug, broadcast.id, hidden.id

    page = client.get(f"/ru/c/{slug}").get_data(as_text=True)
    assert "Слушания назначены" in page
    assert f"/ru/c/{slug}/updates/{broadcast_id}" in page

    shown = client.get(f"/ru/c/{slug}/updates/{broadcast_id}")
    assert shown.status_code == 200
    assert "Совет <strong>слушает</strong>." in shown.get_data(as_text=True)
    english = client.get(f"/en/c/{slug}/updates/{broadcast_id}").get_data(as_text=True)
    assert "The <strong>council</strong> listens." in english
    assert "We won a hearing" in client.get(f"/en/c/{slug}/updates").get_data(as_text=True)
    # An update to one event's attendees, or not sent, is not published.
    assert client.get(f"/en/c/{slug}/updates/{hidden_id}").status_code == 404


def test_a_draft_is_not_published(db, client, campaign):
    broadcast = draft(db, campaign)
    db.session.commit()
    assert client.get(f"/en/c/{campaign.slug}/updates/{broadcast.id}").status_code == 404
    assert "updates-heading" not in client.get(f"/en/c/{campaign.slug}").get_data(as_text=True)
