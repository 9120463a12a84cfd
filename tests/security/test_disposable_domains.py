"""Disposable and organizer-listed email domains are refused by the sign form, nothing stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from campaign.models import AuditEntry, Campaign, OutboxMessage, Role, Signature
from campaign.services.email_domains import blocked_domain, disposable_domains
from tests.factories import add_member, login, make_campaign, make_organizer

REFUSED = "This petition does not accept addresses from this email provider."


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug="clean-water")
    db.session.commit()
    return campaign


def _sign(client, email):
    return client.post(
        "/en/c/clean-water",
        data={"full_name": "Ada Lovelace", "email": email, "country": "GB"},
    )


def _stored(db) -> tuple[int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Signature)),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
    )


def test_the_vendored_list_is_loaded_once_as_a_set():
    domains = disposable_domains()
    assert "mailinator.com" in domains
    assert len(domains) > 10_000
    assert disposable_domains() is domains


@pytest.mark.parametrize("email", ["ada@mailinator.com", "ada@inbox.mailinator.com"])
def test_disposable_address_is_refused_on_the_email_field(db, client, campaign, email):
    response = _sign(client, email)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert REFUSED in page
    assert (
        'aria-invalid="true"'
        in page.split('name="email"')[0][-300:] + page.split('name="email"')[1][:300]
    )
    assert _stored(db) == (0, 0)


def test_organizers_own_list_and_its_subdomains(db, client, campaign):
    campaign.blocked_email_domains = "example.net\n"
    db.session.commit()
    assert _sign(client, "a@example.net").status_code == 422
    assert _sign(client, "a@mx.Example.NET").status_code == 422
    assert _stored(db) == (0, 0)
    assert _sign(client, "a@example.org").status_code == 302
    assert _sign(client, "a@notexample.net").status_code == 302
    assert _stored(db)[0] == 2


def test_setting_off_accepts_disposable_addresses(db, client, campaign):
    campaign.blocks_disposable_email = False
    db.session.commit()
    assert _sign(client, "ada@mailinator.com").status_code == 302
    assert _stored(db)[0] == 1


def test_new_campaigns_block_disposable_addresses(db, campaign):
    assert campaign.blocks_disposable_email is True
    assert blocked_domain(campaign, "x@mailinator.com") == "mailinator.com"
    assert blocked_domain(campaign, "x@example.org") is None


def test_settings_form_validates_and_audits_the_list(db, client, campaign):
    owner = make_organizer()
    add_member(campaign, owner, Role.OWNER)
    login(client, owner)
    form = client.get("/admin/c/clean-water/edit").get_data(as_text=True)
    assert 'name="blocks_disposable_email"' in form
    assert 'name="blocked_email_domains"' in form
    bad = client.post(
        "/admin/c/clean-water/edit",
        data={"goal": "1000", "default_language": "en", "blocked_email_domains": "not a domain"},
    )
    assert bad.status_code == 422
    assert "These lines are not domains: not a domain" in bad.get_data(as_text=True)
    good = client.post(
        "/admin/c/clean-water/edit",
        data={
            "goal": "1000",
            "default_language": "en",
            "blocked_email_domains": " @Spam.Example \n\n*.junk.example\nspam.example",
        },
    )
    assert good.status_code == 302
    db.session.expire_all()
    saved = db.session.scalar(select(Campaign))
    assert saved.blocked_email_domains == "spam.example\njunk.example"
    assert saved.blocks_disposable_email is False  # the box was not ticked
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "campaign.update")
    ).one()
    assert set(entry.details["changes"]) == {"blocked_email_domains", "blocks_disposable_email"}
