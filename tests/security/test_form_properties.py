"""Every public form, driven with arbitrary input by hypothesis: it answers 2xx/3xx/4xx, never
500, and stores nothing invalid.

Input: arbitrary text (control characters, NUL, right-to-left marks, huge strings), wrong types
(repeated fields, missing fields, file uploads, numbers as text) and raw bodies that are not
UTF-8. "Invalid" stored data: a C0/C1 control character other than LF and tab, a value longer
than its column, an email address that is not one (see `assert_nothing_invalid_stored`).

Each test builds its world (a campaign, comments, an event, tokens) once and runs its examples
against it; every answer is checked as it comes, and what was stored, row by row across every
table, once the examples are done (a failure names the table, column and value). Bounded and
deterministic: a fixed number of examples, derandomized, no example database on disk.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, Text, select

from campaign.extensions import db as _db
from campaign.form_fields import CONTROL_CHARACTERS
from campaign.models import Campaign, Invitation, Organizer, Role, RsvpStatus, Signature
from campaign.services import events as event_service
from campaign.services import organizers, rsvps, subscribers
from campaign.services.email_addresses import normalize_email
from campaign.services.errors import InvalidEmail
from campaign.services.tokens import make_token
from tests.factories import (
    make_campaign,
    make_comment,
    make_event,
    make_organizer,
    make_rsvp,
    make_subscriber,
)

EXAMPLES = 25

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# --- the world the forms act on ---------------------------------------------------------------


@dataclass
class World:
    campaign: Campaign
    paths: dict[str, str]


@pytest.fixture
def world(app, db) -> World:
    campaign = make_campaign(slug="fuzz", languages=("en", "ru"), title="Clean air")
    comment = make_comment(campaign, body="A first comment about clean air.")
    event = make_event(campaign, capacity=1000, host_name="Lena Vogel")
    event.host_email = event.host_email_key = "lena@example.org"
    rsvp = make_rsvp(event, email="rsvp@example.org")
    waiting = make_rsvp(event, email="waiting@example.org", status=RsvpStatus.WAITLISTED)
    unconfirmed = make_rsvp(event, email="maybe@example.org", status=RsvpStatus.UNCONFIRMED)
    make_subscriber(campaign, "reader@example.org")
    organizer = make_organizer(email="organizer@example.org")
    invitation = Invitation(
        campaign_id=campaign.id,
        email="invited@example.org",
        role=Role.EDITOR,
        invited_by_id=organizer.id,
    )
    db.session.add(invitation)
    db.session.commit()
    secret = app.config["SECRET_KEY"]
    with app.test_request_context():
        paths = {
            "petition": "/en/c/fuzz",
            "comment": "/en/c/fuzz/comments",
            "reply": f"/en/c/fuzz/comments/{comment.id}/reply",
            "support": f"/en/c/fuzz/comments/{comment.id}/support",
            "flag": f"/en/c/fuzz/comments/{comment.id}/flag",
            "rsvp": f"/en/e/{event.id}",
            "rsvp_manage": f"/en/e/{event.id}/rsvp/{rsvps.rsvp_token(rsvp, rsvps.MANAGE_PURPOSE)}",
            "rsvp_waiting": (
                f"/en/e/{event.id}/rsvp/{rsvps.rsvp_token(waiting, rsvps.MANAGE_PURPOSE)}"
            ),
            "rsvp_confirm": (
                f"/en/e/{event.id}/rsvp/confirm/"
                f"{rsvps.rsvp_token(unconfirmed, rsvps.CONFIRM_PURPOSE)}"
            ),
            "propose": "/en/c/fuzz/events/propose",
            "host": f"/en/e/{event.id}/host/{event_service.host_token(event)}",
            "subscribe": "/en/subscribe",
            "preferences": subscribers.preferences_url("reader@example.org", "en").removeprefix(
                app.config["BASE_URL"]
            ),
            "unsubscribe": subscribers.unsubscribe_url(
                "reader@example.org", campaign, "en"
            ).removeprefix(app.config["BASE_URL"]),
            "login": "/admin/login",
            "forgot": "/admin/forgot-password",
            "reset": "/admin/reset-password/"
            + make_token(
                secret,
                organizers.RESET_PURPOSE,
                {"o": organizer.id, "f": organizers._password_fingerprint(organizer)},
            ),
            "invitation": "/admin/invitation/"
            + make_token(secret, organizers.INVITE_PURPOSE, {"i": invitation.id}),
        }
    return World(campaign=campaign, paths=paths)


# --- what may be stored -----------------------------------------------------------------------


def _text_columns():
    for table in _db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if columns:
            yield table, columns


def assert_nothing_invalid_stored() -> None:
    """Every text value in every table: no control character but LF and tab, within its
    column's length (SQLite does not enforce it), and every stored address an address."""
    session = _db.session
    session.rollback()
    for table, columns in _text_columns():
        for row in session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if not isinstance(value, str):
                    continue
                where = f"{table.name}.{column.name} = {value[:80]!r}"
                # Tab and LF are text; CR LF is stored as LF (form_fields.clean_input).
                assert not CONTROL_CHARACTERS.search(value), where
                assert "\r" not in value, where
                if column.type.length:
                    assert len(value) <= column.type.length, where
                if column.name in {"email", "to_email", "host_email"} and value:
                    try:
                        normalize_email(value)
                    except InvalidEmail:
                        pytest.fail(f"invalid address stored: {where}")
    session.rollback()


def assert_answered(response) -> None:
    assert response.status_code < 500, response.text[:2000]


# --- what a client may send -------------------------------------------------------------------

SPECIAL = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x01\x02\x1f\x7f\x85\x9f",
    "\u200f\u202e\u2066",  # right-to-left mark, override, isolate
    "\ufeff\ufffe\uffff",
    "\U0010ffff\U0001f600",
    "Amira\r\nHaddad\rX",
    "name@example.org\x00",
    "n\x00ame@example.org",
    "name@exa\x00mple.org",
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "²",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "é" * 300,
    "x" * 100_000,
    "x@" + "ü" * 63 + "." + "ü" * 63 + ".org",
    "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".org",
]

text_values = st.one_of(
    st.text(max_size=300),
    st.text(st.characters(codec="utf-8"), max_size=50),
    st.sampled_from(SPECIAL),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=4), st.integers(50, 5000)),
    st.integers(-(2**70), 2**70).map(str),
    st.emails(),
)

value = st.one_of(
    text_values,
    st.lists(text_values, min_size=2, max_size=3),  # a repeated field
    st.binary(max_size=200).map(lambda b: (io.BytesIO(b), "upload.bin")),  # a file
)


def form_data(valid: dict[str, str]):
    """A body built from a valid one: each field kept, replaced, repeated, a file, or left
    out; plus a few fields nobody asked for."""
    choice = st.one_of(st.just("keep"), st.just("missing"), value)
    fields = st.fixed_dictionaries({name: choice for name in valid})
    extra = st.dictionaries(st.text(max_size=20), text_values, max_size=2)

    def build(chosen, extra):
        data = {}
        for name, pick in chosen.items():
            if pick == "keep":
                data[name] = valid[name]
            elif pick != "missing":
                data[name] = pick
        for name, item in extra.items():
            data.setdefault(name, item)
        return data

    return st.builds(build, fields, extra)


# The forms and a valid body for each; a field left "keep" sends this value.
FORMS: dict[str, dict[str, str]] = {
    "petition": {
        "full_name": "Amira Haddad",
        "email": "amira@example.org",
        "country": "FR",
        "city": "Lyon",
        "reason": "Because.",
        "is_public": "y",
        "has_update_consent": "y",
        "website": "",
    },
    "comment": {
        "author_name": "Amira",
        "email": "amira@example.org",
        "body": "Clean air matters to everyone here.",
        "started": "",
        "website": "",
    },
    "reply": {
        "author_name": "Amira",
        "email": "amira@example.org",
        "body": "I agree with this comment.",
        "started": "",
        "website": "",
    },
    "support": {"reader": "x"},
    "flag": {"reason": "spam"},
    "rsvp": {
        "full_name": "Amira Haddad",
        "email": "amira@example.org",
        "phone": "+33 1 23 45 67 89",
        "consent": "y",
        "website": "",
    },
    "rsvp_manage": {"cancel": "I can't come"},
    "rsvp_waiting": {"accept": "Take the place", "cancel": "I can't come"},
    "rsvp_confirm": {"submit": "Confirm"},
    "propose": {
        "host_name": "Lena Vogel",
        "host_email": "lena@example.org",
        "title": "Vigil",
        "description": "Bring a candle.",
        "date": "2031-07-05",
        "starts": "18:00",
        "ends": "20:00",
        "timezone": "Europe/Berlin",
        "mode": "in_person",
        "venue": "Town hall",
        "address": "Rathausstraße 15",
        "city": "Berlin",
        "country": "DE",
        "online_url": "",
        "capacity": "50",
        "website": "",
    },
    "host": {"body": "See you at six by the fountain."},
    "subscribe": {
        "email": "new@example.org",
        "campaign": "fuzz",
        "source": "campaign",
        "homepage": "",
    },
    "preferences": {
        "language": "ru",
        "campaigns": "1",
        "save": "Save",
        "unsubscribe_one": "1",
    },
    "unsubscribe": {"List-Unsubscribe": "One-Click"},
    "login": {"email": "organizer@example.org", "password": "wrong password", "next": "/admin/"},
    "forgot": {"email": "organizer@example.org"},
    "reset": {"password": "a new long password", "confirm": "a new long password"},
    "invitation": {
        "name": "Invited Person",
        "password": "a new long password",
        "confirm": "a new long password",
    },
}


@pytest.mark.parametrize("form", list(FORMS))
def test_arbitrary_form_input_never_fails_nor_stores_anything_invalid(client, world, form):
    path = world.paths[form]

    @FUZZ
    @given(data=form_data(FORMS[form]))
    @example(data={name: "\x00" for name in FORMS[form]})
    @example(data={name: "a\x00b\r\n\x1b" for name in FORMS[form]})
    def run(data):
        assert_answered(client.post(path, data=data))

    run()
    assert_nothing_invalid_stored()


# Raw bodies: not UTF-8, half-encoded, CESU-8 surrogates, stray separators.
raw_values = st.one_of(
    st.binary(max_size=100),
    st.sampled_from(
        [b"\xff\xfe", b"\xed\xa0\x80", b"\xc0\x80", b"\x00", b"%", b"%zz", b"%ff%00", b"&&==&"]
    ),
)


def raw_body(valid: dict[str, str]):
    def build(values):
        parts = []
        for name, raw in zip(valid, values, strict=False):
            parts.append(quote_from_bytes(name.encode()).encode() + b"=" + raw)
        return b"&".join(parts)

    return st.one_of(
        st.lists(raw_values, min_size=len(valid), max_size=len(valid)).map(build),
        st.binary(max_size=300),
    )


@pytest.mark.parametrize("form", list(FORMS))
def test_raw_bodies_that_are_not_utf8_never_fail(client, world, form):
    path = world.paths[form]

    @settings(FUZZ, max_examples=EXAMPLES // 2)
    @given(body=raw_body(FORMS[form]))
    def run(body):
        response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
        assert_answered(response)

    run()
    assert_nothing_invalid_stored()


# --- paths and query strings ------------------------------------------------------------------

PAGES = [
    "/en/",
    "/en/c/fuzz",
    "/en/c/fuzz/events",
    "/admin/login",
    "/api/v1/campaigns",
]


@pytest.mark.parametrize("page", PAGES)
def test_arbitrary_query_strings_never_fail(client, world, page):
    params = st.dictionaries(
        st.sampled_from(["page", "sort", "show", "city", "country", "next", "q", "lang", "x"]),
        st.one_of(text_values, st.lists(text_values, min_size=2, max_size=3)),
        max_size=4,
    )

    @settings(FUZZ, max_examples=EXAMPLES // 2)
    @given(query=params)
    def run(query):
        assert_answered(client.get(page, query_string=query))

    run()


@settings(FUZZ)
@given(segment=st.one_of(st.text(max_size=200), st.sampled_from(SPECIAL[:12])))
def test_arbitrary_slugs_and_tokens_in_paths_are_not_found(client, world, segment):
    quoted = quote_from_bytes(segment.encode("utf-8"), safe="")
    for pattern in (
        "/en/c/{}",
        "/en/c/{}/confirm/x",
        "/en/c/fuzz/confirm/{}",
        "/en/preferences/{}",
        "/u/{}",
        "/admin/reset-password/{}",
        "/en/subscribe/confirm/{}",
    ):
        response = client.get(pattern.format(quoted))
        assert_answered(response)


# --- size -------------------------------------------------------------------------------------


def test_a_signature_larger_than_the_limit_gets_413_and_is_not_stored(app, client, world, db):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = client.post(
        "/en/c/fuzz",
        data={**FORMS["petition"], "reason": "x" * (128 * 1024)},
    )
    assert response.status_code == 413
    assert db.session.scalar(select(Signature.id).limit(1)) is None


def test_control_characters_are_stripped_from_what_is_stored(app, client, world, db):
    response = client.post(
        "/en/c/fuzz",
        data={**FORMS["petition"], "full_name": "Am\x00ira\x1b Had\u200fdad", "city": "Ly\x07on"},
    )
    assert response.status_code == 302
    signature = db.session.scalar(select(Signature))
    assert signature.full_name == "Amira Had\u200fdad"  # the right-to-left mark is text
    assert signature.city == "Lyon"


def test_an_organizer_row_is_unchanged_by_fuzzed_logins(client, world, db):
    before = db.session.scalar(select(Organizer.password_hash))
    for password in ("\x00", "x" * 10_000, "correct horse battery\x00"):
        assert_answered(
            client.post(
                "/admin/login", data={"email": "organizer@example.org", "password": password}
            )
        )
    db.session.rollback()
    assert db.session.scalar(select(Organizer.password_hash)) == before
