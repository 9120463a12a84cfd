"""Pages to print for rallies: a poster with a QR code, and a sheet to sign on paper.

Both exist only while the campaign is open (anything else is a 404): a poster asking people to
sign a closed petition would send them to a page that no longer takes signatures.
"""

from __future__ import annotations

from flask import Response, abort, g, render_template
from flask_babel import gettext as _

from campaign.public import bp
from campaign.public.pages import localized_or_404, page_context
from campaign.qr_code import qr_svg
from campaign.services import campaigns as campaign_service
from campaign.urls import external_url

# Ruled lines on a signature sheet: as many as fit an A4 or Letter page in landscape.
SHEET_LINES = 15


def _open_campaign(slug: str) -> campaign_service.LocalizedCampaign:
    localized = localized_or_404(slug)
    if not localized.campaign.is_open:
        abort(404)
    return localized


@bp.route("/<lang>/c/<slug>/poster")
def poster(slug: str):
    """A printable poster: title, target, summary, a big QR code to the petition, its address."""
    localized = _open_campaign(slug)
    context = page_context(localized)
    return render_template(
        "public/print/poster.html",
        qr=qr_svg(
            context["petition_url"],
            label=_("QR code: scan it to open the petition"),
            css_class="qr qr--poster",
        ),
        **context,
    )


@bp.route("/<lang>/c/<slug>/clipboard")
def clipboard(slug: str):
    """A printable signature sheet: what signing means, and ruled lines to sign on."""
    localized = _open_campaign(slug)
    context = page_context(localized)
    return render_template(
        "public/print/clipboard.html",
        qr=qr_svg(
            context["petition_url"],
            label=_("QR code: scan it to sign online"),
            css_class="qr qr--sheet",
        ),
        lines=range(1, SHEET_LINES + 1),
        privacy_url=external_url("public.privacy_page", lang=g.lang),
        **context,
    )


@bp.route("/<lang>/c/<slug>/qr.svg")
def qr_image(slug: str):
    """The QR code to the petition in this language alone, for flyers made elsewhere."""
    localized = _open_campaign(slug)
    url = external_url("public.petition", lang=g.lang, slug=localized.campaign.slug)
    svg = qr_svg(url, label=localized.text.title)
    response = Response(f'<?xml version="1.0" encoding="UTF-8"?>\n{svg}', mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers.set("Content-Disposition", "inline", filename=f"{localized.campaign.slug}.svg")
    return response
