"""Subscribers (campaign/services/subscribers.py): double opt-in, consent records, signers,
preferences, one-click unsubscribe, links, and a person's data.

Every test here runs on SQLite and on PostgreSQL (the `app` fixture is parametrized).
"""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from campaign.models import (
    CampaignStatus,
    OutboxMessage,
    Signature,
    Subscriber,
    Subscription,
)
from campaign.services import people, signing, subscribers
from campaign.services.errors import CampaignClosed, InvalidEmail, InvalidToken
from campaign.services.subscribers import SubscribeOutcome
from campaign.services.tokens import make_token
from tests.factories import make_campaign

CONSENT = "Email me updates. I can unsubscribe at any time."


@pytest.fixture
def campaign(db):
    campaign = make_campaign(languages=("en", "ru"), title="Clean air")
    db.session.commit()
    return campaign


def _outbox(db) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _token_in(message: OutboxMessage) -> str:
    match = re.search(r"/subscribe/confirm/([A-Za-z0-9_.\-]+)", message.text_body)
    assert match, message.text_body
    return match.group(1)


def _subscribe(db, campaign, email="reader@example.org", language="en", source="campaign"):
    result = subscribers.subscribe(db.session, campaign, email, language, source, CONSENT)
    db.session.commit()
    return result


def _subscribe_and_confirm(db, campaign, email="reader@example.org"):
    _subscribe(db, campaign, email)
    subscribers.confirm(db.session, _token_in(_outbox(db)[-1]))
    db.session.commit()


def _active(db, campaign) -> list[str]:
    db.session.expire_all()
    return [s.email for s in subscribers.active_subscribers(db.session, campaign)]


# --- subscribing ------------------------------------------------------------------------------


def test_subscribe_records_consent_and_sends_a_confirmation(db, campaign):
    result = _subscribe(db, campaign, "Reader@Example.org", language="ru", source="footer")
    assert result.outcome == SubscribeOutcome.CONFIRMATION_SENT
    subscription = db.session.scalar(select(Subscription))
    assert subscription.source == "footer"
    assert subscription.consent_text == CONSENT
    assert subscription.consent_language == "ru"
    assert subscription.consented_at is not None
    assert subscription.subscriber.confirmed_at is None
    assert subscription.subscriber.email_key == "reader@example.org"
    [message] = _outbox(db)
    assert message.kind == "subscription_confirmation"
    assert message.to_email == "Reader@example.org"
    assert message.language == "ru"
    assert not message.is_bulk  # asked for just now: sent even to a suppressed mailbox


def test_nothing_is_sent_until_the_mailbox_confirms(db, campaign):
    _subscribe(db, campaign)
    assert _active(db, campaign) == []
    subscribers.confirm(db.session, _token_in(_outbox(db)[0]))
    db.session.commit()
    assert _active(db, campaign) == ["reader@example.org"]


def test_confirming_twice_is_harmless(db, campaign):
    _subscribe(db, campaign)
    token = _token_in(_outbox(db)[0])
    subscribers.confirm(db.session, token)
    db.session.commit()
    subscribers.confirm(db.session, token)
    db.session.commit()
    assert _active(db, campaign) == ["reader@example.org"]


def test_a_confirmed_subscriber_is_subscribed_to_another_campaign_at_once(db, campaign):
    other = make_campaign()
    db.session.commit()
    _subscribe_and_confirm(db, campaign)
    result = _subscribe(db, other, "READER@example.org")
    assert result.outcome == SubscribeOutcome.SUBSCRIBED
    assert len(_outbox(db)) == 1  # only the first confirmation
    assert _active(db, other) == ["reader@example.org"]
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 1


def test_subscribing_twice_before_confirming_resends_and_keeps_one_row(db, campaign):
    _subscribe(db, campaign)
    _subscribe(db, campaign)
    assert len(_outbox(db)) == 2
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 1
    # The newest link works; the first names a consent that was given again since.
    with pytest.raises(InvalidToken):
        subscribers.subscription_for_token(db.session, _token_in(_outbox(db)[0]))
    subscribers.confirm(db.session, _token_in(_outbox(db)[1]))


def test_resubscribing_after_unsubscribing_from_a_campaign_works(db, campaign):
    _subscribe_and_confirm(db, campaign)
    subscribers.unsubscribe(db.session, "reader@example.org", campaign.id)
    db.session.commit()
    assert _active(db, campaign) == []
    result = _subscribe(db, campaign, source="signed")
    assert result.outcome == SubscribeOutcome.SUBSCRIBED
    assert _active(db, campaign) == ["reader@example.org"]
    assert db.session.scalar(select(Subscription.source)) == "signed"


def test_after_unsubscribing_from_everything_the_mailbox_confirms_again(db, campaign):
    other = make_campaign()
    db.session.commit()
    _subscribe_and_confirm(db, campaign)
    _subscribe(db, other)
    subscribers.unsubscribe_all(db.session, "reader@example.org")
    db.session.commit()
    result = _subscribe(db, campaign)
    assert result.outcome == SubscribeOutcome.CONFIRMATION_SENT
    assert _active(db, campaign) == []
    subscribers.confirm(db.session, _token_in(_outbox(db)[-1]))
    db.session.commit()
    assert _active(db, campaign) == ["reader@example.org"]
    # Only what was consented to again: the other campaign stays off.
    assert _active(db, other) == []


def test_old_confirmation_link_does_not_undo_an_unsubscribe(db, campaign):
    _subscribe(db, campaign)
    token = _token_in(_outbox(db)[0])
    subscribers.unsubscribe_all(db.session, "reader@example.org")
    db.session.commit()
    with pytest.raises(InvalidToken):
        subscribers.confirm(db.session, token)


def test_subscribe_refuses_a_closed_campaign_and_a_bad_address(db, campaign):
    with pytest.raises(InvalidEmail):
        subscribers.subscribe(db.session, campaign, "not an address", "en", "footer", CONSENT)
    db.session.rollback()
    campaign.status = CampaignStatus.CLOSED
    db.session.commit()
    with pytest.raises(CampaignClosed):
        subscribers.subscribe(db.session, campaign, "a@example.org", "en", "footer", CONSENT)


def test_unknown_source_is_a_programming_error(db, campaign):
    with pytest.raises(ValueError, match="source"):
        subscribers.subscribe(db.session, campaign, "a@example.org", "en", "somewhere", CONSENT)


def test_consent_text_is_in_the_readers_language_and_names_the_campaign(app, campaign):
    assert "Clean air" in subscribers.consent_text(campaign, "en")
    assert subscribers.consent_text(campaign, "en").startswith("Email me updates")


# --- signers ----------------------------------------------------------------------------------


def _sign_and_confirm(db, campaign, consent: bool, email="signer@example.org", language="en"):
    data = signing.SignatureData(
        full_name="Sam Signer", email=email, country="FR", has_update_consent=consent
    )
    result = signing.sign(db.session, campaign, data, language)
    db.session.commit()
    signing.confirm(db.session, signing.confirmation_token(result.signature))
    db.session.commit()
    return result.signature


def test_confirmed_signer_with_consent_is_subscribed_without_a_second_email(db, campaign):
    _sign_and_confirm(db, campaign, consent=True, language="ru")
    kinds = [m.kind for m in _outbox(db)]
    assert kinds == ["signature_confirmation"]
    subscription = db.session.scalar(select(Subscription))
    assert subscription.source == "sign_form"
    with force_locale("ru"):
        assert subscription.consent_text == str(subscribers.SIGN_FORM_CONSENT)
    assert subscription.consent_language == "ru"
    assert _active(db, campaign) == ["signer@example.org"]


def test_signer_without_consent_is_not_subscribed(db, campaign):
    _sign_and_confirm(db, campaign, consent=False)
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_sign_form_shows_the_words_that_are_stored(app, campaign):
    from campaign.public.forms import SignForm

    with app.test_request_context():
        form = SignForm(meta={"csrf": False})
        assert form.has_update_consent.label.text == str(subscribers.SIGN_FORM_CONSENT)


# --- unsubscribing ----------------------------------------------------------------------------


def test_one_click_unsubscribe_from_one_campaign_is_idempotent(app, db, campaign):
    other = make_campaign()
    db.session.commit()
    _subscribe_and_confirm(db, campaign)
    _subscribe(db, other)
    url = subscribers.unsubscribe_url("reader@example.org", campaign, "en")
    token = url.rsplit("/", 1)[1]
    for _ in range(2):
        link = subscribers.one_click_unsubscribe(db.session, token)
        db.session.commit()
    assert link.campaign_id == campaign.id
    assert _active(db, campaign) == []
    assert _active(db, other) == ["reader@example.org"]


def test_one_click_without_a_campaign_unsubscribes_from_everything(app, db, campaign):
    _subscribe_and_confirm(db, campaign)
    subscriber = db.session.scalar(select(Subscriber))
    token = subscribers.unsubscribe_url(subscriber, None, "en").rsplit("/", 1)[1]
    subscribers.one_click_unsubscribe(db.session, token)
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(select(Subscriber.unsubscribed_at)) is not None
    assert _active(db, campaign) == []


def test_unsubscribing_takes_back_a_signers_update_consent(app, db, campaign):
    signature = _sign_and_confirm(db, campaign, consent=True, email="Jane.Doe@gmail.com")
    token = subscribers.unsubscribe_url("janedoe+x@gmail.com", campaign, "en").rsplit("/", 1)[1]
    subscribers.one_click_unsubscribe(db.session, token)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Signature, signature.id).has_update_consent is False
    assert _active(db, campaign) == []


def test_unsubscribing_a_mailbox_we_do_not_know_changes_nothing(app, db, campaign):
    assert not subscribers.unsubscribe(db.session, "nobody@example.org", campaign.id)
    assert not subscribers.unsubscribe_all(db.session, "nobody@example.org")


def test_topic_links_call_the_registered_handler(app, db, monkeypatch):
    called = []
    monkeypatch.setitem(
        subscribers.TOPIC_UNSUBSCRIBERS, "digest", lambda session, key: called.append(key)
    )
    url = subscribers.unsubscribe_url("Org@Example.org", None, "en", topic="digest")
    subscribers.one_click_unsubscribe(db.session, url.rsplit("/", 1)[1])
    assert called == ["org@example.org"]


# --- links ------------------------------------------------------------------------------------


def test_unsubscribe_url_is_absolute_and_names_mailbox_campaign_and_language(app, campaign):
    url = subscribers.unsubscribe_url("Jane.Doe+news@Gmail.com", campaign, "ru")
    assert url.startswith("http://campaign.test/u/")
    link = subscribers.read_unsubscribe_token(url.rsplit("/", 1)[1])
    assert link == subscribers.UnsubscribeLink("janedoe@gmail.com", campaign.id, "ru", None)
    assert subscribers.unsubscribe_url("x@example.org", campaign.id, "en") != url


def test_preferences_url_is_under_the_language(app):
    url = subscribers.preferences_url("Reader@Example.org", "ru")
    assert url.startswith("http://campaign.test/ru/preferences/")
    assert subscribers.read_preferences_token(url.rsplit("/", 1)[1]) == "reader@example.org"


def test_tokens_are_single_purpose_and_tamper_proof(app, campaign):
    unsubscribe = subscribers.unsubscribe_url("a@example.org", campaign, "en").rsplit("/", 1)[1]
    preferences = subscribers.preferences_url("a@example.org", "en").rsplit("/", 1)[1]
    with pytest.raises(InvalidToken):
        subscribers.read_preferences_token(unsubscribe)
    with pytest.raises(InvalidToken):
        subscribers.read_unsubscribe_token(preferences)
    with pytest.raises(InvalidToken):
        subscribers.read_unsubscribe_token(unsubscribe[:-2] + "xx")
    forged = make_token("another-secret", subscribers.UNSUBSCRIBE_PURPOSE, {"k": "a@example.org"})
    with pytest.raises(InvalidToken):
        subscribers.read_unsubscribe_token(forged)


def test_links_are_long_lived(app):
    assert subscribers.LINK_MAX_AGE >= 5 * 365 * 24 * 3600


# --- preferences ------------------------------------------------------------------------------


def test_preferences_turn_campaigns_off_and_on_and_change_the_language(db, campaign):
    other = make_campaign()
    db.session.commit()
    _subscribe_and_confirm(db, campaign)
    _subscribe(db, other)
    key = "reader@example.org"
    prefs = subscribers.preferences(db.session, key, "en")
    assert [c.is_subscribed for c in prefs.choices] == [True, True]

    subscribers.update_preferences(
        db.session,
        key,
        language="ru",
        campaign_ids={other.id},
        consent_text="page words",
        consent_language="en",
    )
    db.session.commit()
    assert _active(db, campaign) == []
    assert _active(db, other) == ["reader@example.org"]
    assert db.session.scalar(select(Subscriber.language)) == "ru"

    subscribers.update_preferences(
        db.session,
        key,
        language="ru",
        campaign_ids={campaign.id, other.id},
        consent_text="page words",
        consent_language="en",
    )
    db.session.commit()
    assert _active(db, campaign) == ["reader@example.org"]
    turned_on = db.session.scalar(
        select(Subscription).where(Subscription.campaign_id == campaign.id)
    )
    assert (turned_on.source, turned_on.consent_text) == ("preferences", "page words")


def test_preferences_of_an_unknown_mailbox_are_empty(db, campaign):
    prefs = subscribers.preferences(db.session, "nobody@example.org", "en")
    assert prefs.subscriber is None
    assert prefs.choices == []


# --- a person's data --------------------------------------------------------------------------


def test_export_and_erasure_cover_subscriptions_of_this_campaign_only(db, campaign):
    other = make_campaign()
    db.session.commit()
    _subscribe_and_confirm(db, campaign, "Jane.Doe@gmail.com")
    _subscribe(db, other, "janedoe@gmail.com")

    export = people.export_person(db.session, campaign, None, "jane.doe+x@gmail.com")
    [row] = export.document["subscriptions"]
    assert row["consent_text"] == CONSENT
    assert row["source"] == "campaign"

    report = people.erase_person(db.session, campaign, None, "janedoe@gmail.com")
    db.session.commit()
    assert report.counts["subscriptions"] == 1
    db.session.expire_all()
    assert [s.campaign_id for s in db.session.scalars(select(Subscription))] == [other.id]
    # Erasing again finds nothing.
    with pytest.raises(people.PersonNotFound):
        people.erase_person(db.session, campaign, None, "janedoe@gmail.com")
    db.session.rollback()
    people.erase_person(db.session, other, None, "janedoe@gmail.com")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 0
