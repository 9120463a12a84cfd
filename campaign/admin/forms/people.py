"""Finding a person by email, exporting their data and erasing it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SubmitField
from wtforms.validators import DataRequired

from campaign.form_fields import MaxLength


class FindPersonForm(FlaskForm):
    """A search (GET ?email=): it changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter the person's email address.")), MaxLength(254)],
        description=_l("Variants of the same mailbox match: capitals, +tags, dots in Gmail."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Find"))


class _PersonActionForm(FlaskForm):
    # The address travels in the POST body, not the URL, so it stays out of access logs.
    email = HiddenField(validators=[DataRequired(), MaxLength(254)])


class ExportPersonForm(_PersonActionForm):
    submit = SubmitField(_l("Export as JSON"))


class ErasePersonForm(_PersonActionForm):
    confirm = BooleanField(
        _l("I understand that this deletes this person's data in this campaign for good."),
        validators=[DataRequired(_l("Tick the box to confirm the erasure."))],
    )
    submit = SubmitField(_l("Erase"))
