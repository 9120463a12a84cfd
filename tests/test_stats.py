"""Campaign statistics: series over time, places, confirmation rate (on both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from campaign.services import stats
from tests.factories import make_campaign, make_signature


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def signed(campaign, *, confirmed_at: datetime | None = None, **fields):
    """A signature, confirmed at a given moment (or not confirmed)."""
    signature = make_signature(campaign, **fields)
    if confirmed_at is not None:
        signature.created_at = min(fields.get("created_at", confirmed_at), confirmed_at)
        signature.confirmed_at = confirmed_at
    return signature


def started(created: datetime):
    campaign = make_campaign()
    campaign.created_at = created
    return campaign


def test_daily_series_is_zero_filled_from_creation_to_today(db):
    campaign = started(at(2024, 3, 1, 10))
    signed(campaign, confirmed_at=at(2024, 3, 1, 11))
    signed(campaign, confirmed_at=at(2024, 3, 1, 23, 59, 59))
    signed(campaign, confirmed_at=at(2024, 3, 3, 0, 0, 0))
    signed(campaign, confirmed_at=at(2024, 3, 4, 12))
    signed(campaign, created_at=at(2024, 3, 2, 9))  # never confirmed: not counted
    signed(started(at(2024, 3, 1)), confirmed_at=at(2024, 3, 2, 9))  # another campaign
    db.session.flush()

    series = stats.daily_confirmed(db.session, campaign, now=at(2024, 3, 5, 12))

    assert series == [
        (date(2024, 3, 1), 2),
        (date(2024, 3, 2), 0),
        (date(2024, 3, 3), 1),
        (date(2024, 3, 4), 1),
        (date(2024, 3, 5), 0),
    ]


def test_daily_series_starts_at_a_first_signature_older_than_the_campaign(db):
    campaign = started(at(2024, 3, 3, 8))
    signed(campaign, created_at=at(2024, 3, 1, 8), confirmed_at=at(2024, 3, 2, 8))
    db.session.flush()

    series = stats.daily_confirmed(db.session, campaign, now=at(2024, 3, 3, 9))

    assert series == [(date(2024, 3, 1), 0), (date(2024, 3, 2), 1), (date(2024, 3, 3), 0)]


def test_daily_series_of_a_new_campaign_without_signatures(db):
    campaign = started(at(2024, 3, 1, 23))
    db.session.flush()
    series = stats.daily_confirmed(db.session, campaign, now=at(2024, 3, 3, 1))
    assert series == [(date(2024, 3, d), 0) for d in (1, 2, 3)]


def test_daily_series_over_a_long_life_has_one_entry_per_day(db):
    campaign = started(at(2022, 1, 1))
    for day in range(0, 800, 7):
        signed(campaign, confirmed_at=at(2022, 1, 1, 12) + timedelta(days=day))
    db.session.flush()
    series = stats.daily_confirmed(db.session, campaign, now=at(2024, 3, 10))
    assert len(series) == (date(2024, 3, 10) - date(2022, 1, 1)).days + 1
    assert sum(count for _, count in series) == len(range(0, 800, 7))
    assert series[7] == (date(2022, 1, 8), 1)
    assert [day for day, _ in series] == sorted({day for day, _ in series})


def test_hourly_series_covers_the_last_48_hours_zero_filled(db):
    campaign = started(at(2024, 3, 1))
    now = at(2024, 3, 5, 12, 30)
    signed(campaign, confirmed_at=at(2024, 3, 3, 12, 59, 59))  # just before the window
    signed(campaign, confirmed_at=at(2024, 3, 3, 13, 0, 0))  # the first hour
    signed(campaign, confirmed_at=at(2024, 3, 4, 7, 15))
    signed(campaign, confirmed_at=at(2024, 3, 4, 7, 45))
    signed(campaign, confirmed_at=at(2024, 3, 5, 12, 10))  # the hour in progress
    signed(campaign, created_at=at(2024, 3, 5, 11))  # unconfirmed
    db.session.flush()

    series = stats.hourly_confirmed(db.session, campaign, now=now)

    assert len(series) == 48
    assert series[0] == (at(2024, 3, 3, 13), 1)
    assert series[-1] == (at(2024, 3, 5, 12), 1)
    hours = dict(series)
    assert hours[at(2024, 3, 4, 7)] == 2
    assert sum(hours.values()) == 4
    assert [hour for hour, _ in series] == [
        at(2024, 3, 3, 13) + timedelta(hours=n) for n in range(48)
    ]


def test_hourly_series_with_nothing_recent(db):
    campaign = started(at(2024, 1, 1))
    signed(campaign, confirmed_at=at(2024, 1, 2))
    db.session.flush()
    series = stats.hourly_confirmed(db.session, campaign, now=at(2024, 3, 5, 0, 0))
    assert len(series) == 48
    assert all(count == 0 for _, count in series)
    assert series[-1][0] == at(2024, 3, 5, 0)


def test_top_countries_counts_confirmed_signatures_most_first(db):
    campaign = make_campaign()
    for country, n in (("FR", 3), ("DE", 5), ("BE", 3), ("IT", 1)):
        for _ in range(n):
            make_signature(campaign, confirmed=True, country=country)
    make_signature(campaign, country="IT")  # unconfirmed
    make_signature(make_campaign(), confirmed=True, country="ES")  # elsewhere
    db.session.flush()

    top = stats.top_countries(db.session, campaign)

    assert [(p.country, p.count) for p in top] == [("DE", 5), ("BE", 3), ("FR", 3), ("IT", 1)]
    assert [p.country for p in stats.top_countries(db.session, campaign, limit=2)] == ["DE", "BE"]


def test_top_cities_group_case_insensitively_within_a_country(db):
    campaign = make_campaign()
    # Shown as most people capitalize it, even when fewer of them typed it that way.
    for city in ("paris", "paris", "PARIS ", "Paris", "Lyon"):
        make_signature(campaign, confirmed=True, country="FR", city=city)
    make_signature(campaign, confirmed=True, country="US", city="Paris")  # Paris, Texas
    for city in ("москва", "москва", "Москва"):
        make_signature(campaign, confirmed=True, country="RU", city=city)
    make_signature(campaign, confirmed=True, country="US", city="NYC")
    make_signature(campaign, confirmed=True, country="FR", city="")  # no city given
    make_signature(campaign, confirmed=True, country="FR", city="  ")
    make_signature(campaign, country="FR", city="Lyon")  # unconfirmed
    db.session.flush()

    top = stats.top_cities(db.session, campaign)

    assert [(p.city, p.country, p.count) for p in top] == [
        ("Paris", "FR", 4),
        ("Москва", "RU", 3),
        ("Lyon", "FR", 1),
        ("NYC", "US", 1),
        ("Paris", "US", 1),
    ]


def test_top_cities_keep_the_top_ones(db):
    campaign = make_campaign()
    for n in range(1, 8):
        for _ in range(n):
            make_signature(campaign, confirmed=True, country="DE", city=f"Stadt {n}")
    db.session.flush()
    top = stats.top_cities(db.session, campaign, limit=3)
    assert [(p.city, p.count) for p in top] == [("Stadt 7", 7), ("Stadt 6", 6), ("Stadt 5", 5)]
    assert stats.top_cities(db.session, make_campaign()) == []


def test_confirmation_rate(db):
    campaign = make_campaign()
    assert stats.confirmation_rate(db.session, campaign) == stats.ConfirmationRate(0, 0)
    assert stats.confirmation_rate(db.session, campaign).percent is None
    make_signature(campaign, confirmed=True)
    make_signature(campaign, confirmed=True)
    make_signature(campaign)
    make_signature(make_campaign(), confirmed=True)
    db.session.flush()
    rate = stats.confirmation_rate(db.session, campaign)
    assert (rate.confirmed, rate.total) == (2, 3)
    assert rate.percent == 66.6


def test_confirmation_rate_never_rounds_up_to_everyone():
    assert stats.ConfirmationRate(confirmed=999, total=1000).percent == 99.9
    assert stats.ConfirmationRate(confirmed=9999, total=10000).percent == 99.9
    assert stats.ConfirmationRate(confirmed=5, total=5).percent == 100.0


def test_dashboard_numbers_still_work(db):
    campaign = make_campaign()
    make_signature(campaign, confirmed=True)
    db.session.flush()
    assert stats.confirmed_since(db.session, [campaign.id], 24) == {campaign.id: 1}
