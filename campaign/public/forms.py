"""Forms of the public pages."""

from __future__ import annotations

from flask_babel import format_number
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional, ValidationError

from campaign.form_fields import MaxLength, RadioField, SelectField
from campaign.models import FlagReason
from campaign.services.countries import country_names, is_country
from campaign.services.email_addresses import normalize_email
from campaign.services.errors import InvalidEmail

REASON_MAX = 1000


def _valid_email(form, field):
    try:
        normalize_email(field.data or "")
    except InvalidEmail as exc:
        raise ValidationError(_l("Enter an email address like name@example.org.")) from exc


def _valid_country(form, field):
    if not is_country(field.data or ""):
        raise ValidationError(_l("Choose your country from the list."))


class SignForm(FlaskForm):
    full_name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Enter your name.")), MaxLength(120)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), MaxLength(254), _valid_email],
        description=_l("We send you a link to confirm your signature."),
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    country = SelectField(
        _l("Country"),
        validators=[DataRequired(_l("Choose your country from the list.")), _valid_country],
        render_kw={"autocomplete": "country"},
    )
    city = StringField(
        _l("City or postal code (optional)"),
        validators=[Optional(), MaxLength(120)],
        render_kw={"autocomplete": "address-level2"},
    )
    reason = TextAreaField(
        _l("Why are you signing? (optional)"),
        validators=[Optional(), MaxLength(REASON_MAX)],
        render_kw={"rows": 3, "maxlength": REASON_MAX},
    )
    is_public = BooleanField(_l("Show my first name and city on the petition page"))
    has_update_consent = BooleanField(_l("Send me updates about this campaign"))
    # A spam trap: hidden from people, filled in by naive bots.
    website = StringField(
        _l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"}
    )
    submit = SubmitField(_l("Sign"))

    def set_country_choices(self, language: str) -> None:
        """Offer every country, named in the reader's language, after a "choose" prompt."""
        self.country.choices = [("", _l("Choose your country"))] + list(
            country_names(language).items()
        )

    @property
    def is_bot(self) -> bool:
        return bool(self.website.data)


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm my signature"))


class CommentForm(FlaskForm):
    """A comment or a reply. The limits come from the app's configuration (see `limit`)."""

    author_name = StringField(
        _l("Your name"),
        validators=[DataRequired(_l("Enter your name.")), MaxLength(120)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("Your email"),
        validators=[DataRequired(_l("Enter your email address.")), MaxLength(254), _valid_email],
        description=_l("Never shown. We send you a link to publish your comment."),
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    body = TextAreaField(
        _l("Comment"),
        validators=[DataRequired(_l("Write your comment."))],
        render_kw={"rows": 4},
    )
    # When the form was shown, signed: a person needs a few seconds to write anything.
    started = HiddenField()
    website = StringField(
        _l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"}
    )
    submit = SubmitField(_l("Post comment"))

    def limit(self, max_length: int) -> None:
        """Apply the configured length limit, for validation and for the counter."""
        self.body.validators = [*self.body.validators, MaxLength(max_length)]
        self.body.render_kw = {
            **(self.body.render_kw or {}),
            "maxlength": max_length,
            "data-counter": _l("Characters left: %(count)s", count="{count}"),
        }
        self.body.description = _l(
            "Plain text, up to %(limit)s characters. Links become clickable.",
            limit=format_number(max_length),
        )

    @property
    def is_bot(self) -> bool:
        return bool(self.website.data)


class SupportForm(FlaskForm):
    """Support a comment, or take the support back (the same button)."""


class FlagForm(FlaskForm):
    reason = RadioField(
        _l("Why should moderators look at this comment?"),
        choices=[
            (FlagReason.SPAM.value, _l("Spam")),
            (FlagReason.ABUSE.value, _l("Abuse or harassment")),
            (FlagReason.VIOLENCE.value, _l("Incitement to violence")),
            (FlagReason.OTHER.value, _l("Something else")),
        ],
        validators=[DataRequired(_l("Choose a reason."))],
    )
    submit = SubmitField(_l("Report to moderators"))


class CommentConfirmForm(FlaskForm):
    submit = SubmitField(_l("Publish my comment"))
