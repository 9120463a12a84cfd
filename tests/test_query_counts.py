"""Hot pages run a fixed number of queries, however many rows they show: no N+1.

Each page is read with a few rows and with many; the count of SQL statements must not grow.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from campaign.models import Audience, Role
from campaign.services import broadcasts
from campaign.services.broadcasts import BroadcastData, BroadcastText
from tests.factories import (
    add_member,
    login,
    make_campaign,
    make_comment,
    make_event,
    make_organizer,
    make_rsvp,
    make_signature,
    make_subscriber,
)

SLUG = "counted"


@contextmanager
def counting(db):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug=SLUG, languages=("en", "ru"))
    db.session.commit()
    return campaign


@pytest.fixture
def owner_client(client, db, campaign):
    owner = make_organizer(email="owner@example.org")
    add_member(campaign, owner, Role.OWNER)
    db.session.commit()
    login(client, owner)
    return client


def grow(db, campaign, n: int) -> None:
    """`n` more of everything a page lists: signers, comments with replies, events, RSVPs, and
    updates to each event's attendees."""
    author = make_organizer()
    for _ in range(n):
        make_signature(campaign, confirmed=True, is_public=True)
        top = make_comment(campaign)
        make_comment(campaign, reply_to=top)
        rally = make_event(campaign)
        make_rsvp(rally)
        broadcasts.create_broadcast(
            db.session,
            author,
            campaign,
            BroadcastData(
                texts={"en": BroadcastText("News", "For the rally.")},
                audience=Audience.EVENT,
                event_id=rally.id,
            ),
        )
    db.session.commit()


def queries(client, db, url: str) -> int:
    db.session.expire_all()
    with counting(db) as statements:
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()
    return len(statements)


PUBLIC_PAGES = [f"/en/c/{SLUG}", f"/ru/c/{SLUG}", f"/en/c/{SLUG}/events", "/en/"]
ADMIN_PAGES = [
    "/admin/",
    f"/admin/c/{SLUG}/",
    f"/admin/c/{SLUG}/signatures",
    f"/admin/c/{SLUG}/comments",
    f"/admin/c/{SLUG}/events",
    f"/admin/c/{SLUG}/updates",
    f"/admin/c/{SLUG}/audit",
]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_do_not_query_per_row(client, db, campaign, url):
    grow(db, campaign, 2)
    client.get(url).close()  # the session's first visit writes its cookie: not counted
    few = queries(client, db, url)
    grow(db, campaign, 12)
    assert queries(client, db, url) == few


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_lists_do_not_query_per_row(owner_client, db, campaign, url):
    grow(db, campaign, 2)
    make_subscriber(campaign, "one@example.org")
    few = queries(owner_client, db, url)
    grow(db, campaign, 12)
    assert queries(owner_client, db, url) == few
