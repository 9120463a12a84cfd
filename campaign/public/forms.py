"""Forms of the public pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

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
        validators=[DataRequired(_l("Enter your name.")), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=254), _valid_email],
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
        validators=[Optional(), Length(max=120)],
        render_kw={"autocomplete": "address-level2"},
    )
    reason = TextAreaField(
        _l("Why are you signing? (optional)"),
        validators=[Optional(), Length(max=REASON_MAX)],
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
