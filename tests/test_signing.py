"""Signing a petition and confirming by email (campaign/services/signing.py).

Every test here runs on SQLite and on PostgreSQL (the `app` fixture is parametrized).
"""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from campaign.models import Campaign, CampaignStatus, OutboxMessage, Signature
from campaign.services.errors import CampaignClosed, InvalidEmail, InvalidToken, TokenExpired
from campaign.services.signing import (
    CONFIRM_PURPOSE,
    SignatureData,
    SignOutcome,
    confirm,
    confirmation_token,
    sign,
    signature_for_token,
)
from campaign.services.tokens import make_token
from tests.factories import make_campaign, make_signature

CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _data(email: str = "alice@example.org", **fields) -> SignatureData:
    fields.setdefault("full_name", "Alice Smith")
    fields.setdefault("country", "DE")
    return SignatureData(email=email, **fields)


def _signatures(db) -> list[Signature]:
    db.session.expire_all()
    return list(db.session.scalars(select(Signature).order_by(Signature.id)))


def _outbox(db) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Campaign.signature_count))


def _confirm_token_in(message: OutboxMessage) -> str:
    match = re.search(r"/confirm/([A-Za-z0-9_.\-]+)", message.text_body)
    assert match, message.text_body
    return match.group(1)


def _campaign(**kw) -> Campaign:
    kw.setdefault("languages", ("en", "ru"))
    return make_campaign(**kw)


# Signing: a new signature


def test_new_signature_is_unconfirmed(db):
    campaign = _campaign()
    result = sign(db.session, campaign, _data(), "en")
    assert result.outcome is SignOutcome.NEW
    assert result.signature.id is not None
    assert result.signature.confirmed_at is None
    assert result.signature.is_confirmed is False


def test_new_signature_does_not_count_until_confirmed(db):
    campaign = _campaign()
    sign(db.session, campaign, _data(), "en")
    db.session.commit()
    assert _count(db) == 0


def test_new_signature_stores_what_was_typed_normalized(db):
    campaign = _campaign()
    data = _data(
        "Alice.Smith+petition@Example.ORG",
        full_name="  Alice   Smith ",
        country="de",
        city=" Berlin ",
        reason=" Because. ",
        is_public=True,
        has_update_consent=True,
    )
    signature = sign(db.session, campaign, data, "ru").signature
    db.session.commit()
    [stored] = _signatures(db)
    assert stored.id == signature.id
    assert stored.email == "Alice.Smith+petition@example.org"
    assert stored.email_key == "alice.smith@example.org"
    assert stored.full_name == "Alice Smith"
    assert stored.country == "DE"
    assert stored.city == "Berlin"
    assert stored.reason == "Because."
    assert stored.language == "ru"
    assert stored.is_public is True
    assert stored.has_update_consent is True


def test_blank_name_is_refused(db):
    campaign = _campaign()
    with pytest.raises(ValueError, match="full_name"):
        sign(db.session, campaign, _data(full_name="   "), "en")
    assert _signatures(db) == []


def test_new_signature_queues_exactly_one_confirmation(db):
    campaign = _campaign()
    sign(db.session, campaign, _data("alice@example.org"), "en")
    [message] = _outbox(db)
    assert message.kind == "signature_confirmation"
    assert message.to_email == "alice@example.org"
    assert message.to_name == "Alice Smith"
    assert message.language == "en"


def test_confirmation_email_links_to_the_confirm_page_in_the_signers_language(db):
    campaign = _campaign(slug="water")
    sign(db.session, campaign, _data(), "en")
    [message] = _outbox(db)
    assert "http://campaign.test/en/c/water/confirm/" in message.text_body
    assert "http://campaign.test/en/c/water/confirm/" in message.html_body


def test_english_confirmation_email_is_in_english(db):
    campaign = _campaign(languages=("en", "ru"))
    sign(db.session, campaign, _data(), "en")
    [message] = _outbox(db)
    assert message.subject == f"Please confirm your signature: {campaign.translation('en').title}"
    assert "Hello Alice Smith" in message.text_body
    assert not CYRILLIC.search(message.subject)


def test_russian_confirmation_email_uses_russian_title_and_link(db):
    campaign = _campaign(slug="water", languages=("en", "ru"))
    sign(db.session, campaign, _data(), "ru")
    [message] = _outbox(db)
    assert message.language == "ru"
    assert campaign.translation("ru").title in message.subject
    assert campaign.translation("en").title not in message.subject
    assert "http://campaign.test/ru/c/water/confirm/" in message.text_body


def test_russian_confirmation_email_is_translated(db):
    # Same title in both languages, so any difference comes from the message catalog.
    campaign = _campaign(languages=("en", "ru"), title="Aleppo")
    sign(db.session, campaign, _data("en@example.org", full_name="Ann"), "en")
    sign(db.session, campaign, _data("ru@example.org", full_name="Ann"), "ru")
    en, ru = _outbox(db)
    assert ru.subject != en.subject
    assert CYRILLIC.search(ru.subject), ru.subject
    assert CYRILLIC.search(ru.text_body), ru.text_body
    assert "Please confirm" not in ru.subject
    assert "Thank you for signing" not in ru.text_body


def test_confirmation_for_a_language_without_text_uses_the_default_title(db):
    campaign = _campaign(languages=("en",))
    sign(db.session, campaign, _data(), "ru")
    [message] = _outbox(db)
    assert campaign.translation("en").title in message.subject


def test_confirmation_link_in_the_email_confirms_the_signature(db):
    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    [message] = _outbox(db)
    confirmed, counted = confirm(db.session, _confirm_token_in(message))
    db.session.commit()
    assert confirmed.id == signature.id
    assert counted is True
    assert _count(db) == 1


def test_rolled_back_signature_leaves_no_email(db):
    # The outbox row is written in the same transaction: no email about a change that never was.
    campaign = _campaign()
    db.session.commit()
    sign(db.session, campaign, _data(), "en")
    db.session.rollback()
    assert _signatures(db) == []
    assert _outbox(db) == []


# Signing: refused


@pytest.mark.parametrize(
    "status", [CampaignStatus.CLOSED, CampaignStatus.ARCHIVED, CampaignStatus.DRAFT]
)
def test_signing_a_campaign_that_is_not_open_is_refused(db, status):
    campaign = _campaign(status=status)
    with pytest.raises(CampaignClosed):
        sign(db.session, campaign, _data(), "en")
    assert _signatures(db) == []
    assert _outbox(db) == []


@pytest.mark.parametrize("email", ["", "alice", "alice@", "alice@localhost", "al ice@example.org"])
def test_invalid_email_is_refused(db, email):
    campaign = _campaign()
    with pytest.raises(InvalidEmail):
        sign(db.session, campaign, _data(email), "en")
    assert _signatures(db) == []
    assert _outbox(db) == []


# Signing again with the same mailbox

SAME_MAILBOX = [
    ("alice@example.org", "ALICE@Example.ORG"),
    ("alice@example.org", " alice@example.org "),
    ("alice@example.org", "alice+petition@example.org"),
    ("alice+one@example.org", "alice+two@example.org"),
    ("alice@gmail.com", "a.l.i.c.e@gmail.com"),
    ("alice@gmail.com", "Alice@googlemail.com"),
    ("a.lice+x@googlemail.com", "ALICE@GMAIL.COM"),
]


@pytest.mark.parametrize(("first", "again"), SAME_MAILBOX)
def test_same_mailbox_creates_no_second_signature(db, first, again):
    campaign = _campaign()
    sign(db.session, campaign, _data(first), "en")
    db.session.commit()
    sign(db.session, campaign, _data(again), "en")
    db.session.commit()
    assert len(_signatures(db)) == 1


@pytest.mark.parametrize(("first", "again"), SAME_MAILBOX)
def test_same_mailbox_unconfirmed_resends_the_confirmation(db, first, again):
    campaign = _campaign()
    original = sign(db.session, campaign, _data(first), "en").signature
    db.session.commit()
    result = sign(db.session, campaign, _data(again), "en")
    db.session.commit()
    assert result.outcome is SignOutcome.RESENT
    assert result.signature.id == original.id
    first_email, resent = _outbox(db)
    assert resent.kind == "signature_confirmation"
    assert resent.to_email == first_email.to_email == original.email


def test_resent_confirmation_link_confirms_the_original_signature(db):
    campaign = _campaign()
    original = sign(db.session, campaign, _data("alice@example.org"), "en").signature
    db.session.commit()
    sign(db.session, campaign, _data("Alice+again@example.org"), "en")
    db.session.commit()
    resent = _outbox(db)[-1]
    signature, counted = confirm(db.session, _confirm_token_in(resent))
    db.session.commit()
    assert signature.id == original.id
    assert counted is True
    assert _count(db) == 1


def test_signing_again_does_not_overwrite_the_first_signature(db):
    # Anyone can type someone else's address; a second form must not rename the signer.
    campaign = _campaign()
    sign(db.session, campaign, _data(full_name="Alice Smith", country="DE"), "en")
    db.session.commit()
    sign(db.session, campaign, _data(full_name="Mallory", country="RU", is_public=True), "en")
    db.session.commit()
    [stored] = _signatures(db)
    assert stored.full_name == "Alice Smith"
    assert stored.country == "DE"
    assert stored.is_public is False


@pytest.mark.parametrize(("first", "again"), SAME_MAILBOX)
def test_same_mailbox_confirmed_gets_an_already_signed_email(db, first, again):
    campaign = _campaign()
    original = sign(db.session, campaign, _data(first), "en").signature
    db.session.commit()
    confirm(db.session, confirmation_token(original))
    db.session.commit()

    result = sign(db.session, campaign, _data(again), "en")
    db.session.commit()

    assert result.outcome is SignOutcome.ALREADY_CONFIRMED
    assert result.signature.id == original.id
    assert len(_signatures(db)) == 1
    assert _count(db) == 1
    _, notice = _outbox(db)
    assert notice.kind == "signature_already_confirmed"
    assert notice.to_email == original.email
    assert "/confirm/" not in notice.text_body
    assert campaign.translation("en").title in notice.subject


def test_already_signed_email_is_in_the_language_of_the_new_attempt(db):
    campaign = _campaign(slug="water", languages=("en", "ru"))
    original = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    confirm(db.session, confirmation_token(original))
    db.session.commit()
    sign(db.session, campaign, _data(), "ru")
    notice = _outbox(db)[-1]
    assert notice.language == "ru"
    assert campaign.translation("ru").title in notice.subject
    assert "http://campaign.test/ru/c/water" in notice.text_body


def test_same_email_may_sign_different_campaigns(db):
    water, fire = _campaign(), _campaign()
    first = sign(db.session, water, _data("alice@example.org"), "en")
    second = sign(db.session, fire, _data("alice@example.org"), "en")
    db.session.commit()
    assert first.outcome is second.outcome is SignOutcome.NEW
    assert {s.campaign_id for s in _signatures(db)} == {water.id, fire.id}


def test_different_mailboxes_sign_separately(db):
    campaign = _campaign()
    sign(db.session, campaign, _data("alice@example.org"), "en")
    sign(db.session, campaign, _data("a.lice@example.org"), "en")
    db.session.commit()
    assert len(_signatures(db)) == 2


# The database enforces one signature per mailbox


def test_database_rejects_a_second_signature_with_the_same_key(db):
    campaign = _campaign()
    make_signature(campaign, email="alice@example.org", email_key="alice@example.org")
    db.session.commit()
    with pytest.raises(IntegrityError):
        make_signature(campaign, email="ALICE+x@example.org", email_key="alice@example.org")
    db.session.rollback()
    assert len(_signatures(db)) == 1


def test_database_allows_the_same_key_on_another_campaign(db):
    water, fire = _campaign(), _campaign()
    make_signature(water, email_key="alice@example.org")
    make_signature(fire, email_key="alice@example.org")
    db.session.commit()
    assert len(_signatures(db)) == 2


# Confirming


def test_confirm_counts_the_signature(db):
    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    confirmed, counted = confirm(db.session, confirmation_token(signature))
    db.session.commit()
    assert counted is True
    assert confirmed.is_confirmed
    assert confirmed.campaign.signature_count == 1
    assert _signatures(db)[0].confirmed_at is not None


def test_confirm_twice_counts_once(db):
    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    token = confirmation_token(signature)
    _, first = confirm(db.session, token)
    db.session.commit()
    confirmed_at = _signatures(db)[0].confirmed_at
    _, second = confirm(db.session, token)
    db.session.commit()
    assert (first, second) == (True, False)
    assert _count(db) == 1
    assert _signatures(db)[0].confirmed_at == confirmed_at


def test_count_is_incremented_not_recomputed(db):
    campaign = _campaign()
    campaign.signature_count = 41  # e.g. signatures imported from a paper petition
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    confirm(db.session, confirmation_token(signature))
    db.session.commit()
    assert _count(db) == 42


def test_confirm_counts_only_the_signatures_campaign(db):
    water, fire = _campaign(), _campaign()
    signature = sign(db.session, water, _data(), "en").signature
    db.session.commit()
    confirm(db.session, confirmation_token(signature))
    db.session.commit()
    db.session.expire_all()
    assert (water.signature_count, fire.signature_count) == (1, 0)


def test_tampered_token_is_invalid(db):
    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    token = confirmation_token(signature)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(InvalidToken):
        confirm(db.session, tampered)
    assert _count(db) == 0


def test_token_made_for_another_purpose_is_invalid(db, app):
    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    genuine_payload = {"s": signature.id, "c": campaign.id}
    token = make_token(app.config["SECRET_KEY"], "unsubscribe", genuine_payload)
    with pytest.raises(InvalidToken) as excinfo:
        confirm(db.session, token)
    assert not isinstance(excinfo.value, TokenExpired)
    assert _count(db) == 0


def test_token_signed_with_another_key_is_invalid(db):
    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    token = make_token("some-other-key", CONFIRM_PURPOSE, {"s": signature.id, "c": campaign.id})
    with pytest.raises(InvalidToken):
        confirm(db.session, token)


@pytest.mark.parametrize("payload", [{"s": 1}, [1, 2, 3], "text", None])
def test_token_with_a_malformed_payload_is_invalid(db, app, payload):
    token = make_token(app.config["SECRET_KEY"], CONFIRM_PURPOSE, payload)
    with pytest.raises(InvalidToken):
        confirm(db.session, token)


def test_expired_token_is_refused(db, app):
    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    token = confirmation_token(signature)
    app.config["CONFIRM_TOKEN_MAX_AGE"] = -1
    with pytest.raises(TokenExpired):
        confirm(db.session, token)
    assert _count(db) == 0
    assert _signatures(db)[0].confirmed_at is None


def test_token_a_week_old_is_expired(db, monkeypatch):
    import time

    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    token = confirmation_token(signature)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 7 * 24 * 3600 + 60)
    with pytest.raises(TokenExpired):
        confirm(db.session, token)


def test_token_for_a_deleted_signature_is_invalid(db):
    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    token = confirmation_token(signature)
    db.session.delete(signature)
    db.session.commit()
    with pytest.raises(InvalidToken):
        confirm(db.session, token)
    assert _count(db) == 0


def test_token_does_not_confirm_a_signature_that_reused_the_id(db):
    # SQLite reuses the largest rowid after a delete; the token is bound to the mailbox too.
    campaign = _campaign()
    alice = sign(db.session, campaign, _data("alice@example.org"), "en").signature
    db.session.commit()
    token = confirmation_token(alice)
    alice_id = alice.id
    db.session.delete(alice)
    db.session.commit()
    bob = make_signature(campaign, id=alice_id, email="bob@example.org")
    db.session.commit()
    assert bob.id == alice_id
    with pytest.raises(InvalidToken):
        confirm(db.session, token)
    assert _count(db) == 0


def test_token_for_another_campaign_is_invalid(db, app):
    water, fire = _campaign(), _campaign()
    signature = sign(db.session, water, _data(), "en").signature
    db.session.commit()
    payload = {"s": signature.id, "c": fire.id, "k": "0" * 16}
    token = make_token(app.config["SECRET_KEY"], CONFIRM_PURPOSE, payload)
    with pytest.raises(InvalidToken):
        signature_for_token(db.session, token)


def test_confirm_after_the_campaign_closed_is_refused(db):
    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    token = confirmation_token(signature)
    campaign.status = CampaignStatus.CLOSED
    db.session.commit()
    with pytest.raises(CampaignClosed):
        confirm(db.session, token)
    db.session.rollback()
    assert _count(db) == 0
    assert _signatures(db)[0].confirmed_at is None


# Concurrency: each thread has its own app context, session and connection.


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


@pytest.mark.parametrize("threads", [2, 8])
def test_simultaneous_confirmations_count_once(app, db, threads):
    campaign = _campaign()
    signature = sign(db.session, campaign, _data(), "en").signature
    db.session.commit()
    token = confirmation_token(signature)

    def work(_index):
        _, counted = confirm(db.session, token)
        db.session.commit()
        return counted

    results, errors = _run_in_threads(app, db, threads, work)
    assert errors == []
    assert results.count(True) == 1
    assert results.count(False) == threads - 1
    assert _count(db) == 1


def test_simultaneous_signatures_with_one_mailbox_make_one_row(app, db):
    campaign = _campaign()
    db.session.commit()
    campaign_id = campaign.id
    variants = ["alice@gmail.com", "Alice@gmail.com", "a.lice@gmail.com", "alice+x@googlemail.com"]

    def work(index):
        own_campaign = db.session.get(Campaign, campaign_id)
        result = sign(db.session, own_campaign, _data(variants[index % len(variants)]), "en")
        db.session.commit()
        return result.outcome

    results, errors = _run_in_threads(app, db, 10, work)
    assert errors == []
    assert results.count(SignOutcome.NEW) == 1
    assert results.count(SignOutcome.RESENT) == 9
    assert len(_signatures(db)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 10


def test_simultaneous_signatures_by_different_people_all_count(app, db):
    campaign = _campaign()
    db.session.commit()
    campaign_id = campaign.id

    def work(index):
        own_campaign = db.session.get(Campaign, campaign_id)
        result = sign(db.session, own_campaign, _data(f"person{index}@example.org"), "en")
        db.session.commit()
        confirm(db.session, confirmation_token(result.signature))
        db.session.commit()
        return result.outcome

    results, errors = _run_in_threads(app, db, 10, work)
    assert errors == []
    assert results == [SignOutcome.NEW] * 10
    assert _count(db) == 10
