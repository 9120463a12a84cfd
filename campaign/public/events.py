"""Rallies for supporters: find one near you, RSVP and confirm, change your mind, propose one,
and host it. The rules live in `services.events`, `services.rsvps` and `services.host_messages`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_number, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from campaign.extensions import db, limiter
from campaign.models import Event, EventStatus, Rsvp, RsvpStatus
from campaign.models.types import utcnow
from campaign.public import bp, readers
from campaign.public.forms import (
    EventSearchForm,
    HostMessageForm,
    ManageRsvpForm,
    ProposalConfirmForm,
    ProposeEventForm,
    RsvpConfirmForm,
    RsvpForm,
)
from campaign.public.pages import (
    closed_page,
    event_time,
    guess_country,
    localized_or_404,
    page_context,
    share_links,
)
from campaign.rate_limits import per_mailbox, per_token
from campaign.services import campaigns as campaign_service
from campaign.services import events as event_service
from campaign.services import host_messages, rsvps
from campaign.services.countries import country_name, is_country
from campaign.services.email_addresses import mailbox_digest
from campaign.services.errors import (
    CampaignClosed,
    CampaignNotFound,
    EventClosed,
    InvalidEmail,
    InvalidEvent,
    InvalidToken,
    TokenExpired,
    TooManyMessages,
)
from campaign.services.markdown import render_markdown
from campaign.urls import external_url

# What the service's InvalidEvent(field, reason) means, said beside the field it is about.
INVALID_EVENT = {
    ("title", "required"): _l("Enter a title."),
    ("timezone", "unknown"): _l("Choose a time zone from the list."),
    ("ends_local", "before_start"): _l("The end must be after the start."),
    ("mode", "unknown"): _l("Choose one of the options."),
    ("city", "required"): _l("Enter the city where people meet."),
    ("country", "unknown"): _l("Choose the country from the list."),
    ("online_url", "required"): _l("Enter the link to join online, starting with https://."),
    ("capacity", "positive"): _l("Enter a number of places above zero."),
    ("host_name", "required"): _l("Enter your name."),
}
FORM_FIELD = {"ends_local": "ends", "starts_local": "starts", "latitude": "city"}
# The half-size of the map around the meeting point, in degrees.
MAP_SPAN = 0.004
# The RSVPs a host sees by name: the people coming or waiting to.
HOST_LIST_STATUSES = (RsvpStatus.GOING, RsvpStatus.OFFERED, RsvpStatus.WAITLISTED)


def _check_email() -> str:
    return _("Check your email: open the link we sent you to confirm your RSVP.")


# --- what the pages show about an event -------------------------------------------------------


def _event_or_404(event_id: int) -> Event:
    """A scheduled or cancelled event of a public campaign."""
    event = event_service.public_event(db.session, event_id)
    if event is None:
        abort(404)
    return event


def _localized(event: Event) -> campaign_service.LocalizedCampaign:
    if not event.campaign.is_public:
        abort(404)
    try:
        return campaign_service.localize(event.campaign, g.lang)
    except CampaignNotFound:
        abort(404)


def _spots(event: Event) -> str:
    """Places left, said for people: "" when there is no limit."""
    left = event.spots_left
    if left is None:
        return ""
    if left == 0:
        return _("Full: join the waitlist")
    return ngettext(
        "%(places)s place left", "%(places)s places left", left, places=format_number(left)
    )


def _mode(event: Event) -> str:
    if event.is_in_person and event.is_online:
        return _("In person and online")
    return _("Online") if event.is_online else _("In person")


def summary(event: Event) -> dict:
    """One event as a card in a list: what, when, where, and whether there is room."""
    return {
        "event": event,
        "when": event_time(event),
        "country": country_name(event.country, g.lang) if event.country else "",
        "mode": _mode(event),
        "spots": _spots(event),
        "is_full": event.spots_left == 0,
    }


def _map(event: Event) -> dict | None:
    """An OpenStreetMap view of the meeting point, when the event has one."""
    if event.latitude is None or event.longitude is None or not event.is_in_person:
        return None
    lat, lon = event.latitude, event.longitude
    bbox = ",".join(
        f"{value:.5f}"
        for value in (lon - 2 * MAP_SPAN, lat - MAP_SPAN, lon + 2 * MAP_SPAN, lat + MAP_SPAN)
    )
    return {
        "embed": (
            "https://www.openstreetmap.org/export/embed.html"
            f"?bbox={quote(bbox, safe='')}&layer=mapnik&marker={quote(f'{lat:.5f},{lon:.5f}')}"
        ),
        "link": f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=17/{lat:.5f}/{lon:.5f}",
    }


def _count(event: Event, status: RsvpStatus) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Rsvp)
            .where(Rsvp.event_id == event.id, Rsvp.status == status)
        )
        or 0
    )


def _local_moment(event: Event, moment: datetime) -> dict[str, str]:
    """A moment in the event's own zone, for offers' deadlines: the date and time, and the zone."""
    locale = get_locale() or "en"
    local = moment.astimezone(ZoneInfo(event.timezone))
    return {
        "text": babel_dates.get_datetime_format("long", locale=locale).format(
            babel_dates.format_time(local, "short", tzinfo=local.tzinfo, locale=locale),
            babel_dates.format_date(local, "long", locale=locale),
        ),
        "zone": babel_dates.get_timezone_name(local, "long", locale=locale),
    }


def event_context(event: Event, localized: campaign_service.LocalizedCampaign) -> dict:
    """Everything a page about one event shows besides its own form."""
    url = external_url("public.event", lang=g.lang, event_id=event.id)
    context = page_context(localized)
    context.update(
        summary(event),
        event_url=url,
        canonical_url=url,
        share=share_links(url, event.title),
        calendar=event_service.calendar_links(event, url),
        ics_url=url_for("public.event_ics", event_id=event.id),
        is_cancelled=event.status == EventStatus.CANCELLED,
        accepts=rsvps.accepts_rsvps(event),
        is_over=event.ends_at <= utcnow(),
    )
    return context


# --- the campaign's rallies -------------------------------------------------------------------


@bp.route("/<lang>/c/<slug>/events")
def events(slug: str):
    localized = localized_or_404(slug)
    campaign = localized.campaign
    if "city" in request.args or "country" in request.args:
        form = EventSearchForm(formdata=request.args)
        city = " ".join((form.city.data or "").split())[:120]
        country = form.country.data if is_country(form.country.data or "") else ""
        readers.remember_place(city, country)
    else:
        city, country = readers.place()
    form = EventSearchForm(formdata=None, city=city, country=country)
    form.set_country_choices(g.lang)
    found = event_service.upcoming_events(db.session, campaign, city=city, country=country)
    in_city = any(e.is_in_person and e.city.casefold() == city.casefold() for e in found)
    return render_template(
        "public/events/list.html",
        form=form,
        events=[summary(e) for e in found],
        city=city,
        none_in_city=bool(city) and not in_city,
        canonical_url=external_url("public.events", lang=g.lang, slug=campaign.slug),
        **page_context(localized),
    )


# --- one rally, and RSVPs ---------------------------------------------------------------------


def _render_event(event: Event, localized, form: RsvpForm, status: int = 200):
    return render_template(
        "public/events/event.html",
        form=form,
        description_html=render_markdown(event.description),
        map=_map(event),
        waitlisted=_count(event, RsvpStatus.WAITLISTED) if event.capacity else 0,
        **event_context(event, localized),
    ), status


@bp.route("/<lang>/e/<int:event_id>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RSVP_RATE_LIMIT"], methods=["POST"])
@per_mailbox()
def event(event_id: int):
    event = _event_or_404(event_id)
    localized = _localized(event)
    form = RsvpForm()
    if event.spots_left == 0:
        form.for_full_event()
    if request.method == "GET":
        return _render_event(event, localized, form)
    if not rsvps.accepts_rsvps(event):
        flash(_("This event no longer takes RSVPs."), "error")
        return redirect(url_for("public.event", event_id=event.id))
    if not form.validate_on_submit():
        return _render_event(event, localized, form, 422)
    if form.is_bot:
        # A filled-in spam trap is answered as if all went well; the bot learns nothing.
        flash(_check_email(), "success")
        return redirect(url_for("public.event", event_id=event.id, _anchor="rsvp"))
    known = readers.known_mailboxes()
    try:
        result = rsvps.rsvp(
            db.session,
            event,
            rsvps.RsvpData(
                full_name=form.full_name.data or "",
                email=form.email.data or "",
                phone=form.phone.data or "",
                # The consent in the very words the person read and ticked.
                consent_text=str(form.consent.label.text),
            ),
            language=g.lang,
            known_mailboxes=known,
        )
    except InvalidEmail:
        db.session.rollback()
        form.email.errors.append(_("Enter an email address like name@example.org."))
        return _render_event(event, localized, form, 422)
    except ValueError:
        db.session.rollback()
        form.full_name.errors.append(_("Enter your name."))
        return _render_event(event, localized, form, 422)
    except EventClosed:
        db.session.rollback()
        flash(_("This event no longer takes RSVPs."), "error")
        return redirect(url_for("public.event", event_id=event.id))
    db.session.commit()
    record = result.rsvp
    # Only a browser that proved the address learns where that address stands.
    if result.needs_confirmation or mailbox_digest(record.email_key) not in known:
        flash(_check_email(), "success")
        return redirect(url_for("public.event", event_id=event.id, _anchor="rsvp"))
    return redirect(_manage_url(record))


@bp.route("/<lang>/e/<int:event_id>.ics")
def event_ics(event_id: int):
    event = _event_or_404(event_id)
    _localized(event)
    url = external_url("public.event", lang=g.lang, event_id=event.id)
    return Response(
        event_service.event_ics(event, url),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="event-{event.id}.ics"'},
    )


def _manage_url(record: Rsvp) -> str:
    return url_for(
        "public.manage_rsvp",
        event_id=record.event_id,
        token=rsvps.rsvp_token(record, rsvps.MANAGE_PURPOSE),
    )


def _link_invalid(localized, *, expired: bool, event: Event | None = None):
    return render_template(
        "public/events/link_invalid.html",
        expired=expired,
        event=event,
        **page_context(localized),
    ), (410 if expired else 404)


def _rsvp_for_link(event: Event, token: str, purpose: str) -> Rsvp:
    """The RSVP a link names; raises InvalidToken when it names one of another event."""
    record = rsvps.rsvp_for_token(db.session, token, purpose)
    if record.event_id != event.id:
        raise InvalidToken("the link is for another event")
    return record


@bp.route("/<lang>/e/<int:event_id>/rsvp/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONFIRM_RATE_LIMIT"], methods=["POST"])
@per_token()
def confirm_rsvp(event_id: int, token: str):
    event = _event_or_404(event_id)
    localized = _localized(event)
    try:
        record = _rsvp_for_link(event, token, rsvps.CONFIRM_PURPOSE)
    except TokenExpired:
        return _link_invalid(localized, expired=True, event=event)
    except InvalidToken:
        return _link_invalid(localized, expired=False, event=event)
    if record.status != RsvpStatus.UNCONFIRMED:
        # Following the link proved the mailbox, whenever it is followed.
        readers.remember_mailbox(record.email_key)
        return redirect(_manage_url(record))
    if not rsvps.accepts_rsvps(event):
        flash(_("This event no longer takes RSVPs."), "error")
        return redirect(url_for("public.event", event_id=event.id))
    form = RsvpConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            record = rsvps.confirm(db.session, token)
        except EventClosed:
            db.session.rollback()
            flash(_("This event no longer takes RSVPs."), "error")
            return redirect(url_for("public.event", event_id=event.id))
        db.session.commit()
        readers.remember_mailbox(record.email_key)
        return redirect(_manage_url(record))
    return render_template(
        "public/events/rsvp_confirm.html",
        form=form,
        rsvp=record,
        private=True,
        **event_context(event, localized),
    )


@bp.route("/<lang>/e/<int:event_id>/rsvp/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RSVP_RATE_LIMIT"], methods=["POST"])
@per_token()
def manage_rsvp(event_id: int, token: str):
    event = _event_or_404(event_id)
    localized = _localized(event)
    try:
        record = _rsvp_for_link(event, token, rsvps.MANAGE_PURPOSE)
    except TokenExpired:
        return _link_invalid(localized, expired=True, event=event)
    except InvalidToken:
        return _link_invalid(localized, expired=False, event=event)
    form = ManageRsvpForm()
    context = event_context(event, localized)
    can_accept = record.status == RsvpStatus.OFFERED and context["accepts"]
    can_cancel = record.status != RsvpStatus.CANCELLED and not (
        context["is_cancelled"] or context["is_over"]
    )
    if request.method == "POST" and form.validate_on_submit():
        if form.accept.data and can_accept:
            record = rsvps.accept_offer(db.session, token)
            db.session.commit()
            if record.status == RsvpStatus.GOING:
                flash(_("The place is yours. See you there!"), "success")
            else:
                flash(_("Sorry: this place is no longer kept for you."), "error")
        elif form.cancel.data and can_cancel:
            was_waiting = record.status == RsvpStatus.WAITLISTED
            rsvps.cancel(db.session, token)
            db.session.commit()
            if was_waiting:
                flash(_("You have left the waitlist."), "success")
            else:
                flash(_("Your RSVP is cancelled. Thank you for letting us know."), "success")
        readers.remember_mailbox(record.email_key)
        return redirect(_manage_url(record))
    return render_template(
        "public/events/rsvp.html",
        form=form,
        rsvp=record,
        can_accept=can_accept,
        can_cancel=can_cancel,
        offer_expires=(
            _local_moment(event, record.offer_expires_at) if record.offer_expires_at else None
        ),
        offer_hours=rsvps.OFFER_HOURS,
        private=True,
        **context,
    )


# --- proposing and hosting a rally ------------------------------------------------------------


def _event_data(form: ProposeEventForm) -> event_service.EventData:
    return event_service.EventData(
        title=form.title.data or "",
        description=form.description.data or "",
        language=g.lang,
        starts_local=datetime.combine(form.date.data, form.starts.data),
        ends_local=datetime.combine(form.date.data, form.ends.data),
        timezone=form.timezone.data or "",
        mode=form.mode.data or "",
        venue=form.venue.data or "",
        address=form.address.data or "",
        city=form.city.data or "",
        country=form.country.data or "",
        online_url=form.online_url.data or "",
        capacity=form.capacity.data,
    )


def _has_passed(data: event_service.EventData) -> bool:
    try:
        zone = ZoneInfo(data.timezone)
    except (ValueError, KeyError):
        return False  # the service says what is wrong with the zone
    return data.starts_local.replace(tzinfo=zone) <= datetime.now(UTC)


@bp.route("/<lang>/c/<slug>/events/propose", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RSVP_RATE_LIMIT"], methods=["POST"])
@per_mailbox()
def propose_event(slug: str):
    localized = localized_or_404(slug)
    campaign = localized.campaign
    if not campaign.is_open:
        return closed_page(localized)
    form = ProposeEventForm()
    form.set_choices(g.lang, event_service.timezone_names())

    def again():
        # What the person chose stands; the script must not replace it with a guess.
        form.timezone.render_kw = {}
        return render_template(
            "public/events/propose.html", form=form, **page_context(localized)
        ), 422

    if request.method == "GET":
        city, country = readers.place()
        form.city.data = city
        form.country.data = country or guess_country()
        form.timezone.data = "UTC"
        return render_template("public/events/propose.html", form=form, **page_context(localized))
    if not form.validate_on_submit():
        return again()
    if form.is_bot:
        return redirect(url_for("public.proposal_sent", slug=slug, step="email"))
    data = _event_data(form)
    if _has_passed(data):
        form.date.errors.append(_("Choose a day and time that have not passed yet."))
        return again()
    try:
        event = event_service.propose_event(
            db.session,
            campaign,
            data,
            host_name=form.host_name.data or "",
            host_email=form.host_email.data or "",
            ui_language=g.lang,
            known_mailboxes=readers.known_mailboxes(),
        )
    except InvalidEvent as exc:
        db.session.rollback()
        field = getattr(form, FORM_FIELD.get(exc.field, exc.field), form.title)
        message = INVALID_EVENT.get((exc.field, exc.reason), _l("Check this field."))
        field.errors.append(str(message))
        return again()
    except InvalidEmail:
        db.session.rollback()
        form.host_email.errors.append(_("Enter an email address like name@example.org."))
        return again()
    except CampaignClosed:
        db.session.rollback()
        return closed_page(localized)
    db.session.commit()
    if event.status == EventStatus.SCHEDULED:  # a trusted host, whose address this browser knows
        flash(_("Thank you: your event is published."), "success")
        return redirect(url_for("public.event", event_id=event.id))
    step = "email" if event.status == EventStatus.UNCONFIRMED else "review"
    return redirect(url_for("public.proposal_sent", slug=slug, step=step))


@bp.route("/<lang>/c/<slug>/events/proposed")
def proposal_sent(slug: str):
    localized = localized_or_404(slug)
    return render_template(
        "public/events/proposal_sent.html",
        step="review" if request.args.get("step") == "review" else "email",
        **page_context(localized),
    )


def _plain_context() -> dict:
    """For pages about a link that names nothing: this page in the other languages."""
    return {
        "alternate_urls": {
            lang: external_url(request.endpoint, **{**request.view_args, "lang": lang})
            for lang in current_app.config["LANGUAGES"]
        }
    }


@bp.route("/<lang>/events/proposals/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONFIRM_RATE_LIMIT"], methods=["POST"])
@per_token()
def confirm_proposal(token: str):
    try:
        event = event_service.event_for_proposal_token(db.session, token)
    except TokenExpired:
        return render_template(
            "public/events/proposal_invalid.html", expired=True, **_plain_context()
        ), 410
    except InvalidToken:
        return render_template(
            "public/events/proposal_invalid.html", expired=False, **_plain_context()
        ), 404
    localized = _localized(event)
    form = ProposalConfirmForm()
    if event.status == EventStatus.UNCONFIRMED and request.method == "POST":
        if form.validate_on_submit():
            event = event_service.confirm_proposal(db.session, token)
            db.session.commit()
            readers.remember_mailbox(event.host_email_key)
            return redirect(url_for("public.confirm_proposal", token=token))
    if event.status != EventStatus.UNCONFIRMED:
        readers.remember_mailbox(event.host_email_key)
        return render_template(
            "public/events/proposal_done.html",
            event=event,
            when=event_time(event),
            host_url=url_for(
                "public.event_host", event_id=event.id, token=event_service.host_token(event)
            ),
            private=True,
            **page_context(localized),
        )
    return render_template(
        "public/events/proposal_confirm.html",
        form=form,
        event=event,
        when=event_time(event),
        private=True,
        **page_context(localized),
    )


@bp.route("/<lang>/e/<int:event_id>/host/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RSVP_RATE_LIMIT"], methods=["POST"])
@per_token()
def event_host(event_id: int, token: str):
    try:
        event = event_service.event_for_host_token(db.session, token)
        if event.id != event_id:
            raise InvalidToken("the link is for another event")
    except TokenExpired:
        return render_template(
            "public/events/proposal_invalid.html", expired=True, host=True, **_plain_context()
        ), 410
    except InvalidToken:
        return render_template(
            "public/events/proposal_invalid.html", expired=False, host=True, **_plain_context()
        ), 404
    localized = _localized(event)
    form = HostMessageForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                sent = host_messages.send_host_message(db.session, event, form.body.data or "")
            except TooManyMessages as exc:
                db.session.rollback()
                form.body.errors.append(
                    ngettext(
                        "You can send %(num)s message a day. Please try again tomorrow.",
                        "You can send %(num)s messages a day. Please try again tomorrow.",
                        exc.limit,
                    )
                )
            except EventClosed:
                db.session.rollback()
                flash(_("Messages can be sent once the event is published."), "error")
                return redirect(request.path)
            except ValueError:
                db.session.rollback()
                form.body.errors.append(_("Write your message."))
            else:
                db.session.commit()
                if sent:
                    flash(
                        ngettext(
                            "Your message is on its way to %(people)s person.",
                            "Your message is on its way to %(people)s people.",
                            sent,
                            people=format_number(sent),
                        ),
                        "success",
                    )
                else:
                    flash(_("Nobody has RSVPed yet, so there was no one to send it to."), "info")
                return redirect(request.path)
    people = [r for r in rsvps.attendees(db.session, event) if r.status in HOST_LIST_STATUSES]
    counts = {
        status_: sum(1 for r in people if r.status == status_) for status_ in HOST_LIST_STATUSES
    }
    context = page_context(localized)
    context.update(summary(event))
    return render_template(
        "public/events/host.html",
        form=form,
        people=people,
        counts=counts,
        is_published=event.status == EventStatus.SCHEDULED,
        is_cancelled=event.status == EventStatus.CANCELLED,
        remaining=host_messages.remaining_today(db.session, event),
        event_url=url_for("public.event", event_id=event.id),
        private=True,
        **context,
    ), status
