"""The statistics screen: charts, places, confirmation rate, and who may see it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from campaign.models import Role
from campaign.models.types import utcnow
from tests.factories import add_member, login, make_campaign, make_organizer, make_signature

SVG = "{http://www.w3.org/2000/svg}"


def stats_url(campaign) -> str:
    return f"/admin/c/{campaign.slug}/stats"


def owner_of(campaign, **kw):
    organizer = make_organizer(**kw)
    add_member(campaign, organizer, Role.OWNER)
    return organizer


def svgs(body: str) -> list[ET.Element]:
    return [
        ET.fromstring(match)  # noqa: S314 - our own page
        for match in re.findall(r"<svg\b.*?</svg>", body, flags=re.DOTALL)
    ]


@pytest.fixture
def campaign_with_signatures(db):
    campaign = make_campaign(slug="stats-demo")
    campaign.created_at = utcnow() - timedelta(days=10)
    for country, city, n in (("DE", "Berlin", 3), ("DE", "berlin", 1), ("FR", "Lyon", 2)):
        for _ in range(n):
            make_signature(campaign, confirmed=True, country=country, city=city)
    make_signature(campaign, country="IT", city="Roma")  # unconfirmed
    return campaign


def test_statistics_with_signatures(db, client, campaign_with_signatures):
    campaign = campaign_with_signatures
    login(client, owner_of(campaign))

    response = client.get(stats_url(campaign))

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "6 of 7 signatures confirmed" in body
    assert "85.7%" in body
    charts = svgs(body)
    assert [c.get("id") for c in charts] == ["chart-daily", "chart-hourly"]
    for chart in charts:
        assert chart.get("role") == "img"
        assert chart.find(f"{SVG}title").text
    daily_bars = charts[0].findall(f".//{SVG}rect")
    assert [int(r.get("data-value")) for r in daily_bars] == [6]  # all confirmed today
    assert len(re.findall(r"<details", body)) == 2
    assert "(UTC)" in body
    # Countries by name, cities grouped whatever their case, unconfirmed ones left out.
    assert re.search(r"Germany.*?<td class=\"num\">4</td>", body, re.DOTALL)
    assert re.search(r"Berlin <span class=\"muted\">Germany</span>.*?>4</td>", body, re.DOTALL)
    assert "Lyon" in body
    assert "Italy" not in body
    assert "Roma" not in body


def test_country_names_in_the_organizers_language(db, client, campaign_with_signatures):
    campaign = campaign_with_signatures
    login(client, owner_of(campaign, language="ru"))
    body = client.get(stats_url(campaign)).get_data(as_text=True)
    assert "Германия" in body
    assert "Germany" not in body


def test_no_signatures_yet(db, client):
    campaign = make_campaign()
    login(client, owner_of(campaign))
    response = client.get(stats_url(campaign))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "No signatures yet" in body
    assert "<svg" not in body


def test_signatures_but_none_confirmed(db, client):
    campaign = make_campaign()
    make_signature(campaign, country="FR", city="Lyon")
    login(client, owner_of(campaign))
    body = client.get(stats_url(campaign)).get_data(as_text=True)
    assert "0 of 1 signature confirmed" in body
    assert "No confirmed signatures yet" in body
    charts = svgs(body)
    assert len(charts) == 2
    assert all(chart.findall(f".//{SVG}rect") == [] for chart in charts)


def test_hourly_chart_counts_the_last_two_days(db, client):
    campaign = make_campaign()
    campaign.created_at = utcnow() - timedelta(days=5)
    recent = make_signature(campaign, confirmed=True)
    old = make_signature(campaign, confirmed=True)
    old.created_at = old.confirmed_at = utcnow() - timedelta(days=3)
    recent.confirmed_at = utcnow() - timedelta(hours=5)
    login(client, owner_of(campaign))
    daily, hourly = svgs(client.get(stats_url(campaign)).get_data(as_text=True))
    assert [int(r.get("data-value")) for r in hourly.findall(f".//{SVG}rect")] == [1]
    assert sum(int(r.get("data-value")) for r in daily.findall(f".//{SVG}rect")) == 2


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.OWNER, 200), (Role.EDITOR, 200), (Role.MODERATOR, 403)],
)
def test_who_may_see_statistics(db, client, campaign_with_signatures, role, status):
    organizer = make_organizer()
    add_member(campaign_with_signatures, organizer, role)
    login(client, organizer)
    response = client.get(stats_url(campaign_with_signatures))
    assert response.status_code == status
    if status == 403:
        assert "Berlin" not in response.get_data(as_text=True)


def test_another_campaigns_organizer_is_told_it_does_not_exist(
    db, client, campaign_with_signatures
):
    outsider = owner_of(make_campaign())
    login(client, outsider)
    response = client.get(stats_url(campaign_with_signatures))
    assert response.status_code == 404
    assert "Berlin" not in response.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(db, client, campaign_with_signatures):
    db.session.commit()
    response = client.get(stats_url(campaign_with_signatures))
    assert response.status_code == 302
    assert "/admin/login" in response.location
