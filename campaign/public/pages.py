"""What the public pages share: finding the campaign, the page context, the petition page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from babel import dates as babel_dates
from flask import abort, current_app, g, render_template, request
from flask_babel import format_number, get_locale, ngettext
from flask_babel import gettext as _

from campaign.extensions import db
from campaign.i18n import text_direction
from campaign.models import Event, OutcomeKind
from campaign.public import readers
from campaign.public.forms import CommentForm, FlagForm, SignForm, SupportForm
from campaign.services import broadcasts as broadcast_service
from campaign.services import campaigns as campaign_service
from campaign.services import comments as comment_service
from campaign.services import events as event_service
from campaign.services import share_image
from campaign.services.countries import country_name, is_country
from campaign.services.errors import CampaignNotFound
from campaign.services.markdown import render_markdown
from campaign.services.plain_text import render_plain_text
from campaign.urls import external_url

# Updates listed beside the petition; the rest are one link away.
LATEST_UPDATES = 3


def localized_or_404(slug: str) -> campaign_service.LocalizedCampaign:
    """The public campaign in the reader's language (or its fallback); 404 if there is none."""
    try:
        campaign = campaign_service.get_public_campaign(db.session, slug)
        return campaign_service.localize(campaign, g.lang)
    except CampaignNotFound:
        abort(404)


def share_links(url: str, title: str, message: str | None = None) -> dict[str, str]:
    """Plain links to share `url` (no third-party script): `title` is the email's subject,
    `message` (default: the title) the words that go with the link."""
    message = message or title
    u, t, m = quote(url, safe=""), quote(title, safe=""), quote(message, safe="")
    both = quote(f"{message} {url}", safe="")
    return {
        "email": f"mailto:?subject={t}&body={both}",
        "whatsapp": f"https://wa.me/?text={both}",
        "telegram": f"https://t.me/share/url?url={u}&text={m}",
        "x": f"https://twitter.com/intent/tweet?url={u}&text={m}",
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={u}",
        "vk": f"https://vk.com/share.php?url={u}&title={t}",
    }


def share_card(localized: campaign_service.LocalizedCampaign) -> share_image.ShareCard:
    """The texts of the campaign's share image, in the reader's language and number format."""
    campaign = localized.campaign
    shown = share_image.count_bucket(campaign.signature_count)
    return share_image.ShareCard(
        title=localized.text.title,
        count_text=ngettext(
            "%(count)s signature", "%(count)s signatures", shown, count=format_number(shown)
        ),
        goal_text=_("Goal: %(goal)s", goal=format_number(campaign.goal)),
        site_name=current_app.config["SITE_NAME"],
        progress=min(100, shown * 100 // campaign.goal) if campaign.goal > 0 else 0,
        rtl=text_direction(g.lang) == "rtl",
        language=g.lang,
    )


def share_image_url(localized: campaign_service.LocalizedCampaign) -> str:
    """The absolute URL of the share image, versioned by what it shows: link previews cached
    by a social network then pick up a new count once the page is shared again."""
    return external_url(
        "public.share_png",
        lang=g.lang,
        slug=localized.campaign.slug,
        v=share_card(localized).fingerprint[:8],
    )


def page_context(
    localized: campaign_service.LocalizedCampaign, endpoint: str | None = None
) -> dict:
    """What every page about a campaign needs: texts, progress, links in every language.

    The language links point at `endpoint` (default: this page's), which must answer a GET.
    """
    endpoint = endpoint or request.endpoint
    view_args = (
        request.view_args if endpoint == request.endpoint else {"slug": localized.campaign.slug}
    )
    campaign = localized.campaign
    url = external_url("public.petition", lang=g.lang, slug=campaign.slug)
    return {
        "c": localized,
        "campaign": campaign,
        "text": localized.text,
        "progress": campaign_service.progress_percent(campaign),
        "petition_url": url,
        "share": share_links(
            url,
            localized.text.title,
            _("Sign the petition “%(title)s”", title=localized.text.title),
        ),
        "share_image_url": share_image_url(localized),
        "alternate_urls": {
            lang: external_url(endpoint, **{**view_args, "lang": lang})
            for lang in current_app.config["LANGUAGES"]
        },
    }


def render_petition(
    localized: campaign_service.LocalizedCampaign,
    *,
    sign_form: SignForm | None = None,
    comment_form: CommentForm | None = None,
    status: int = 200,
):
    """The petition page: appeal, sign form, recent signers and the discussion."""
    campaign = localized.campaign
    if sign_form is None:
        sign_form = SignForm(formdata=None)
        sign_form.country.data = guess_country()
        # The time it is shown, signed: how long the signer spent on it is a signal of fraud.
        sign_form.started.data = readers.clock_stamp()
    sign_form.set_country_choices(g.lang)
    return render_template(
        "public/petition.html",
        form=sign_form,
        signers=campaign_service.recent_public_signers(db.session, campaign),
        country_name=country_name,
        body_html=render_markdown(localized.text.body_markdown),
        outcome=_outcome(localized),
        discussion=discussion_context(campaign, comment_form),
        rally=rally_card(campaign),
        updates=broadcast_service.localized_updates(
            db.session, campaign, g.lang, limit=LATEST_UPDATES
        ),
        **page_context(localized, "public.petition"),
    ), status


def discussion_context(campaign, comment_form: CommentForm | None) -> dict | None:
    """The discussion part of the petition page, or None when discussion is off."""
    if not comment_service.shows_comments(campaign):
        return None
    sort = request.args.get("sort", comment_service.SortOrder.NEWEST)
    only_mine = request.args.get("show") == "mine"
    page = comment_service.discussion(
        db.session,
        campaign,
        sort=sort,
        language=g.lang if only_mine else None,
        page=max(1, request.args.get("page", 1, type=int) or 1),
        per_page=current_app.config["COMMENTS_PER_PAGE"],
    )
    reader = readers.reader()
    accepts = comment_service.accepts_comments(campaign)
    return {
        "page": page,
        "sort": page.sort,
        "only_mine": only_mine,
        "count": comment_service.shown_count(db.session, campaign),
        "accepts": accepts,
        "form": (comment_form or readers.comment_form()) if accepts else None,
        "html": {
            c.id: render_plain_text(c.body)
            for t in page.threads
            for c in [t.comment, *t.replies]
            if c.status == "visible"
        },
        "can_reply": {
            c.id: comment_service.can_reply(campaign, c)
            for t in page.threads
            for c in [t.comment, *t.replies]
        },
        "supported": comment_service.supported_by(db.session, page.comment_ids, reader),
        "flagged": comment_service.flagged_by(db.session, page.comment_ids, reader),
        "support_form": SupportForm(formdata=None),
        "flag_form": FlagForm(formdata=None),
    }


def _outcome(localized: campaign_service.LocalizedCampaign) -> dict | None:
    """The victory or outcome to show, in the reader's language or else the default one."""
    campaign = localized.campaign
    if campaign.outcome_kind is None:
        return None
    text = localized.text
    if not text.outcome_markdown.strip():
        text = campaign.translation(campaign.default_language) or text
    return {
        "is_victory": campaign.outcome_kind == OutcomeKind.VICTORY,
        "language": text.language,
        "html": render_markdown(text.outcome_markdown),
        "at": campaign.outcome_at,
    }


def guess_country() -> str:
    """Preselect the country from the browser's preferred language region (en-GB → GB), if any."""
    for value, _quality in request.accept_languages:
        parts = value.replace("_", "-").split("-")
        if len(parts) > 1 and is_country(parts[-1].upper()):
            return parts[-1].upper()
    return ""


def closed_page(localized: campaign_service.LocalizedCampaign):
    return render_template("public/closed.html", **page_context(localized)), 409


# --- rallies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventTime:
    """When an event happens, said in the reader's language but in the event's own time zone."""

    text: str  # "Saturday, June 6, 2026, 6:00 – 8:00 PM"
    zone: str  # "Central European Summer Time"
    zone_id: str  # "Europe/Berlin"
    iso: str  # the start in UTC, for <time datetime> and the reader's-time script
    short_date: str  # "Jun 6, 2026", for cards


def event_time(event: Event) -> EventTime:
    locale = get_locale() or "en"
    start = event_service.local_time(event)
    end = event_service.local_time(event, event.ends_at)
    zone = start.tzinfo
    long_pattern = babel_dates.get_datetime_format("long", locale=locale)
    day = babel_dates.format_date(start, "full", locale=locale)
    if start.date() == end.date():
        # Twelve-hour locales read "6:00 – 8:00 PM", the others "18:00–20:00".
        short_time = str(babel_dates.get_time_format("short", locale=locale).pattern)
        skeleton = "hm" if "h" in short_time else "Hm"
        hours = babel_dates.format_interval(start, end, skeleton, tzinfo=zone, locale=locale)
        text = long_pattern.format(hours, day)
    else:

        def moment(value: datetime) -> str:
            return long_pattern.format(
                babel_dates.format_time(value, "short", tzinfo=zone, locale=locale),
                babel_dates.format_date(value, "full", locale=locale),
            )

        text = _("%(start)s to %(end)s", start=moment(start), end=moment(end))
    return EventTime(
        text=text,
        zone=babel_dates.get_timezone_name(start, "long", locale=locale),
        zone_id=event.timezone,
        iso=event.starts_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        short_date=babel_dates.format_date(start, "medium", locale=locale),
    )


def rally_card(campaign) -> dict | None:
    """The nearest rally to offer beside the petition, or an invitation to propose one.

    Near the city and country the reader gave (signing, or searching for rallies), else the
    country of their browser's language. None when there is nothing to say.
    """
    city, country = readers.place()
    country = country or guess_country()
    event = event_service.nearest_event(db.session, campaign, city=city, country=country)
    if event is None:
        return {"event": None} if campaign.is_open else None
    return {
        "event": event,
        "when": event_time(event),
        "country": country_name(event.country, g.lang) if event.country else "",
    }
