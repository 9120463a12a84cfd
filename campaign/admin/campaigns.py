"""Creating, editing, publishing and closing campaigns."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import escape
from wtforms.fields.choices import SelectChoice

from campaign.admin import bp
from campaign.admin.access import campaign_screen
from campaign.admin.forms.campaigns import (
    OUTCOME_NONE,
    DeleteForm,
    NewCampaignForm,
    SettingsForm,
    StatusForm,
    TextsForm,
    outcome_form,
)
from campaign.admin.labels import status_label
from campaign.extensions import db
from campaign.i18n import text_direction, ui_language_name
from campaign.models import Campaign, CampaignStatus, OutcomeKind
from campaign.services import campaign_admin
from campaign.services.authz import Action
from campaign.services.campaigns import progress_percent
from campaign.services.errors import (
    DeletionNotConfirmed,
    InvalidSlug,
    InvalidTransition,
    MissingDefaultText,
    MissingOutcomeText,
    NoTranslation,
    SlugLocked,
    SlugTaken,
)
from campaign.services.markdown import render_markdown
from campaign.urls import external_url

bp.add_app_template_global(ui_language_name, "ui_language_name")


def _language_choices(languages) -> list[SelectChoice]:
    return [SelectChoice(code, ui_language_name(code)) for code in languages]


def _slug_taken_message(slug: str) -> str:
    return _("Another campaign already uses “%(slug)s”. Choose another slug.", slug=slug)


def _default_text(campaign: Campaign):
    return campaign.translation(campaign.default_language) or (
        campaign.translations[0] if campaign.translations else None
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@login_required
def campaign_new():
    form = NewCampaignForm()
    form.default_language.choices = _language_choices(current_app.config["LANGUAGES"])
    if request.method == "GET":
        form.default_language.data = current_user.language
    if form.validate_on_submit():
        data = campaign_admin.NewCampaign(
            slug=form.slug.data,
            goal=form.goal.data,
            default_language=form.default_language.data,
            texts=form.texts(),
        )
        try:
            campaign = campaign_admin.create_campaign(db.session, current_user, data)
        except SlugTaken:
            db.session.rollback()
            form.slug.errors.append(_slug_taken_message(form.slug.data))
        except InvalidSlug:
            db.session.rollback()
            form.slug.errors.append(_("Use only lowercase letters, digits and hyphens."))
        else:
            db.session.commit()
            flash(_("The campaign is created as a draft. Only your team sees it."), "success")
            return redirect(url_for("admin.campaign_overview", slug=campaign.slug))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/campaigns/new.html", form=form), status


@bp.route("/c/<slug>/")
@campaign_screen(Action.VIEW)
def campaign_overview(campaign: Campaign):
    default_text = _default_text(campaign)
    outcome_html = (
        render_markdown(default_text.outcome_markdown)
        if campaign.outcome_kind and default_text
        else None
    )
    embed_url = external_url("public.embed", slug=campaign.slug)
    return render_template(
        "admin/campaigns/overview.html",
        campaign=campaign,
        text=default_text,
        progress=progress_percent(campaign),
        next_status=campaign_admin.next_status(campaign),
        has_default_text=campaign_admin.has_default_text(campaign),
        outcome_html=outcome_html,
        embed_url=embed_url,
        embed_code=_embed_code(embed_url, default_text.title if default_text else campaign.slug),
        Action=Action,
    )


def _embed_code(url: str, title: str) -> str:
    """The iframe organizers paste into their own site (escaped here, once for the snippet's
    attributes; the template escapes it again to show it as text)."""
    return (
        f'<iframe src="{escape(url)}" title="{escape(title)}" width="100%" height="260" '
        'loading="lazy" style="border:0;max-width:32rem"></iframe>'
    )


@bp.route("/c/<slug>/edit", methods=["GET", "POST"])
@campaign_screen(Action.EDIT)
def campaign_edit(campaign: Campaign):
    is_draft = campaign.status == CampaignStatus.DRAFT
    form = SettingsForm(obj=campaign)
    form.default_language.choices = _language_choices(
        [code for code in campaign.languages if code in current_app.config["LANGUAGES"]]
    )
    if not is_draft:
        del form.slug  # the address is out there: shown, not editable
    if form.validate_on_submit():
        try:
            changes = campaign_admin.update_settings(
                db.session,
                current_user,
                campaign,
                slug=form.slug.data if is_draft else None,
                goal=form.goal.data,
                default_language=form.default_language.data,
                blocks_disposable_email=form.blocks_disposable_email.data,
                blocked_email_domains=form.blocked_email_domains.data or "",
            )
        except SlugTaken:
            db.session.rollback()
            form.slug.errors.append(_slug_taken_message(form.slug.data))
        except (SlugLocked, InvalidSlug):
            db.session.rollback()
            abort(409)  # the form offers neither; only a forged request gets here
        except NoTranslation:
            db.session.rollback()
            form.default_language.errors.append(
                _("Write the texts in this language before making it the default.")
            )
        else:
            db.session.commit()
            flash(_("Settings saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for("admin.campaign_edit", slug=campaign.slug))
    languages = [
        {
            "code": code,
            "name": ui_language_name(code),
            "text": campaign.translation(code),
            "is_default": code == campaign.default_language,
            "is_outdated": campaign_admin.is_outdated(campaign, campaign.translation(code)),
        }
        for code in current_app.config["LANGUAGES"]
    ]
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/campaigns/edit.html",
        campaign=campaign,
        form=form,
        is_draft=is_draft,
        languages=languages,
    ), status


@bp.route("/c/<slug>/texts/<language>", methods=["GET", "POST"])
@campaign_screen(Action.EDIT)
def campaign_texts(campaign: Campaign, language: str):
    # Not named `lang`: the public blueprint takes that URL value from every request.
    lang = language
    if lang not in current_app.config["LANGUAGES"]:
        abort(404)
    translation = campaign.translation(lang)
    form = TextsForm(obj=translation)
    for field in form.text_fields():
        # Spell checkers and right-to-left scripts need the language of what is typed.
        field.render_kw = {**(field.render_kw or {}), "lang": lang, "dir": text_direction(lang)}
    preview_html = None
    status = 200
    if form.is_submitted() and form.preview.data:
        # Shows the appeal as readers will see it; nothing is saved, nothing is validated yet.
        preview_html = render_markdown(form.body_markdown.data or "")
    elif form.validate_on_submit():
        campaign_admin.save_texts(db.session, current_user, campaign, lang, form.texts())
        db.session.commit()
        flash(
            _("The %(language)s texts are saved.", language=ui_language_name(lang)),
            "success",
        )
        return redirect(url_for("admin.campaign_texts", slug=campaign.slug, language=lang))
    elif form.is_submitted():
        status = 422
    reference = None
    if lang != campaign.default_language:
        reference = campaign.translation(campaign.default_language)
    return render_template(
        "admin/campaigns/texts.html",
        campaign=campaign,
        form=form,
        lang=lang,
        is_new=translation is None,
        preview_html=preview_html,
        text_dir=text_direction(lang),
        reference=reference,
        reference_dir=text_direction(reference.language) if reference else None,
        is_outdated=campaign_admin.is_outdated(campaign, translation),
    ), status


@bp.route("/c/<slug>/status", methods=["GET", "POST"])
@campaign_screen(Action.CHANGE_STATUS)
def campaign_status(campaign: Campaign):
    next_status = campaign_admin.next_status(campaign)
    form = StatusForm(to=next_status.value if next_status else "")
    if form.validate_on_submit():
        try:
            campaign_admin.change_status(db.session, current_user, campaign, form.to.data)
        except MissingDefaultText:
            db.session.rollback()
            flash(
                _(
                    "Write the texts in %(language)s, the default language, before opening.",
                    language=ui_language_name(campaign.default_language),
                ),
                "error",
            )
            return redirect(url_for("admin.campaign_status", slug=campaign.slug))
        except InvalidTransition as exc:
            db.session.rollback()
            flash(
                _(
                    "That step is not possible from the campaign's status now, “%(status)s”. "
                    "Nothing was changed.",
                    status=status_label(exc.current),
                ),
                "error",
            )
            return redirect(url_for("admin.campaign_status", slug=campaign.slug))
        db.session.commit()
        flash(_messages_after_status()[campaign.status], "success")
        return redirect(url_for("admin.campaign_overview", slug=campaign.slug))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/campaigns/status.html",
        campaign=campaign,
        form=form,
        next_status=next_status,
        has_default_text=campaign_admin.has_default_text(campaign),
    ), status


def _messages_after_status() -> dict[CampaignStatus, str]:
    return {
        CampaignStatus.OPEN: _("The campaign is open: anyone can sign it now."),
        CampaignStatus.CLOSED: _("The campaign is closed: it no longer takes signatures."),
        CampaignStatus.ARCHIVED: _("The campaign is archived."),
    }


@bp.route("/c/<slug>/outcome", methods=["GET", "POST"])
@campaign_screen(Action.EDIT)
def campaign_outcome(campaign: Campaign):
    form = outcome_form(
        campaign.languages,
        campaign.default_language,
        {code: ui_language_name(code) for code in campaign.languages},
    )
    if request.method == "GET":
        form.kind.data = campaign.outcome_kind.value if campaign.outcome_kind else OUTCOME_NONE
        for field in form.text_fields():
            field.data = campaign.translation(field.name.removeprefix("text_")).outcome_markdown
    if form.validate_on_submit():
        kind = None if form.kind.data == OUTCOME_NONE else OutcomeKind(form.kind.data)
        try:
            campaign_admin.set_outcome(db.session, current_user, campaign, kind, form.texts())
        except MissingOutcomeText:
            db.session.rollback()
            form[f"text_{campaign.default_language}"].errors.append(
                _("Write the outcome in the default language.")
            )
        else:
            db.session.commit()
            if kind is None:
                flash(_("The outcome is removed from the petition page."), "success")
            else:
                flash(_("The outcome is on the petition page."), "success")
            return redirect(url_for("admin.campaign_overview", slug=campaign.slug))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/campaigns/outcome.html", campaign=campaign, form=form), status


@bp.route("/c/<slug>/delete", methods=["GET", "POST"])
@campaign_screen(Action.DELETE)
def campaign_delete(campaign: Campaign):
    form = DeleteForm()
    if form.validate_on_submit():
        slug = campaign.slug
        try:
            campaign_admin.delete_campaign(
                db.session, current_user, campaign, form.confirm_slug.data
            )
        except DeletionNotConfirmed:
            db.session.rollback()
            form.confirm_slug.errors.append(
                _("That is not this campaign's slug. Type %(slug)s exactly.", slug=slug)
            )
        else:
            db.session.commit()
            flash(_("The campaign “%(slug)s” is deleted.", slug=slug), "success")
            return redirect(url_for("admin.dashboard"))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/campaigns/delete.html", campaign=campaign, form=form), status
