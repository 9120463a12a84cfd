"""Read-only campaign data for other sites and tools: JSON, a CSV of counts, and the OpenAPI
document that describes them. No personal data leaves through here (see services.open_data).

Every answer may be cached publicly for API_CACHE_SECONDS, carries a strong ETag (a request
with a matching If-None-Match gets a bodyless 304) and may be read by pages of any site.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import Response, current_app, jsonify, request

from campaign.api import bp
from campaign.api.errors import ApiError, error_response
from campaign.api.openapi import MAX_PAGE, MAX_PER_PAGE, openapi_document
from campaign.extensions import csrf, db, limiter
from campaign.models import Campaign, Comment, Event, EventStatus
from campaign.models.types import utcnow
from campaign.pagination import Page
from campaign.services import campaigns as campaign_service
from campaign.services import open_data
from campaign.services.campaign_admin import check_slug
from campaign.services.csv_export import iso_utc
from campaign.services.errors import CampaignNotFound, InvalidSlug
from campaign.urls import external_url

DEFAULT_PER_PAGE = 20

csrf.exempt(bp)
# One budget per address for the whole API, not one per endpoint.
limiter.shared_limit(lambda: current_app.config["API_RATE_LIMIT"], scope="api")(bp)


# --- reading the request ----------------------------------------------------------------------


def _language() -> str:
    lang = request.args.get("lang", "")
    return lang if lang in current_app.config["LANGUAGES"] else ""


def _int_arg(name: str, default: int, maximum: int) -> int:
    """A whole number from 1 to `maximum` in the query string, or ApiError 400."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= maximum):
        raise ApiError(
            400,
            "invalid_parameter",
            f"{name} must be a whole number from 1 to {maximum}.",
            parameter=name,
        )
    return int(raw)


def _page_args() -> tuple[int, int]:
    return _int_arg("page", 1, MAX_PAGE), _int_arg("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)


def _campaign_or_404(slug: str) -> Campaign:
    try:
        # A slug that no campaign could have is not looked up (PostgreSQL refuses some
        # characters in text outright).
        return campaign_service.get_public_campaign(db.session, check_slug(slug))
    except (InvalidSlug, CampaignNotFound):
        raise ApiError(404, "not_found", "No such campaign.") from None


# --- shaping answers --------------------------------------------------------------------------


def _page_json(page: Page, endpoint: str, **values) -> dict:
    """What every list carries besides its items: where it stands, and links to its
    neighbours (None at either end), keeping the caller's other parameters."""
    kept = {key: request.args[key] for key in ("lang", "per_page", "when") if key in request.args}

    def link(number: int) -> str:
        return external_url(endpoint, **values, **kept, page=number)

    return {
        "total": page.total,
        "page": page.number,
        "per_page": page.per_page,
        "pages": page.pages,
        "links": {
            "self": link(page.number),
            "next": link(page.number + 1) if page.has_next else None,
            "prev": link(min(page.number - 1, page.pages)) if page.has_previous else None,
        },
    }


def campaign_json(campaign: Campaign, language: str, *, detail: bool) -> dict:
    localized = campaign_service.localize(campaign, language or campaign.default_language)
    data = {
        "slug": campaign.slug,
        "title": localized.text.title,
        "language": localized.text.language,
        "status": campaign.status.value,
        "goal": campaign.goal,
        "signature_count": campaign.signature_count,
        "paper_signature_count": campaign_service.paper_signature_count(campaign),
        "languages": campaign.languages,
        "url": external_url("public.petition", lang=localized.text.language, slug=campaign.slug),
    }
    if detail:
        data.update(
            target=localized.text.target,
            summary=localized.text.summary,
            signatures_by_country=campaign_service.signatures_by_country(db.session, campaign),
            signatures_by_city=[
                {"country": place.country, "city": place.city, "signatures": place.count}
                for place in open_data.signatures_by_city(db.session, campaign)
            ],
            city_minimum=open_data.CITY_MINIMUM,
            links={
                "events": external_url("api.campaign_events", slug=campaign.slug),
                "comments": external_url("api.campaign_comments", slug=campaign.slug),
                "counts_csv": external_url("api.counts_csv", slug=campaign.slug),
            },
        )
    return data


def event_json(event: Event, waitlisted: dict[int, int], now: datetime) -> dict:
    """An event as its public page shows it: never its host, its contact or who comes."""
    cancelled = event.status == EventStatus.CANCELLED
    in_person = event.is_in_person
    is_past = event.ends_at <= now
    language = event.language
    if language not in current_app.config["LANGUAGES"]:
        language = event.campaign.default_language
    return {
        "id": event.id,
        "campaign": event.campaign.slug,
        "title": event.title,
        "description": event.description,
        "language": event.language,
        "status": event.status.value,
        "starts_at": iso_utc(event.starts_at),
        "ends_at": iso_utc(event.ends_at),
        "timezone": event.timezone,
        "mode": event.mode.value,
        "venue": event.venue if in_person else None,
        "address": event.address if in_person else None,
        "city": event.city if in_person else None,
        "country": (event.country or None) if in_person else None,
        "latitude": event.latitude if in_person else None,
        "longitude": event.longitude if in_person else None,
        # The page stops giving the meeting link once the event is cancelled.
        "online_url": event.online_url if event.is_online and not cancelled else None,
        "capacity": event.capacity,
        "spots_left": event.spots_left,
        "waitlisted": waitlisted.get(event.id, 0) if event.capacity else None,
        "is_past": is_past,
        "is_upcoming": not is_past and not cancelled,
        "url": external_url("public.event", lang=language, event_id=event.id),
    }


def comment_json(comment: Comment) -> dict:
    """A visible comment as the petition page shows it: the name its author gave for it."""
    reply_to = comment.reply_to
    answers = reply_to.id if reply_to is not None and reply_to.status == "visible" else None
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        # Which reply it answers, when that one can still be read.
        "reply_to_id": answers,
        "author": comment.author_name or None,
        "body": comment.body,
        "language": None if comment.language == "unknown" else comment.language,
        "created_at": iso_utc(comment.created_at),
        "support_count": comment.support_count,
        "is_reason": comment.is_reason,
    }


# --- routes -----------------------------------------------------------------------------------


@bp.get("/campaigns")
def campaigns():
    language = _language()
    number, per_page = _page_args()
    page = open_data.public_campaigns_page(db.session, language or "en", number, per_page)
    return jsonify(
        campaigns=[campaign_json(item.campaign, language, detail=False) for item in page.items],
        **_page_json(page, "api.campaigns"),
    )


@bp.get("/campaigns/<slug>")
def campaign_detail(slug: str):
    return jsonify(campaign_json(_campaign_or_404(slug), _language(), detail=True))


@bp.get("/campaigns/<slug>/events")
def campaign_events(slug: str):
    campaign = _campaign_or_404(slug)
    try:
        period = open_data.EventPeriod(request.args.get("when", open_data.EventPeriod.ALL))
    except ValueError:
        raise ApiError(
            400,
            "invalid_parameter",
            "when must be one of: all, upcoming, past.",
            parameter="when",
        ) from None
    number, per_page = _page_args()
    now = utcnow()
    page = open_data.public_events_page(db.session, campaign, period, number, per_page, now=now)
    waitlisted = open_data.waitlist_counts(db.session, page.items)
    return jsonify(
        events=[event_json(event, waitlisted, now) for event in page.items],
        **_page_json(page, "api.campaign_events", slug=campaign.slug),
    )


@bp.get("/events/<int:event_id>")
def event_detail(event_id: int):
    event = open_data.public_event(db.session, event_id)
    if event is None:
        raise ApiError(404, "not_found", "No such event.")
    return jsonify(event_json(event, open_data.waitlist_counts(db.session, [event]), utcnow()))


@bp.get("/campaigns/<slug>/comments")
def campaign_comments(slug: str):
    campaign = _campaign_or_404(slug)
    number, per_page = _page_args()
    page = open_data.visible_comments_page(db.session, campaign, number, per_page)
    return jsonify(
        comments=[comment_json(comment) for comment in page.items],
        **_page_json(page, "api.campaign_comments", slug=campaign.slug),
    )


@bp.get("/campaigns/<slug>/counts.csv")
def counts_csv(slug: str):
    campaign = _campaign_or_404(slug)
    counts = open_data.daily_counts_by_country(db.session, campaign)
    # The counts are few (a row per day and country), so the tag is taken from them before
    # the text is streamed.
    tag = hashlib.sha256(repr(counts).encode()).hexdigest()
    response = Response(open_data.counts_csv_chunks(counts), content_type="text/csv; charset=utf-8")
    response.set_etag(tag)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{open_data.counts_filename(campaign)}"'
    )
    return response


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app.config["BASE_URL"]))


# --- what every answer carries ----------------------------------------------------------------


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, **error.details)


@bp.after_request
def _open_data_headers(response: Response) -> Response:
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Expose-Headers"] = (
        "ETag, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
    )
    if request.method == "OPTIONS":
        # A page on another site asking whether it may send If-None-Match.
        headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        headers["Access-Control-Allow-Headers"] = "If-None-Match"
        headers["Access-Control-Max-Age"] = "86400"
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response.cache_control.public = True
        response.cache_control.max_age = current_app.config["API_CACHE_SECONDS"]
        if not response.is_streamed and "ETag" not in headers:
            response.add_etag()
        response.make_conditional(request)
    return response
