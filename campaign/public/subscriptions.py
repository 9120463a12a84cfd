"""Updates by email: subscribe forms, confirming, the preference page, one-click unsubscribe.

`POST /u/<token>` is the RFC 8058 one-click endpoint named in every bulk email's
`List-Unsubscribe` header: no login, no CSRF token (mail providers post it themselves), and
200 every time, however often it is repeated. A GET of the same URL (a person clicking the
link) shows a page with one button that posts there.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from campaign.extensions import csrf, db, limiter
from campaign.i18n import best_language, language_name
from campaign.models import Campaign, CampaignStatus
from campaign.public import bp
from campaign.public.forms import (
    ConfirmSubscriptionForm,
    PreferencesForm,
    SubscribeForm,
    UnsubscribeForm,
)
from campaign.public.pages import localized_or_404
from campaign.rate_limits import per_mailbox, per_token
from campaign.services import campaigns as campaign_service
from campaign.services import subscribers
from campaign.services.errors import CampaignClosed, InvalidEmail, InvalidToken, TokenExpired
from campaign.urls import external_url

# The forms that may post to `subscribe`, as recorded in Subscription.source.
FORM_SOURCES = ("footer", "campaign", "signed")


def subscribe_box(campaign: Campaign | None, source: str) -> dict | None:
    """What a subscribe form about `campaign` needs: the form and the consent wording it shows.

    Without a campaign (a page about no campaign in particular) the form is for the one open
    campaign when there is exactly one; with several, `{"campaigns_url": ...}` to choose from;
    None when there is nothing to subscribe to.
    """
    if campaign is None:
        open_campaigns = list(
            db.session.scalars(
                select(Campaign).where(Campaign.status == CampaignStatus.OPEN).limit(2)
            )
        )
        if len(open_campaigns) != 1:
            if open_campaigns:
                return {"campaigns_url": url_for("public.home", lang=g.lang)}
            return None
        campaign = open_campaigns[0]
    if not campaign.is_open:
        return None
    form = SubscribeForm(formdata=None, campaign=campaign.slug, source=source)
    return {
        "form": form,
        "campaign": campaign,
        "consent": subscribers.consent_text(campaign, g.lang),
        "form_id": f"subscribe-{source}",
    }


@bp.app_context_processor
def _subscribe_helpers():
    def footer_subscription(campaign=None):
        # Only the public site (in a language) offers it; not the organizer panel or errors.
        if request.blueprint != "public" or not getattr(g, "lang", None):
            return None
        return subscribe_box(campaign, "footer")

    return {"footer_subscription": footer_subscription, "subscribe_box": subscribe_box}


@bp.route("/<lang>/subscribe", methods=["POST"])
@limiter.limit(lambda: current_app.config["SIGN_RATE_LIMIT"])
@per_mailbox()
def subscribe():
    form = SubscribeForm()
    localized = localized_or_404(form.campaign.data or "")
    campaign = localized.campaign
    source = form.source.data if form.source.data in FORM_SOURCES else "campaign"
    consent = subscribers.consent_text(campaign, g.lang)
    if form.validate_on_submit():
        if form.is_bot:
            return redirect(url_for("public.subscribe_sent", c=campaign.slug))
        try:
            subscribers.subscribe(db.session, campaign, form.email.data, g.lang, source, consent)
        except CampaignClosed:
            db.session.rollback()
            abort(409)
        except InvalidEmail:
            db.session.rollback()
            form.email.errors.append(_("Enter an email address like name@example.org."))
        else:
            db.session.commit()
            return redirect(url_for("public.subscribe_sent", c=campaign.slug))
    box = {"form": form, "campaign": campaign, "consent": consent, "form_id": "subscribe"}
    return render_template(
        "public/subscriptions/subscribe.html", box=box, title=localized.text.title
    ), 422


@bp.route("/<lang>/subscribe/sent")
def subscribe_sent():
    localized = localized_or_404(request.args.get("c", ""))
    return render_template(
        "public/subscriptions/sent.html",
        campaign=localized.campaign,
        title=localized.text.title,
        alternate_urls=_alternates("public.subscribe_sent", c=localized.campaign.slug),
    )


@bp.route("/<lang>/subscribe/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONFIRM_RATE_LIMIT"], methods=["POST"])
@per_token()
def confirm_subscription(token: str):
    form = ConfirmSubscriptionForm()
    try:
        subscription = subscribers.subscription_for_token(db.session, token)
    except TokenExpired:
        return render_template("public/subscriptions/invalid.html", expired=True), 410
    except InvalidToken:
        return render_template("public/subscriptions/invalid.html", expired=False), 404
    subscriber = subscription.subscriber
    title = campaign_service.localize(subscription.campaign, g.lang).text.title
    done = subscriber.confirmed_at is not None and subscriber.unsubscribed_at is None
    if not done and request.method == "POST" and form.validate_on_submit():
        subscribers.confirm(db.session, token)
        db.session.commit()
        return redirect(url_for("public.confirm_subscription", token=token))
    return render_template(
        "public/subscriptions/confirm.html",
        form=form,
        done=done,
        title=title,
        campaign=subscription.campaign,
        preferences_url=subscribers.preferences_url(subscriber, g.lang) if done else None,
    )


@bp.route("/<lang>/preferences/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONFIRM_RATE_LIMIT"], methods=["POST"])
@per_token()
def preferences(token: str):
    try:
        key = subscribers.read_preferences_token(token)
    except InvalidToken:
        return render_template("public/subscriptions/invalid.html", expired=False), 404
    form = PreferencesForm()
    form.language.choices = [
        (lang, language_name(lang)) for lang in current_app.config["LANGUAGES"]
    ]
    prefs = subscribers.preferences(db.session, key, g.lang)
    if request.method == "GET" and prefs.subscriber is not None:
        form.language.data = prefs.subscriber.language
    consent = _("Email me updates about the campaigns ticked here.")
    if request.method == "POST" and form.validate_on_submit():
        one = request.form.get("unsubscribe_one", type=int)
        if form.unsubscribe_all.data:
            subscribers.unsubscribe_all(db.session, key)
            message = _("You are unsubscribed from everything. No more updates will come.")
        elif one is not None:
            subscribers.unsubscribe(db.session, key, one)
            message = _("You are unsubscribed from that campaign.")
        else:
            wanted = {int(v) for v in request.form.getlist("campaigns") if v.isdigit()}
            subscribers.update_preferences(
                db.session,
                key,
                language=form.language.data,
                campaign_ids=wanted,
                consent_text=consent,
                consent_language=g.lang,
            )
            message = _("Your choices are saved.")
        db.session.commit()
        flash(message, "success")
        return redirect(url_for("public.preferences", token=token))
    return render_template(
        "public/subscriptions/preferences.html",
        form=form,
        prefs=prefs,
        consent=consent,
        alternate_urls=_alternates("public.preferences", token=token),
    )


# Registers the digests' one-click unsubscribe (subscribers.TOPIC_UNSUBSCRIBERS) in every
# process that answers the links, not only in those that sent a digest.
import campaign.services.digests  # noqa: E402,F401


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt
@limiter.exempt
def unsubscribe(token: str):
    """RFC 8058 one-click unsubscribe; GET shows a button for a person who clicked the link."""
    try:
        link = subscribers.read_unsubscribe_token(token)
    except InvalidToken:
        g.lang = _page_language(None)
        return render_template("public/subscriptions/invalid.html", expired=False), 404
    g.lang = _page_language(link.language)
    campaign = db.session.get(Campaign, link.campaign_id) if link.campaign_id else None
    title = campaign_service.localize(campaign, g.lang).text.title if campaign else None
    if request.method == "POST":
        try:
            subscribers.one_click_unsubscribe(db.session, token)
        except InvalidToken:
            db.session.rollback()
            return render_template("public/subscriptions/invalid.html", expired=False), 404
        db.session.commit()
        done = True
    else:
        done = False
    return render_template(
        "public/subscriptions/unsubscribe.html",
        form=UnsubscribeForm(formdata=None),
        done=done,
        title=title,
        topic=link.topic,
        preferences_url=subscribers.preferences_url(link.key, g.lang),
    )


def _page_language(language: str | None) -> str:
    return language if language in current_app.config["LANGUAGES"] else best_language()


def _alternates(endpoint: str, **values) -> dict[str, str]:
    return {
        lang: external_url(endpoint, lang=lang, **values)
        for lang in current_app.config["LANGUAGES"]
    }
