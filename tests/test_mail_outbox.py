"""Writing emails into the outbox (campaign/mail/outbox.py).

Every test here runs on SQLite and on PostgreSQL (the `app` fixture is parametrized).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from campaign.mail.backends import backend_from_config
from campaign.mail.delivery import deliver_due
from campaign.mail.outbox import queue_email
from campaign.models import OutboxMessage, OutboxStatus
from campaign.models.types import utcnow

CONFIRM_URL = "http://campaign.test/{lang}/c/save-the-park/confirm/TOKEN123"
PETITION_URL = "http://campaign.test/{lang}/c/save-the-park"


def _queue_confirmation(db, language: str = "en", **overrides) -> OutboxMessage:
    fields = {
        "kind": "signature_confirmation",
        "template": "confirm_signature",
        "language": language,
        "to_email": "alice@example.org",
        "to_name": "Alice",
        "subject": _l("Please confirm your signature: %(title)s", title="Save the park"),
        "title": "Save the park",
        "confirm_url": CONFIRM_URL.format(lang=language),
        "petition_url": PETITION_URL.format(lang=language),
        "max_age_days": 7,
    }
    fields.update(overrides)
    return queue_email(db.session, **fields)


def _rows(db) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _deliver(app, db) -> int:
    return deliver_due(db.session, backend_from_config(app.config), app.config)


def test_queue_email_writes_one_pending_row(db):
    message = _queue_confirmation(db)
    db.session.commit()

    rows = _rows(db)
    assert [row.id for row in rows] == [message.id]
    row = rows[0]
    assert row.status == OutboxStatus.PENDING
    assert row.kind == "signature_confirmation"
    assert row.to_email == "alice@example.org"
    assert row.to_name == "Alice"
    assert row.language == "en"
    assert row.attempts == 0
    assert row.sent_at is None
    assert row.claimed_at is None
    assert row.provider_message_id == ""


def test_queued_row_is_due_at_once(db):
    message = _queue_confirmation(db)
    db.session.commit()
    assert message.next_attempt_at <= utcnow()


def test_english_email_is_rendered_in_english(db):
    message = _queue_confirmation(db, language="en")

    assert message.subject == "Please confirm your signature: Save the park"
    assert "Hello Alice," in message.text_body
    assert "Thank you for signing “Save the park”" in message.text_body
    assert "The link works for 7 days." in message.text_body
    assert CONFIRM_URL.format(lang="en") in message.text_body
    assert PETITION_URL.format(lang="en") in message.text_body
    assert "Confirm my signature" in message.html_body
    assert CONFIRM_URL.format(lang="en") in message.html_body
    assert '<html lang="en" dir="ltr">' in message.html_body
    assert "<title>Please confirm your signature: Save the park</title>" in message.html_body


def test_russian_email_is_rendered_in_russian(db):
    message = _queue_confirmation(db, language="ru", to_name="Алиса")

    assert message.language == "ru"
    assert message.subject == "Подтвердите свою подпись: Save the park"
    assert "Здравствуйте, Алиса!" in message.text_body
    assert "Спасибо, что подписали петицию «Save the park»" in message.text_body
    assert "Ссылка действует 7 дней." in message.text_body
    assert CONFIRM_URL.format(lang="ru") in message.text_body
    assert "Подтвердить подпись" in message.html_body
    assert '<html lang="ru" dir="ltr">' in message.html_body
    assert "Please confirm" not in message.subject
    assert "Thank you" not in message.text_body


def test_russian_plural_follows_the_count(db):
    assert "Ссылка действует 1 день." in _queue_confirmation(db, "ru", max_age_days=1).text_body
    assert "Ссылка действует 3 дня." in _queue_confirmation(db, "ru", max_age_days=3).text_body


def test_language_of_one_email_does_not_leak_into_the_next(db):
    _queue_confirmation(db, language="ru")
    english = _queue_confirmation(db, language="en")
    assert english.subject.startswith("Please confirm your signature")
    assert "Hello Alice," in english.text_body


def test_html_body_escapes_the_context(db):
    message = _queue_confirmation(db, title="<script>alert(1)</script>")
    assert "<script>" not in message.html_body
    assert "&lt;script&gt;" in message.html_body


def test_queue_email_sends_nothing(app, db, mail):
    _queue_confirmation(db)
    db.session.commit()
    assert mail.requests == 0
    assert mail.sent == []


def test_committed_row_is_sent_when_delivered(app, db, mail):
    message = _queue_confirmation(db)
    db.session.commit()

    assert _deliver(app, db) == 1
    assert [sent.custom_args["outbox_id"] for sent in mail.sent] == [str(message.id)]


def test_row_rolled_back_with_its_transaction_is_never_delivered(app, db, mail):
    _queue_confirmation(db)
    db.session.rollback()

    assert _deliver(app, db) == 0
    assert mail.requests == 0
    assert mail.sent == []
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_row_rolled_back_to_a_savepoint_is_never_delivered(app, db, mail):
    kept = _queue_confirmation(db, to_email="kept@example.org")
    with db.session.begin_nested() as savepoint:
        _queue_confirmation(db, to_email="dropped@example.org")
        savepoint.rollback()
    db.session.commit()

    _deliver(app, db)
    assert [sent.to for sent in mail.sent] == ["kept@example.org"]
    assert [row.id for row in _rows(db)] == [kept.id]


def test_every_supporter_email_links_to_their_preferences(client, db):
    message = _queue_confirmation(db, language="ru")
    db.session.commit()
    (link,) = [w for w in message.text_body.split() if "/preferences/" in w]
    assert link.startswith("http://campaign.test/ru/preferences/")
    assert f'href="{link}"' in message.html_body
    assert message.text_body.rstrip().endswith(link)
    path = link.removeprefix("http://campaign.test")
    assert client.get(path).status_code == 200


def test_organizers_own_mail_has_no_preferences_link(db):
    message = _queue_confirmation(db, preferences=False)
    assert "/preferences/" not in message.text_body
    assert "/preferences/" not in message.html_body
