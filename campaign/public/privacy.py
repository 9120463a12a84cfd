"""The privacy page, and a signer's own page: see what you signed, withdraw it."""

from __future__ import annotations

from datetime import date

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from campaign.extensions import db, limiter
from campaign.public import bp
from campaign.public.forms import MySignaturesForm, WithdrawSignatureForm
from campaign.rate_limits import per_mailbox, per_token
from campaign.services import campaigns as campaign_service
from campaign.services import privacy
from campaign.services.countries import country_name
from campaign.services.errors import (
    CampaignNotFound,
    InvalidEmail,
    InvalidToken,
    SignatureGone,
    TokenExpired,
)
from campaign.urls import external_url


def _alternates(endpoint: str, **values) -> dict[str, str]:
    return {
        lang: external_url(endpoint, lang=lang, **values)
        for lang in current_app.config["LANGUAGES"]
    }


def _private(response):
    """Pages behind an emailed link: never cached, never indexed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/<lang>/privacy")
def privacy_page():
    return render_template(
        "public/privacy.html",
        contact=current_app.config.get("PRIVACY_CONTACT") or "",
        unconfirmed_days=int(current_app.config.get("UNCONFIRMED_SIGNATURE_DAYS", 30)),
        version=date.fromisoformat(privacy.PRIVACY_VERSION),
        alternate_urls=_alternates("public.privacy_page"),
    )


@bp.route("/<lang>/my-signatures", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["MY_SIGNATURES_RATE_LIMIT"], methods=["POST"])
@per_mailbox()
def my_signatures():
    form = MySignaturesForm()
    if form.validate_on_submit():
        try:
            privacy.request_links(db.session, form.email.data or "", g.lang)
        except InvalidEmail:
            db.session.rollback()
            form.email.errors.append(_("Enter an email address like name@example.org."))
        else:
            db.session.commit()
            # The same answer whether or not the address signed anything.
            return redirect(url_for("public.my_signatures_sent"))
    status = 422 if form.errors else 200
    page = render_template(
        "public/privacy/request.html",
        form=form,
        alternate_urls=_alternates("public.my_signatures"),
    )
    return page, status


@bp.route("/<lang>/my-signatures/sent")
def my_signatures_sent():
    return render_template(
        "public/privacy/sent.html",
        alternate_urls=_alternates("public.my_signatures_sent"),
    )


@bp.route("/<lang>/signature/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONFIRM_RATE_LIMIT"], methods=["POST"])
@per_token()
def my_signature(token: str):
    alternates = _alternates("public.my_signature", token=token)
    try:
        signature = privacy.signature_for_manage_token(db.session, token)
    except (InvalidToken, TokenExpired) as exc:
        return _link_problem(exc, alternates)
    form = WithdrawSignatureForm()
    if request.method == "POST" and form.validate_on_submit():
        slug = signature.campaign.slug
        try:
            privacy.withdraw(db.session, token)
        except (InvalidToken, TokenExpired) as exc:
            db.session.rollback()
            return _link_problem(exc, alternates)
        db.session.commit()
        return redirect(url_for("public.signature_withdrawn", c=slug))
    view = privacy.signer_view(signature, g.lang)
    response = current_app.make_response(
        render_template(
            "public/privacy/signature.html",
            view=view,
            signature=signature,
            form=form,
            country=country_name(signature.country, g.lang),
            unconfirmed_days=int(current_app.config.get("UNCONFIRMED_SIGNATURE_DAYS", 30)),
            petition_url=external_url("public.petition", lang=g.lang, slug=signature.campaign.slug),
            alternate_urls=alternates,
            hide_footer_subscribe=True,
        )
    )
    return _private(response)


def _link_problem(exc: Exception, alternates: dict[str, str]):
    if isinstance(exc, TokenExpired):
        problem, status = "expired", 410
    elif isinstance(exc, SignatureGone):
        problem, status = "gone", 410
    else:
        problem, status = "invalid", 404
    response = current_app.make_response(
        (
            render_template(
                "public/privacy/link_problem.html",
                problem=problem,
                alternate_urls=alternates,
                hide_footer_subscribe=True,
            ),
            status,
        )
    )
    return _private(response)


@bp.route("/<lang>/my-signatures/withdrawn")
def signature_withdrawn():
    campaign = None
    slug = request.args.get("c", "")
    if slug:
        try:
            campaign = campaign_service.localize(
                campaign_service.get_public_campaign(db.session, slug), g.lang
            )
        except CampaignNotFound:
            campaign = None
    values = {"c": slug} if campaign else {}
    return render_template(
        "public/privacy/withdrawn.html",
        c=campaign,
        alternate_urls=_alternates("public.signature_withdrawn", **values),
        hide_footer_subscribe=True,
    )
