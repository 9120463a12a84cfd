"""Form fields and validators whose every message comes from our own catalog.

WTForms ships translations of its built-in messages for some of our languages but not all
(Esperanto has none), so the few built-in messages a person can meet are replaced here. Forms
import `SelectField`, `RadioField`, `IntegerField`, `FloatField`, `DateField`, `TimeField`,
`TextAreaField` and `MaxLength` from this module.
"""

from __future__ import annotations

import wtforms
from flask_babel import lazy_gettext as _l
from wtforms.validators import Length, ValidationError


class SelectField(wtforms.SelectField):
    def pre_validate(self, form):
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(_l("Choose one of the options in the list.")) from None


class RadioField(wtforms.RadioField):
    def pre_validate(self, form):
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(_l("Choose one of the options.")) from None


class IntegerField(wtforms.IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter a whole number, like 1000.")) from None


class FloatField(wtforms.FloatField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_value_message", _l("Enter a number, like 52.52."))
        super().__init__(*args, **kwargs)


class DateField(wtforms.DateField):
    """A date picker (type=date); browsers send the date as 2025-01-31."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_value_message", _l("Enter a date, like 2025-01-31."))
        super().__init__(*args, **kwargs)


class TimeField(wtforms.TimeField):
    """A time picker (type=time); browsers send 18:00, or 18:00:00 with a step in seconds."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", ["%H:%M", "%H:%M:%S"])
        kwargs.setdefault("invalid_value_message", _l("Enter a time, like 18:00."))
        super().__init__(*args, **kwargs)


def MaxLength(limit: int) -> Length:  # noqa: N802 - reads like the other validators
    """At most `limit` characters, said in the reader's language."""
    return Length(max=limit, message=_l("Use at most %(max)d characters."))


class TextAreaField(wtforms.TextAreaField):
    """A text area whose line breaks count as one character, as the browser's `maxlength` and
    our counter count them: forms send each as CR LF, which a length check would count twice."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, str):
            self.data = self.data.replace("\r\n", "\n").replace("\r", "\n")
