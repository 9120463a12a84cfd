"""Digests for organizers (campaign/services/digests.py), their settings and `flask digests send`.

The main scenario is the issue's "done means": two organizers in different time zones, a day of
simulated activity, `send_due` run every ten minutes for more than a day: one digest each, at
their own hour, with the right numbers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign.mail import worker
from campaign.models import (
    AuditEntry,
    Broadcast,
    BroadcastStatus,
    BroadcastTranslation,
    CommentFlag,
    CommentStatus,
    DigestFrequency,
    DigestRun,
    Event,
    FlagReason,
    Membership,
    Organizer,
    OutboxMessage,
    Rsvp,
    RsvpStatus,
)
from campaign.models.types import utcnow
from campaign.services import digests
from campaign.services.digests import (
    Milestone,
    build_digest,
    due_digests,
    milestones_crossed,
    scheduled_at,
    send_digest,
    send_due,
)
from tests.factories import (
    add_member,
    login,
    make_campaign,
    make_comment,
    make_event,
    make_organizer,
    make_rsvp,
    make_signature,
)

# Tuesday 10 June 2025: Berlin is UTC+2, New York UTC-4 (no change of clocks near it).
DAY = datetime(2025, 6, 10, tzinfo=UTC)


def at(hours: float, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hours)


def sign(campaign, when: datetime, country: str = "FR", city: str = ""):
    """A signature confirmed at `when`, counted as the signing service counts it."""
    signature = make_signature(campaign, country=country, city=city, created_at=when)
    signature.confirmed_at = when
    campaign.signature_count += 1
    return signature


def digest_messages(db) -> list[OutboxMessage]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "digest").order_by(OutboxMessage.id)
        )
    )


def organizer(db, *, timezone="UTC", hour=8, language="en", **kw) -> Organizer:
    return make_organizer(timezone=timezone, digest_hour=hour, language=language, **kw)


def member(campaign, person, role="owner", digest=DigestFrequency.DAILY):
    add_member(campaign, person, role)
    membership = Membership.query.filter_by(campaign_id=campaign.id, organizer_id=person.id).one()
    membership.digest = digest


# --- the scenario -------------------------------------------------------------------------


@pytest.fixture
def scenario(db):
    """Two organizers, two campaigns, and a timeline of what happens when."""
    berlin = organizer(
        db, email="berlin@example.org", name="Bea", timezone="Europe/Berlin", language="ru"
    )
    new_york = organizer(
        db, email="ny@example.org", name="Nate", timezone="America/New_York", hour=18
    )
    air = make_campaign(slug="clean-air", goal=200, languages=("en", "ru"))
    parks = make_campaign(slug="parks", goal=1000)
    member(air, berlin, "owner")
    member(air, new_york, "editor")
    member(parks, new_york, "owner")
    # Before either period: 95 signatures in Paris.
    for _ in range(95):
        sign(air, at(-48), "FR", "Paris")
    db.session.commit()

    def night_before():  # 23:00 UTC the day before: in both periods
        for _ in range(6):
            sign(air, at(-1), "FR", "Lyon")
        for _ in range(2):
            sign(air, at(-1), "DE", "Berlin")

    def early_morning():  # 03:00 UTC: in both periods
        pending = make_comment(air, status=CommentStatus.PENDING, created_at=at(3))
        pending.confirmed_at = at(3)
        flagged = make_comment(air, created_at=at(3), flag_count=2)
        flagged.confirmed_at = at(3)
        for reader in ("r1", "r2"):
            db.session.add(
                CommentFlag(
                    comment_id=flagged.id, reader=reader, reason=FlagReason.SPAM, created_at=at(3.5)
                )
            )
        event = make_event(
            air, title="Rally at the Gate", city="Berlin", country="DE",
            starts_at=datetime(2025, 6, 20, 16, tzinfo=UTC), created_at=at(3),
        )  # fmt: skip
        for _ in range(3):
            make_rsvp(event).confirmed_at = at(3.25)
        for _ in range(3):
            sign(parks, at(3), "US", "New York")

    def after_berlin():  # between 06:00 UTC (Berlin's digest) and 22:00 UTC (New York's)
        for _ in range(2):
            sign(air, at(10), "ES", "Madrid")
        broadcast = Broadcast(
            campaign_id=air.id, status=BroadcastStatus.SENT, sent_at=at(12), created_at=at(11)
        )
        broadcast.translations.append(
            BroadcastTranslation(language="en", subject="Big news", body_markdown="News.")
        )
        db.session.add(broadcast)
        rsvp = Rsvp.query.join(Event).filter(Event.campaign_id == air.id).first()
        rsvp.status, rsvp.cancelled_at = RsvpStatus.CANCELLED, at(13)
        air_event().taken -= 1
        sign(parks, at(15), "US", "Boston")

    def after_new_york():  # 23:00 UTC: in neither digest
        sign(air, at(23), "FR", "Lyon")

    def air_event():
        return Event.query.filter_by(campaign_id=air.id).one()

    timeline = [
        (at(-1), night_before),
        (at(3), early_morning),
        (at(10), after_berlin),
        (at(23), after_new_york),
    ]
    return {"berlin": berlin, "new_york": new_york, "air": air, "parks": parks,
            "timeline": timeline}  # fmt: skip


def simulate(db, timeline, start: datetime, end: datetime, every=timedelta(minutes=10)):
    """Run send_due every `every` from start to end, letting the timeline happen on the way;
    returns {organizer email: [simulated time of each digest sent]}."""
    pending = sorted(timeline, key=lambda item: item[0])
    sent_at: dict[str, list[datetime]] = {}
    seen = 0
    now = start
    while now <= end:
        while pending and pending[0][0] <= now:
            pending.pop(0)[1]()
            db.session.commit()
        send_due(db.session, now)
        messages = digest_messages(db)
        for message in messages[seen:]:
            sent_at.setdefault(message.to_email, []).append(now)
        seen = len(messages)
        now += every
    return sent_at


def test_a_day_of_activity_gives_each_organizer_one_digest_at_their_hour(db, scenario):
    # The simulation starts at midnight in New York (06:00 in Berlin, before her hour) and
    # runs for 26 hours, every 10 minutes.
    times = simulate(db, scenario["timeline"], start=at(4), end=at(30) - timedelta(minutes=10))

    # 08:00 in Berlin is 06:00 UTC; 18:00 in New York is 22:00 UTC.
    assert times == {"berlin@example.org": [at(6)], "ny@example.org": [at(22)]}
    berlin_mail, ny_mail = digest_messages(db)

    # Bea reads Russian, about the one campaign she is on, in its Russian title.
    assert berlin_mail.to_email == "berlin@example.org"
    assert berlin_mail.language == "ru"
    air, parks = scenario["air"], scenario["parks"]
    assert air.translation("ru").title in berlin_mail.text_body
    assert parks.translation("en").title not in berlin_mail.text_body
    text = berlin_mail.text_body
    assert "103" in text  # 95 + 8 new: the total when she got it
    for place in ("Lyon", "Paris", "Berlin"):
        assert place in text
    # What happened after her digest waits for tomorrow's.
    assert "Madrid" not in text
    assert "Big news" not in text
    for path in ("/admin/c/clean-air/", "/admin/c/clean-air/stats",
                 "/admin/c/clean-air/comments", "/admin/c/clean-air/where-to-rally"):  # fmt: skip
        assert f"http://campaign.test{path}" in text
    assert 'href="http://campaign.test/admin/c/clean-air/where-to-rally"' in berlin_mail.html_body

    # Nate reads English: both campaigns, the one needing attention first.
    assert ny_mail.language == "en"
    assert ny_mail.subject == "Your daily digest: 2 campaigns"
    text = ny_mail.text_body
    assert text.index(air.translation("en").title) < text.index(parks.translation("en").title)
    air_part, parks_part = text.split(parks.translation("en").title, 1)
    for line in (
        "Needs your attention:",
        "1 comment waits for approval.",
        "1 flagged comment waits for review.",
        "10 new confirmed signatures, 105 in all.",  # 8 + 2 in Madrid; not the 23:00 one
        "52% of the goal of 200.",
        "Milestone: 100 signatures.",
        "Milestone: 50% of the goal.",
        "- France: 6",
        "- Germany: 2",
        "- Spain: 2",
        "- Paris, France: 95",
        "- Berlin, Germany: 2 (a rally is planned)",
        "Many supporters, no rally yet: Paris (95), Lyon (6)",
        "2 new comments.",
        "2 new flags from readers.",
        "New event: Rally at the Gate",
        "3 new RSVPs.",
        "1 RSVP cancelled.",
        "Update sent to supporters:",
        "- Big news",
    ):
        assert line in air_part, line
    for line in ("4 new confirmed signatures, 4 in all.", "- United States: 4",
                 "http://campaign.test/admin/c/parks/stats"):  # fmt: skip
        assert line in parks_part, line
    assert "Needs your attention" not in parks_part
    assert "Milestone" not in parks_part
    html = ny_mail.html_body
    assert "<h2" in html
    assert "Big news" in html
    assert 'lang="en"' in html

    # Each claim records its period: the day before the scheduled hour, in UTC.
    runs = {r.organizer_id: r for r in db.session.scalars(select(DigestRun))}
    berlin_run = runs[scenario["berlin"].id]
    assert (berlin_run.local_date, berlin_run.period_start, berlin_run.period_end) == (
        "2025-06-10",
        at(-18),
        at(6),
    )
    assert berlin_run.campaigns == 1
    assert berlin_run.outbox_message_id == berlin_mail.id
    assert runs[scenario["new_york"].id].campaigns == 2


def test_build_digest_gives_the_numbers_per_campaign(db, scenario):
    for _, happen in scenario["timeline"][:3]:
        happen()
    db.session.commit()
    result = build_digest(db.session, scenario["new_york"], at(-2), at(22))
    air, parks = result
    assert (air.slug, parks.slug) == ("clean-air", "parks")
    assert (air.new_signatures, air.new_comments, air.new_flags) == (10, 2, 2)
    assert (air.pending, air.flagged, air.attention) == (1, 1, 2)
    assert (air.new_rsvps, air.cancelled_rsvps, air.broadcasts) == (3, 1, ["Big news"])
    assert [e.title for e in air.new_events] == ["Rally at the Gate"]
    assert air.milestones == [Milestone("count", 100), Milestone("goal", 50)]
    assert [(c.code, c.new) for c in air.countries] == [("FR", 6), ("DE", 2), ("ES", 2)]
    assert [c.city for c in air.cities_without_rally] == ["Paris", "Lyon"]
    assert parks.new_signatures == 4
    assert parks.attention == 0
    assert air.links["broadcasts"].endswith("/admin/c/clean-air/updates")


# --- sent once ------------------------------------------------------------------------------


@pytest.fixture
def berlin_with_news(db):
    person = organizer(db, email="bea@example.org", timezone="Europe/Berlin", hour=8)
    campaign = make_campaign(slug="news")
    member(campaign, person)
    sign(campaign, at(-3), "DE", "Berlin")
    db.session.commit()
    return person


def test_running_twice_sends_once(db, berlin_with_news):
    assert send_due(db.session, at(6)) == 1
    assert send_due(db.session, at(6)) == 0
    assert send_due(db.session, at(7)) == 0
    assert len(digest_messages(db)) == 1


def test_two_runs_at_the_same_moment_send_once(app, db, berlin_with_news):
    """Two machines both find the digest due; the claim lets one of them send it."""
    other = Session(db.engine)
    try:
        mine, theirs = due_digests(db.session, at(6)), due_digests(other, at(6))
        assert len(mine) == len(theirs) == 1
        assert send_digest(db.session, mine[0]) is True
        assert send_digest(other, theirs[0]) is False
    finally:
        other.close()
    assert len(digest_messages(db)) == 1
    assert len(db.session.scalars(select(DigestRun)).all()) == 1


def test_a_failure_after_the_claim_gives_it_back(db, berlin_with_news, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr(digests, "_queue_digest", broken)
    assert send_due(db.session, at(6)) == 0
    db.session.rollback()
    assert db.session.scalars(select(DigestRun)).all() == []
    monkeypatch.undo()
    assert send_due(db.session, at(6, DAY) + timedelta(minutes=10)) == 1


def test_a_missed_hour_is_caught_up_the_same_local_day(db, berlin_with_news):
    """Cron was down from 08:00 to 09:09 in Berlin: the 09:10 run sends the 08:00 digest, which
    still ends at 08:00; what came after waits for tomorrow's, and nothing is sent twice."""
    campaign = Membership.query.one().campaign
    sign(campaign, at(6.5), "DE", "Hamburg")  # 08:30 in Berlin, after the scheduled hour
    db.session.commit()
    assert send_due(db.session, at(5, DAY) + timedelta(minutes=50)) == 0  # 07:50: not yet
    assert send_due(db.session, at(7) + timedelta(minutes=10)) == 1  # 09:10
    run = db.session.scalars(select(DigestRun)).one()
    assert run.period_end == at(6)
    assert "1 new confirmed signature, 1 in all." in digest_messages(db)[0].text_body
    assert send_due(db.session, at(21) + timedelta(minutes=50)) == 0  # 23:50 the same day
    # The next morning: the 08:30 signature is in.
    assert send_due(db.session, at(30)) == 1
    assert "1 new confirmed signature, 2 in all." in digest_messages(db)[1].text_body


def test_a_day_missed_entirely_is_not_sent_the_next_day(db, berlin_with_news):
    # 00:10 in Berlin the next day: yesterday's hour passed with no run at all.
    assert send_due(db.session, at(22) + timedelta(minutes=10)) == 0
    assert db.session.scalars(select(DigestRun)).all() == []


def test_an_empty_period_sends_nothing(db):
    person = organizer(db, timezone="Europe/Berlin")
    campaign = make_campaign()
    member(campaign, person)
    sign(campaign, at(-48))  # before the period
    db.session.commit()
    assert send_due(db.session, at(6)) == 0
    assert digest_messages(db) == []
    run = db.session.scalars(select(DigestRun)).one()
    assert (run.campaigns, run.outbox_message_id) == (0, None)
    # The day is done: later runs do not look again.
    assert due_digests(db.session, at(8)) == []


def test_off_sends_nothing(db):
    person = organizer(db)
    campaign = make_campaign()
    member(campaign, person, digest=DigestFrequency.OFF)
    sign(campaign, at(-3))
    db.session.commit()
    assert due_digests(db.session, at(9)) == []
    assert send_due(db.session, at(9)) == 0
    assert digest_messages(db) == []


def test_a_disabled_organizer_gets_nothing(db):
    person = organizer(db, is_disabled=True)
    campaign = make_campaign()
    member(campaign, person)
    sign(campaign, at(-3))
    db.session.commit()
    assert send_due(db.session, at(9)) == 0


def test_weekly_comes_on_mondays_and_covers_the_week(db):
    person = organizer(db, email="weekly@example.org", timezone="America/New_York", hour=7)
    campaign = make_campaign(slug="weekly")
    member(campaign, person, digest=DigestFrequency.WEEKLY)
    sign(campaign, at(12), "US", "Chicago")  # Tuesday
    sign(campaign, at(12, DAY + timedelta(days=3)), "US", "Denver")  # Friday
    db.session.commit()
    # Tuesday to Sunday at 07:00 in New York (11:00 UTC): nothing.
    for day in range(1, 6):
        assert send_due(db.session, at(11, DAY + timedelta(days=day))) == 0
    monday = DAY + timedelta(days=6)
    assert monday.weekday() == 0
    assert send_due(db.session, at(10, monday)) == 0  # 06:00 in New York
    assert send_due(db.session, at(11, monday)) == 1
    (message,) = digest_messages(db)
    assert message.subject == "Your weekly digest: 1 campaign"
    assert "2 new confirmed signatures, 2 in all." in message.text_body
    assert "the past 7 days" in message.text_body
    run = db.session.scalars(select(DigestRun)).one()
    assert run.period_end - run.period_start == timedelta(days=7)


def test_daily_and_weekly_campaigns_share_one_email_on_mondays(db):
    person = organizer(db, timezone="UTC", hour=8)
    daily, weekly = make_campaign(slug="daily"), make_campaign(slug="weekly")
    member(daily, person)
    member(weekly, person, digest=DigestFrequency.WEEKLY)
    monday = DAY + timedelta(days=6)
    sign(daily, monday - timedelta(hours=2))
    sign(weekly, monday - timedelta(days=4))
    db.session.commit()
    assert send_due(db.session, at(8, monday)) == 1
    (message,) = digest_messages(db)
    assert message.subject == "Your daily digest: 2 campaigns"


def test_a_moderator_gets_links_only_to_screens_they_may_open(db):
    person = organizer(db)
    campaign = make_campaign(slug="moderated")
    member(campaign, person, "moderator")
    sign(campaign, at(-3), "FR", "Lyon")
    db.session.commit()
    (digest,) = build_digest(db.session, person, at(-24), at(8))
    assert set(digest.links) == {"overview", "comments"}


def test_the_day_follows_the_organizer_across_a_change_of_clocks():
    """On the night clocks go forward the organizer's day is 23 hours; the periods still
    meet at their hour."""
    person = Organizer(timezone="Europe/Berlin", digest_hour=8)
    # Clocks go forward in Berlin early on Sunday 30 March 2025.
    saturday = scheduled_at(person, datetime(2025, 3, 29).date())
    sunday = scheduled_at(person, datetime(2025, 3, 30).date())
    assert (saturday.hour, sunday.hour) == (7, 6)
    assert sunday - saturday == timedelta(hours=23)


@pytest.mark.parametrize(
    ("before", "after", "goal", "expected"),
    [
        (95, 105, 200, [("count", 100), ("goal", 50)]),
        (
            0,
            1000,
            1000,
            [
                ("count", 100),
                ("count", 500),
                ("count", 1000),
                ("goal", 25),
                ("goal", 50),
                ("goal", 75),
                ("goal", 100),
            ],
        ),  # fmt: skip
        (100, 120, 0, []),
        (149, 150, 600, [("goal", 25)]),
    ],
)
def test_milestones(before, after, goal, expected):
    assert milestones_crossed(before, after, goal) == [Milestone(*m) for m in expected]


# --- running it ---------------------------------------------------------------------------


@pytest.fixture
def due_now(db):
    """An organizer whose digest is due now (UTC, 00:00) with a signature in its period."""
    person = organizer(db, timezone="UTC", hour=0)
    campaign = make_campaign()
    member(campaign, person)
    today = scheduled_at(person, utcnow().date())
    sign(campaign, today - timedelta(hours=1))
    db.session.commit()
    return person


def test_flask_digests_send(app, db, due_now):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["digests", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 digest." in result.output
    assert runner.invoke(args=["digests", "send"]).output.strip() == "Sent 0 digests."
    assert len(digest_messages(db)) == 1


def test_the_worker_sends_digests_with_its_periodic_tasks(app, db, due_now):
    assert worker._organizer_digests in worker.PERIODIC_TASKS
    worker.run_periodic()
    assert len(digest_messages(db)) == 1


def test_rq_workers_on_two_machines_send_the_digest_once(
    app, db, due_now, database_url, sendgrid, mail, redis_url
):
    """With REDIS_URL, the sweep job of each RQ worker runs the digests; two workers (two
    machines) sweeping within the same hour send one digest, delivered through SendGrid."""
    from campaign import create_app
    from campaign.extensions import db as _db
    from tests.conftest import test_config

    for _machine in range(2):
        rq_app = create_app(test_config(database_url, sendgrid, REDIS_URL=redis_url))
        worker.run_rq_worker(rq_app, burst=True)
        with rq_app.app_context():
            _db.session.remove()
            _db.engine.dispose()
    assert len(digest_messages(db)) == 1
    (sent,) = mail.to(due_now.email)
    assert sent.subject.startswith("Your daily digest")
    assert sent.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# --- settings ------------------------------------------------------------------------------


@pytest.fixture
def ada(db):
    person = make_organizer(email="ada@example.org")
    campaign = make_campaign(slug="ada-campaign", title="Save the Lake")
    add_member(campaign, person, "owner")
    db.session.commit()
    return person


def test_account_page_shows_the_digest_settings(client, ada):
    login(client, ada)
    html = client.get("/admin/account").text
    for label in ("Time zone", "Hour of the digest", "Save the Lake"):
        assert re.search(rf"<label[^>]*>\s*{label}\s*</label>", html), label
    assert '<option selected value="UTC">UTC</option>' in html
    assert '<option selected value="daily">Daily</option>' in html
    assert '<option value="weekly">Weekly, on Mondays</option>' in html


def test_account_saves_the_digest_settings(client, db, ada):
    login(client, ada)
    membership = Membership.query.one()
    response = client.post(
        "/admin/account",
        data={
            "digest-timezone": "America/New_York",
            "digest-digest_hour": "18",
            f"digest-campaign_{membership.campaign_id}": "weekly",
            "digest-submit": "Save digest settings",
        },
    )
    assert response.status_code == 302
    person = db.session.get(Organizer, ada.id)
    assert (person.timezone, person.digest_hour) == ("America/New_York", 18)
    assert db.session.get(Membership, membership.id).digest == DigestFrequency.WEEKLY
    entry = db.session.scalars(select(AuditEntry)).one()
    assert entry.action == "organizer.digest_updated"
    assert "Your digest settings are saved." in client.get("/admin/account").text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("digest-timezone", "Mars/Olympus"),
        ("digest-digest_hour", "24"),
        ("digest-campaign_{id}", "hourly"),
    ],  # fmt: skip
)
def test_account_refuses_digest_settings_not_offered(client, db, ada, field, value):
    login(client, ada)
    membership = Membership.query.one()
    data = {
        "digest-timezone": "Europe/Berlin",
        "digest-digest_hour": "8",
        f"digest-campaign_{membership.campaign_id}": "daily",
        "digest-submit": "Save digest settings",
    }
    data[field.format(id=membership.campaign_id)] = value
    response = client.post("/admin/account", data=data)
    assert response.status_code == 422
    assert "Choose one of the options in the list." in response.text
    person = db.session.get(Organizer, ada.id)
    assert (person.timezone, person.digest_hour) == ("UTC", 8)


def test_saving_the_profile_leaves_the_digest_settings_alone(client, db, ada):
    login(client, ada)
    response = client.post(
        "/admin/account", data={"name": "Ada", "language": "en", "submit": "Save"}
    )
    assert response.status_code == 302
    assert db.session.get(Membership, Membership.query.one().id).digest == DigestFrequency.DAILY


def test_one_click_in_a_digest_stops_the_digests(client, db, berlin_with_news):
    """RFC 8058: the digest carries List-Unsubscribe headers; one POST, without logging in,
    turns the organizer's digests off on every campaign, and the next day sends nothing."""
    import json

    from campaign.models import Membership

    other = make_campaign(slug="second")
    member(other, berlin_with_news)
    sign(other, at(-2), "DE", "Berlin")
    db.session.commit()
    assert send_due(db.session, at(6)) == 1
    (message,) = digest_messages(db)
    headers = json.loads(message.headers)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = headers["List-Unsubscribe"].strip("<>")
    assert link in message.text_body
    assert link in message.html_body

    response = client.post(link.removeprefix("http://campaign.test"))
    assert response.status_code == 200
    assert "no more digests" in response.text
    db.session.expire_all()
    assert {m.digest for m in db.session.scalars(select(Membership))} == {DigestFrequency.OFF}
    sign(other, at(20), "DE", "Berlin")
    db.session.commit()
    assert send_due(db.session, at(30)) == 0
