"""The signature list and the CSV export: search, filters, pages, safety, memory, roles."""

from __future__ import annotations

import csv
import gc
import io
import re
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from campaign.extensions import db as _db
from campaign.models import AuditEntry, Role, Signature
from campaign.models.types import utcnow
from campaign.services.signature_admin import SignatureFilter, csv_rows
from tests.factories import add_member, login, make_campaign, make_organizer, make_signature


def list_url(campaign, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/admin/c/{campaign.slug}/signatures" + (f"?{query}" if query else "")


def csv_url(campaign, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/admin/c/{campaign.slug}/signatures.csv" + (f"?{query}" if query else "")


def owner_of(campaign, **kw):
    organizer = make_organizer(**kw)
    add_member(campaign, organizer, Role.OWNER)
    return organizer


def names_listed(body: str) -> list[str]:
    return re.findall(r'<th scope="row">([^<]*)</th>', body)


def finish(response) -> bytes:
    """Read a streamed response to its end.

    Werkzeug's test client reads the first chunk inside `client.get`, so the request's
    contexts stay pushed until the stream ends, and the client's rollback of the test's
    session (see FreshContextClient) misses it. Rolling back here lets the test read what the
    request committed.
    """
    data = response.get_data()
    _db.session.rollback()
    return data


def read_csv(response) -> list[list[str]]:
    data = finish(response)
    assert data.startswith(b"\xef\xbb\xbf")  # the byte order mark spreadsheet apps look for
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug="sig-list")
    people = [
        ("Anna Müller", "anna@example.org", "DE", "Berlin", True),
        ("Jean Dupont", "jean@example.fr", "FR", "Paris", False),
        ("Ольга Иванова", "olga@example.ru", "RU", "Москва", True),
    ]
    start = datetime(2024, 5, 1, 9, tzinfo=UTC)
    for n, (name, email, country, city, confirmed) in enumerate(people):
        signature = make_signature(
            campaign,
            full_name=name,
            email=email,
            country=country,
            city=city,
            confirmed=confirmed,
            created_at=start + timedelta(days=n),
        )
        if confirmed:
            signature.confirmed_at = signature.created_at + timedelta(minutes=5)
    return campaign


# The list.


def test_list_shows_every_column_newest_first(db, client, campaign):
    login(client, owner_of(campaign))
    response = client.get(list_url(campaign))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert names_listed(body) == ["Ольга Иванова", "Jean Dupont", "Anna Müller"]
    for text in ("anna@example.org", "Germany", "Berlin", "English", "3 signatures"):
        assert text in body
    # Dates in the organizer's locale; unconfirmed ones say so.
    assert "5/1/24, 9:00\u202fAM" in body or "5/1/24, 9:00 AM" in body
    assert 'datetime="2024-05-01T09:05:00+00:00"' in body
    assert "Not yet" in body
    assert '<div class="table-wrap">' in body
    assert 'class="data' in body


def test_list_in_the_organizers_language(db, client, campaign):
    login(client, owner_of(campaign, language="ru"))
    body = client.get(list_url(campaign)).get_data(as_text=True)
    assert "Германия" in body
    assert "01.05.2024, 09:00" in body


def test_search_and_filter(db, client, campaign):
    login(client, owner_of(campaign))
    assert names_listed(client.get(list_url(campaign, q="MOSKVA")).get_data(as_text=True)) == []
    cases = {
        "q=anna": ["Anna Müller"],
        "q=%D0%BC%D0%BE%D1%81%D0%BA%D0%B2%D0%B0": ["Ольга Иванова"],  # "москва"
        "q=example.fr": ["Jean Dupont"],
        "q=france": ["Jean Dupont"],
        "q=ru": ["Ольга Иванова"],
        "status=confirmed": ["Ольга Иванова", "Anna Müller"],
        "status=unconfirmed": ["Jean Dupont"],
        "q=a&status=unconfirmed": ["Jean Dupont"],
        "status=bogus": ["Ольга Иванова", "Jean Dupont", "Anna Müller"],
    }
    for query, expected in cases.items():
        body = client.get(f"{list_url(campaign)}?{query}").get_data(as_text=True)
        assert names_listed(body) == expected, query


def test_the_search_form_keeps_what_was_asked(db, client, campaign):
    login(client, owner_of(campaign))
    body = client.get(list_url(campaign, q="anna", status="confirmed")).get_data(as_text=True)
    assert 'name="q"' in body
    assert 'value="anna"' in body
    assert re.search(
        r'<option selected value="confirmed">|<option value="confirmed" selected', body
    )
    assert "1 signature matches" in body
    # The export link carries the same filter.
    assert "/admin/c/sig-list/signatures.csv?q=anna&amp;status=confirmed" in body


def test_a_too_long_search_is_refused_politely(db, client, campaign):
    login(client, owner_of(campaign))
    response = client.get(list_url(campaign, q="x" * 201))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'role="alert"' in body
    assert len(names_listed(body)) == 3


def test_no_matches(db, client, campaign):
    login(client, owner_of(campaign))
    body = client.get(list_url(campaign, q="nobody")).get_data(as_text=True)
    assert "No signatures match your search." in body
    assert names_listed(body) == []


def test_no_signatures_at_all(db, client):
    empty = make_campaign()
    login(client, owner_of(empty))
    response = client.get(list_url(empty))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "No one has signed yet." in body
    assert "signatures.csv" not in body


def test_pages_of_fifty(db, client):
    big = make_campaign()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(53):
        make_signature(
            big, full_name=f"Person {n:02}", city="Lyon", created_at=start + timedelta(minutes=n)
        )
    login(client, owner_of(big))

    first = client.get(list_url(big, q="lyon")).get_data(as_text=True)
    assert names_listed(first) == [f"Person {n:02}" for n in range(52, 2, -1)]
    assert "Page 1 of 2" in first
    assert 'rel="next"' in first
    assert "page=2" in first
    assert "q=lyon" in re.search(r'href="([^"]*)" rel="next"', first).group(1)

    second = client.get(list_url(big, q="lyon", page=2)).get_data(as_text=True)
    assert names_listed(second) == ["Person 02", "Person 01", "Person 00"]
    assert 'rel="prev"' in second
    beyond = client.get(list_url(big, page=9)).get_data(as_text=True)
    assert names_listed(beyond) == names_listed(second)


# The export.


def test_export_streams_a_csv_with_a_header(db, client, campaign):
    login(client, owner_of(campaign))
    response = client.get(csv_url(campaign))
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.mimetype_params["charset"] == "utf-8"
    today = utcnow().strftime("%Y-%m-%d")
    disposition = response.headers["Content-Disposition"]
    assert disposition == f"attachment; filename=signatures-sig-list-{today}.csv"
    assert response.headers["Cache-Control"] == "no-store"
    rows = read_csv(response)
    assert rows[0] == [
        "name", "email", "country", "city", "reason", "language",
        "public", "update_consent", "signed_at", "confirmed_at",
    ]  # fmt: skip
    assert [row[0] for row in rows[1:]] == ["Anna Müller", "Jean Dupont", "Ольга Иванова"]
    assert rows[1][8:] == ["2024-05-01T09:00:00Z", "2024-05-01T09:05:00Z"]
    assert rows[2][9] == ""
    assert rows[3][3] == "Москва"


def test_export_neutralizes_formulas(db, client):
    risky = make_campaign()
    for name in ("=cmd|' /C calc'!A0", "+1", "-2", "@x", "\tTabbed", "Plain"):
        make_signature(risky, full_name=name, city="=1+1", reason="@SUM(A1)")
    login(client, owner_of(risky))
    rows = read_csv(client.get(csv_url(risky)))
    assert [row[0] for row in rows[1:]] == [
        "'=cmd|' /C calc'!A0", "'+1", "'-2", "'@x", "'\tTabbed", "Plain",
    ]  # fmt: skip
    assert {row[3] for row in rows[1:]} == {"'=1+1"}
    assert {row[4] for row in rows[1:]} == {"'@SUM(A1)"}


def test_export_applies_the_same_filter_and_is_audited(db, client, campaign):
    owner = owner_of(campaign)
    login(client, owner)
    rows = read_csv(client.get(csv_url(campaign, q="a", status="confirmed")))
    assert [row[0] for row in rows[1:]] == ["Anna Müller", "Ольга Иванова"]
    rows = read_csv(client.get(csv_url(campaign, q="germany")))
    assert [row[0] for row in rows[1:]] == ["Anna Müller"]

    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "signatures.export").order_by(AuditEntry.id)
    ).all()
    assert [(e.campaign_id, e.actor_id) for e in entries] == [(campaign.id, owner.id)] * 2
    assert entries[0].details == {"filter": {"q": "a", "status": "confirmed"}}
    assert entries[1].details == {"filter": {"q": "germany"}}


def test_export_of_a_campaign_without_signatures(db, client):
    empty = make_campaign()
    login(client, owner_of(empty))
    rows = read_csv(client.get(csv_url(empty)))
    assert len(rows) == 1


def _bulk_sign(db, campaign, count: int) -> None:
    now = utcnow()
    db.session.execute(
        insert(Signature),
        [
            {
                "campaign_id": campaign.id,
                "full_name": f"Supporter Number {n} Жанна-Мария",
                "email": f"supporter{n}@example.org",
                "email_key": f"supporter{n}@example.org",
                "country": "FR",
                "city": "Saint-Étienne",
                "reason": "Because it matters to all of us, and to our children. " * 2,
                "language": "fr",
                "is_public": True,
                "has_update_consent": n % 2 == 0,
                "created_at": now,
                "confirmed_at": now,
            }
            for n in range(count)
        ],
    )


def _peak_while_streaming(client, url: str) -> tuple[int, int]:
    """(peak bytes allocated while the response is read chunk by chunk, bytes received)."""
    response = client.get(url)
    assert response.is_streamed
    received = 0
    gc.collect()
    tracemalloc.start()
    try:
        for chunk in response.response:
            received += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        response.close()
        _db.session.rollback()
    return peak, received


def _peak_while_holding_all_rows(campaign) -> int:
    """Peak bytes allocated to read every row of the export into a list at once."""
    gc.collect()
    tracemalloc.start()
    try:
        rows = list(csv_rows(_db.session, campaign, SignatureFilter(), "en"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(rows) == 20_001
    return peak


def test_export_takes_the_same_memory_for_ten_times_the_rows(db, client):
    small, large = make_campaign(slug="small"), make_campaign(slug="large")
    _bulk_sign(db, small, 2_000)
    _bulk_sign(db, large, 20_000)
    login(client, make_organizer(is_admin=True))

    small_peak, small_bytes = _peak_while_streaming(client, csv_url(small))
    large_peak, large_bytes = _peak_while_streaming(client, csv_url(large))
    held = _peak_while_holding_all_rows(large)

    assert large_bytes > 9 * small_bytes  # ten times the data went out…
    # …in about the same memory: a chunk of rows at a time, never the whole export…
    assert large_peak < 1.5 * small_peak + 256 * 1024, (small_peak, large_peak)
    # …and far less than holding every row would take.
    assert large_peak < held / 4, (large_peak, held)


# Who may see signatures: personal data, for owners only.


@pytest.mark.parametrize("path", ["signatures", "signatures.csv"])
@pytest.mark.parametrize(
    ("role", "status"), [(Role.OWNER, 200), (Role.EDITOR, 403), (Role.MODERATOR, 403)]
)
def test_who_may_see_signatures(db, client, campaign, path, role, status):
    organizer = make_organizer()
    add_member(campaign, organizer, role)
    login(client, organizer)
    response = client.get(f"/admin/c/{campaign.slug}/{path}")
    assert response.status_code == status
    if status != 200:
        assert "Müller" not in response.get_data(as_text=True)
        assert not db.session.scalars(select(AuditEntry)).all()


@pytest.mark.parametrize("path", ["signatures", "signatures.csv"])
def test_another_campaigns_organizer_gets_not_found(db, client, campaign, path):
    login(client, owner_of(make_campaign()))
    response = client.get(f"/admin/c/{campaign.slug}/{path}")
    assert response.status_code == 404
    assert "Müller" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["signatures", "signatures.csv"])
def test_anonymous_visitors_are_sent_to_log_in(db, client, campaign, path):
    db.session.commit()
    response = client.get(f"/admin/c/{campaign.slug}/{path}")
    assert response.status_code == 302
    assert "/admin/login" in response.location
