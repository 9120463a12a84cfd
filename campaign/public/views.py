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

from campaign.extensions import db, limiter
from campaign.i18n import LANGUAGE_COOKIE, best_language
from campaign.models import OutcomeKind
from campaign.public import bp
from campaign.public.forms import ConfirmForm, SignForm
from campaign.services import campaigns as campaign_service
from campaign.services import signing
from campaign.services.countries import country_name
from campaign.services.errors import (
    CampaignClosed,
    CampaignNotFound,
    InvalidEmail,
    InvalidToken,
    TokenExpired,
)
from campaign.services.markdown import render_markdown
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
    lang = getattr(g, "lang", None)
    if lang and request.cookies.get(LANGUAGE_COOKIE) != lang:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def _localized(slug: str) -> campaign_service.LocalizedCampaign:
    try:
        campaign = campaign_service.get_public_campaign(db.session, slug)
        return campaign_service.localize(campaign, g.lang)
    except CampaignNotFound:
        abort(404)


def _share_links(url: str, title: str) -> dict[str, str]:
    from urllib.parse import quote

    u, t = quote(url, safe=""), quote(title, safe="")
    both = quote(f"{title} {url}", safe="")
    return {
        "email": f"mailto:?subject={t}&body={both}",
        "whatsapp": f"https://wa.me/?text={both}",
        "telegram": f"https://t.me/share/url?url={u}&text={t}",
        "x": f"https://twitter.com/intent/tweet?url={u}&text={t}",
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={u}",
        "vk": f"https://vk.com/share.php?url={u}&title={t}",
    }


def _page_context(localized: campaign_service.LocalizedCampaign) -> dict:
    campaign = localized.campaign
    url = external_url("public.petition", lang=g.lang, slug=campaign.slug)
    return {
        "c": localized,
        "campaign": campaign,
        "text": localized.text,
        "progress": campaign_service.progress_percent(campaign),
        "petition_url": url,
        "share": _share_links(url, localized.text.title),
        "alternate_urls": {
            lang: external_url(request.endpoint, **{**request.view_args, "lang": lang})
            for lang in current_app.config["LANGUAGES"]
        },
    }


@bp.route("/")
def root():
    return redirect(url_for("public.home", lang=best_language()))


@bp.route("/healthz")
def healthz():
    from sqlalchemy import text

    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        current_app.logger.exception("health check: database unreachable")
        return {"status": "error", "database": "unreachable"}, 503
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
def petition(slug: str):
    localized = _localized(slug)
    campaign = localized.campaign
    form = SignForm()
    form.set_country_choices(g.lang)
    if request.method == "GET" and not form.country.data:
        form.country.data = _guess_country()

    status = 200
    if request.method == "POST":
        if not campaign.is_open:
            return _closed_page(localized)
        if form.validate_on_submit():
            if form.is_bot:
                return redirect(url_for("public.signed", slug=slug))
            try:
                signing.sign(db.session, campaign, _signature_data(form), g.lang)
            except CampaignClosed:
                db.session.rollback()
                return _closed_page(localized)
            except InvalidEmail:
                db.session.rollback()
                form.email.errors.append(_("Enter an email address like name@example.org."))
                status = 422
            else:
                db.session.commit()
                return redirect(url_for("public.signed", slug=slug))
        else:
            status = 422

    signers = campaign_service.recent_public_signers(db.session, campaign)
    return render_template(
        "public/petition.html",
        form=form,
        signers=signers,
        country_name=country_name,
        body_html=render_markdown(localized.text.body_markdown),
        outcome=_outcome(localized),
        **_page_context(localized),
    ), status


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


def _signature_data(form: SignForm) -> signing.SignatureData:
    return signing.SignatureData(
        full_name=form.full_name.data or "",
        email=form.email.data or "",
        country=form.country.data or "",
        city=form.city.data or "",
        reason=form.reason.data or "",
        is_public=bool(form.is_public.data),
        has_update_consent=bool(form.has_update_consent.data),
    )


def _guess_country() -> str:
    """Preselect the country from the browser's preferred language region (en-GB → GB), if any."""
    from campaign.services.countries import is_country

    for value, _quality in request.accept_languages:
        parts = value.replace("_", "-").split("-")
        if len(parts) > 1 and is_country(parts[-1].upper()):
            return parts[-1].upper()
    return ""


def _closed_page(localized):
    return render_template("public/closed.html", **_page_context(localized)), 409


@bp.route("/<lang>/c/<slug>/signed")
def signed(slug: str):
    return render_template("public/signed.html", **_page_context(_localized(slug)))


@bp.route("/<lang>/c/<slug>/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONFIRM_RATE_LIMIT"], methods=["POST"])
def confirm(slug: str, token: str):
    localized = _localized(slug)
    form = ConfirmForm()
    try:
        signature = signing.signature_for_token(db.session, token)
        if signature.campaign_id != localized.campaign.id:
            raise InvalidToken("link for another campaign")
    except TokenExpired:
        return render_template(
            "public/confirm_invalid.html", expired=True, **_page_context(localized)
        ), 410
    except InvalidToken:
        return render_template(
            "public/confirm_invalid.html", expired=False, **_page_context(localized)
        ), 404

    if signature.is_confirmed:
        return redirect(url_for("public.thanks", slug=slug))
    if request.method == "POST" and form.validate_on_submit():
        try:
            signing.confirm(db.session, token)
        except CampaignClosed:
            db.session.rollback()
            return _closed_page(localized)
        db.session.commit()
        return redirect(url_for("public.thanks", slug=slug))
    return render_template(
        "public/confirm.html", form=form, signature=signature, **_page_context(localized)
    )


@bp.route("/<lang>/c/<slug>/thanks")
def thanks(slug: str):
    return render_template("public/thanks.html", **_page_context(_localized(slug)))
