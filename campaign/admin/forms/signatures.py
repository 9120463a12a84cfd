"""The search and filter form above the signature list (a GET form: it changes nothing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from campaign.form_fields import MaxLength, SelectField
from campaign.services.signature_admin import ConfirmationFilter, SignatureFilter

MAX_QUERY_LENGTH = 200


class SignatureSearchForm(FlaskForm):
    # A search changes nothing and its URL is bookmarked and shared: no CSRF token in it.
    class Meta:
        csrf = False

    q = SearchField(
        _l("Name, email, city or country"),
        validators=[Optional(), MaxLength(MAX_QUERY_LENGTH)],
        render_kw={"autocomplete": "off"},
    )
    status = SelectField(
        _l("Show"),
        choices=[
            SelectChoice(ConfirmationFilter.ALL.value, _l("All signatures")),
            SelectChoice(ConfirmationFilter.CONFIRMED.value, _l("Confirmed only")),
            SelectChoice(ConfirmationFilter.UNCONFIRMED.value, _l("Unconfirmed only")),
        ],
        default=ConfirmationFilter.ALL.value,
        validate_choice=True,
    )
    submit = SubmitField(_l("Search"))

    def to_filter(self) -> SignatureFilter:
        """The filter asked for; a field that did not validate is left at its default."""
        q = "" if self.q.errors else (self.q.data or "").strip()
        status = (
            ConfirmationFilter.ALL
            if self.status.errors or not self.status.data
            else ConfirmationFilter(self.status.data)
        )
        return SignatureFilter(q=q, status=status)
