"""Paper signatures: the counts organizers type in after a rally, and the sheets to print."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_number, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from campaign.admin import bp
from campaign.admin.access import campaign_screen, page_number
from campaign.admin.forms.paper import DeletePaperSignaturesForm, PaperSignaturesForm
from campaign.extensions import db
from campaign.i18n import ui_language_name
from campaign.models import Campaign, CampaignStatus, Event
from campaign.models.types import utcnow
from campaign.pagination import Page
from campaign.services import paper_signatures as paper
from campaign.services.authz import Action
from campaign.services.errors import InvalidPaperSignatures, PaperSignaturesNotFound

PER_PAGE = 50


def _event_label(event: Event) -> str:
    day = event.starts_at.astimezone(ZoneInfo(event.timezone))
    return _(
        "%(title)s, %(date)s",
        title=event.title,
        date=format_date(day, "medium"),
    )


def _service_error_message(error: InvalidPaperSignatures) -> tuple[str, str]:
    """(form field, message) for a rule the service refused."""
    if error.reason == "future":
        return "collected_on", _("That date is in the future. Enter the day they were collected.")
    if error.reason == "event":
        return "event_id", _("Choose one of this campaign's events, or no event.")
    if error.reason == "length":
        return "note", _("Use at most %(max)d characters.", max=paper.MAX_NOTE)
    return "count", _("Enter a whole number from 1 to %(max)s.", max=format_number(paper.MAX_COUNT))


def print_links(campaign: Campaign) -> list[dict]:
    """The poster and the signature sheet in each of the campaign's languages (open only)."""
    if campaign.status != CampaignStatus.OPEN:
        return []
    site = current_app.config["LANGUAGES"]
    return [
        {
            "language": code,
            "name": ui_language_name(code),
            "poster": url_for("public.poster", lang=code, slug=campaign.slug),
            "clipboard": url_for("public.clipboard", lang=code, slug=campaign.slug),
        }
        for code in campaign.languages
        if code in site
    ]


@bp.route("/c/<slug>/paper", methods=["GET", "POST"])
@campaign_screen(Action.ENTER_PAPER_SIGNATURES)
def paper_signatures(campaign: Campaign):
    form = PaperSignaturesForm()
    form.set_event_choices(paper.event_choices(db.session, campaign), _event_label)
    if request.method == "GET":
        form.collected_on.data = utcnow().date()
    is_draft = campaign.status == CampaignStatus.DRAFT
    if not is_draft and form.validate_on_submit():
        data = paper.PaperSignatureData(
            count=form.count.data,
            collected_on=form.collected_on.data,
            event_id=form.chosen_event_id,
            note=form.note.data or "",
        )
        try:
            batch = paper.add(db.session, current_user, campaign, data)
        except InvalidPaperSignatures as error:
            db.session.rollback()
            field, message = _service_error_message(error)
            form[field].errors = [*form[field].errors, message]
        else:
            db.session.commit()
            flash(
                ngettext(
                    "%(count)s paper signature added. The total on paper is now %(total)s.",
                    "%(count)s paper signatures added. The total on paper is now %(total)s.",
                    batch.count,
                    count=format_number(batch.count),
                    total=format_number(campaign.paper_signature_count),
                ),
                "success",
            )
            return redirect(url_for("admin.paper_signatures", slug=campaign.slug))
    number = page_number()
    rows, count = paper.batches(db.session, campaign, page=number, per_page=PER_PAGE)
    page = Page(items=rows, number=number, per_page=PER_PAGE, total=count)
    if number > page.pages:
        return redirect(url_for("admin.paper_signatures", slug=campaign.slug, page=page.pages))
    status = 422 if form.is_submitted() and not is_draft else 200
    return render_template(
        "admin/paper/index.html",
        campaign=campaign,
        form=form,
        page=page,
        is_draft=is_draft,
        total=campaign.paper_signature_count,
        print_links=print_links(campaign),
        event_label=_event_label,
    ), status


@bp.route("/c/<slug>/paper/<int:batch_id>/delete", methods=["GET", "POST"])
@campaign_screen(Action.ENTER_PAPER_SIGNATURES)
def paper_signatures_delete(campaign: Campaign, batch_id: int):
    try:
        batch = paper.get(db.session, campaign, batch_id)
    except PaperSignaturesNotFound:
        abort(404)
    form = DeletePaperSignaturesForm()
    if form.validate_on_submit():
        count = batch.count
        try:
            paper.delete(db.session, current_user, campaign, batch_id)
        except PaperSignaturesNotFound:
            db.session.rollback()
            abort(404)
        db.session.commit()
        flash(
            ngettext(
                "The entry of %(count)s paper signature is deleted. The total on paper is now "
                "%(total)s.",
                "The entry of %(count)s paper signatures is deleted. The total on paper is now "
                "%(total)s.",
                count,
                count=format_number(count),
                total=format_number(campaign.paper_signature_count),
            ),
            "success",
        )
        return redirect(url_for("admin.paper_signatures", slug=campaign.slug))
    return render_template(
        "admin/paper/delete.html",
        campaign=campaign,
        batch=batch,
        form=form,
        event_label=_event_label,
    )
