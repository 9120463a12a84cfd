"""Form fields and validators whose every message comes from our own catalog.

WTForms ships translations of its built-in messages for some of our languages but not all
(Esperanto has none), so the few built-in messages a person can meet are replaced here. Forms
import `SelectField`, `RadioField`, `IntegerField` and `MaxLength` from this module.
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


def MaxLength(limit: int) -> Length:  # noqa: N802 - reads like the other validators
    """At most `limit` characters, said in the reader's language."""
    return Length(max=limit, message=_l("Use at most %(max)d characters."))
