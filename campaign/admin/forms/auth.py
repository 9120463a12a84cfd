"""Login, password and invitation forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from campaign.form_fields import MaxLength, SelectField
from campaign.services.organizers import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), MaxLength(254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), MaxLength(254)],
        render_kw={"autocomplete": "username"},
    )
    submit = SubmitField(_l("Email me a reset link"))


def _new_password_fields():
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Choose a password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l("Use at least %(min)d characters.", min=MIN_PASSWORD_LENGTH),
            ),
        ],
        description=_l("At least %(min)d characters.", min=MIN_PASSWORD_LENGTH),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[EqualTo("password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class ResetPasswordForm(FlaskForm):
    password, confirm = _new_password_fields()
    submit = SubmitField(_l("Set the new password"))


class AcceptInvitationForm(FlaskForm):
    """For someone without an account: name and password."""

    name = StringField(
        _l("Your name"), validators=[DataRequired(_l("Enter your name.")), MaxLength(120)]
    )
    password, confirm = _new_password_fields()
    submit = SubmitField(_l("Join the team"))


class JoinForm(FlaskForm):
    """For someone already logged in with the invited address."""

    submit = SubmitField(_l("Join the team"))


class AccountForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[MaxLength(120)])
    language = SelectField(_l("Language of the panel and your emails"))
    submit = SubmitField(_l("Save"))


DIGEST_CHOICES = [
    SelectChoice("daily", _l("Daily")),
    SelectChoice("weekly", _l("Weekly, on Mondays")),
    SelectChoice("off", _l("Off")),
]


class DigestForm(FlaskForm):
    """When digests come; one frequency field per campaign is added by `digest_form`."""

    # IANA names ("America/New_York") are identifiers, written in English everywhere.
    timezone = SelectField(_l("Time zone"), render_kw={"lang": "en", "dir": "ltr"})
    digest_hour = SelectField(
        _l("Hour of the digest"),
        coerce=int,
        description=_l("In your time zone. A digest covers the day (or week) before this hour."),
    )
    submit = SubmitField(_l("Save digest settings"))


def digest_form(campaigns: list[tuple[int, str, str]], **kwargs) -> DigestForm:
    """A DigestForm with a frequency select `campaign_<id>` for each (id, title, frequency)."""

    class Form(DigestForm):
        pass

    for campaign_id, title, frequency in campaigns:
        setattr(
            Form,
            f"campaign_{campaign_id}",
            SelectField(title, choices=DIGEST_CHOICES, default=frequency),
        )
    return Form(prefix="digest", **kwargs)


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = _new_password_fields()
    submit = SubmitField(_l("Change password"))


class LogoutForm(FlaskForm):
    submit = SubmitField(_l("Log out"))
