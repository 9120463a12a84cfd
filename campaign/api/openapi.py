"""The OpenAPI 3.1 description of /api/v1, kept beside the views it describes."""

from __future__ import annotations

_CAMPAIGN_SUMMARY = {
    "type": "object",
    "required": [
        "slug",
        "title",
        "language",
        "status",
        "goal",
        "signature_count",
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
        "languages": {"type": "array", "items": {"type": "string"}},
        "url": {"type": "string", "format": "uri"},
    },
}

_CAMPAIGN_DETAIL = {
    "allOf": [
        {"$ref": "#/components/schemas/CampaignSummary"},
        {
            "type": "object",
            "required": ["target", "summary", "signatures_by_country"],
            "properties": {
                "target": {"type": "string"},
                "summary": {"type": "string"},
                "signatures_by_country": {
                    "type": "object",
                    "description": "Confirmed signatures per ISO 3166-1 alpha-2 country code.",
                    "additionalProperties": {"type": "integer", "minimum": 0},
                },
            },
        },
    ]
}

_LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": "Language of the texts; the campaign's default language when absent or unknown.",
    "schema": {"type": "string"},
}


def openapi_document(base_url: str) -> dict:
    """The document served at /api/v1/openapi.json."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "campaign API", "version": "1.0.0"},
        "servers": [{"url": f"{base_url}/api/v1"}],
        "paths": {
            "/campaigns": {
                "get": {
                    "summary": "Public campaigns",
                    "parameters": [_LANG],
                    "responses": {
                        "200": {
                            "description": "Open and closed campaigns.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["campaigns"],
                                        "properties": {
                                            "campaigns": {
                                                "type": "array",
                                                "items": {
                                                    "$ref": "#/components/schemas/CampaignSummary"
                                                },
                                            }
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/campaigns/{slug}": {
                "get": {
                    "summary": "One campaign with its counts",
                    "parameters": [
                        {
                            "name": "slug",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _LANG,
                    ],
                    "responses": {
                        "200": {
                            "description": "The campaign.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/CampaignDetail"}
                                }
                            },
                        },
                        "404": {"description": "No public campaign has that slug."},
                    },
                }
            },
        },
        "components": {
            "schemas": {"CampaignSummary": _CAMPAIGN_SUMMARY, "CampaignDetail": _CAMPAIGN_DETAIL}
        },
    }
