"""Updates, the editors' side: write an update per language, choose who gets it, see exactly how
many people that is and how each version reads, send a test, then send or schedule, and watch
the send go out (or pause it).

The rules are `services.broadcasts`'; this module maps their errors to messages beside the right
field and never shows a button the update's status would refuse.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from campaign.admin import bp
from campaign.admin.access import campaign_screen
from campaign.admin.forms.broadcasts import (
    ActionForm,
    BroadcastForm,
    ScheduleForm,
    SendForm,
    TestForm,
    broadcast_form,
)
from campaign.admin.labels import AUDIENCE_LABELS
from campaign.extensions import db
from campaign.i18n import text_direction, ui_language_name
from campaign.mail.worker import kick_updates
from campaign.models import Broadcast, BroadcastStatus, Campaign
from campaign.services import broadcasts
from campaign.services.authz import Action
from campaign.services.countries import country_name, country_names
from campaign.services.errors import (
    BroadcastLocked,
    InvalidBroadcast,
    InvalidTransition,
    NoRecipients,
)

# What an InvalidBroadcast(field, reason) means, in words.
BROADCAST_ERRORS = {
    "required": _l("Fill in this field."),
    "too_long": _l("This is too long."),
    "unknown_language": _l("The campaign has no texts in this language."),
    "unknown": _l("Choose one of the options in the list."),
    "past": _l("Choose a time in the future."),
}
# While a send is under way its page reloads itself this often (seconds) to show progress.
PROGRESS_REFRESH_SECONDS = 5


# --- finding things and words -------------------------------------------------------------------


def _broadcast_or_404(campaign: Campaign, broadcast_id: int) -> Broadcast:
    broadcast = broadcasts.campaign_broadcast(db.session, campaign, broadcast_id)
    if broadcast is None:
        abort(404)
    return broadcast


def _to_broadcast(broadcast: Broadcast):
    return redirect(
        url_for("admin.broadcast", slug=broadcast.campaign.slug, broadcast_id=broadcast.id)
    )


def _languages(campaign: Campaign) -> list[tuple[str, str]]:
    """The campaign's languages, default first, named in the organizer's language."""
    site = current_app.config["LANGUAGES"]
    codes = [code for code in campaign.languages if code in site] or [campaign.default_language]
    codes.sort(key=lambda code: code != campaign.default_language)
    return [(code, ui_language_name(code)) for code in codes]


def _form(campaign: Campaign, broadcast: Broadcast | None = None) -> BroadcastForm:
    events = broadcasts.event_choices(
        db.session, campaign, include_id=broadcast.audience_event_id if broadcast else None
    )
    return broadcast_form(
        _languages(campaign),
        [(str(e.id), f"{e.title} · {e.starts_at:%Y-%m-%d}") for e in events],
        list(country_names(g.lang).items()),
    )


def _show_error(form: BroadcastForm, error: InvalidBroadcast) -> None:
    message = BROADCAST_ERRORS.get(error.reason)
    form.field_for(error.field).errors.append(str(message or _("Check this field.")))


@bp.app_template_global()
def admin_broadcast_audience(broadcast: Broadcast) -> str:
    """Who an update goes to, in words."""
    label = str(AUDIENCE_LABELS[broadcast.audience])
    detail = ""
    if broadcast.audience_event_id:
        detail = broadcasts.audience_event_title(broadcast) or ""
    elif broadcast.audience_country:
        detail = country_name(broadcast.audience_country, g.lang)
    return f"{label}: {detail}" if detail else label


def _organizer_zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_user.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


@bp.app_template_global()
def admin_local_time(moment) -> str:
    """A moment on the organizer's own clock, with the zone named."""
    zone = _organizer_zone()
    return _(
        "%(when)s (%(zone)s)",
        when=format_datetime(moment, "medium", tzinfo=zone, locale=get_locale()),
        zone=zone.key,
    )


# --- the list -----------------------------------------------------------------------------------


@bp.route("/c/<slug>/updates")
@campaign_screen(Action.SEND_BROADCASTS)
def broadcasts_index(campaign: Campaign):
    items = broadcasts.campaign_broadcasts(db.session, campaign)
    return render_template(
        "admin/broadcasts/index.html",
        campaign=campaign,
        items=items,
        progress=broadcasts.progress_by_broadcast(db.session, [b.id for b in items]),
    )


# --- writing ------------------------------------------------------------------------------------


def _preview(campaign: Campaign, form: BroadcastForm) -> list[tuple[str, str, object]]:
    """What the Preview button shows: each language's subject and body as they will read."""
    return [
        (
            name,
            form.subject_field(code).data or "",
            broadcasts.preview_markdown(form.body_field(code).data or ""),
        )
        for code, name in _languages(campaign)
        if (form.subject_field(code).data or form.body_field(code).data)
    ]


def _edit(campaign: Campaign, broadcast: Broadcast | None):
    form = _form(campaign, broadcast)
    if request.method == "GET" and broadcast is not None:
        form.fill_from(broadcasts.broadcast_data(broadcast))
    preview = None
    if form.validate_on_submit():
        if form.preview.data:
            preview = _preview(campaign, form)
        else:
            try:
                if broadcast is None:
                    broadcast = broadcasts.create_broadcast(
                        db.session, current_user, campaign, form.broadcast_data()
                    )
                else:
                    broadcasts.update_broadcast(
                        db.session, current_user, broadcast, form.broadcast_data()
                    )
            except InvalidBroadcast as error:
                db.session.rollback()
                _show_error(form, error)
            except BroadcastLocked:
                db.session.rollback()
                flash(_("This update is being sent or was sent: it can no longer change."), "info")
                return _to_broadcast(broadcast)
            else:
                db.session.commit()
                flash(_("The draft is saved. Check who gets it, then send it."), "success")
                return _to_broadcast(broadcast)
    status = 422 if form.is_submitted() and form.errors else 200
    return render_template(
        "admin/broadcasts/form.html",
        campaign=campaign,
        broadcast=broadcast,
        form=form,
        languages=_languages(campaign),
        preview=preview,
    ), status


@bp.route("/c/<slug>/updates/new", methods=["GET", "POST"])
@campaign_screen(Action.SEND_BROADCASTS)
def broadcast_new(campaign: Campaign):
    return _edit(campaign, None)


@bp.route("/c/<slug>/updates/<int:broadcast_id>/edit", methods=["GET", "POST"])
@campaign_screen(Action.SEND_BROADCASTS)
def broadcast_edit(campaign: Campaign, broadcast_id: int):
    broadcast = _broadcast_or_404(campaign, broadcast_id)
    if broadcast.status not in broadcasts.EDITABLE:
        flash(_("This update is being sent or was sent: it can no longer change."), "info")
        return _to_broadcast(broadcast)
    return _edit(campaign, broadcast)


# --- the update: count, previews, test, send ----------------------------------------------------


def _version_choices(broadcast: Broadcast) -> list[tuple[str, str]]:
    return [(v.language, ui_language_name(v.language)) for v in broadcasts.previews(broadcast)]


def _render_broadcast(campaign: Campaign, broadcast: Broadcast, **forms):
    test_form = forms.get("test_form") or TestForm()
    test_form.language.choices = _version_choices(broadcast)
    sending = broadcast.status == BroadcastStatus.SENDING
    return render_template(
        "admin/broadcasts/show.html",
        campaign=campaign,
        broadcast=broadcast,
        count=broadcasts.recipient_count(db.session, broadcast),
        previews=broadcasts.previews(broadcast),
        progress=broadcasts.progress(db.session, broadcast),
        test_form=test_form,
        send_form=forms.get("send_form") or SendForm(),
        schedule_form=forms.get("schedule_form") or ScheduleForm(),
        action_form=ActionForm(),
        zone=_organizer_zone().key,
        refresh=PROGRESS_REFRESH_SECONDS if sending else None,
        language_name=ui_language_name,
        direction=text_direction,
    ), (422 if any(f.errors for f in forms.values()) else 200)


@bp.route("/c/<slug>/updates/<int:broadcast_id>")
@campaign_screen(Action.SEND_BROADCASTS)
def broadcast(campaign: Campaign, broadcast_id: int):
    return _render_broadcast(campaign, _broadcast_or_404(campaign, broadcast_id))


@bp.route("/c/<slug>/updates/<int:broadcast_id>/test", methods=["POST"])
@campaign_screen(Action.SEND_BROADCASTS)
def broadcast_test(campaign: Campaign, broadcast_id: int):
    broadcast = _broadcast_or_404(campaign, broadcast_id)
    form = TestForm()
    form.language.choices = _version_choices(broadcast)
    if not form.validate_on_submit():
        return _render_broadcast(campaign, broadcast, test_form=form)
    message = broadcasts.send_test(db.session, current_user, broadcast, form.language.data)
    db.session.commit()
    flash(
        _(
            "A test in %(language)s is on its way to %(email)s.",
            language=ui_language_name(message.language),
            email=message.to_email,
        ),
        "success",
    )
    return _to_broadcast(broadcast)


@bp.route("/c/<slug>/updates/<int:broadcast_id>/send", methods=["POST"])
@campaign_screen(Action.SEND_BROADCASTS)
def broadcast_send(campaign: Campaign, broadcast_id: int):
    broadcast = _broadcast_or_404(campaign, broadcast_id)
    form = SendForm()
    if not form.validate_on_submit():
        return _render_broadcast(campaign, broadcast, send_form=form)
    try:
        total = broadcasts.send_now(db.session, current_user, broadcast)
    except InvalidTransition:
        db.session.rollback()
        flash(_("This update is already being sent or was sent."), "info")
    except NoRecipients:
        db.session.rollback()
        flash(_("Nobody would get this update: its audience is empty."), "error")
    else:
        db.session.commit()
        kick_updates(current_app)
        flash(
            ngettext(
                "Sending to %(num)d person. This page shows the progress.",
                "Sending to %(num)d people. This page shows the progress.",
                total,
            ),
            "success",
        )
    return _to_broadcast(broadcast)


@bp.route("/c/<slug>/updates/<int:broadcast_id>/schedule", methods=["POST"])
@campaign_screen(Action.SEND_BROADCASTS)
def broadcast_schedule(campaign: Campaign, broadcast_id: int):
    broadcast = _broadcast_or_404(campaign, broadcast_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        return _render_broadcast(campaign, broadcast, schedule_form=form)
    when = broadcasts.local_to_utc(form.date.data, form.time.data, _organizer_zone().key)
    try:
        broadcasts.schedule(db.session, current_user, broadcast, when)
    except InvalidBroadcast:
        db.session.rollback()
        form.time.errors = [*form.time.errors, str(BROADCAST_ERRORS["past"])]
        return _render_broadcast(campaign, broadcast, schedule_form=form)
    except InvalidTransition:
        db.session.rollback()
        flash(_("This update is already being sent or was sent."), "info")
        return _to_broadcast(broadcast)
    db.session.commit()
    flash(_("Scheduled for %(when)s.", when=admin_local_time(when)), "success")
    return _to_broadcast(broadcast)


def _action(campaign: Campaign, broadcast_id: int, run, done: str, *, sends: bool = False):
    broadcast = _broadcast_or_404(campaign, broadcast_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        run(db.session, current_user, broadcast)
    except InvalidTransition:
        db.session.rollback()
        flash(_("The update's status changed meanwhile. Nothing was done."), "info")
    else:
        db.session.commit()
        if sends:
            kick_updates(current_app)
        flash(done, "success")
    return _to_broadcast(broadcast)


@bp.route("/c/<slug>/updates/<int:broadcast_id>/unschedule", methods=["POST"])
@campaign_screen(Action.SEND_BROADCASTS)
def broadcast_unschedule(campaign: Campaign, broadcast_id: int):
    return _action(
        campaign,
        broadcast_id,
        broadcasts.unschedule,
        _("The schedule is cancelled: the update is a draft again."),
    )


@bp.route("/c/<slug>/updates/<int:broadcast_id>/pause", methods=["POST"])
@campaign_screen(Action.SEND_BROADCASTS)
def broadcast_pause(campaign: Campaign, broadcast_id: int):
    return _action(
        campaign,
        broadcast_id,
        broadcasts.pause,
        _("Paused. Emails not yet on their way are held until you resume."),
    )


@bp.route("/c/<slug>/updates/<int:broadcast_id>/resume", methods=["POST"])
@campaign_screen(Action.SEND_BROADCASTS)
def broadcast_resume(campaign: Campaign, broadcast_id: int):
    return _action(campaign, broadcast_id, broadcasts.resume, _("Sending again where it stopped."))
