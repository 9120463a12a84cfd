"""No header injection through what people type: names and campaign titles with line breaks
(CR, LF, and Unicode's own line and paragraph separators) stay on one header line, through the
real SendGrid stand-in and through the console backend."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from campaign.mail.backends import ConsoleBackend, backend_from_config
from campaign.mail.delivery import deliver_due
from campaign.mail.outbox import header_safe
from campaign.models import OutboxMessage
from tests.factories import make_campaign

BREAKS = ["\r\n", "\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x00"]
EVIL = "Amira{}Bcc: victim@evil.example"


@pytest.mark.parametrize("breaker", BREAKS)
def test_header_safe_keeps_one_line(breaker):
    value = header_safe(EVIL.format(breaker))
    assert value == "Amira Bcc: victim@evil.example"
    assert value.splitlines() == [value]


def test_ordinary_text_is_kept(app):
    assert header_safe("  Zoë  O’Brien — «Вода» ") == "Zoë O’Brien — «Вода»"


@pytest.fixture
def petition(db):
    campaign = make_campaign(slug="water", title="Clean water\r\nBcc: victim@evil.example")
    db.session.commit()
    return campaign


@pytest.mark.parametrize("breaker", ["\r\n", "\u2028", "\x85"])
def test_a_signers_name_and_a_title_cannot_add_headers(app, db, client, mail, petition, breaker):
    response = client.post(
        "/en/c/water",
        data={"full_name": EVIL.format(breaker), "email": "amira@example.org", "country": "FR"},
    )
    assert response.status_code in (302, 422)
    if response.status_code == 422:
        return  # the form refused the name outright: nothing was mailed either
    message = db.session.scalars(select(OutboxMessage)).one()
    for value in (message.to_name, message.subject):
        assert value.splitlines() == [value], repr(value)

    deliver_due(db.session, backend_from_config(app.config), app.config)
    (sent,) = mail.to("amira@example.org")
    for value in (sent.to_name or "", sent.subject):
        assert value.splitlines() == [value], repr(value)
    assert "bcc" not in {name.lower() for name in sent.headers}
    (personalization,) = sent.payload["personalizations"]
    assert "bcc" not in personalization
    assert [to["email"] for to in personalization["to"]] == ["amira@example.org"]

    out = io.StringIO()
    ConsoleBackend(app.config["MAIL_FROM"], out).send(message)
    header_block = out.getvalue().split("\n\n", 1)[0]
    assert not any(line.startswith("Bcc:") for line in header_block.splitlines())
