"""Bulk email: List-Unsubscribe headers (RFC 8058) all the way to SendGrid, and suppressions.

The headers are checked where they arrive: in the request the real SDK sent to the fake
SendGrid server.
"""

from __future__ import annotations

import io
import json

from campaign.mail.backends import ConsoleBackend
from campaign.mail.delivery import deliver_due
from campaign.mail.outbox import queue_email
from campaign.models import OutboxMessage, OutboxStatus, Suppression
from campaign.services import subscribers
from tests.factories import make_campaign

UNSUBSCRIBE = "http://campaign.test/u/some-token"


def _queue(db, to_email: str = "reader@example.org", **kw) -> OutboxMessage:
    message = queue_email(
        db.session,
        kind="update",
        template="confirm_subscription",
        language="en",
        to_email=to_email,
        subject="News",
        title="Clean air",
        confirm_url="http://campaign.test/x",
        petition_url="http://campaign.test/en/c/x",
        max_age_days=7,
        **kw,
    )
    db.session.commit()
    return message


def _deliver(app, db) -> int:
    from campaign.mail.backends import backend_from_config

    return deliver_due(db.session, backend_from_config(app.config), app.config)


def _status(db, message_id: int) -> OutboxStatus:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id).status


def test_unsubscribe_url_makes_a_bulk_message_with_one_click_headers(app, db):
    message = _queue(db, unsubscribe_url=UNSUBSCRIBE)
    assert message.is_bulk
    assert json.loads(message.headers) == {
        "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    # The templates get the link too: the footer of every HTML email shows it.
    assert UNSUBSCRIBE in message.html_body


def test_personal_message_has_no_headers_and_is_not_bulk(app, db):
    message = _queue(db)
    assert not message.is_bulk
    assert message.headers == ""
    assert "/u/" not in message.html_body


def test_bulk_without_unsubscribe_link_is_still_bulk(app, db):
    message = _queue(db, bulk=True)
    assert message.is_bulk
    assert message.headers == ""


def test_headers_arrive_at_sendgrid(app, db, mail):
    _queue(db, unsubscribe_url=UNSUBSCRIBE)
    assert _deliver(app, db) == 1
    [sent] = mail.to("reader@example.org")
    assert sent.headers["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert sent.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_real_unsubscribe_link_arrives_and_unsubscribes_in_one_post(app, db, mail, client):
    campaign = make_campaign()
    db.session.commit()
    url = subscribers.unsubscribe_url("reader@example.org", campaign, "en")
    _queue(db, unsubscribe_url=url)
    _deliver(app, db)
    [sent] = mail.to("reader@example.org")
    link = sent.headers["List-Unsubscribe"].strip("<>")
    assert link == url
    # What a mail provider does with RFC 8058 headers: POST the body, no cookies, no token.
    response = client.post(
        link.removeprefix("http://campaign.test"),
        data=sent.headers["List-Unsubscribe-Post"],
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200


def test_console_backend_prints_the_headers(app, db):
    message = _queue(db, unsubscribe_url=UNSUBSCRIBE)
    stream = io.StringIO()
    ConsoleBackend(mail_from="campaign@example.org", stream=stream).send(message)
    printed = stream.getvalue()
    assert f"List-Unsubscribe: <{UNSUBSCRIBE}>" in printed
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in printed


def test_bulk_message_to_a_suppressed_mailbox_is_never_sent(app, db, mail):
    db.session.add(Suppression(email_key="janedoe@gmail.com", reason="bounce"))
    db.session.commit()
    # Another spelling of the same mailbox.
    message = _queue(db, to_email="Jane.Doe+news@Gmail.com", unsubscribe_url=UNSUBSCRIBE)
    assert _deliver(app, db) == 0
    assert _status(db, message.id) == OutboxStatus.SUPPRESSED
    assert mail.requests == 0
    # And it stays that way: a later round does not pick it up again.
    assert _deliver(app, db) == 0
    assert mail.requests == 0


def test_personal_message_to_a_suppressed_mailbox_is_sent(app, db, mail):
    db.session.add(Suppression(email_key="reader@example.org", reason="bounce"))
    db.session.commit()
    message = _queue(db)
    assert _deliver(app, db) == 1
    assert _status(db, message.id) == OutboxStatus.SENT


def test_bulk_message_to_another_mailbox_is_sent(app, db, mail):
    db.session.add(Suppression(email_key="someone-else@example.org", reason="spamreport"))
    db.session.commit()
    message = _queue(db, unsubscribe_url=UNSUBSCRIBE)
    assert _deliver(app, db) == 1
    assert _status(db, message.id) == OutboxStatus.SENT
