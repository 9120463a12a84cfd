"""Suspicious activity: bursts of signatures, invalidating them, and restoring them.

Owners and editors (Action.REVIEW_SUSPICIOUS, Action.INVALIDATE_SIGNATURES): the count is what
the campaign tells its target, so the people who run it decide. Full names in the samples only
for those who may see the signatures anyway (owners); first names otherwise.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from campaign.admin import bp
from campaign.admin.access import campaign_screen, page_number
from campaign.admin.forms.suspicious import InvalidateForm, RestoreForm
from campaign.extensions import db
from campaign.models import Campaign
from campaign.services import suspicious
from campaign.services.authz import Action
from campaign.services.errors import InvalidationNotFound, NothingToInvalidate

# Bursts chosen at once: more than this is a hand-made request.
MAX_SELECTED = 100


@bp.route("/c/<slug>/suspicious")
@campaign_screen(Action.REVIEW_SUSPICIOUS)
def suspicious_activity(campaign: Campaign):
    rules = suspicious.BurstRules.from_config(current_app.config)
    bursts = suspicious.find_bursts(db.session, campaign, rules)
    return render_template(
        "admin/suspicious/index.html",
        campaign=campaign,
        page=suspicious.burst_page(bursts, page_number()),
        rules=rules,
        minutes=int(rules.window.total_seconds() // 60),
        days=rules.lookback.days,
        can_invalidate=Action.INVALIDATE_SIGNATURES in g.allowed,
        full_names=Action.VIEW_SIGNATURES in g.allowed,
    )


def _chosen() -> list[suspicious.BurstRef]:
    source = request.form if request.method == "POST" else request.args
    refs = [suspicious.BurstRef.decode(v) for v in source.getlist("burst")[:MAX_SELECTED]]
    return list(dict.fromkeys(ref for ref in refs if ref is not None))


@bp.route("/c/<slug>/suspicious/invalidate", methods=["GET", "POST"])
@campaign_screen(Action.INVALIDATE_SIGNATURES)
def suspicious_invalidate(campaign: Campaign):
    refs = _chosen()
    back = url_for("admin.suspicious_activity", slug=campaign.slug)
    if not refs:
        flash(_("Choose at least one burst of signatures first."), "error")
        return redirect(back)
    preview = suspicious.preview_invalidation(db.session, campaign, refs)
    if not preview.total:
        flash(_("These signatures were invalidated already."), "error")
        return redirect(back)
    form = InvalidateForm()
    if form.validate_on_submit():
        if form.expected.data != str(preview.total):
            # Signatures arrived (or went) since the page was shown: show the new numbers.
            flash(_("The numbers changed since you looked. Check them again."), "error")
        else:
            try:
                batch = suspicious.invalidate(
                    db.session, campaign, current_user, refs, form.reason.data or ""
                )
            except NothingToInvalidate:
                db.session.rollback()
                flash(_("These signatures were invalidated already."), "error")
                return redirect(back)
            db.session.commit()
            flash(
                ngettext(
                    "%(num)s signature invalidated. You can restore it below.",
                    "%(num)s signatures invalidated. You can restore them below.",
                    batch.signatures,
                ),
                "success",
            )
            return redirect(url_for("admin.suspicious_invalidated", slug=campaign.slug))
    form.expected.data = str(preview.total)
    return render_template(
        "admin/suspicious/invalidate.html",
        campaign=campaign,
        form=form,
        refs=refs,
        preview=preview,
    ), (422 if form.errors else 200)


@bp.route("/c/<slug>/suspicious/invalidated")
@campaign_screen(Action.REVIEW_SUSPICIOUS)
def suspicious_invalidated(campaign: Campaign):
    return render_template(
        "admin/suspicious/invalidated.html",
        campaign=campaign,
        page=suspicious.invalidations(db.session, campaign, page=page_number()),
        can_restore=Action.INVALIDATE_SIGNATURES in g.allowed,
        form=RestoreForm(formdata=None),
    )


@bp.route("/c/<slug>/suspicious/invalidated/<int:batch_id>/restore", methods=["POST"])
@campaign_screen(Action.INVALIDATE_SIGNATURES)
def suspicious_restore(campaign: Campaign, batch_id: int):
    if not RestoreForm().validate_on_submit():
        abort(400)
    try:
        batch = suspicious.restore(db.session, campaign, current_user, batch_id)
    except InvalidationNotFound:
        db.session.rollback()
        abort(404)
    db.session.commit()
    flash(
        ngettext("%(num)s signature restored.", "%(num)s signatures restored.", batch.signatures),
        "success",
    )
    return redirect(url_for("admin.suspicious_invalidated", slug=campaign.slug))
