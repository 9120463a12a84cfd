"""Reading campaigns for the public (campaign/services/campaigns.py)."""

from datetime import timedelta

import pytest

from campaign.models import Campaign, CampaignStatus
from campaign.models.types import utcnow
from campaign.services.campaigns import (
    get_public_campaign,
    list_public_campaigns,
    localize,
    progress_percent,
    recent_public_signers,
    signatures_by_country,
)
from campaign.services.errors import CampaignNotFound
from tests.factories import make_campaign, make_signature

# get_public_campaign


@pytest.mark.parametrize(
    "status", [CampaignStatus.OPEN, CampaignStatus.CLOSED, CampaignStatus.ARCHIVED]
)
def test_public_campaign_is_found_by_slug(db, status):
    campaign = make_campaign(slug="water", status=status)
    assert get_public_campaign(db.session, "water") is campaign


def test_draft_campaign_is_not_public(db):
    make_campaign(slug="secret", status=CampaignStatus.DRAFT)
    with pytest.raises(CampaignNotFound):
        get_public_campaign(db.session, "secret")


def test_unknown_slug_is_not_found(db):
    make_campaign(slug="water")
    with pytest.raises(CampaignNotFound):
        get_public_campaign(db.session, "fire")


# localize


def test_localize_picks_the_readers_language(db):
    campaign = make_campaign(languages=("en", "ru"))
    localized = localize(campaign, "ru")
    assert localized.text.language == "ru"
    assert localized.is_fallback is False


def test_localize_falls_back_to_the_default_language(db):
    campaign = make_campaign(languages=("en", "ru"), default_language="ru")
    localized = localize(campaign, "de")
    assert localized.text.language == "ru"
    assert localized.requested_language == "de"
    assert localized.is_fallback is True


def test_localize_falls_back_to_any_text_when_default_is_missing(db):
    campaign = make_campaign(languages=("ru",), default_language="en")
    localized = localize(campaign, "de")
    assert localized.text.language == "ru"
    assert localized.is_fallback is True


def test_localize_without_any_text_is_not_found(db):
    campaign = make_campaign(languages=())
    with pytest.raises(CampaignNotFound):
        localize(campaign, "en")


# list_public_campaigns


def _slugs(localized_list):
    return [item.campaign.slug for item in localized_list]


def test_list_excludes_drafts_and_archived(db):
    make_campaign(slug="open", status=CampaignStatus.OPEN)
    make_campaign(slug="closed", status=CampaignStatus.CLOSED)
    make_campaign(slug="draft", status=CampaignStatus.DRAFT)
    make_campaign(slug="archived", status=CampaignStatus.ARCHIVED)
    assert sorted(_slugs(list_public_campaigns(db.session, "en"))) == ["closed", "open"]


def test_list_puts_open_before_closed(db):
    # Closed campaigns are created first and have more signatures: status still wins.
    closed_a = make_campaign(slug="closed-a", status=CampaignStatus.CLOSED)
    closed_a.signature_count = 900
    make_campaign(slug="closed-b", status=CampaignStatus.CLOSED)
    make_campaign(slug="open-a", status=CampaignStatus.OPEN)
    make_campaign(slug="open-b", status=CampaignStatus.OPEN)
    db.session.flush()
    slugs = _slugs(list_public_campaigns(db.session, "en"))
    assert set(slugs[:2]) == {"open-a", "open-b"}
    assert set(slugs[2:]) == {"closed-a", "closed-b"}


def test_list_puts_bigger_campaigns_first_within_a_status(db):
    small = make_campaign(slug="small")
    big = make_campaign(slug="big")
    small.signature_count, big.signature_count = 5, 50
    db.session.flush()
    assert _slugs(list_public_campaigns(db.session, "en")) == ["big", "small"]


def test_list_is_localized_with_fallback(db):
    make_campaign(slug="both", languages=("en", "ru"))
    make_campaign(slug="english", languages=("en",))
    items = {item.campaign.slug: item for item in list_public_campaigns(db.session, "ru")}
    assert items["both"].text.language == "ru"
    assert items["both"].is_fallback is False
    assert items["english"].text.language == "en"
    assert items["english"].is_fallback is True


def test_list_skips_campaigns_without_any_text(db):
    make_campaign(slug="untitled", languages=())
    make_campaign(slug="titled")
    assert _slugs(list_public_campaigns(db.session, "en")) == ["titled"]


# recent_public_signers


def test_recent_signers_are_confirmed_and_public_only(db):
    campaign = make_campaign()
    shown = make_signature(campaign, confirmed=True, is_public=True)
    make_signature(campaign, confirmed=True, is_public=False)
    make_signature(campaign, confirmed=False, is_public=True)
    assert recent_public_signers(db.session, campaign) == [shown]


def test_recent_signers_are_newest_first(db):
    campaign = make_campaign()
    now = utcnow()
    signatures = [make_signature(campaign, confirmed=True) for _ in range(3)]
    # Confirmation order, not creation order, decides.
    for signature, minutes_ago in zip(signatures, [5, 1, 10], strict=True):
        signature.confirmed_at = now - timedelta(minutes=minutes_ago)
    db.session.flush()
    recent = recent_public_signers(db.session, campaign)
    assert recent == [signatures[1], signatures[0], signatures[2]]


def test_recent_signers_are_limited(db):
    campaign = make_campaign()
    now = utcnow()
    signatures = [make_signature(campaign, confirmed=True) for _ in range(5)]
    for minutes_ago, signature in enumerate(signatures):
        signature.confirmed_at = now - timedelta(minutes=minutes_ago)
    db.session.flush()
    assert recent_public_signers(db.session, campaign, limit=2) == signatures[:2]


def test_recent_signers_default_limit_is_ten(db):
    campaign = make_campaign()
    for _ in range(12):
        make_signature(campaign, confirmed=True)
    assert len(recent_public_signers(db.session, campaign)) == 10


def test_recent_signers_belong_to_the_campaign(db):
    campaign, other = make_campaign(), make_campaign()
    make_signature(other, confirmed=True)
    assert recent_public_signers(db.session, campaign) == []


# signatures_by_country


def test_by_country_counts_only_confirmed(db):
    campaign = make_campaign()
    for country in ["DE", "DE", "FR"]:
        make_signature(campaign, confirmed=True, country=country)
    make_signature(campaign, confirmed=False, country="DE")
    make_signature(campaign, confirmed=False, country="RU")
    assert signatures_by_country(db.session, campaign) == {"DE": 2, "FR": 1}


def test_by_country_is_largest_first(db):
    campaign = make_campaign()
    for country in ["FR", "DE", "DE", "DE", "SY", "SY"]:
        make_signature(campaign, confirmed=True, country=country)
    assert list(signatures_by_country(db.session, campaign).items()) == [
        ("DE", 3),
        ("SY", 2),
        ("FR", 1),
    ]


def test_by_country_ignores_other_campaigns(db):
    campaign, other = make_campaign(), make_campaign()
    make_signature(other, confirmed=True, country="DE")
    make_signature(campaign, confirmed=True, country="FR")
    assert signatures_by_country(db.session, campaign) == {"FR": 1}


def test_by_country_is_empty_without_signatures(db):
    assert signatures_by_country(db.session, make_campaign()) == {}


# progress_percent (no database needed)


@pytest.mark.parametrize(
    ("count", "goal", "percent"),
    [
        (0, 1000, 0),
        (250, 1000, 25),
        (999, 1000, 99),  # rounds down: the bar never shows done before it is
        (1000, 1000, 100),
        (1500, 1000, 100),  # capped for the bar
        (1, 100_000, 0),
    ],
)
def test_progress_percent(count, goal, percent):
    assert progress_percent(Campaign(goal=goal, signature_count=count)) == percent


def test_progress_percent_without_a_goal_is_zero():
    assert progress_percent(Campaign(goal=0, signature_count=10)) == 0
