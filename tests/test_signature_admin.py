"""Searching a campaign's signatures and writing them as CSV (on both databases)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from campaign.services.signature_admin import (
    ConfirmationFilter,
    SignatureFilter,
    csv_chunks,
    csv_rows,
    has_signatures,
    list_signatures,
    matching_countries,
    neutralize,
)
from tests.factories import make_campaign, make_signature


@pytest.fixture
def people(db):
    campaign = make_campaign()
    people = {
        "anna": make_signature(
            campaign, confirmed=True, full_name="Anna Müller", email="anna@example.org",
            country="DE", city="Berlin",
        ),
        "jean": make_signature(
            campaign, full_name="Jean Dupont", email="JDupont@Mail.example",
            country="FR", city="Paris",
        ),
        "olga": make_signature(
            campaign, confirmed=True, full_name="Ольга Иванова", email="olga@example.ru",
            country="RU", city="Москва",
        ),
        "pat": make_signature(
            campaign, confirmed=True, full_name="Pat 100%_sure", email="pat@example.org",
            country="US", city="Paris",
        ),
    }  # fmt: skip
    make_signature(make_campaign(), confirmed=True, full_name="Anna Elsewhere", country="DE")
    db.session.flush()
    return campaign, people


def found(db, campaign, language="en", **kw) -> set[str]:
    page = list_signatures(db.session, campaign, SignatureFilter(**kw), language)
    return {signature.full_name for signature in page.items}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("anna", {"Anna Müller"}),  # a name, whatever the case
        ("MÜLLER", {"Anna Müller"}),  # non-ASCII letters too
        ("ольга", {"Ольга Иванова"}),
        ("jdupont@mail", {"Jean Dupont"}),  # an email
        ("example.org", {"Anna Müller", "Pat 100%_sure"}),
        ("paris", {"Jean Dupont", "Pat 100%_sure"}),  # a city
        ("москва", {"Ольга Иванова"}),
        ("de", {"Anna Müller"}),  # a country's code
        ("germany", {"Anna Müller"}),  # a country's name
        ("united states", {"Pat 100%_sure"}),  # every word must be found somewhere
        ("anna paris", set()),
        ("jean paris", {"Jean Dupont"}),
        ("100%", {"Pat 100%_sure"}),  # LIKE's wildcards are taken literally
        ("%", {"Pat 100%_sure"}),
        ("_", {"Pat 100%_sure"}),
        ("nobody", set()),
        ("", {"Anna Müller", "Jean Dupont", "Ольга Иванова", "Pat 100%_sure"}),
    ],
)
def test_search_each_field(db, people, q, expected):
    campaign, _ = people
    assert found(db, campaign, q=q) == expected


def test_country_names_are_searched_in_the_organizers_language(db, people):
    campaign, _ = people
    assert found(db, campaign, "ru", q="германия") == {"Anna Müller"}
    assert found(db, campaign, "en", q="германия") == set()
    assert found(db, campaign, "ru", q="франц") == {"Jean Dupont"}


def test_matching_countries():
    assert "DE" in matching_countries("de", "en")
    assert matching_countries("deutschland", "de") == {"DE"}
    assert "AX" in matching_countries("aland", "en")  # Åland, accents aside
    assert matching_countries("  ", "en") == set()
    # Two letters are a code or the start of a name, not any name containing them.
    assert "SE" not in matching_countries("de", "en")


def test_filter_by_confirmation(db, people):
    campaign, _ = people
    assert found(db, campaign, status=ConfirmationFilter.UNCONFIRMED) == {"Jean Dupont"}
    assert found(db, campaign, status=ConfirmationFilter.CONFIRMED) == {
        "Anna Müller",
        "Ольга Иванова",
        "Pat 100%_sure",
    }
    assert found(db, campaign, q="paris", status=ConfirmationFilter.CONFIRMED) == {"Pat 100%_sure"}


def test_newest_first_and_paginated(db):
    campaign = make_campaign()
    for day in range(1, 8):
        make_signature(
            campaign, full_name=f"Day {day}", created_at=datetime(2024, 5, day, tzinfo=UTC)
        )
    db.session.flush()
    first = list_signatures(db.session, campaign, SignatureFilter(), "en", page=1, per_page=3)
    last = list_signatures(db.session, campaign, SignatureFilter(), "en", page=3, per_page=3)
    assert [s.full_name for s in first.items] == ["Day 7", "Day 6", "Day 5"]
    assert [s.full_name for s in last.items] == ["Day 1"]
    assert (first.total, first.pages) == (7, 3)


def test_has_signatures(db, people):
    campaign, _ = people
    assert has_signatures(db.session, campaign)
    assert not has_signatures(db.session, make_campaign())


def test_filter_as_query_arguments():
    assert SignatureFilter().as_args() == {}
    assert not SignatureFilter(q="  ").is_active
    flt = SignatureFilter(q=" anna ", status=ConfirmationFilter.CONFIRMED)
    assert flt.is_active
    assert flt.as_args() == {"q": "anna", "status": "confirmed"}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        ("Anna = Bob", "Anna = Bob"),
        ("", ""),
        ("Ольга", "Ольга"),
    ],
)
def test_neutralize(cell, expected):
    assert neutralize(cell) == expected


def test_csv_rows(db):
    campaign = make_campaign()
    make_signature(
        campaign,
        full_name='=HYPERLINK("http://evil")',
        email="plus+tag@example.org",
        city="-Minus",
        reason="@reason",
        country="FR",
        language="fr",
        is_public=False,
        has_update_consent=True,
        created_at=datetime(2024, 5, 1, 12, 30, 5, tzinfo=UTC),
    )
    confirmed = make_signature(
        campaign, full_name="Zoë", created_at=datetime(2024, 5, 2, tzinfo=UTC)
    )
    confirmed.confirmed_at = datetime(2024, 5, 2, 8, 0, 1, tzinfo=UTC)
    db.session.flush()

    rows = list(csv_rows(db.session, campaign, SignatureFilter(), "en"))

    assert rows[0] == [
        "name", "email", "country", "city", "reason", "language",
        "public", "update_consent", "signed_at", "confirmed_at",
    ]  # fmt: skip
    assert rows[1] == [
        "'=HYPERLINK(\"http://evil\")", "plus+tag@example.org", "FR", "'-Minus", "'@reason",
        "fr", "no", "yes", "2024-05-01T12:30:05Z", "",
    ]  # fmt: skip
    assert rows[2][0] == "Zoë"
    assert rows[2][-2:] == ["2024-05-02T00:00:00Z", "2024-05-02T08:00:01Z"]
    only_confirmed = SignatureFilter(status=ConfirmationFilter.CONFIRMED)
    assert [r[0] for r in csv_rows(db.session, campaign, only_confirmed, "en")] == ["name", "Zoë"]


def test_csv_rows_come_in_chunks(db):
    campaign = make_campaign()
    for n in range(25):
        make_signature(campaign, full_name=f"Person {n:02}")
    db.session.flush()
    rows = list(csv_rows(db.session, campaign, SignatureFilter(), "en", chunk=4))
    assert [r[0] for r in rows[1:]] == [f"Person {n:02}" for n in range(25)]


def test_csv_chunks_start_with_a_byte_order_mark_and_quote_properly():
    rows = [["name", "reason"], ['Anna "A"', "one, two"], ["Ольга", "line\nbreak"]]
    chunks = list(csv_chunks(iter(rows), rows_per_chunk=2))
    assert chunks[0] == "\ufeff"
    assert len(chunks) == 3  # the mark, two rows, one row
    text = "".join(chunks)
    assert list(csv.reader(io.StringIO(text[1:]))) == rows
    assert text.endswith("\r\n")


def test_csv_rows_use_a_server_side_cursor_on_postgresql(db):
    """On PostgreSQL the rows stay on the server until asked for, chunk by chunk."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's cursor already steps through rows one by one")
    campaign = make_campaign()
    make_signature(campaign)
    db.session.flush()
    cursors = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM signatures" in statement:
            cursors.append(type(cursor).__name__)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert len(list(csv_rows(db.session, campaign, SignatureFilter(), "en"))) == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert cursors == ["ServerCursor"]
