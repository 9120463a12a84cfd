"""Forms of the paper signatures screen: an entry, and deleting one."""

from __future__ import annotations

from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from campaign.form_fields import DateField, IntegerField, MaxLength, SelectField
from campaign.services.paper_signatures import MAX_COUNT, MAX_NOTE, latest_allowed_date

NO_EVENT = ""


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _count_in_range(form, field):
    # A value that is not a whole number at all is said once, by the field itself.
    if field.data is not None and not 0 < field.data <= MAX_COUNT:
        raise ValidationError(
            _("Enter a whole number from 1 to %(max)s.", max=format_number(MAX_COUNT))
        )


def _not_in_future(form, field):
    if field.data is not None and field.data > latest_allowed_date():
        raise ValidationError(_("That date is in the future. Enter the day they were collected."))


class PaperSignaturesForm(FlaskForm):
    count = IntegerField(
        _l("Number of signatures"),
        validators=[InputRequired(_l("Enter how many signatures you counted.")), _count_in_range],
        description=_l("Count the filled-in lines on the sheets, once."),
        render_kw={"min": 1, "max": MAX_COUNT, "inputmode": "numeric"},
    )
    collected_on = DateField(
        _l("Collected on"),
        validators=[InputRequired(_l("Enter the day they were collected.")), _not_in_future],
    )
    event_id = SelectField(_l("At the event"), validators=[Optional()], default=NO_EVENT)
    note = StringField(
        _l("Note (optional)"),
        validators=[Optional(), MaxLength(MAX_NOTE)],
        filters=[_strip],
        description=_l("Where, or who collected them, e.g. “Market square stall, Anna”."),
    )
    submit = SubmitField(_l("Add to the count"))

    def set_event_choices(self, events, describe) -> None:
        """`events` of the campaign, each labelled by `describe(event)`; none is the default."""
        self.event_id.choices = [SelectChoice(NO_EVENT, _l("No event"))] + [
            SelectChoice(str(event.id), describe(event)) for event in events
        ]

    @property
    def chosen_event_id(self) -> int | None:
        value = self.event_id.data
        return int(value) if value and str(value).isdigit() else None


class DeletePaperSignaturesForm(FlaskForm):
    submit = SubmitField(_l("Delete this entry"))
