"""Reach beyond the site: the share image behind Open Graph cards, and the embeddable widget.

Both are read by strangers' machines in bulk (link-preview crawlers, every page view of a blog
that embeds the widget), so both are public, briefly cacheable, and set no cookie.
"""

from __future__ import annotations

from flask import Response, abort, current_app, g, render_template, request
from flask_babel import refresh

from campaign.extensions import db
from campaign.public import bp
from campaign.public.pages import localized_or_404, share_card
from campaign.security import frameable
from campaign.services import campaigns as campaign_service
from campaign.services import share_image
from campaign.services.errors import CampaignNotFound
from campaign.urls import external_url

# How long browsers and shared caches may keep the image and the widget: a count a few minutes
# old is fine, and a share storm then costs one request per cache, not one per reader.
MAX_AGE = 300


def _public(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response


@bp.route("/<lang>/c/<slug>/share.png")
def share_png(slug: str):
    card = share_card(localized_or_404(slug))
    etag = card.fingerprint
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        try:
            png = share_image.render_share_image(card)
        except share_image.ShareImageUnavailable:
            current_app.logger.warning("share image for %s (%s): no Raqm in Pillow", slug, g.lang)
            abort(404)
        response = Response(png, mimetype="image/png")
    response.set_etag(etag)
    return _public(response)


def _widget_language(campaign) -> str:
    """`?lang=` when the site has it; else the reader's browser language among the campaign's
    translations, so that the widget's words and the petition's agree; else its default."""
    requested = request.args.get("lang", "")
    if requested in current_app.config["LANGUAGES"]:
        return requested
    choices = [code for code in campaign.languages if code in current_app.config["LANGUAGES"]]
    return request.accept_languages.best_match(choices) or campaign.default_language


@bp.route("/embed/<slug>")
@frameable
def embed(slug: str):
    """A small card for other sites' iframes: title, count, progress and a Sign link."""
    try:
        campaign = campaign_service.get_public_campaign(db.session, slug)
    except CampaignNotFound:
        abort(404)
    g.lang = _widget_language(campaign)
    refresh()  # the locale may have been chosen before the view knew the widget's language
    localized = campaign_service.localize(campaign, g.lang)
    response = Response(
        render_template(
            "public/embed.html",
            c=localized,
            campaign=campaign,
            text=localized.text,
            progress=campaign_service.progress_percent(campaign),
            petition_url=external_url("public.petition", lang=g.lang, slug=slug),
        )
    )
    if "lang" not in request.args:
        response.vary.add("Accept-Language")
    return _public(response)
