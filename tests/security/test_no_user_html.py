"""No HTML from users: what supporters type (names, cities, reasons, comments, proposed events,
hosts' messages) is shown escaped on every page and in every email that carries it. The only
HTML from people is organizers' Markdown, sanitized by nh3: tests/test_markdown.py
(test_script_tag_is_not_interpreted and the tests after it)."""

from __future__ import annotations

import re

from campaign.mail.backends import backend_from_config
from campaign.mail.delivery import deliver_due
from campaign.models import EventStatus
from campaign.services import host_messages
from tests.factories import make_campaign, make_comment, make_event, make_rsvp, make_signature

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    '"><svg onload=alert(3)>',
    '<a href="javascript:alert(4)">x</a>',
]
ATTACK = " ".join(PAYLOADS)


def assert_escaped(html: str) -> None:
    """None of the payloads made it into the page as markup."""
    assert "<script>alert" not in html
    assert not re.search(r"<img[^>]*onerror", html, re.I)
    assert not re.search(r"<svg[^>]*onload", html, re.I)
    assert not re.search(r"<a\s[^>]*href=\W*javascript:", html, re.I)
    # …but the text is there, escaped, for people to read.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_signers_name_city_and_reason_are_escaped(client, db):
    campaign = make_campaign(slug="water")
    make_signature(
        campaign,
        confirmed=True,
        is_public=True,
        full_name=ATTACK,
        city=ATTACK,
        reason=ATTACK,
    )
    db.session.commit()
    html = client.get("/en/c/water").text
    assert_escaped(html)


def test_the_sign_form_echoes_what_was_typed_escaped(client, db):
    make_campaign(slug="water")
    db.session.commit()
    response = client.post(
        "/en/c/water",
        data={"full_name": ATTACK, "email": "not an address", "city": ATTACK, "reason": ATTACK},
    )
    assert response.status_code == 422
    assert_escaped(response.text)


def test_comments_and_their_authors_are_escaped(client, db):
    campaign = make_campaign(slug="water")
    parent = make_comment(campaign, author_name=ATTACK, body=ATTACK)
    make_comment(campaign, reply_to=parent, author_name=ATTACK, body=ATTACK)
    db.session.commit()
    assert_escaped(client.get("/en/c/water").text)
    assert_escaped(client.get(f"/en/c/water/comments/{parent.id}/reply").text)


def test_a_proposed_event_is_escaped_everywhere_it_is_shown(client, db):
    campaign = make_campaign(slug="water")
    event = make_event(
        campaign,
        title=ATTACK,
        description=ATTACK,
        venue=ATTACK,
        city=ATTACK,
        status=EventStatus.SCHEDULED,
    )
    db.session.commit()
    assert_escaped(client.get(f"/en/e/{event.id}").text)
    assert_escaped(client.get("/en/c/water/events").text)


def test_a_hosts_message_is_escaped_in_the_email(app, db, mail):
    campaign = make_campaign(slug="water")
    event = make_event(campaign, status=EventStatus.SCHEDULED)
    make_rsvp(event, email="going@example.org")
    host_messages.send_host_message(db.session, event, ATTACK)
    db.session.commit()
    deliver_due(db.session, backend_from_config(app.config), app.config)
    (message,) = mail.to("going@example.org")
    assert_escaped(message.html)
