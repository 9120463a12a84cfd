"""The JSON API and its OpenAPI document, through the test client."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from campaign.models import CampaignStatus, Signature
from campaign.services.signing import confirmation_token
from tests.factories import make_campaign

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
        python_type = _TYPES[expected]
        if not isinstance(value, python_type) or (
            expected in ("integer", "number") and isinstance(value, bool)
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
    assert client.get("/api/v1/campaigns").json == {"campaigns": []}


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
                assert response["description"]
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
        p for p in openapi["paths"]["/campaigns/{slug}"]["get"]["parameters"] if p["in"] == "path"
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
