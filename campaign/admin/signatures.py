"""A campaign's signatures: the list, search, and the CSV export."""

from __future__ import annotations

from flask import Response, g, render_template, request, stream_with_context
from flask_login import current_user

from campaign.admin import bp
from campaign.admin.access import campaign_screen, page_number
from campaign.admin.forms.signatures import SignatureSearchForm
from campaign.database import begin_write
from campaign.extensions import db
from campaign.models import Campaign
from campaign.models.types import utcnow
from campaign.services import audit, signature_admin
from campaign.services.authz import Action
from campaign.services.countries import country_name


def _search_form() -> SignatureSearchForm:
    form = SignatureSearchForm(formdata=request.args)
    form.validate()
    return form


@bp.route("/c/<slug>/signatures")
@campaign_screen(Action.VIEW_SIGNATURES)
def signatures(campaign: Campaign):
    form = _search_form()
    flt = form.to_filter()
    page = signature_admin.list_signatures(db.session, campaign, flt, g.lang, page=page_number())
    if not page.items and page.number > page.pages:
        # Past the end (the list shrank, or a hand-typed URL): the last page instead.
        page = signature_admin.list_signatures(db.session, campaign, flt, g.lang, page=page.pages)
    anyone = page.total > 0 or signature_admin.has_signatures(db.session, campaign)
    return render_template(
        "admin/signatures/index.html",
        campaign=campaign,
        form=form,
        filter=flt,
        page=page,
        anyone=anyone,
        country_label=lambda code: country_name(code, g.lang),
    )


@bp.route("/c/<slug>/signatures.csv")
@campaign_screen(Action.VIEW_SIGNATURES)
def signatures_export(campaign: Campaign):
    flt = _search_form().to_filter()
    language, campaign_id = g.lang, campaign.id
    filename = f"signatures-{campaign.slug}-{utcnow():%Y-%m-%d}.csv"
    # Who took the supporters' data, and which of it, is on record before the first byte goes.
    begin_write(db.session)
    audit.record(db.session, current_user, "signatures.export", campaign, filter=flt.as_args())
    db.session.commit()

    def generate():
        # Runs after the view has returned, in its request context but a fresh transaction.
        exported = db.session.get(Campaign, campaign_id)
        yield from signature_admin.csv_chunks(
            signature_admin.csv_rows(db.session, exported, flt, language)
        )

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    # Personal data: never kept by a browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response
