"""Logging in and out, password reset, the organizer's own account, and accepting invitations."""

from __future__ import annotations

import math
from datetime import time, timedelta

from babel.dates import format_time
from flask import (
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_timedelta, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from wtforms.fields.choices import SelectChoice

from campaign.admin import bp
from campaign.admin.access import safe_next
from campaign.admin.forms.auth import (
    AcceptInvitationForm,
    AccountForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    JoinForm,
    LoginForm,
    LogoutForm,
    ResetPasswordForm,
    digest_form,
)
from campaign.extensions import db, limiter
from campaign.i18n import language_name
from campaign.models import DigestFrequency
from campaign.models.types import utcnow
from campaign.rate_limits import per_mailbox
from campaign.services import audit, digests, organizers
from campaign.services.campaigns import localize
from campaign.services.errors import (
    InvalidCredentials,
    InvalidToken,
    InvitationNotPending,
    LoginLocked,
    OrganizerExists,
    TokenExpired,
    WeakPassword,
)
from campaign.services.events import timezone_names


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@per_mailbox("LOGIN_RATE_LIMIT")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            organizer = organizers.authenticate(db.session, form.email.data, form.password.data)
        except LoginLocked as locked:
            # The failure streak (and its audit entry) must be kept.
            db.session.commit()
            return _locked_page(form, locked.until)
        except InvalidCredentials:
            db.session.commit()
            form.password.errors.append(_("That email and password do not match an account."))
            status = 422
        else:
            db.session.commit()
            login_user(organizer)
            return redirect(safe_next(form.next.data) or url_for("admin.dashboard"))
    elif form.is_submitted():
        status = 422
    return render_template("admin/login.html", form=form), status


def _locked_page(form: LoginForm, until):
    """The login form, refused for now: says until when, the same for every address."""
    seconds = max(1, math.ceil((until - utcnow()).total_seconds()))
    form.password.errors.append(
        _(
            "Too many failed attempts: logging in with this email address is paused for "
            "%(wait)s (until %(time)s). Try again then, or reset your password by email.",
            wait=format_timedelta(timedelta(seconds=seconds), threshold=1),
            time=format_time(until, "short", locale=get_locale()),
        )
    )
    response = make_response(render_template("admin/login.html", form=form), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    if LogoutForm().validate_on_submit():
        logout_user()
        flash(_("You are logged out."), "info")
    return redirect(url_for("admin.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@per_mailbox()
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        organizers.request_password_reset(db.session, form.email.data, g.lang)
        db.session.commit()
        # The same answer whether or not the address has an account.
        flash(_("If that address has an account, a reset link is on its way."), "info")
        return redirect(url_for("admin.login"))
    return render_template("admin/forgot_password.html", form=form), (
        422 if form.is_submitted() else 200
    )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def reset_password(token: str):
    try:
        organizers.organizer_for_reset_token(db.session, token)
    except TokenExpired:
        return render_template("admin/link_invalid.html", expired=True), 410
    except InvalidToken:
        return render_template("admin/link_invalid.html", expired=False), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            organizer = organizers.reset_password(db.session, token, form.password.data)
        except WeakPassword:
            db.session.rollback()
            form.password.errors.append(_("Choose a longer password."))
        else:
            db.session.commit()
            logout_user()
            login_user(organizer)
            flash(_("Your password is changed."), "success")
            return redirect(url_for("admin.dashboard"))
    return render_template("admin/reset_password.html", form=form), (
        422 if form.is_submitted() else 200
    )


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    try:
        invitation = organizers.invitation_for_token(db.session, token)
    except InvitationNotPending:
        return render_template("admin/link_invalid.html", used=True), 410
    except TokenExpired:
        return render_template("admin/link_invalid.html", expired=True), 410
    except InvalidToken:
        return render_template("admin/link_invalid.html", expired=False), 404

    existing = organizers.find_organizer(db.session, invitation.email)
    if existing is not None:
        # The account exists: its owner must be logged in as that address to accept.
        if not current_user.is_authenticated:
            return redirect(url_for("admin.login", next=request.path))
        if current_user.id != existing.id:
            return render_template(
                "admin/invitation_other_account.html", invitation=invitation
            ), 403
        form = JoinForm()
    else:
        form = AcceptInvitationForm()

    if form.validate_on_submit():
        try:
            organizer = organizers.accept_invitation(
                db.session,
                invitation,
                existing,
                name=form.name.data if existing is None else "",
                password=form.password.data if existing is None else "",
            )
        except OrganizerExists:
            db.session.rollback()
            return redirect(url_for("admin.login", next=request.path))
        except WeakPassword:
            db.session.rollback()
            form.password.errors.append(_("Choose a longer password."))
        else:
            db.session.commit()
            if existing is None:
                login_user(organizer)
            flash(_("Welcome to the team."), "success")
            return redirect(url_for("admin.campaign_overview", slug=invitation.campaign.slug))
    return render_template(
        "admin/accept_invitation.html", form=form, invitation=invitation, existing=existing
    ), (422 if form.is_submitted() else 200)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = AccountForm(obj=current_user)
    form.language.choices = [
        (code, language_name(code)) for code in current_app.config["LANGUAGES"]
    ]
    password_form = ChangePasswordForm(prefix="pw")
    memberships = [
        m for m in digests.digest_memberships(db.session, current_user) if m.campaign.translations
    ]
    digest = digest_form(
        [
            (m.campaign_id, localize(m.campaign, g.lang).text.title, m.digest.value)
            for m in memberships
        ],
        obj=current_user,
    )
    digest.timezone.choices = [SelectChoice(name, name) for name in timezone_names()]
    digest.digest_hour.choices = [
        SelectChoice(hour, format_time(time(hour), "short", locale=get_locale()))
        for hour in range(24)
    ]
    if digest.submit.data and digest.validate_on_submit():
        digests.set_digest_preferences(
            db.session,
            current_user,
            timezone=digest.timezone.data,
            digest_hour=digest.digest_hour.data,
            frequencies={
                m.campaign_id: DigestFrequency(digest[f"campaign_{m.campaign_id}"].data)
                for m in memberships
            },
        )
        db.session.commit()
        flash(_("Your digest settings are saved."), "success")
        return redirect(url_for("admin.account"))
    if form.submit.data and form.validate_on_submit():
        current_user.name = form.name.data.strip()
        current_user.language = form.language.data
        audit.record(db.session, current_user, "organizer.account_updated")
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("admin.account"))
    if password_form.submit.data and password_form.validate_on_submit():
        if not current_user.check_password(password_form.current.data):
            password_form.current.errors.append(_("That is not your current password."))
        else:
            organizers.change_password(db.session, current_user, password_form.password.data)
            db.session.commit()
            # This session stays (with the new version); every other one ends.
            login_user(current_user._get_current_object())
            flash(_("Your password is changed. Other devices are logged out."), "success")
            return redirect(url_for("admin.account"))
    status = 422 if (form.errors or password_form.errors or digest.errors) else 200
    return render_template(
        "admin/account.html",
        form=form,
        password_form=password_form,
        digest_form=digest,
        digest_fields=[digest[f"campaign_{m.campaign_id}"] for m in memberships],
    ), status
