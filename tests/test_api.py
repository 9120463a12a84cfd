"""The JSON API and its OpenAPI document, through the test client."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import jsonschema_rs
import pytest
import schemathesis
from sqlalchemy import select

from campaign.api.openapi import MAX_PAGE, MAX_PER_PAGE
from campaign.config import load_config
from campaign.models import (
    CampaignStatus,
    CommentPolicy,
    EventMode,
    EventStatus,
    RsvpStatus,
    Signature,
)
from campaign.models.types import utcnow
from campaign.services import paper_signatures as paper
from campaign.services.open_data import CITY_MINIMUM
from campaign.services.signing import confirmation_token
from tests import conftest
from tests.factories import make_campaign, make_comment, make_event, make_rsvp, make_signature

BASE_URL = "http://campaign.test"


@pytest.fixture
def petition(db):
    campaign = make_campaign(
        slug="clean-water",
        languages=("en", "ru"),
        goal=5000,
        title="Clean water",
        target="The council",
        summary="Water for all",
    )
    campaign.translation("ru").title = "Чистая вода"
    db.session.commit()
    return campaign


def sign(client, db, slug: str, email: str, country: str, *, confirm: bool) -> None:
    """Sign through the form, and confirm through the emailed link's page if asked."""
    response = client.post(
        f"/en/c/{slug}",
        data={"full_name": f"Person {email}", "email": email, "country": country},
    )
    assert response.status_code == 302, response.text
    if confirm:
        signature = db.session.scalars(select(Signature).where(Signature.email == email)).one()
        token = confirmation_token(signature)
        response = client.post(f"/en/c/{slug}/confirm/{token}")
        assert response.status_code == 302
        assert response.location.endswith("/thanks")


# --- a small JSON Schema checker for the subset the document uses ------------------------------


def resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def violations(value, schema: dict, document: dict, where: str = "$") -> list[str]:
    """What in `value` does not match `schema` (type, required, properties, items, enum, ...)."""
    schema = resolve(schema, document)
    problems: list[str] = []
    for part in schema.get("allOf", []):
        problems += violations(value, part, document, where)
    expected = schema.get("type")
    if expected:
        allowed = expected if isinstance(expected, list) else [expected]
        if value is None and "null" in allowed:
            return problems
        if not any(
            kind != "null"
            and isinstance(value, _TYPES[kind])
            and not (kind in ("integer", "number") and isinstance(value, bool))
            for kind in allowed
        ):
            return [*problems, f"{where}: expected {expected}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if "minimum" in schema and isinstance(value, int) and value < schema["minimum"]:
        problems.append(f"{where}: {value} < {schema['minimum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{where}: missing required {key!r}")
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                problems += violations(item, properties[key], document, f"{where}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += violations(
                    item, schema["additionalProperties"], document, f"{where}.{key}"
                )
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += violations(item, schema["items"], document, f"{where}[{index}]")
    return problems


def response_schema(document: dict, path: str, status: str = "200") -> dict:
    response = document["paths"][path]["get"]["responses"][status]
    return response["content"]["application/json"]["schema"]


# --- one campaign -----------------------------------------------------------------------------


def test_campaign_detail(client, db, petition):
    sign(client, db, "clean-water", "a@example.org", "FR", confirm=True)
    sign(client, db, "clean-water", "b@example.org", "FR", confirm=True)
    sign(client, db, "clean-water", "c@example.org", "DE", confirm=True)
    sign(client, db, "clean-water", "d@example.org", "US", confirm=False)

    response = client.get("/api/v1/campaigns/clean-water")
    assert response.status_code == 200
    assert response.content_type.startswith("application/json")
    data = response.json
    assert data["slug"] == "clean-water"
    assert data["title"] == "Clean water"
    assert data["status"] == "open"
    assert data["goal"] == 5000
    assert data["signature_count"] == 3
    assert data["paper_signature_count"] == 0
    assert sorted(data["languages"]) == ["en", "ru"]
    assert data["signatures_by_country"] == {"FR": 2, "DE": 1}
    assert data["url"] == f"{BASE_URL}/en/c/clean-water"


def test_count_follows_confirmations_only(client, db, petition):
    sign(client, db, "clean-water", "a@example.org", "FR", confirm=False)
    data = client.get("/api/v1/campaigns/clean-water").json
    assert data["signature_count"] == 0
    assert data["signatures_by_country"] == {}

    signature = db.session.scalars(select(Signature)).one()
    client.post(f"/en/c/clean-water/confirm/{confirmation_token(signature)}")
    client.post(f"/en/c/clean-water/confirm/{confirmation_token(signature)}")
    data = client.get("/api/v1/campaigns/clean-water").json
    assert data["signature_count"] == 1
    assert data["signatures_by_country"] == {"FR": 1}


def test_paper_signatures_are_counted_apart(client, db, petition):
    sign(client, db, "clean-water", "a@example.org", "FR", confirm=True)
    paper.add(
        db.session,
        None,
        petition,
        paper.PaperSignatureData(count=120, collected_on=date.today() - timedelta(days=1)),
    )
    db.session.commit()

    detail = client.get("/api/v1/campaigns/clean-water").json
    assert (detail["signature_count"], detail["paper_signature_count"]) == (1, 120)
    assert detail["signatures_by_country"] == {"FR": 1}  # paper sheets have no country
    listed = client.get("/api/v1/campaigns").json["campaigns"]
    assert [(c["slug"], c["paper_signature_count"]) for c in listed] == [("clean-water", 120)]


@pytest.mark.parametrize(
    ("query", "title", "language"),
    [
        ("?lang=ru", "Чистая вода", "ru"),
        ("?lang=en", "Clean water", "en"),
        ("", "Clean water", "en"),
        ("?lang=xx", "Clean water", "en"),
    ],
)
def test_campaign_detail_language(client, petition, query, title, language):
    data = client.get(f"/api/v1/campaigns/clean-water{query}").json
    assert data["title"] == title
    assert data["language"] == language
    assert data["url"] == f"{BASE_URL}/{language}/c/clean-water"


def test_closed_campaign_is_still_public(client, db):
    make_campaign(slug="closed-one", status=CampaignStatus.CLOSED)
    db.session.commit()
    response = client.get("/api/v1/campaigns/closed-one")
    assert response.status_code == 200
    assert response.json["status"] == "closed"


@pytest.mark.parametrize("slug", ["a-draft", "no-such-campaign"])
def test_draft_or_unknown_campaign_is_a_json_404(client, db, slug):
    make_campaign(slug="a-draft", status=CampaignStatus.DRAFT, title="Secret plans")
    db.session.commit()
    response = client.get(f"/api/v1/campaigns/{slug}")
    assert response.status_code == 404
    assert response.content_type.startswith("application/json")
    assert response.json["error"] == "not_found"
    assert "Secret plans" not in response.text


# --- the list ---------------------------------------------------------------------------------


def test_campaign_list_has_open_and_closed_only(client, db):
    for status in CampaignStatus:
        make_campaign(slug=f"c-{status.value}", status=status)
    db.session.commit()
    response = client.get("/api/v1/campaigns")
    assert response.status_code == 200
    listed = {item["slug"]: item["status"] for item in response.json["campaigns"]}
    assert listed == {"c-open": "open", "c-closed": "closed"}
    # Open campaigns come first.
    assert [item["slug"] for item in response.json["campaigns"]] == ["c-open", "c-closed"]


def test_campaign_list_in_russian(client, petition):
    (item,) = client.get("/api/v1/campaigns?lang=ru").json["campaigns"]
    assert item["title"] == "Чистая вода"
    (item,) = client.get("/api/v1/campaigns").json["campaigns"]
    assert item["title"] == "Clean water"


def test_campaign_list_when_empty(client, db):
    data = client.get("/api/v1/campaigns").json
    assert data["campaigns"] == []
    assert (data["total"], data["page"], data["pages"]) == (0, 1, 1)
    assert data["links"]["next"] is None
    assert data["links"]["prev"] is None


# --- the OpenAPI document ---------------------------------------------------------------------


@pytest.fixture
def openapi(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.content_type.startswith("application/json")
    return response.json


def test_openapi_document_is_openapi_3_1(openapi):
    assert openapi["openapi"].startswith("3.1.")
    assert openapi["info"]["title"]
    assert openapi["info"]["version"]
    assert openapi["servers"][0]["url"] == f"{BASE_URL}/api/v1"
    assert {"/campaigns", "/campaigns/{slug}"} <= set(openapi["paths"])
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            assert "200" in operation["responses"], f"{method} {path}"
            for response in operation["responses"].values():
                assert resolve(response, openapi)["description"]
    # Every reference points at something that exists.
    refs = []

    def collect(node):
        if isinstance(node, dict):
            refs.extend(value for key, value in node.items() if key == "$ref")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(openapi)
    assert refs
    for ref in refs:
        assert resolve({"$ref": ref}, openapi)
    slug_parameters = [
        p
        for p in (
            resolve(p, openapi) for p in openapi["paths"]["/campaigns/{slug}"]["get"]["parameters"]
        )
        if p["in"] == "path"
    ]
    assert [p["name"] for p in slug_parameters] == ["slug"]
    assert slug_parameters[0]["required"] is True


def test_responses_match_their_schemas(client, db, petition, openapi):
    sign(client, db, "clean-water", "a@example.org", "FR", confirm=True)
    make_campaign(slug="closed-one", status=CampaignStatus.CLOSED)
    db.session.commit()

    for lang in ("", "?lang=ru"):
        detail = client.get(f"/api/v1/campaigns/clean-water{lang}").json
        assert violations(detail, response_schema(openapi, "/campaigns/{slug}"), openapi) == []
        listing = client.get(f"/api/v1/campaigns{lang}").json
        assert len(listing["campaigns"]) == 2
        assert violations(listing, response_schema(openapi, "/campaigns"), openapi) == []

    # The checker itself notices a missing key.
    broken = {key: value for key, value in detail.items() if key != "signature_count"}
    assert violations(broken, response_schema(openapi, "/campaigns/{slug}"), openapi)


def test_detail_schema_requires_what_the_contract_promises(openapi):
    schema = resolve(response_schema(openapi, "/campaigns/{slug}"), openapi)
    required = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        required |= set(resolve(part, openapi).get("required", []))
    assert {
        "slug",
        "title",
        "status",
        "goal",
        "signature_count",
        "signatures_by_country",
        "languages",
    } <= required


# --- privacy ----------------------------------------------------------------------------------


def test_no_personal_data_in_api_output(client, db, petition, openapi):
    client.post(
        "/en/c/clean-water",
        data={
            "full_name": "Zenobia Quartermaine",
            "email": "zenobia.private@example.org",
            "country": "FR",
            "city": "Carcassonne",
            "reason": "My grandmother's village",
            "is_public": "y",
        },
    )
    signature = db.session.scalars(select(Signature)).one()
    client.post(f"/en/c/clean-water/confirm/{confirmation_token(signature)}")

    outputs = [
        client.get(path).get_data(as_text=True)
        for path in (
            "/api/v1/campaigns",
            "/api/v1/campaigns?lang=ru",
            "/api/v1/campaigns/clean-water",
            "/api/v1/campaigns/clean-water?lang=ru",
            "/api/v1/openapi.json",
        )
    ]
    assert json.loads(outputs[2])["signature_count"] == 1
    for output in outputs:
        for secret in (
            "Zenobia",
            "Quartermaine",
            "zenobia.private",
            "example.org",
            "Carcassonne",
            "grandmother",
            "@",
        ):
            assert secret not in output


# --- helpers for the open-data endpoints ------------------------------------------------------


def path_of(url: str) -> str:
    """A link from an answer as the test client requests it (without BASE_URL)."""
    assert url.startswith(BASE_URL), url
    return url[len(BASE_URL) :]


def validator(document: dict, name: str):
    """A JSON Schema (2020-12) validator for one of the document's component schemas."""
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    )


def assert_valid(document: dict, name: str, value) -> None:
    errors = [
        f"{e.instance_path}: {e.message}" for e in validator(document, name).iter_errors(value)
    ]
    assert errors == [], errors


def confirmed_on(campaign, day: str, country: str, **fields) -> Signature:
    """A counted signature confirmed at noon (UTC) on `day`."""
    signature = make_signature(campaign, confirmed=True, country=country, **fields)
    signature.confirmed_at = datetime.fromisoformat(f"{day}T12:00:00+00:00")
    return signature


# --- pagination -------------------------------------------------------------------------------


def test_campaign_list_pages_with_links(client, db):
    for n in range(5):
        make_campaign(slug=f"c-{n}", goal=100 + n)
    db.session.commit()

    first = client.get("/api/v1/campaigns?per_page=2&lang=ru")
    assert first.status_code == 200
    data = first.json
    assert (data["total"], data["page"], data["per_page"], data["pages"]) == (5, 1, 2, 3)
    assert len(data["campaigns"]) == 2
    assert data["links"]["prev"] is None
    assert "per_page=2" in data["links"]["next"]
    assert "lang=ru" in data["links"]["next"]

    seen = [item["slug"] for item in data["campaigns"]]
    while data["links"]["next"]:
        data = client.get(path_of(data["links"]["next"])).json
        seen += [item["slug"] for item in data["campaigns"]]
    assert data["page"] == 3
    assert sorted(seen) == [f"c-{n}" for n in range(5)]
    assert client.get(path_of(data["links"]["prev"])).json["page"] == 2

    # Past the end: an empty page that still says where the data is.
    beyond = client.get("/api/v1/campaigns?per_page=2&page=9").json
    assert beyond["campaigns"] == []
    assert beyond["total"] == 5
    assert beyond["links"]["next"] is None
    assert client.get(path_of(beyond["links"]["prev"])).json["page"] == 3


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=", "page"),
        ("page=1.5", "page"),
        ("page=99999999999999999999", "page"),
        ("page=%D9%A3", "page"),  # an Arabic-Indic digit: a digit, but not ours
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=ten", "per_page"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/campaigns", "/api/v1/campaigns/ppp/comments"])
def test_invalid_page_parameters_are_a_json_400(client, db, path, query, parameter):
    make_campaign(slug="ppp")
    db.session.commit()
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.content_type.startswith("application/json")
    assert response.json["error"] == "invalid_parameter"
    assert response.json["parameter"] == parameter
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_largest_page_and_per_page_are_accepted(client, db):
    response = client.get(f"/api/v1/campaigns?page={MAX_PAGE}&per_page={MAX_PER_PAGE}")
    assert response.status_code == 200
    assert response.json["per_page"] == MAX_PER_PAGE


# --- counts by city ---------------------------------------------------------------------------


def test_cities_are_published_only_from_the_minimum_up(client, db, petition):
    assert CITY_MINIMUM == 3
    for city in ("Paris", "paris ", "PARIS", "Lyon", "Lyon"):
        make_signature(petition, confirmed=True, country="FR", city=city)
    for _ in range(4):
        make_signature(petition, confirmed=True, country="US", city="Paris")
    make_signature(petition, confirmed=True, country="FR", city="Carcassonne")
    make_signature(petition, confirmed=False, country="FR", city="Lyon")
    db.session.commit()

    data = client.get("/api/v1/campaigns/clean-water").json
    assert data["city_minimum"] == 3
    assert data["signatures_by_city"] == [
        {"country": "US", "city": "Paris", "signatures": 4},
        {"country": "FR", "city": "Paris", "signatures": 3},
    ]
    assert "Lyon" not in json.dumps(data)
    assert "Carcassonne" not in json.dumps(data)


def test_invalidated_signatures_count_nowhere(client, db, petition):
    for _ in range(3):
        make_signature(petition, confirmed=True, country="FR", city="Paris")
    fraud = make_signature(petition, confirmed=True, country="FR", city="Paris")
    fraud.invalidated_at = utcnow()
    db.session.commit()
    data = client.get("/api/v1/campaigns/clean-water").json
    assert data["signatures_by_country"] == {"FR": 3}
    assert data["signatures_by_city"] == [{"country": "FR", "city": "Paris", "signatures": 3}]
    csv_text = client.get("/api/v1/campaigns/clean-water/counts.csv").text
    assert csv_text.splitlines()[1].endswith(",FR,3")


def test_head_requests_get_the_headers_only(client, petition):
    response = client.head("/api/v1/campaigns/clean-water")
    assert response.status_code == 200
    assert response.get_data() == b""
    assert response.get_etag()[0]


def test_campaign_detail_links_to_its_open_data(client, db, petition):
    links = client.get("/api/v1/campaigns/clean-water").json["links"]
    assert links == {
        "events": f"{BASE_URL}/api/v1/campaigns/clean-water/events",
        "comments": f"{BASE_URL}/api/v1/campaigns/clean-water/comments",
        "counts_csv": f"{BASE_URL}/api/v1/campaigns/clean-water/counts.csv",
    }
    for url in links.values():
        assert client.get(path_of(url)).status_code == 200


# --- events -----------------------------------------------------------------------------------


@pytest.fixture
def rallies(db, petition):
    """Upcoming, past, cancelled and proposed events of the petition, and one of a draft."""
    upcoming = make_event(
        petition,
        title="March to the council",
        starts_in=timedelta(days=2),
        capacity=2,
        host_name="Hortensia Hostperson",
        host_email="hortensia.host@example.org",
        host_email_key="hortensia.host@example.org",
        contact="Call Hortensia on 0612345678",
        address="1 Rue de la Paix",
        latitude=48.8686,
        longitude=2.3318,
    )
    make_rsvp(upcoming, full_name="Rupert Rsvpson", email="rupert.rsvp@example.org")
    make_rsvp(upcoming, full_name="Wilma Waitlister", status=RsvpStatus.WAITLISTED)
    past = make_event(petition, title="Last year's vigil", starts_in=timedelta(days=-30))
    online = make_event(
        petition,
        title="Online call",
        starts_in=timedelta(days=5),
        mode=EventMode.ONLINE,
        online_url="https://meet.example.net/water",
    )
    cancelled = make_event(
        petition,
        title="Cancelled picnic",
        starts_in=timedelta(days=1),
        status=EventStatus.CANCELLED,
        mode=EventMode.BOTH,
        online_url="https://meet.example.net/picnic",
    )
    proposed = make_event(petition, title="Secret proposal", status=EventStatus.PROPOSED)
    draft = make_campaign(slug="a-draft", status=CampaignStatus.DRAFT)
    hidden = make_event(draft, title="Draft rally")
    db.session.commit()
    return {
        "upcoming": upcoming.id,
        "past": past.id,
        "online": online.id,
        "cancelled": cancelled.id,
        "proposed": proposed.id,
        "draft": hidden.id,
    }


def test_campaign_events_lists_published_events_with_flags(client, rallies):
    data = client.get("/api/v1/campaigns/clean-water/events").json
    titles = [event["title"] for event in data["events"]]
    # All of them, in order of their start; never proposals.
    assert titles == [
        "Last year's vigil",
        "Cancelled picnic",
        "March to the council",
        "Online call",
    ]
    assert data["total"] == 4
    by_title = {event["title"]: event for event in data["events"]}

    vigil = by_title["Last year's vigil"]
    assert (vigil["is_past"], vigil["is_upcoming"]) == (True, False)
    picnic = by_title["Cancelled picnic"]
    assert (picnic["status"], picnic["is_past"], picnic["is_upcoming"]) == (
        "cancelled",
        False,
        False,
    )
    assert picnic["online_url"] is None  # the page stops giving the link once cancelled

    march = by_title["March to the council"]
    assert (march["is_past"], march["is_upcoming"]) == (False, True)
    assert march["campaign"] == "clean-water"
    assert march["city"] == "Berlin"
    assert march["country"] == "DE"
    assert march["address"] == "1 Rue de la Paix"
    assert march["latitude"] == pytest.approx(48.8686)
    assert (march["capacity"], march["spots_left"], march["waitlisted"]) == (2, 1, 1)
    assert march["online_url"] is None
    assert march["starts_at"].endswith("Z")
    assert march["url"] == f"{BASE_URL}/en/e/{rallies['upcoming']}"

    call = by_title["Online call"]
    assert call["online_url"] == "https://meet.example.net/water"
    assert call["city"] is None
    assert call["venue"] is None
    assert (call["capacity"], call["spots_left"], call["waitlisted"]) == (None, None, None)


@pytest.mark.parametrize(
    ("when", "titles"),
    [
        ("upcoming", ["Cancelled picnic", "March to the council", "Online call"]),
        ("past", ["Last year's vigil"]),
        ("all", ["Last year's vigil", "Cancelled picnic", "March to the council", "Online call"]),
    ],
)
def test_campaign_events_by_period(client, rallies, when, titles):
    data = client.get(f"/api/v1/campaigns/clean-water/events?when={when}").json
    assert [event["title"] for event in data["events"]] == titles


def test_campaign_events_page_and_keep_the_period(client, rallies):
    data = client.get("/api/v1/campaigns/clean-water/events?when=upcoming&per_page=2").json
    assert [e["title"] for e in data["events"]] == ["Cancelled picnic", "March to the council"]
    assert "when=upcoming" in data["links"]["next"]
    rest = client.get(path_of(data["links"]["next"])).json
    assert [e["title"] for e in rest["events"]] == ["Online call"]
    assert rest["links"]["next"] is None


def test_campaign_events_errors(client, rallies):
    response = client.get("/api/v1/campaigns/clean-water/events?when=tomorrow")
    assert response.status_code == 400
    assert response.json["parameter"] == "when"
    for slug in ("a-draft", "nope"):
        response = client.get(f"/api/v1/campaigns/{slug}/events")
        assert response.status_code == 404
        assert response.json["error"] == "not_found"


def test_event_detail(client, rallies):
    response = client.get(f"/api/v1/events/{rallies['upcoming']}")
    assert response.status_code == 200
    assert response.json["title"] == "March to the council"
    assert response.json["waitlisted"] == 1
    cancelled = client.get(f"/api/v1/events/{rallies['cancelled']}").json
    assert cancelled["status"] == "cancelled"


@pytest.mark.parametrize("which", ["proposed", "draft", "unknown", "huge", "negative"])
def test_event_detail_404s_as_json(client, rallies, which):
    event_id = {"unknown": 999999, "huge": 2**31, "negative": -1}.get(which) or rallies[which]
    response = client.get(f"/api/v1/events/{event_id}")
    assert response.status_code == 404
    assert response.content_type.startswith("application/json")
    assert response.json["error"] == "not_found"
    assert "Secret proposal" not in response.text
    assert "Draft rally" not in response.text


# --- comments ---------------------------------------------------------------------------------


@pytest.fixture
def discussion(db, petition):
    first = make_comment(petition, author_name="Ada", body="Clean water now!", language="en")
    reply = make_comment(
        petition, reply_to=first, author_name="", body="Agreed.", language="unknown"
    )
    hidden = make_comment(petition, author_name="Mallory", body="Hidden insult", status="hidden")
    make_comment(petition, reply_to=hidden, author_name="Bob", body="Reply to hidden")
    make_comment(petition, author_name="Pending Pat", body="Awaiting moderation", status="pending")
    make_comment(petition, author_name="Removed Rex", body="Removed rant", status="removed")
    make_comment(petition, author_name="Unconfirmed Una", body="Not yet", status="unconfirmed")
    db.session.commit()
    return {"first": first.id, "reply": reply.id, "hidden": hidden.id}


def test_campaign_comments_shows_visible_comments_only(client, discussion):
    data = client.get("/api/v1/campaigns/clean-water/comments").json
    assert [c["body"] for c in data["comments"]] == [
        "Clean water now!",
        "Agreed.",
        "Reply to hidden",
    ]
    assert data["total"] == 3
    first, reply, orphan = data["comments"]
    assert first["author"] == "Ada"
    assert first["parent_id"] is None
    assert first["language"] == "en"
    assert first["is_reason"] is False
    assert first["created_at"].endswith("Z")
    assert reply["author"] is None  # shown as "Anonymous" on the page
    assert reply["language"] is None
    assert (reply["parent_id"], reply["reply_to_id"]) == (discussion["first"], discussion["first"])
    # A reply under a hidden comment keeps its thread, but not the hidden one's text or name.
    assert (orphan["parent_id"], orphan["reply_to_id"]) == (discussion["hidden"], None)
    for secret in ("Mallory", "insult", "Pending", "moderation", "Rex", "rant", "Una", "Not yet"):
        assert secret not in json.dumps(data)


def test_campaign_comments_pages(client, discussion):
    data = client.get("/api/v1/campaigns/clean-water/comments?per_page=2").json
    assert [c["body"] for c in data["comments"]] == ["Clean water now!", "Agreed."]
    rest = client.get(path_of(data["links"]["next"])).json
    assert [c["body"] for c in rest["comments"]] == ["Reply to hidden"]


def test_no_comments_when_the_discussion_is_off(client, db, discussion, petition):
    petition.comment_policy = CommentPolicy.OFF
    db.session.commit()
    data = client.get("/api/v1/campaigns/clean-water/comments").json
    assert data["comments"] == []
    assert data["total"] == 0


def test_comments_of_a_draft_are_a_404(client, db):
    draft = make_campaign(slug="a-draft", status=CampaignStatus.DRAFT)
    make_comment(draft, body="Draft talk")
    db.session.commit()
    response = client.get("/api/v1/campaigns/a-draft/comments")
    assert response.status_code == 404
    assert "Draft talk" not in response.text


# --- the counts CSV ---------------------------------------------------------------------------


def test_counts_csv(client, db, petition):
    confirmed_on(petition, "2024-05-01", "FR")
    confirmed_on(petition, "2024-05-01", "FR")
    confirmed_on(petition, "2024-05-01", "DE")
    confirmed_on(petition, "2024-05-03", "FR")
    confirmed_on(petition, "2024-05-03", "AE")
    make_signature(petition, confirmed=False, country="US")
    confirmed_on(petition, "2024-05-03", "US").invalidated_at = utcnow()
    db.session.commit()

    response = client.get("/api/v1/campaigns/clean-water/counts.csv")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.is_streamed
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="clean-water-signatures-')
    assert disposition.endswith('.csv"')
    body = response.get_data()
    assert not body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows == [
        ["date", "country", "signatures"],
        ["2024-05-01", "DE", "1"],
        ["2024-05-01", "FR", "2"],
        ["2024-05-03", "AE", "1"],
        ["2024-05-03", "FR", "1"],
    ]


def test_counts_csv_with_no_signatures_is_a_header(client, petition):
    assert client.get("/api/v1/campaigns/clean-water/counts.csv").text == (
        "date,country,signatures\n"
    )


@pytest.mark.parametrize("slug", ["a-draft", "no-such-campaign"])
def test_counts_csv_of_a_draft_or_unknown_campaign_is_a_json_404(client, db, slug):
    make_campaign(slug="a-draft", status=CampaignStatus.DRAFT)
    db.session.commit()
    response = client.get(f"/api/v1/campaigns/{slug}/counts.csv")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_petition_page_links_to_the_open_data(client, petition):
    html = client.get("/en/c/clean-water").text
    assert 'href="/api/v1/campaigns/clean-water/counts.csv"' in html
    assert 'href="/api/v1/campaigns/clean-water"' in html
    assert "Open data" in html


# --- caching and CORS -------------------------------------------------------------------------

OPEN_DATA_PATHS = [
    "/api/v1/campaigns",
    "/api/v1/campaigns/clean-water",
    "/api/v1/campaigns/clean-water/events",
    "/api/v1/campaigns/clean-water/comments",
    "/api/v1/campaigns/clean-water/counts.csv",
    "/api/v1/openapi.json",
]


@pytest.mark.parametrize("path", OPEN_DATA_PATHS)
def test_answers_are_cacheable_and_open_to_any_site(client, petition, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    cache = response.cache_control
    assert cache.public
    assert cache.max_age == 60
    etag, weak = response.get_etag()
    assert etag
    assert not weak

    again = client.get(path, headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == f'"{etag}"'
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/api/v1/campaigns/clean-water", "/api/v1/campaigns/clean-water/counts.csv"],
)
def test_etag_changes_with_the_counts(client, db, petition, path):
    etag, _ = client.get(path).get_etag()
    make_signature(petition, confirmed=True, country="FR")
    db.session.commit()
    response = client.get(path, headers={"If-None-Match": f'"{etag}"'})
    assert response.status_code == 200
    assert response.get_etag()[0] != etag


def test_cache_seconds_come_from_config(app, client, petition):
    app.config["API_CACHE_SECONDS"] = 5
    assert client.get("/api/v1/campaigns").cache_control.max_age == 5


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/campaigns/nope", 404),
        ("/api/v1/no-such-endpoint", 404),
        ("/api/v1/campaigns/a/b/c", 404),
        ("/api/v1/events/abc", 404),
        ("/api/v1/campaigns?page=0", 400),
    ],
)
def test_errors_are_json_open_to_any_site_and_not_cached(client, db, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.content_type.startswith("application/json")
    assert response.json["error"]
    assert response.json["message"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "public" not in response.headers.get("Cache-Control", "")
    assert "ETag" not in response.headers


def test_other_methods_are_a_json_405(client, petition):
    response = client.post("/api/v1/campaigns/clean-water")
    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_cross_site_preflight_may_send_if_none_match(client, petition):
    response = client.options(
        "/api/v1/campaigns",
        headers={
            "Origin": "https://elsewhere.example.net",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]
    assert "GET" in response.headers["Access-Control-Allow-Methods"]


def test_pages_other_than_the_api_keep_their_html_errors(client, db):
    response = client.get("/en/c/no-such-campaign")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    assert client.post("/healthz").content_type.startswith("text/html")


# --- rate limit -------------------------------------------------------------------------------


class TestRateLimit:
    @pytest.fixture
    def app_config(self, database_url, sendgrid):
        return conftest.test_config(
            database_url, sendgrid, RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute"
        )

    def test_fourth_request_in_a_minute_is_a_json_429(self, client, petition):
        for path in ("/api/v1/campaigns", "/api/v1/campaigns/clean-water", "/api/v1/openapi.json"):
            assert client.get(path).status_code == 200
        response = client.get("/api/v1/campaigns/clean-water/counts.csv")
        assert response.status_code == 429
        assert response.content_type.startswith("application/json")
        assert response.json["error"] == "rate_limited"
        assert 0 < int(response.headers["Retry-After"]) <= 60
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        # The public pages have limits of their own.
        assert client.get("/en/c/clean-water").status_code == 200

    def test_default_limit(self, app):
        assert (
            load_config(Path(app.instance_path), {"CAMPAIGN_ENV": "testing"})["API_RATE_LIMIT"]
            == "120 per minute"
        )


# --- the document describes every endpoint ----------------------------------------------------


def test_openapi_document_validates_against_the_openapi_3_1_schema(openapi):
    schemathesis.openapi.from_dict(openapi).validate()
    broken = copy.deepcopy(openapi)
    broken["paths"]["/campaigns"]["get"]["responses"] = "none"
    with pytest.raises(jsonschema_rs.ValidationError):
        schemathesis.openapi.from_dict(broken).validate()


def test_openapi_document_covers_every_api_route(app, openapi):
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).removeprefix("/api/v1")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert routes == set(openapi["paths"])
    for path, item in openapi["paths"].items():
        parameters = [resolve(p, openapi) for p in item["get"]["parameters"]]
        in_path = {p["name"] for p in parameters if p["in"] == "path"}
        assert in_path == set(re.findall(r"{(\w+)}", path)), path
        for parameter in parameters:
            if parameter["name"] in ("page", "per_page"):
                assert parameter["schema"]["minimum"] == 1
                assert parameter["schema"]["maximum"] in (MAX_PAGE, MAX_PER_PAGE)
        responses = item["get"]["responses"]
        assert {"200", "429"} <= set(responses), path
        if in_path:
            assert "404" in responses, path
        if "page" in {p["name"] for p in parameters}:
            assert "400" in responses, path


def test_every_answer_matches_its_schema(client, db, petition, rallies, discussion, openapi):
    for _ in range(3):
        make_signature(petition, confirmed=True, country="FR", city="Lyon")
    db.session.commit()
    answers = {
        "CampaignList": ["/api/v1/campaigns", "/api/v1/campaigns?page=5&lang=ru"],
        "CampaignDetail": [
            "/api/v1/campaigns/clean-water",
            "/api/v1/campaigns/clean-water?lang=ru",
        ],
        "EventList": [
            "/api/v1/campaigns/clean-water/events",
            "/api/v1/campaigns/clean-water/events?when=past&per_page=1",
        ],
        "Event": [f"/api/v1/events/{rallies[k]}" for k in ("upcoming", "online", "cancelled")],
        "CommentList": ["/api/v1/campaigns/clean-water/comments"],
        "Error": [
            "/api/v1/campaigns/nope",
            "/api/v1/campaigns?per_page=1000",
            "/api/v1/events/0",
            "/api/v1/nothing",
        ],
    }
    for name, paths in answers.items():
        for path in paths:
            assert_valid(openapi, name, client.get(path).json)
    detail = client.get("/api/v1/campaigns/clean-water").json
    assert detail["signatures_by_city"]  # the schema of a city was checked too
    # The validator notices a wrong answer.
    detail["signature_count"] = "many"
    assert list(validator(openapi, "CampaignDetail").iter_errors(detail))


# --- privacy ----------------------------------------------------------------------------------


def test_no_personal_data_in_any_open_data(client, db, petition, rallies, discussion):
    # A signer who did not agree to be shown, with a reason and a city of their own.
    client.post(
        "/en/c/clean-water",
        data={
            "full_name": "Philippa Privateperson",
            "email": "philippa.secret@example.org",
            "country": "FR",
            "city": "Saint-Privat",
            "reason": "My neighbour's well went dry",
        },
    )
    signature = db.session.scalars(
        select(Signature).where(Signature.email == "philippa.secret@example.org")
    ).one()
    client.post(f"/en/c/clean-water/confirm/{confirmation_token(signature)}")
    # Public signers, by name, from a city too small to show.
    for n in range(2):
        make_signature(
            petition,
            confirmed=True,
            full_name=f"Quentin{n} Quietname",
            email=f"quentin{n}.hidden@example.org",
            city="Tinyville",
        )
    db.session.commit()

    paths = [
        *OPEN_DATA_PATHS,
        "/api/v1/campaigns?lang=ru",
        "/api/v1/campaigns/clean-water?lang=ru",
        "/api/v1/campaigns/clean-water/events?when=past",
        *(f"/api/v1/events/{event_id}" for event_id in rallies.values()),
        "/api/v1/campaigns/a-draft",
        "/api/v1/campaigns/a-draft/events",
    ]
    outputs = [client.get(path).get_data(as_text=True) for path in paths]
    assert json.loads(outputs[1])["signature_count"] == 3
    for output in outputs:
        for secret in (
            "Philippa",
            "Privateperson",
            "philippa.secret",
            "Saint-Privat",
            "neighbour",
            "Quentin",
            "Quietname",
            "Tinyville",
            "Hortensia",
            "Hostperson",
            "0612345678",
            "Rupert",
            "Wilma",
            "Secret proposal",
            "Draft rally",
            "Mallory",
            "example.org",
            "@",
        ):
            assert secret not in output
