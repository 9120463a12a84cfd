"""A campaign's updates for the public: the list and one update, in the reader's language.

Only updates sent to everyone following the campaign are shown (`services.broadcasts`); the
petition page lists the latest few (`public.pages.render_petition`).
"""

from __future__ import annotations

from flask import abort, g, render_template

from campaign.extensions import db
from campaign.i18n import text_direction
from campaign.public import bp
from campaign.public.pages import localized_or_404, page_context
from campaign.services import broadcasts
from campaign.urls import external_url


@bp.route("/<lang>/c/<slug>/updates")
def updates(slug: str):
    localized = localized_or_404(slug)
    campaign = localized.campaign
    return render_template(
        "public/updates/index.html",
        updates=broadcasts.localized_updates(db.session, campaign, g.lang),
        canonical_url=external_url("public.updates", lang=g.lang, slug=campaign.slug),
        **page_context(localized),
    )


@bp.route("/<lang>/c/<slug>/updates/<int:broadcast_id>")
def update(slug: str, broadcast_id: int):
    localized = localized_or_404(slug)
    campaign = localized.campaign
    broadcast = broadcasts.published_update(db.session, campaign, broadcast_id)
    if broadcast is None:
        abort(404)
    version = broadcasts.version(broadcast, g.lang)
    return render_template(
        "public/updates/show.html",
        update=broadcasts.PublishedUpdate(
            id=broadcast.id, sent_at=broadcast.sent_at, version=version
        ),
        update_dir=text_direction(version.language),
        canonical_url=external_url(
            "public.update", lang=g.lang, slug=campaign.slug, broadcast_id=broadcast.id
        ),
        **page_context(localized),
    )
