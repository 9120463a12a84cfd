"""No personal data in logs: a supporter's whole journey (sign, confirm, comment, RSVP,
subscribe), with every logger at DEBUG and mail delivered through the SendGrid stand-in (the
console backend prints mail on purpose, for local runs only), leaves no email address, name or
IP address in any log record."""

from __future__ import annotations

import logging

from campaign.mail.backends import backend_from_config
from campaign.mail.delivery import deliver_due
from tests.factories import make_campaign, make_event

EMAIL = "amira.haddad@example.org"
NAME = "Amira Haddad"
IP = "203.0.113.77"


def test_a_supporters_journey_leaves_no_personal_data_in_the_logs(app, db, client, mail, caplog):
    event = make_event(make_campaign(slug="water"))
    db.session.commit()
    environ = {"REMOTE_ADDR": IP}
    caplog.set_level(logging.DEBUG)

    def deliver():
        db.session.commit()
        deliver_due(db.session, backend_from_config(app.config), app.config)

    def post(path, data):
        return client.post(path, data=data, environ_base=environ)

    assert (
        post("/en/c/water", {"full_name": NAME, "email": EMAIL, "country": "FR", "city": "Lyon"})
    ).status_code == 302
    deliver()
    (confirm,) = [link for link in mail.to(EMAIL)[-1].links() if "/confirm/" in link]
    assert post(confirm.removeprefix("http://campaign.test"), {}).status_code == 302

    post("/en/c/water/comments", {"author_name": NAME, "email": EMAIL, "body": "I am with you."})
    post(f"/en/e/{event.id}", {"full_name": NAME, "email": EMAIL, "consent": "y"})
    post("/en/subscribe", {"email": EMAIL, "campaign": "water", "source": "footer"})
    deliver()
    # Refused things log too: a bad address, a forged link, a login failure.
    post("/en/c/water", {"full_name": NAME, "email": "not an address", "country": "FR"})
    client.get("/en/c/water/confirm/forged", environ_base=environ)
    post("/admin/login", {"email": EMAIL, "password": "wrong password"})
    assert len(mail.to(EMAIL)) >= 2

    leaked = [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if any(
            secret.lower() in (record.getMessage() + str(record.args or "")).lower()
            for secret in (EMAIL, "amira", "haddad", IP)
        )
    ]
    assert not leaked, leaked
    assert caplog.records, "nothing was logged: the test would prove nothing"
