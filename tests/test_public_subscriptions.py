"""Updates by email through the test client: subscribe forms (footer, petition, after signing),
"check your email", confirming, the preference page and one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from campaign.models import CampaignStatus, Subscriber, Subscription
from campaign.services import subscribers
from tests.conftest import test_config as config_for
from tests.factories import make_campaign
from tests.test_public import deliver_mail, tag, tags, text

EMAIL = "reader@example.org"


@pytest.fixture
def petition(db):
    campaign = make_campaign(slug="clean-air", languages=("en", "ru"), title="Clean air")
    db.session.commit()
    return campaign


def _consent_shown(html: str, form_id: str) -> str:
    match = re.search(rf'<p class="[^"]*" id="{form_id}-consent">(.*?)</p>', html, re.S)
    assert match, f"no consent text for {form_id}"
    return text(match.group(1))


def _subscribe(client, slug="clean-air", source="campaign", email=EMAIL, lang="en", **extra):
    data = {"email": email, "campaign": slug, "source": source, **extra}
    return client.post(f"/{lang}/subscribe", data=data)


def _subscriptions(db) -> list[Subscription]:
    db.session.expire_all()
    return list(db.session.scalars(select(Subscription).order_by(Subscription.id)))


def _confirm_path(app, db, mail) -> str:
    deliver_mail(app, db)
    [message] = mail.to(EMAIL)[-1:]
    [link] = [link for link in message.links() if "/subscribe/confirm/" in link]
    return urlsplit(link).path


def _confirmed(client, app, db, mail, slug="clean-air"):
    _subscribe(client, slug)
    path = _confirm_path(app, db, mail)
    client.post(path)


# --- the forms --------------------------------------------------------------------------------


def test_petition_page_has_a_subscribe_form_with_its_consent_words(client, petition):
    html = client.get("/en/c/clean-air").text
    form = tag(html, "form", action="/en/subscribe")
    assert form["method"] == "post"
    assert tag(html, "input", id="subscribe-campaign-campaign")["value"] == "clean-air"
    assert tag(html, "input", id="subscribe-campaign-source")["value"] == "campaign"
    assert re.search(
        r'<label for="subscribe-campaign-email">\s*Your email address\s*</label>', html
    )
    assert "Clean air" in _consent_shown(html, "subscribe-campaign")
    # The sign form keeps the only "Email" label on the page.
    assert len(re.findall(r">\s*Email\s*</label>", html)) == 1


def test_the_words_shown_are_the_words_stored(client, db, petition):
    shown = _consent_shown(client.get("/ru/c/clean-air").text, "subscribe-campaign")
    response = _subscribe(client, lang="ru")
    assert response.status_code == 302
    [subscription] = _subscriptions(db)
    assert subscription.consent_text == shown
    assert subscription.consent_language == "ru"
    assert subscription.source == "campaign"


def test_subscribing_leads_to_check_your_email(client, db, mail, petition):
    response = _subscribe(client)
    assert urlsplit(response.location).path == "/en/subscribe/sent"
    page = client.get(response.location)
    assert page.status_code == 200
    assert "Check your email" in text(page.text)


def test_signed_page_offers_updates(client, db, petition):
    html = client.get("/en/c/clean-air/signed").text
    assert tag(html, "input", id="subscribe-signed-source")["value"] == "signed"
    _subscribe(client, source="signed")
    assert _subscriptions(db)[0].source == "signed"


def test_footer_on_a_campaign_page_subscribes_to_that_campaign(client, db, petition):
    make_campaign(slug="other")
    db.session.commit()
    html = client.get("/en/c/clean-air/thanks").text
    assert tag(html, "input", id="subscribe-footer-campaign")["value"] == "clean-air"
    assert tag(html, "input", id="subscribe-footer-source")["value"] == "footer"
    _subscribe(client, source="footer")
    assert _subscriptions(db)[0].source == "footer"


def test_footer_elsewhere_with_one_open_campaign_offers_it(client, petition):
    html = client.get("/en/").text
    assert tag(html, "input", id="subscribe-footer-campaign")["value"] == "clean-air"


def test_footer_elsewhere_with_several_open_campaigns_links_to_them(client, db, petition):
    make_campaign(slug="other")
    db.session.commit()
    html = client.get("/en/").text
    assert not tags(html, "form", action="/en/subscribe")
    assert "choose a campaign" in text(html)


def test_no_subscribe_form_without_an_open_campaign(client, db, petition):
    petition.status = CampaignStatus.CLOSED
    db.session.commit()
    assert not tags(client.get("/en/").text, "form", action="/en/subscribe")
    assert not tags(client.get("/en/c/clean-air").text, "form", action="/en/subscribe")
    assert _subscribe(client).status_code == 409


def test_a_wrong_address_is_shown_as_an_accessible_error(client, db, petition):
    response = _subscribe(client, email="not-an-address")
    assert response.status_code == 422
    field = tag(response.text, "input", id="subscribe-email")
    assert field["aria-invalid"] == "true"
    assert "subscribe-error" in field["aria-describedby"]
    assert tag(response.text, "p", role="alert", id="subscribe-error")
    assert _subscriptions(db) == []


def test_the_spam_trap_stores_nothing(client, db, petition):
    response = _subscribe(client, homepage="http://spam.example")
    assert response.status_code == 302
    assert _subscriptions(db) == []


def test_unknown_campaign_is_404(client, petition):
    assert _subscribe(client, slug="nope").status_code == 404


# --- confirming -------------------------------------------------------------------------------


def test_the_emailed_link_shows_a_button_then_confirms(client, app, db, mail, petition):
    _subscribe(client)
    path = _confirm_path(app, db, mail)
    page = client.get(path)
    assert page.status_code == 200
    assert tag(page.text, "input", type="submit")["value"] == "Confirm my subscription"
    db.session.expire_all()
    assert db.session.scalar(select(Subscriber.confirmed_at)) is None  # a GET changes nothing

    response = client.post(path)
    assert response.status_code == 302
    page = client.get(response.location)
    assert "You are subscribed" in text(page.text)
    db.session.expire_all()
    assert db.session.scalar(select(Subscriber.confirmed_at)) is not None
    # Again: still fine.
    assert client.post(path).status_code in (200, 302)


def test_a_broken_confirmation_link_is_404(client, petition):
    assert client.get("/en/subscribe/confirm/nonsense").status_code == 404


# --- preferences ------------------------------------------------------------------------------


def _preferences_path(app, language="en") -> str:
    with app.app_context():
        return urlsplit(subscribers.preferences_url(EMAIL, language)).path


def test_preference_page_lists_campaigns_without_login(client, app, db, mail, petition):
    _confirmed(client, app, db, mail)
    page = client.get(_preferences_path(app))
    assert page.status_code == 200
    box = tag(page.text, "input", type="checkbox", name="campaigns")
    assert box["value"] == str(petition.id)
    assert "checked" in box
    assert "Clean air" in text(page.text)


def test_preference_page_is_in_its_language(client, app, db, mail, petition):
    _confirmed(client, app, db, mail)
    html = client.get(_preferences_path(app, "ru")).text
    assert tag(html, "html")["lang"] == "ru"


def test_preferences_save_language_and_campaigns(client, app, db, mail, petition):
    _confirmed(client, app, db, mail)
    path = _preferences_path(app)
    response = client.post(path, data={"language": "ru", "campaigns": [str(petition.id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Subscriber.language)) == "ru"
    assert _subscriptions(db)[0].unsubscribed_at is None

    client.post(path, data={"language": "ru"})  # nothing ticked
    assert _subscriptions(db)[0].unsubscribed_at is not None


def test_preferences_unsubscribe_one(client, app, db, mail, petition):
    _confirmed(client, app, db, mail)
    client.post(
        _preferences_path(app), data={"language": "en", "unsubscribe_one": str(petition.id)}
    )
    assert _subscriptions(db)[0].unsubscribed_at is not None


def test_preferences_unsubscribe_from_everything(client, app, db, mail, petition):
    _confirmed(client, app, db, mail)
    response = client.post(_preferences_path(app), data={"language": "en", "unsubscribe_all": "y"})
    page = client.get(response.location)
    assert "unsubscribed from everything" in text(page.text)
    db.session.expire_all()
    assert db.session.scalar(select(Subscriber.unsubscribed_at)) is not None


def test_a_broken_preference_link_is_404(client, petition):
    assert client.get("/en/preferences/nonsense").status_code == 404


# --- one-click unsubscribe --------------------------------------------------------------------


def _unsubscribe_path(app, campaign) -> str:
    with app.app_context():
        return urlsplit(subscribers.unsubscribe_url(EMAIL, campaign, "ru")).path


def test_one_click_post_unsubscribes_and_answers_200_every_time(client, app, db, mail, petition):
    _confirmed(client, app, db, mail)
    path = _unsubscribe_path(app, petition)
    assert path.startswith("/u/")
    for _ in range(2):
        response = client.post(
            path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
    assert _subscriptions(db)[0].unsubscribed_at is not None


def test_opening_the_link_shows_a_button_and_changes_nothing(client, app, db, mail, petition):
    _confirmed(client, app, db, mail)
    page = client.get(_unsubscribe_path(app, petition))
    assert page.status_code == 200
    assert tag(page.text, "html")["lang"] == "ru"  # the language the email was in
    assert tag(page.text, "form", method="post")
    assert _subscriptions(db)[0].unsubscribed_at is None


def test_a_broken_unsubscribe_link_is_404(client, petition):
    assert client.post("/u/nonsense").status_code == 404


class TestWithCsrfOn:
    @pytest.fixture
    def app_config(self, database_url, sendgrid):
        return config_for(database_url, sendgrid, WTF_CSRF_ENABLED=True)

    def test_one_click_needs_no_csrf_token(self, client, app, db, petition):
        subscribers.subscribe(db.session, petition, EMAIL, "en", "footer", "words")
        db.session.commit()
        response = client.post(_unsubscribe_path(app, petition))
        assert response.status_code == 200
        assert _subscriptions(db)[0].unsubscribed_at is not None

    def test_the_subscribe_form_needs_one(self, client, db, petition):
        assert _subscribe(client).status_code == 400
        assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0
