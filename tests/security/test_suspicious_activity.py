"""Suspicious activity: bursts found, invalidated in one batch (every public number follows),
audited, restored exactly, and only by owners and editors (campaign/admin/suspicious.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from campaign.models import AuditEntry, Campaign, Role, Signature
from campaign.models.types import utcnow
from campaign.services import suspicious
from campaign.services.campaigns import signatures_by_country
from campaign.services.signing import confirm, confirmation_token
from tests.conftest import test_config as config_for
from tests.factories import add_member, login, make_campaign, make_organizer, make_signature

RULES = suspicious.BurstRules(size=10, window=timedelta(minutes=10))


@pytest.fixture
def app_config(database_url, sendgrid):
    # The petition page is read before and after: no shared copy a few seconds old.
    return config_for(database_url, sendgrid, PAGE_CACHE_SECONDS=0)


@pytest.fixture
def campaign(db):
    return make_campaign(slug="clean-water")


@pytest.fixture
def burst(db, campaign):
    """12 signatures from one network and one domain within 6 minutes: 8 confirmed, 4 not."""
    start = utcnow() - timedelta(hours=2)
    rows = [
        make_signature(
            campaign,
            confirmed=n < 8,
            full_name=f"Burster{n} Fake",
            country="FR",
            ip_hash=f"{n:032x}",
            ip_range_hash="a" * 32,
            email=f"x{n}@spam.example",
            email_domain="spam.example",
            user_agent_class="script",
            seconds_on_form=1,
            created_at=start + timedelta(seconds=30 * n),
        )
        for n in range(12)
    ]
    db.session.commit()
    return rows


@pytest.fixture
def honest(db, campaign):
    """Five honest signers on gmail.com, an hour apart, from different networks."""
    start = utcnow() - timedelta(days=2)
    rows = [
        make_signature(
            campaign,
            confirmed=True,
            full_name=f"Honest{n} Person",
            country="DE",
            ip_range_hash=f"{n:032x}",
            email=f"h{n}@gmail.com",
            email_domain="gmail.com",
            user_agent_class="browser",
            seconds_on_form=40,
            created_at=start + timedelta(hours=n),
        )
        for n in range(5)
    ]
    db.session.commit()
    return rows


def _member(db, client, campaign, role):
    organizer = make_organizer()
    add_member(campaign, organizer, role)
    assert login(client, organizer).status_code == 302
    return organizer


@pytest.fixture
def as_owner(db, client, campaign):
    _member(db, client, campaign, Role.OWNER)
    return client


def _count(db) -> int:
    db.session.rollback()
    return db.session.scalar(select(Campaign.signature_count))


def _api(client) -> dict:
    return client.get("/api/v1/campaigns/clean-water").get_json()


def _burst_values(page: str) -> list[str]:
    return [unescape(v) for v in re.findall(r'name="burst" value="([^"]+)"', page)]


def test_bursts_are_found_by_network_and_domain(db, campaign, burst, honest):
    bursts = suspicious.find_bursts(db.session, campaign, RULES)
    assert {(b.kind, b.count) for b in bursts} == {("ip", 12), ("domain", 12)}
    network = next(b for b in bursts if b.kind == "ip")
    assert network.confirmed == 8
    assert network.automated_percent == 100
    assert network.median_seconds == 1
    assert network.span == timedelta(seconds=330)
    assert network.label == "a" * 8  # a piece of the hash, never an address


def test_free_mail_is_not_flagged_by_its_domain_without_a_burst(db, campaign):
    start = utcnow() - timedelta(hours=1)
    for n in range(12):  # many gmail.com signers in 10 minutes, each from their own network
        make_signature(
            campaign,
            email=f"g{n}@gmail.com",
            email_domain="gmail.com",
            ip_range_hash=f"{n:032x}",
            created_at=start + timedelta(seconds=40 * n),
        )
    assert suspicious.find_bursts(db.session, campaign, RULES) == []


def test_signatures_spread_out_are_not_a_burst(db, campaign, honest):
    assert suspicious.find_bursts(db.session, campaign, RULES) == []


def test_empty_state(db, as_owner, campaign):
    page = as_owner.get("/admin/c/clean-water/suspicious").get_data(as_text=True)
    assert "Nothing suspicious" in page


def test_invalidate_then_restore_through_the_panel(db, as_owner, campaign, burst, honest):
    assert _count(db) == 13
    petition = as_owner.get("/en/c/clean-water").get_data(as_text=True)
    # The latest ten public signers: the five honest ones, then the burst's last five.
    assert "Burster7" in petition
    assert "<strong>13</strong>" in petition
    assert _api(as_owner)["signature_count"] == 13
    assert _api(as_owner)["signatures_by_country"] == {"FR": 8, "DE": 5}

    listing = as_owner.get("/admin/c/clean-water/suspicious")
    assert listing.status_code == 200
    values = _burst_values(listing.get_data(as_text=True))
    assert len(values) == 2
    network = next(v for v in values if v.startswith("ip|"))

    confirm_page = as_owner.get(
        "/admin/c/clean-water/suspicious/invalidate", query_string={"burst": network}
    ).get_data(as_text=True)
    assert "12 signatures will be invalidated" in confirm_page
    assert "8 confirmed" in confirm_page
    assert "4 not confirmed" in confirm_page
    assert "The public count goes from 13 to 5." in confirm_page

    response = as_owner.post(
        "/admin/c/clean-water/suspicious/invalidate",
        data={"burst": network, "expected": "12", "reason": "one network, 12 in 6 minutes"},
    )
    assert response.status_code == 302
    assert _count(db) == 5
    assert signatures_by_country(db.session, campaign) == {"DE": 5}
    petition = as_owner.get("/en/c/clean-water").get_data(as_text=True)
    assert "Burster" not in petition
    assert "Honest0" in petition
    assert "<strong>5</strong>" in petition
    assert _api(as_owner)["signature_count"] == 5
    assert _api(as_owner)["signatures_by_country"] == {"DE": 5}
    # The burst is gone from the list: what is invalidated is no longer suspicious.
    again = as_owner.get("/admin/c/clean-water/suspicious").get_data(as_text=True)
    assert "Nothing suspicious" in again

    (entry,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "signatures.invalidate")
    ).all()
    assert entry.details["signatures"] == 12
    assert entry.details["confirmed_signatures"] == 8
    assert entry.details["reason"] == "one network, 12 in 6 minutes"
    log = as_owner.get("/admin/c/clean-water/audit").get_data(as_text=True)
    assert "Invalidated suspicious signatures" in log

    batches = as_owner.get("/admin/c/clean-water/suspicious/invalidated").get_data(as_text=True)
    (restore_url,) = re.findall(r'action="([^"]*/restore)"', batches)
    assert as_owner.post(restore_url).status_code == 302
    assert _count(db) == 13
    assert signatures_by_country(db.session, campaign) == {"FR": 8, "DE": 5}
    assert _api(as_owner)["signature_count"] == 13
    assert "Burster7" in as_owner.get("/en/c/clean-water").get_data(as_text=True)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "signatures.restore"))
    # Restored once: a second restore finds nothing.
    assert as_owner.post(restore_url).status_code == 404
    assert _count(db) == 13


def test_numbers_that_changed_are_shown_again(db, as_owner, campaign, burst):
    network = f"ip|{'a' * 32}|" + "|".join(
        str(suspicious._stamp(burst[i].created_at)) for i in (0, -1)
    )
    response = as_owner.post(
        "/admin/c/clean-water/suspicious/invalidate", data={"burst": network, "expected": "3"}
    )
    assert response.status_code == 200
    assert "The numbers changed" in response.get_data(as_text=True)
    assert _count(db) == 8  # the burst's confirmed signatures, all still counted


def test_a_confirmation_after_invalidation_does_not_count_until_restored(
    db, campaign, burst, honest
):
    owner = make_organizer()
    ref = suspicious.find_bursts(db.session, campaign, RULES)[0].ref
    batch = suspicious.invalidate(db.session, campaign, owner, [ref])
    db.session.commit()
    assert _count(db) == 5
    waiting = db.session.get(Signature, burst[-1].id)
    confirm(db.session, confirmation_token(waiting))
    db.session.commit()
    assert _count(db) == 5
    suspicious.restore(db.session, campaign, owner, batch.id)
    db.session.commit()
    assert _count(db) == 14  # the 8 confirmed before, and the one confirmed meanwhile


def test_stats_and_exports_leave_invalidated_out(db, campaign, burst, honest):
    from campaign.services import signature_admin, stats

    ref = suspicious.find_bursts(db.session, campaign, RULES)[0].ref
    suspicious.invalidate(db.session, campaign, None, [ref])
    db.session.commit()
    assert [p.country for p in stats.top_countries(db.session, campaign)] == ["DE"]
    assert sum(n for _, n in stats.daily_confirmed(db.session, campaign)) == 5
    flt = signature_admin.SignatureFilter()
    rows = list(signature_admin.csv_rows(db.session, campaign, flt, "en"))
    assert len(rows) == 1 + 5  # the header and the honest five


@pytest.mark.parametrize("role", [Role.MODERATOR, None])
def test_moderators_and_outsiders_cannot_invalidate(db, client, campaign, burst, role):
    if role is None:
        login(client, make_organizer())
    else:
        _member(db, client, campaign, role)
    expected = 403 if role else 404
    network = f"ip|{'a' * 32}|0|{suspicious._stamp(utcnow())}"
    assert client.get("/admin/c/clean-water/suspicious").status_code == expected
    response = client.post(
        "/admin/c/clean-water/suspicious/invalidate", data={"burst": network, "expected": "12"}
    )
    assert response.status_code == expected
    assert _count(db) == 8
    assert db.session.scalar(select(Signature.invalidated_at).limit(1)) is None


def test_editors_may_invalidate(db, client, campaign, burst):
    _member(db, client, campaign, Role.EDITOR)
    assert client.get("/admin/c/clean-water/suspicious").status_code == 200
    assert b"Suspicious activity" in client.get("/admin/c/clean-water/").data
