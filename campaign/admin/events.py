"""Rallies, the organizers' side: events, proposals, attendees, sign-in sheets, where to rally.

The rules are the services' (`services.events`, `services.rsvps`); this module turns their
errors into messages beside the right field, and never shows a button whose action the event
as it is now would refuse. Attendees' names, emails and phones are personal data: every screen
here needs Action.MANAGE_EVENTS (owners and editors), and the export is on record.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from campaign.admin import bp
from campaign.admin.access import campaign_screen
from campaign.admin.forms.events import (
    CancelEventForm,
    CancelRsvpForm,
    EventActionForm,
    EventForm,
)
from campaign.extensions import db
from campaign.i18n import ui_language_name
from campaign.models import Campaign, Event, EventStatus, Rsvp, RsvpStatus
from campaign.models.types import utcnow
from campaign.services import event_admin, rsvps
from campaign.services import events as event_service
from campaign.services.authz import Action
from campaign.services.countries import country_name, is_country
from campaign.services.csv_export import csv_chunks
from campaign.services.errors import InvalidEvent, NotModeratable

# Rows left empty on the sign-in sheet for people who come without an RSVP.
WALK_IN_LINES = 15
MAX_WALK_IN_LINES = 200

# What an InvalidEvent(field, reason) from services.events means, in words.
EVENT_ERRORS = {
    ("title", "required"): _l("Enter a title."),
    ("timezone", "unknown"): _l("Choose a time zone from the list."),
    ("ends_local", "before_start"): _l(
        "The end must be after the start. For an event that ends after midnight, give the day"
        " it ends on."
    ),
    ("ends_local", "past"): _l("This event would be over already: choose a day in the future."),
    ("mode", "unknown"): _l("Choose one of the options in the list."),
    ("city", "required"): _l("Enter the city: an event in person needs one."),
    ("country", "unknown"): _l("Choose the country from the list."),
    ("online_url", "required"): _l(
        "Enter the link where people join online, starting with https://."
    ),
    ("capacity", "positive"): _l(
        "Enter a number of places above zero, or leave it empty for no limit."
    ),
    ("latitude", "invalid"): _l(
        "Enter both a latitude (−90 to 90) and a longitude (−180 to 180), or neither."
    ),
}


# --- words and times ----------------------------------------------------------------------------


@bp.app_template_global()
def admin_event_when(event: Event) -> str:
    """When an event happens, in its own time zone, said in the organizer's language:
    "Saturday, January 18, 2025, 6:00 PM – 8:00 PM (Europe/Berlin)"."""
    zone = ZoneInfo(event.timezone)
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    locale = get_locale()
    if start.date() == end.date():
        return _(
            "%(date)s, %(start)s – %(end)s (%(zone)s)",
            date=format_date(start, "full", locale=locale),
            start=format_time(start, "short", tzinfo=zone, locale=locale),
            end=format_time(end, "short", tzinfo=zone, locale=locale),
            zone=event.timezone,
        )
    return _(
        "%(start)s – %(end)s (%(zone)s)",
        start=format_datetime(start, "medium", tzinfo=zone, locale=locale),
        end=format_datetime(end, "medium", tzinfo=zone, locale=locale),
        zone=event.timezone,
    )


@bp.app_template_global()
def admin_event_place(event: Event) -> str:
    """Where: the city and country, "online", or both."""
    where = ", ".join(p for p in (event.city, country_name(event.country, g.lang)) if p)
    if event.is_in_person and event.is_online:
        return _("%(place)s and online", place=where) if where else _("Online")
    if event.is_online:
        return _("Online")
    return where


def _language_choices(campaign: Campaign, current: str | None = None) -> list[tuple[str, str]]:
    site = current_app.config["LANGUAGES"]
    codes = [code for code in campaign.languages if code in site] or [campaign.default_language]
    if current and current not in codes:
        codes.append(current)
    return [(code, ui_language_name(code)) for code in codes]


# --- finding things -----------------------------------------------------------------------------


def _event_or_404(campaign: Campaign, event_id: int) -> Event:
    event = event_admin.campaign_event(db.session, campaign, event_id)
    if event is None:
        abort(404)
    return event


def _rsvp_or_404(event: Event, rsvp_id: int) -> Rsvp:
    record = event_admin.campaign_rsvp(db.session, event, rsvp_id)
    if record is None:
        abort(404)
    return record


def _to_attendees(event: Event):
    return redirect(url_for("admin.event_attendees", slug=event.campaign.slug, event_id=event.id))


def _to_events(campaign: Campaign):
    return redirect(url_for("admin.events", slug=campaign.slug))


def _show_error(form: EventForm, error: InvalidEvent) -> None:
    message = EVENT_ERRORS.get((error.field, error.reason))
    form.field_for(error.field).errors.append(str(message) if message else _("Check this field."))


# --- the list -----------------------------------------------------------------------------------


@bp.route("/c/<slug>/events")
@campaign_screen(Action.MANAGE_EVENTS)
def events(campaign: Campaign):
    return render_template(
        "admin/events/index.html",
        campaign=campaign,
        lists=event_admin.campaign_events(db.session, campaign),
        trusted=event_admin.trusted_hosts(db.session, campaign),
        action_form=EventActionForm(),
    )


# --- creating and editing -----------------------------------------------------------------------


@bp.route("/c/<slug>/events/new", methods=["GET", "POST"])
@campaign_screen(Action.MANAGE_EVENTS)
def event_new(campaign: Campaign):
    form = EventForm()
    form.set_choices(_language_choices(campaign), g.lang)
    if request.method == "GET":
        # The one-step start from "Where to rally": ?city=Berlin&country=DE.
        city = " ".join(request.args.get("city", "").split())[:120]
        country = request.args.get("country", "").strip().upper()
        form.city.data = city
        form.country.data = country if is_country(country) else ""
        title = request.args.get("title", "").strip()[:200]
        form.title.data = title or (_("Rally in %(city)s", city=city) if city else "")
        form.timezone.data = event_admin.previous_timezone(db.session, current_user)
        languages = dict(_language_choices(campaign))
        form.language.data = (
            current_user.language
            if current_user.language in languages
            else campaign.default_language
        )
    if form.validate_on_submit():
        try:
            event = event_service.create_event(
                db.session, current_user, campaign, form.event_data()
            )
        except InvalidEvent as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            flash(_("The event “%(title)s” is published.", title=event.title), "success")
            return _to_attendees(event)
    return render_template("admin/events/form.html", campaign=campaign, form=form, event=None), (
        422 if form.is_submitted() else 200
    )


@bp.route("/c/<slug>/events/<int:event_id>/edit", methods=["GET", "POST"])
@campaign_screen(Action.MANAGE_EVENTS)
def event_edit(campaign: Campaign, event_id: int):
    event = _event_or_404(campaign, event_id)
    if event.status == EventStatus.CANCELLED:
        flash(_("This event is cancelled and can no longer be changed."), "info")
        return _to_attendees(event)
    form = EventForm()
    form.set_choices(_language_choices(campaign, event.language), g.lang)
    if request.method == "GET":
        form.fill_from(event_service.event_data(event))
    if form.validate_on_submit():
        told = len(rsvps.people_to_tell(db.session, event))
        try:
            changed = event_service.update_event(db.session, current_user, event, form.event_data())
        except InvalidEvent as error:
            db.session.rollback()
            _show_error(form, error)
        except NotModeratable:
            db.session.rollback()
            flash(_("This event is cancelled and can no longer be changed."), "error")
            return _to_attendees(event)
        else:
            db.session.commit()
            if not changed:
                flash(_("Nothing was changed."), "info")
            elif told and any(name in event_service.NOTIFY_FIELDS for name in changed):
                flash(
                    ngettext(
                        "The event is saved. %(num)d person who RSVPed is told of the new"
                        " time or place by email.",
                        "The event is saved. %(num)d people who RSVPed are told of the new"
                        " time or place by email.",
                        told,
                    ),
                    "success",
                )
            else:
                flash(_("The event is saved."), "success")
            return _to_attendees(event)
    return render_template("admin/events/form.html", campaign=campaign, form=form, event=event), (
        422 if form.is_submitted() else 200
    )


# --- cancelling ---------------------------------------------------------------------------------


@bp.route("/c/<slug>/events/<int:event_id>/cancel", methods=["GET", "POST"])
@campaign_screen(Action.MANAGE_EVENTS)
def event_cancel(campaign: Campaign, event_id: int):
    """GET asks for confirmation, saying who will be told; POST cancels."""
    event = _event_or_404(campaign, event_id)
    if event.status == EventStatus.CANCELLED:
        flash(_("This event is already cancelled."), "info")
        return _to_attendees(event)
    form = CancelEventForm()
    if form.validate_on_submit():
        try:
            told = event_service.cancel_event(db.session, current_user, event)
        except NotModeratable:
            db.session.rollback()
            flash(_("This event is already cancelled."), "info")
            return _to_attendees(event)
        db.session.commit()
        flash(
            ngettext(
                "“%(title)s” is cancelled. %(num)d person was told by email.",
                "“%(title)s” is cancelled. %(num)d people were told by email.",
                told,
                title=event.title,
            ),
            "success",
        )
        return _to_events(campaign)
    return render_template(
        "admin/events/cancel.html",
        campaign=campaign,
        event=event,
        told=len(rsvps.people_to_tell(db.session, event)),
        form=form,
    )


# --- proposals from supporters ------------------------------------------------------------------


def _proposal_or_refuse(campaign: Campaign, event_id: int) -> Event | None:
    event = _event_or_404(campaign, event_id)
    if event.status != EventStatus.PROPOSED:
        flash(
            _(
                "“%(title)s” is no longer waiting for approval. Nothing was changed.",
                title=event.title,
            ),
            "info",
        )
        return None
    return event


@bp.route("/c/<slug>/events/<int:event_id>/approve", methods=["POST"])
@campaign_screen(Action.MANAGE_EVENTS)
def event_approve(campaign: Campaign, event_id: int):
    """Publish a proposal; with trust=1, the host's next proposals are published at once."""
    event = _proposal_or_refuse(campaign, event_id)
    if event is None:
        return _to_events(campaign)
    trust = request.form.get("trust") == "1"
    try:
        event_service.approve_proposal(db.session, current_user, event, trust=trust)
    except NotModeratable:
        db.session.rollback()
        flash(_("“%(title)s” is no longer waiting for approval.", title=event.title), "info")
        return _to_events(campaign)
    db.session.commit()
    if trust:
        flash(
            _(
                "“%(title)s” is published. %(name)s is a trusted host now: their next events"
                " are published without waiting for approval.",
                title=event.title,
                name=event.host_name,
            ),
            "success",
        )
    else:
        flash(
            _("“%(title)s” is published. %(name)s is told by email.",
              title=event.title, name=event.host_name),
            "success",
        )  # fmt: skip
    return _to_events(campaign)


@bp.route("/c/<slug>/events/<int:event_id>/decline", methods=["POST"])
@campaign_screen(Action.MANAGE_EVENTS)
def event_decline(campaign: Campaign, event_id: int):
    event = _proposal_or_refuse(campaign, event_id)
    if event is None:
        return _to_events(campaign)
    try:
        event_service.decline_proposal(db.session, current_user, event)
    except NotModeratable:
        db.session.rollback()
        flash(_("“%(title)s” is no longer waiting for approval.", title=event.title), "info")
        return _to_events(campaign)
    db.session.commit()
    flash(_("“%(title)s” is declined. It is not published.", title=event.title), "success")
    return _to_events(campaign)


# --- attendees ----------------------------------------------------------------------------------

COUNTED_STATUSES = [
    RsvpStatus.GOING,
    RsvpStatus.OFFERED,
    RsvpStatus.WAITLISTED,
    RsvpStatus.UNCONFIRMED,
    RsvpStatus.CANCELLED,
]


@bp.route("/c/<slug>/events/<int:event_id>/attendees")
@campaign_screen(Action.MANAGE_EVENTS)
def event_attendees(campaign: Campaign, event_id: int):
    event = _event_or_404(campaign, event_id)
    counts = event_admin.rsvp_counts(db.session, [event.id]).get(event.id, {})
    return render_template(
        "admin/events/attendees.html",
        campaign=campaign,
        event=event,
        counts=[(status, counts.get(status, 0)) for status in COUNTED_STATUSES],
        attendees=event_admin.attendee_list(db.session, event),
        action_form=EventActionForm(),
        is_over=event.ends_at <= utcnow(),
        country_label=lambda code: country_name(code, g.lang) if code else "",
        EventStatus=EventStatus,
        RsvpStatus=RsvpStatus,
    )


@bp.route("/c/<slug>/events/<int:event_id>/attendees/<int:rsvp_id>/cancel", methods=["GET", "POST"])
@campaign_screen(Action.MANAGE_EVENTS)
def rsvp_cancel(campaign: Campaign, event_id: int, rsvp_id: int):
    """GET asks for confirmation; POST cancels the RSVP and offers its place to the waitlist."""
    event = _event_or_404(campaign, event_id)
    record = _rsvp_or_404(event, rsvp_id)
    if record.status == RsvpStatus.CANCELLED:
        flash(_("The RSVP of %(name)s is already cancelled.", name=record.full_name), "info")
        return _to_attendees(event)
    form = CancelRsvpForm()
    if form.validate_on_submit():
        event_admin.cancel_rsvp(db.session, current_user, record)
        db.session.commit()
        flash(_("The RSVP of %(name)s is cancelled.", name=record.full_name), "success")
        return _to_attendees(event)
    return render_template(
        "admin/events/rsvp_cancel.html",
        campaign=campaign,
        event=event,
        record=record,
        held_place=record.status in (RsvpStatus.GOING, RsvpStatus.OFFERED),
        form=form,
    )


@bp.route("/c/<slug>/events/<int:event_id>/attendees.csv")
@campaign_screen(Action.MANAGE_EVENTS)
def event_attendees_csv(campaign: Campaign, event_id: int):
    event = _event_or_404(campaign, event_id)
    event_admin.record_export(db.session, current_user, event)
    db.session.commit()
    filename = f"attendees-{campaign.slug}-{event.id}-{utcnow():%Y-%m-%d}.csv"
    exported_id = event.id

    def generate():
        # Runs after the view has returned, in its request context but a fresh transaction.
        exported = db.session.get(Event, exported_id)
        yield from csv_chunks(event_admin.csv_rows(db.session, exported))

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    # Personal data: never kept by a browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/c/<slug>/events/<int:event_id>/sign-in-sheet")
@campaign_screen(Action.MANAGE_EVENTS)
def event_sign_in_sheet(campaign: Campaign, event_id: int):
    """A page to print and take along: the people going, and empty lines for walk-ins."""
    event = _event_or_404(campaign, event_id)
    blank = request.args.get("blank", WALK_IN_LINES, type=int)
    blank = WALK_IN_LINES if blank is None else max(0, min(blank, MAX_WALK_IN_LINES))
    return render_template(
        "admin/events/sign_in_sheet.html",
        campaign=campaign,
        event=event,
        people=event_admin.going_people(db.session, event),
        blank_lines=blank,
    )


# --- where to rally -----------------------------------------------------------------------------


@bp.route("/c/<slug>/where-to-rally")
@campaign_screen(Action.MANAGE_EVENTS)
def where_to_rally(campaign: Campaign):
    cities = event_service.where_to_rally(db.session, campaign)
    best = next((city for city in cities if city.event is None), None)
    return render_template(
        "admin/events/where_to_rally.html",
        campaign=campaign,
        cities=cities,
        best=best,
        country_label=lambda code: country_name(code, g.lang),
    )


@bp.route("/c/<slug>/trusted-hosts/<int:host_id>/remove", methods=["POST"])
@campaign_screen(Action.MANAGE_EVENTS)
def untrust_host(campaign: Campaign, host_id: int):
    if not EventActionForm().validate_on_submit():
        abort(400)
    if event_service.untrust_host(db.session, current_user, campaign, host_id):
        db.session.commit()
        flash(
            _("The host is no longer trusted: their next proposals wait for approval."), "success"
        )
    else:
        db.session.rollback()
        flash(_("That host was not trusted any more. Nothing was changed."), "info")
    return _to_events(campaign)
