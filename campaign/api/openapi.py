"""The OpenAPI 3.1 description of /api/v1, kept beside the views it describes.

The limits on `page` and `per_page` are defined here and read by the views, so the document
and the behaviour cannot drift apart.
"""

from __future__ import annotations

from campaign.services.campaign_admin import SLUG_MAX_LENGTH, SLUG_MIN_LENGTH, SLUG_PATTERN
from campaign.services.open_data import CITY_MINIMUM, MAX_ID

MAX_PAGE = 10_000
MAX_PER_PAGE = 100


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


_NULLABLE_STRING = {"type": ["string", "null"]}
_URI = {"type": "string", "format": "uri"}
_TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "description": "UTC, like 2024-05-01T09:00:00Z.",
}

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {
            "type": "string",
            "description": "A code for programs: bad_request, invalid_parameter, not_found, "
            "method_not_allowed, rate_limited, server_error.",
        },
        "message": {"type": "string", "description": "What went wrong, for people (English)."},
        "parameter": {"type": "string", "description": "The query parameter at fault."},
    },
}

_PAGE_INFO = {
    "type": "object",
    "required": ["total", "page", "per_page", "pages", "links"],
    "properties": {
        "total": {"type": "integer", "minimum": 0, "description": "Items in all pages."},
        "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "pages": {"type": "integer", "minimum": 1},
        "links": {
            "type": "object",
            "required": ["self", "next", "prev"],
            "properties": {
                "self": _URI,
                "next": {"type": ["string", "null"], "format": "uri"},
                "prev": {"type": ["string", "null"], "format": "uri"},
            },
        },
    },
}

_CAMPAIGN_SUMMARY = {
    "type": "object",
    "required": [
        "slug",
        "title",
        "language",
        "status",
        "goal",
        "signature_count",
        "paper_signature_count",
        "languages",
        "url",
    ],
    "properties": {
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "language": {"type": "string", "description": "Language of `title`."},
        "status": {"type": "string", "enum": ["open", "closed", "archived"]},
        "goal": {"type": "integer", "minimum": 1},
        "signature_count": {
            "type": "integer",
            "minimum": 0,
            "description": "Confirmed signatures.",
        },
        "paper_signature_count": {
            "type": "integer",
            "minimum": 0,
            "description": "Signatures collected on paper and entered by organizers; "
            "not in `signature_count` nor in the progress to the goal.",
        },
        "languages": {"type": "array", "items": {"type": "string"}},
        "url": _URI,
    },
}

_CITY_COUNT = {
    "type": "object",
    "required": ["country", "city", "signatures"],
    "properties": {
        "country": {"type": "string", "description": "ISO 3166-1 alpha-2 code."},
        "city": {"type": "string", "description": "Its commonest spelling among signers."},
        "signatures": {"type": "integer", "minimum": CITY_MINIMUM},
    },
}

_CAMPAIGN_DETAIL = {
    "allOf": [
        _ref("schemas", "CampaignSummary"),
        {
            "type": "object",
            "required": [
                "target",
                "summary",
                "signatures_by_country",
                "signatures_by_city",
                "city_minimum",
                "links",
            ],
            "properties": {
                "target": {"type": "string"},
                "summary": {"type": "string"},
                "signatures_by_country": {
                    "type": "object",
                    "description": "Confirmed signatures per ISO 3166-1 alpha-2 country code.",
                    "additionalProperties": {"type": "integer", "minimum": 0},
                },
                "signatures_by_city": {
                    "type": "array",
                    "description": "Confirmed signatures per city, most first: only cities "
                    "named by at least `city_minimum` signers, so that nobody can be singled "
                    "out.",
                    "items": _ref("schemas", "CityCount"),
                },
                "city_minimum": {"type": "integer", "const": CITY_MINIMUM},
                "links": {
                    "type": "object",
                    "required": ["events", "comments", "counts_csv"],
                    "properties": {"events": _URI, "comments": _URI, "counts_csv": _URI},
                },
            },
        },
    ]
}

_EVENT = {
    "type": "object",
    "description": "A published event. Its host, contact and the people coming are never shown.",
    "required": [
        "id",
        "campaign",
        "title",
        "description",
        "language",
        "status",
        "starts_at",
        "ends_at",
        "timezone",
        "mode",
        "venue",
        "address",
        "city",
        "country",
        "latitude",
        "longitude",
        "online_url",
        "capacity",
        "spots_left",
        "waitlisted",
        "is_past",
        "is_upcoming",
        "url",
    ],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "campaign": {"type": "string", "description": "The campaign's slug."},
        "title": {"type": "string"},
        "description": {"type": "string", "description": "Markdown."},
        "language": {"type": "string"},
        "status": {"type": "string", "enum": ["scheduled", "cancelled"]},
        "starts_at": _TIMESTAMP,
        "ends_at": _TIMESTAMP,
        "timezone": {"type": "string", "description": "IANA time zone of the place."},
        "mode": {"type": "string", "enum": ["in_person", "online", "both"]},
        "venue": {**_NULLABLE_STRING, "description": "Null for online events."},
        "address": _NULLABLE_STRING,
        "city": _NULLABLE_STRING,
        "country": _NULLABLE_STRING,
        "latitude": {"type": ["number", "null"]},
        "longitude": {"type": ["number", "null"]},
        "online_url": {
            **_NULLABLE_STRING,
            "description": "Null for events in person only, and once cancelled.",
        },
        "capacity": {"type": ["integer", "null"], "minimum": 1, "description": "Null: no limit."},
        "spots_left": {"type": ["integer", "null"], "minimum": 0},
        "waitlisted": {
            "type": ["integer", "null"],
            "minimum": 0,
            "description": "People on the waitlist; null when there is no limit.",
        },
        "is_past": {"type": "boolean", "description": "The event is over."},
        "is_upcoming": {"type": "boolean", "description": "Not over and not cancelled."},
        "url": _URI,
    },
}

_COMMENT = {
    "type": "object",
    "description": "A comment or reply readers can see on the petition page.",
    "required": [
        "id",
        "parent_id",
        "reply_to_id",
        "author",
        "body",
        "language",
        "created_at",
        "support_count",
        "is_reason",
    ],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "parent_id": {
            "type": ["integer", "null"],
            "description": "The comment that starts the thread; null for a comment that does.",
        },
        "reply_to_id": {
            "type": ["integer", "null"],
            "description": "The visible comment a reply answers.",
        },
        "author": {
            **_NULLABLE_STRING,
            "description": "The name the author gave; null for anonymous.",
        },
        "body": {"type": "string", "description": "Plain text."},
        "language": {**_NULLABLE_STRING, "description": "Detected; null when unknown."},
        "created_at": _TIMESTAMP,
        "support_count": {"type": "integer", "minimum": 0},
        "is_reason": {"type": "boolean", "description": "A signer's reason for signing."},
    },
}


def _list_of(key: str, item: str) -> dict:
    return {
        "allOf": [
            _ref("schemas", "PageInfo"),
            {
                "type": "object",
                "required": [key],
                "properties": {key: {"type": "array", "items": _ref("schemas", item)}},
            },
        ]
    }


_PARAMETERS = {
    "Lang": {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "Language of the texts; the campaign's default language when absent or "
        "unknown.",
        "schema": {"type": "string"},
    },
    "Page": {
        "name": "page",
        "in": "query",
        "required": False,
        "description": "Which page, from 1. Past the last one, the list is empty.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    },
    "PerPage": {
        "name": "per_page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
    },
    "Slug": {
        "name": "slug",
        "in": "path",
        "required": True,
        "schema": {
            "type": "string",
            "pattern": SLUG_PATTERN,
            "minLength": SLUG_MIN_LENGTH,
            "maxLength": SLUG_MAX_LENGTH,
        },
    },
    "EventId": {
        "name": "event_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    },
    "When": {
        "name": "when",
        "in": "query",
        "required": False,
        "description": "upcoming: not over yet, soonest first; past: over, latest first; "
        "all: by start.",
        "schema": {"type": "string", "enum": ["all", "upcoming", "past"], "default": "all"},
    },
}

_HEADERS = {
    "ETag": {
        "description": "A strong validator: send it back in If-None-Match to get a 304.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "public, max-age=<seconds>",
        "schema": {"type": "string"},
    },
    "Access-Control-Allow-Origin": {"schema": {"type": "string", "const": "*"}},
}

_RESPONSES = {
    "BadRequest": {
        "description": "A query parameter is not valid.",
        "content": _json(_ref("schemas", "Error")),
    },
    "NotFound": {
        "description": "Nothing public has that name.",
        "content": _json(_ref("schemas", "Error")),
    },
    "TooManyRequests": {
        "description": "Too many requests from this address; see Retry-After.",
        "headers": {"Retry-After": {"schema": {"type": "string"}}},
        "content": _json(_ref("schemas", "Error")),
    },
    "NotModified": {"description": "The If-None-Match ETag is current; no body."},
}


def _ok(description: str, content: dict) -> dict:
    return {
        "description": description,
        "headers": {name: _ref("headers", name) for name in _HEADERS},
        "content": content,
    }


def _get(summary: str, parameters: list[str], ok: dict, *, errors: tuple[str, ...]) -> dict:
    codes = {"BadRequest": "400", "NotFound": "404"}
    responses = {"200": ok, "304": _ref("responses", "NotModified")}
    for name in errors:
        responses[codes[name]] = _ref("responses", name)
    responses["429"] = _ref("responses", "TooManyRequests")
    return {
        "get": {
            "summary": summary,
            "parameters": [_ref("parameters", name) for name in parameters],
            "responses": responses,
        }
    }


DESCRIPTION = f"""Open data about the campaigns on this site, read-only.

Counts are of confirmed signatures. No personal data: signers' names, email addresses and
reasons are never given, and a city appears only once {CITY_MINIMUM} signers named it.

Answers may be cached for a short while (`Cache-Control`) and carry a strong `ETag`; send it
back in `If-None-Match` to get a `304 Not Modified`. Any site may read them
(`Access-Control-Allow-Origin: *`). Requests are limited per address; past the limit the
answer is `429` with `Retry-After`. Errors are JSON: `{{"error": code, "message": text}}`."""


def openapi_document(base_url: str) -> dict:
    """The document served at /api/v1/openapi.json."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "campaign API", "version": "1.1.0", "description": DESCRIPTION},
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": {
            "/campaigns": _get(
                "Public campaigns, open ones first",
                ["Lang", "Page", "PerPage"],
                _ok("Open and closed campaigns.", _json(_ref("schemas", "CampaignList"))),
                errors=("BadRequest",),
            ),
            "/campaigns/{slug}": _get(
                "One campaign with its counts",
                ["Slug", "Lang"],
                _ok("The campaign.", _json(_ref("schemas", "CampaignDetail"))),
                errors=("NotFound",),
            ),
            "/campaigns/{slug}/events": _get(
                "A campaign's published events",
                ["Slug", "When", "Page", "PerPage"],
                _ok("Scheduled and cancelled events.", _json(_ref("schemas", "EventList"))),
                errors=("BadRequest", "NotFound"),
            ),
            "/campaigns/{slug}/comments": _get(
                "The comments readers can see under a campaign, oldest first",
                ["Slug", "Page", "PerPage"],
                _ok(
                    "Visible comments and replies (none when the discussion is off).",
                    _json(_ref("schemas", "CommentList")),
                ),
                errors=("BadRequest", "NotFound"),
            ),
            "/campaigns/{slug}/counts.csv": _get(
                "Confirmed signatures per day and country, as CSV",
                ["Slug"],
                _ok(
                    "UTF-8 CSV with a header row `date,country,signatures`: one row per UTC "
                    "day of confirmation (YYYY-MM-DD) and ISO 3166-1 alpha-2 country that "
                    "has signatures, oldest day first.",
                    {"text/csv": {"schema": {"type": "string"}}},
                ),
                errors=("NotFound",),
            ),
            "/events/{event_id}": _get(
                "One published event",
                ["EventId"],
                _ok("The event.", _json(_ref("schemas", "Event"))),
                errors=("NotFound",),
            ),
            "/openapi.json": _get(
                "This document",
                [],
                _ok("The OpenAPI 3.1 description of this API.", _json({"type": "object"})),
                errors=(),
            ),
        },
        "components": {
            "schemas": {
                "Error": _ERROR,
                "PageInfo": _PAGE_INFO,
                "CampaignSummary": _CAMPAIGN_SUMMARY,
                "CampaignDetail": _CAMPAIGN_DETAIL,
                "CityCount": _CITY_COUNT,
                "CampaignList": _list_of("campaigns", "CampaignSummary"),
                "Event": _EVENT,
                "EventList": _list_of("events", "Event"),
                "Comment": _COMMENT,
                "CommentList": _list_of("comments", "Comment"),
            },
            "parameters": _PARAMETERS,
            "headers": _HEADERS,
            "responses": _RESPONSES,
        },
    }
