"""A person's data: find, export and erase."""

from __future__ import annotations

import json

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from campaign.admin import bp
from campaign.admin.access import campaign_screen
from campaign.admin.forms.people import ErasePersonForm, ExportPersonForm, FindPersonForm
from campaign.extensions import db
from campaign.models import Campaign, OutboxStatus
from campaign.services import people as people_service
from campaign.services.authz import Action
from campaign.services.countries import country_names
from campaign.services.errors import InvalidEmail

OUTBOX_STATUS_LABELS = {
    OutboxStatus.PENDING: _l("waiting to be sent"),
    OutboxStatus.SENDING: _l("being sent"),
    OutboxStatus.SENT: _l("sent"),
    OutboxStatus.FAILED: _l("not sent"),
}


@bp.route("/c/<slug>/people")
@campaign_screen(Action.ERASE_PEOPLE)
def people(campaign: Campaign):
    form = FindPersonForm(formdata=request.args if "email" in request.args else None)
    person = None
    if form.email.data is not None and form.validate():
        try:
            person = people_service.find_person(db.session, campaign, form.email.data)
        except InvalidEmail:
            form.email.errors.append(_("That is not a valid email address."))
    status = 422 if form.errors else 200
    return _render(campaign, form, person), status


@bp.route("/c/<slug>/people/export", methods=["POST"])
@campaign_screen(Action.ERASE_PEOPLE)
def person_export(campaign: Campaign):
    form = ExportPersonForm(prefix="export")
    if not form.validate_on_submit():
        return _back_to_search(campaign)
    try:
        export = people_service.export_person(db.session, campaign, current_user, form.email.data)
    except (InvalidEmail, people_service.PersonNotFound):
        db.session.rollback()
        return _not_found(campaign)
    db.session.commit()
    response = Response(
        json.dumps(export.document, ensure_ascii=False, indent=2),
        mimetype="application/json",
    )
    filename = f"{campaign.slug}-person-{export.reference}.json"
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/c/<slug>/people/erase", methods=["POST"])
@campaign_screen(Action.ERASE_PEOPLE)
def person_erase(campaign: Campaign):
    form = ErasePersonForm(prefix="erase")
    if not form.validate_on_submit():
        if form.email.errors:
            return _back_to_search(campaign)
        # Only the confirmation is missing: show the person again with the error on the box.
        try:
            person = people_service.find_person(db.session, campaign, form.email.data)
        except InvalidEmail:
            return _not_found(campaign)
        search = FindPersonForm(formdata=None, data={"email": form.email.data})
        return _render(campaign, search, person, erase_form=form), 422
    try:
        report = people_service.erase_person(db.session, campaign, current_user, form.email.data)
    except (InvalidEmail, people_service.PersonNotFound):
        db.session.rollback()
        return _not_found(campaign)
    db.session.commit()
    flash(
        ngettext(
            "Erased %(num)d signature and emptied the emails sent to this person. "
            "The audit log keeps only an anonymous entry.",
            "Erased %(num)d signatures and emptied the emails sent to this person. "
            "The audit log keeps only an anonymous entry.",
            report.signatures,
        ),
        "success",
    )
    return redirect(url_for("admin.people", slug=campaign.slug))


def _render(
    campaign: Campaign,
    form: FindPersonForm,
    person: people_service.Person | None,
    *,
    erase_form: ErasePersonForm | None = None,
) -> str:
    export_form = ExportPersonForm(prefix="export", formdata=None)
    if erase_form is None:
        erase_form = ErasePersonForm(prefix="erase", formdata=None)
    if person is not None:
        export_form.email.data = erase_form.email.data = form.email.data
    return render_template(
        "admin/people/find.html",
        campaign=campaign,
        form=form,
        person=person,
        export_form=export_form,
        erase_form=erase_form,
        countries=country_names(g.lang),
        outbox_status_labels=OUTBOX_STATUS_LABELS,
    )


def _back_to_search(campaign: Campaign):
    flash(_("Find the person first, then choose what to do."), "error")
    return redirect(url_for("admin.people", slug=campaign.slug))


def _not_found(campaign: Campaign):
    flash(_("No signature in this campaign matches that address. Nothing was changed."), "error")
    return redirect(url_for("admin.people", slug=campaign.slug))
