"""Views of the public site: parse the form, call a service, render or redirect."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from campaign.errors import DATABASE_RETRY_AFTER
from campaign.extensions import db, limiter
from campaign.i18n import LANGUAGE_COOKIE, best_language, negotiated_redirect
from campaign.public import bp, page_cache, readers
from campaign.public.forms import ConfirmForm, SignForm
from campaign.public.pages import (
    closed_page,
    guess_country,
    localized_or_404,
    page_context,
    rally_card,
    render_petition,
)
from campaign.rate_limits import per_mailbox, per_token
from campaign.services import campaigns as campaign_service
from campaign.services import signals, signing
from campaign.services.errors import (
    CampaignClosed,
    EmailDomainBlocked,
    InvalidEmail,
    InvalidToken,
    TokenExpired,
)
from campaign.urls import external_url


@bp.app_url_value_preprocessor
def _pull_lang(endpoint, values):
    # Reset on every request: a test client may reuse one app context, and so one `g`.
    g.pop("lang", None)
    if values and "lang" in values and (endpoint or "").startswith("public."):
        lang = values.pop("lang")
        if lang not in current_app.config["LANGUAGES"]:
            abort(404)
        g.lang = lang


@bp.url_defaults
def _add_lang(endpoint, values):
    if "lang" not in values and current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
        values["lang"] = getattr(g, "lang", None) or best_language()


@bp.after_app_request
def _remember_language(response: Response) -> Response:
    # The public site's language only: the panel's is the organizer's own setting.
    lang = getattr(g, "lang", None) if request.blueprint != "admin" else None
    # A response that shared caches keep (share image, widget) must not carry one reader's cookie.
    if lang and not response.cache_control.public and request.cookies.get(LANGUAGE_COOKIE) != lang:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


@bp.route("/")
def root():
    return negotiated_redirect(url_for("public.home", lang=best_language()))


@bp.route("/healthz")
def healthz():
    from sqlalchemy import text

    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        current_app.logger.exception("health check: database unreachable")
        return (
            {"status": "error", "database": "unreachable"},
            503,
            {"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    return {"status": "ok", "database": "ok"}


@bp.route("/<lang>/")
def home():
    campaigns = campaign_service.list_public_campaigns(db.session, g.lang)
    return render_template(
        "public/home.html",
        campaigns=campaigns,
        progress=campaign_service.progress_percent,
        alternate_urls={
            lang: external_url("public.home", lang=lang) for lang in current_app.config["LANGUAGES"]
        },
    )


@bp.route("/<lang>/c/<slug>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_RATE_LIMIT"], methods=["POST"])
@per_mailbox()
def petition(slug: str):
    if request.method == "GET":
        return _petition_page(slug)
    localized = localized_or_404(slug)
    campaign = localized.campaign
    if not campaign.is_open:
        return closed_page(localized)
    form = SignForm()
    form.set_country_choices(g.lang)
    if form.validate_on_submit():
        if form.is_bot:
            return redirect(url_for("public.signed", slug=slug))
        try:
            signing.sign(db.session, campaign, _signature_data(form), g.lang)
        except CampaignClosed:
            db.session.rollback()
            return closed_page(localized)
        except EmailDomainBlocked:
            db.session.rollback()
            form.email.errors.append(
                _(
                    "This petition does not accept addresses from this email provider. "
                    "Please use another email address."
                )
            )
        except InvalidEmail:
            db.session.rollback()
            form.email.errors.append(_("Enter an email address like name@example.org."))
        else:
            db.session.commit()
            # Where they live, to offer the rally nearest to them on the next page.
            readers.remember_place(form.city.data or "", form.country.data or "")
            return redirect(url_for("public.signed", slug=slug))
    return render_petition(localized, sign_form=form, status=422)


def _petition_page(slug: str):
    # Readers with nothing of their own on the page share a copy a few seconds old.
    return page_cache.serve(
        (slug, g.lang, guess_country(), readers.place()),
        lambda: render_petition(localized_or_404(slug)),
        readers.is_known,
    )


def _signature_data(form: SignForm) -> signing.SignatureData:
    return signing.SignatureData(
        full_name=form.full_name.data or "",
        email=form.email.data or "",
        country=form.country.data or "",
        city=form.city.data or "",
        reason=form.reason.data or "",
        is_public=bool(form.is_public.data),
        has_update_consent=bool(form.has_update_consent.data),
        # Computed here, so that the service never sees the request; never the raw address.
        signals=signals.collect(
            current_app.config["SECRET_KEY"],
            remote_addr=request.remote_addr,
            user_agent=request.user_agent.string,
            seconds_on_form=readers.seconds_since_shown(form.started.data),
        ),
        consent=form.consent_shown(g.lang),
    )


@bp.route("/<lang>/c/<slug>/signed")
def signed(slug: str):
    def render():
        localized = localized_or_404(slug)
        return render_template(
            "public/signed.html", rally=rally_card(localized.campaign), **page_context(localized)
        )

    # Everyone who just signed sees the same page, but for the rally near where they live.
    return page_cache.serve(
        (slug, g.lang, guess_country(), readers.place()), render, readers.is_known
    )


@bp.route("/<lang>/c/<slug>/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONFIRM_RATE_LIMIT"], methods=["POST"])
@per_token()
def confirm(slug: str, token: str):
    localized = localized_or_404(slug)
    form = ConfirmForm()
    try:
        signature = signing.signature_for_token(db.session, token)
        if signature.campaign_id != localized.campaign.id:
            raise InvalidToken("link for another campaign")
    except TokenExpired:
        return render_template(
            "public/confirm_invalid.html", expired=True, **page_context(localized)
        ), 410
    except InvalidToken:
        return render_template(
            "public/confirm_invalid.html", expired=False, **page_context(localized)
        ), 404

    if signature.is_confirmed:
        _remember_signer(signature)
        return redirect(url_for("public.thanks", slug=slug))
    if request.method == "POST" and form.validate_on_submit():
        try:
            signing.confirm(db.session, token)
        except CampaignClosed:
            db.session.rollback()
            return closed_page(localized)
        db.session.commit()
        _remember_signer(signature)
        return redirect(url_for("public.thanks", slug=slug))
    return render_template(
        "public/confirm.html", form=form, signature=signature, **page_context(localized)
    )


def _remember_signer(signature) -> None:
    """Following the link proved the mailbox: this browser may now comment without a second
    confirmation, and is offered rallies near where the signer lives, even when the email was
    opened on another device than the one that signed."""
    readers.remember_mailbox(signature.email_key)
    readers.remember_place(signature.city or "", signature.country or "")


@bp.route("/<lang>/c/<slug>/thanks")
def thanks(slug: str):
    localized = localized_or_404(slug)
    return render_template(
        "public/thanks.html", rally=rally_card(localized.campaign), **page_context(localized)
    )
