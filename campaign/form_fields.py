"""Form fields and validators whose every message comes from our own catalog.

WTForms ships translations of its built-in messages for some of our languages but not all
(Esperanto has none), so the few built-in messages a person can meet are replaced here. Forms
import `SelectField`, `RadioField`, `IntegerField`, `FloatField`, `DateField`, `TimeField`,
`TextAreaField` and `MaxLength` from this module.
"""

from __future__ import annotations

import re

import flask
import wtforms
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property
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


# C0 and C1 control characters and DEL, except tab, line feed and carriage return (text areas
# turn CR LF into LF). Nobody types them; they arrive pasted from PDFs or sent by scripts, and
# PostgreSQL refuses NUL outright ("text fields cannot contain NUL"), which would be a 500.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strip_control_characters(value: str) -> str:
    """`value` without the invisible control characters a person cannot have meant to send."""
    return CONTROL_CHARACTERS.sub("", value)


def has_control_characters(value: str) -> bool:
    """Whether `value` holds a control character that `strip_control_characters` removes."""
    return CONTROL_CHARACTERS.search(value) is not None


def clean_input(value: str) -> str:
    """A submitted value as we keep it: without control characters, and with every line break
    (CR LF from a browser's text area, or a lone CR) a plain LF."""
    value = strip_control_characters(value)
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def _cleaned(data: ImmutableMultiDict) -> ImmutableMultiDict:
    if not any(
        has_control_characters(k) or has_control_characters(v) or "\r" in v
        for k, v in data.items(multi=True)
    ):
        return data
    return ImmutableMultiDict(
        (clean_input(key), clean_input(value)) for key, value in data.items(multi=True)
    )


class Request(flask.Request):
    """Every form and query value arrives without control characters (see CONTROL_CHARACTERS)
    and with LF line breaks.

    Cleaning here, where the request is parsed, covers every field of every form, the CSRF
    token and the GET searches alike; a field-by-field filter would miss the next new field.
    Invisible characters are removed rather than refused: a form error about a character the
    person cannot see would not help them fix it.
    """

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.__dict__["form"] = _cleaned(self.__dict__["form"])
        if self.__dict__.get("files") and not self._view_accepts_uploads():
            # Flask-WTF hands uploads to the form's fields, where a text field would get a
            # file instead of text; a view without a file field has no use for them.
            self.__dict__["files"] = ImmutableMultiDict()

    def _view_accepts_uploads(self) -> bool:
        endpoint = self.url_rule.endpoint if self.url_rule else None
        view = flask.current_app.view_functions.get(endpoint) if endpoint else None
        return bool(getattr(view, "accepts_uploads", False))

    @cached_property
    def args(self) -> ImmutableMultiDict:
        return _cleaned(super().args)


def accepts_uploads(view):
    """Mark a view whose form has a file field: only such views see uploaded files."""
    view.accepts_uploads = True
    return view


def _refuse_control_characters_in_paths(endpoint: str | None, values: dict | None) -> None:
    # No slug, token or name in our URLs holds one: such a path names nothing (and the query
    # for it would fail on PostgreSQL).
    if values and any(isinstance(v, str) and has_control_characters(v) for v in values.values()):
        flask.abort(404)


def init_app(app: flask.Flask) -> None:
    """Clean every request's form and query values (see `Request`); paths with control
    characters are not found."""
    app.request_class = Request
    app.url_value_preprocessor(_refuse_control_characters_in_paths)


class ListedOptionsSelect(wtforms.widgets.Select):
    """A <select> whose long, unchanging list of options (every country, in one language) is
    rendered once and reused: rendering 250 options one by one was a tenth of what the
    petition page cost."""

    _rendered: dict[tuple, str] = {}
    KEPT = 64  # lists kept: one per language and prompt is a handful

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for name in self.validation_attrs:
            if name not in kwargs and getattr(flags, name, False):
                kwargs[name] = True
        choices = tuple((str(value), str(label)) for value, label in field.choices)
        options = self._rendered.get(choices)
        if options is None:
            options = "".join(
                f'<option value="{escape(value)}">{escape(label)}</option>'
                for value, label in choices
            )
            if len(self._rendered) < self.KEPT:
                self._rendered[choices] = options
        if field.data is not None:
            value = escape(str(field.data))
            options = options.replace(
                f'<option value="{value}">', f'<option selected value="{value}">', 1
            )
        params = wtforms.widgets.html_params(name=field.name, **kwargs)
        return Markup(f"<select {params}>{options}</select>")  # noqa: S704 - escaped above
