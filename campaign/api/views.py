"""Read-only campaign data for other sites and tools. No personal data leaves through here."""

from __future__ import annotations

from flask import abort, current_app, jsonify, request

from campaign.api import bp
from campaign.api.openapi import openapi_document
from campaign.extensions import csrf, db
from campaign.models import Campaign
from campaign.services import campaigns as campaign_service
from campaign.services.errors import CampaignNotFound
from campaign.urls import external_url

csrf.exempt(bp)


def _language() -> str:
    lang = request.args.get("lang", "")
    return lang if lang in current_app.config["LANGUAGES"] else ""


def campaign_json(campaign: Campaign, language: str, *, detail: bool) -> dict:
    localized = campaign_service.localize(campaign, language or campaign.default_language)
    data = {
        "slug": campaign.slug,
        "title": localized.text.title,
        "language": localized.text.language,
        "status": campaign.status.value,
        "goal": campaign.goal,
        "signature_count": campaign.signature_count,
        "languages": campaign.languages,
        "url": external_url("public.petition", lang=localized.text.language, slug=campaign.slug),
    }
    if detail:
        data.update(
            target=localized.text.target,
            summary=localized.text.summary,
            signatures_by_country=campaign_service.signatures_by_country(db.session, campaign),
        )
    return data


@bp.get("/campaigns")
def campaigns():
    language = _language()
    items = campaign_service.list_public_campaigns(db.session, language or "en")
    return jsonify(
        {"campaigns": [campaign_json(item.campaign, language, detail=False) for item in items]}
    )


@bp.get("/campaigns/<slug>")
def campaign_detail(slug: str):
    try:
        campaign = campaign_service.get_public_campaign(db.session, slug)
    except CampaignNotFound:
        abort(404)
    return jsonify(campaign_json(campaign, _language(), detail=True))


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app.config["BASE_URL"]))


@bp.errorhandler(404)
def _not_found(error):
    return jsonify({"error": "not_found", "message": "No such campaign."}), 404
