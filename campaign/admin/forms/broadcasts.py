"""Forms of the updates screens: writing an update, testing, sending, scheduling, pausing."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from campaign.admin.labels import AUDIENCE_LABELS
from campaign.form_fields import (
    DateField,
    MaxLength,
    RadioField,
    SelectField,
    TextAreaField,
    TimeField,
)
from campaign.i18n import text_direction
from campaign.models import Audience
from campaign.services.broadcasts import BODY_MAX, SUBJECT_MAX, BroadcastData, BroadcastText

AUDIENCE_CHOICES = [SelectChoice(a.value, label) for a, label in AUDIENCE_LABELS.items()]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class BroadcastForm(FlaskForm):
    """The audience; the per-language fields are added by `broadcast_form`."""

    audience = RadioField(_l("Who gets it"), choices=AUDIENCE_CHOICES, default="subscribers")
    event = SelectField(_l("Event"), default="")
    country = SelectField(_l("Country"), default="")
    save = SubmitField(_l("Save the draft"))
    preview = SubmitField(_l("Preview"))

    languages: list[str] = []

    def subject_field(self, language: str):
        return self[f"subject_{language}"]

    def body_field(self, language: str):
        return self[f"body_{language}"]

    def field_for(self, name: str):
        """The field an InvalidBroadcast names (subject_en, body_ru, event, country)."""
        if name in self:
            return self[name]
        return self.audience

    def broadcast_data(self) -> BroadcastData:
        return BroadcastData(
            texts={
                language: BroadcastText(
                    subject=self.subject_field(language).data or "",
                    body_markdown=self.body_field(language).data or "",
                )
                for language in self.languages
            },
            audience=Audience(self.audience.data or Audience.SUBSCRIBERS.value),
            event_id=int(self.event.data) if (self.event.data or "").isdigit() else None,
            country=self.country.data or "",
        )

    def fill_from(self, data: BroadcastData) -> None:
        self.audience.data = data.audience.value
        self.event.data = str(data.event_id) if data.event_id else ""
        self.country.data = data.country
        for language in self.languages:
            text = data.texts.get(language)
            self.subject_field(language).data = text.subject if text else ""
            self.body_field(language).data = text.body_markdown if text else ""


def broadcast_form(
    languages: list[tuple[str, str]],
    events: list[tuple[str, str]],
    countries: list[tuple[str, str]],
    **kwargs,
) -> BroadcastForm:
    """The form for a campaign's languages [(code, name)], default language first; called in a
    request, so the labels name the languages in the organizer's language."""

    class Form(BroadcastForm):
        pass

    for code, name in languages:
        setattr(
            Form,
            f"subject_{code}",
            StringField(
                _("Subject (%(language)s)", language=name),
                validators=[MaxLength(SUBJECT_MAX)],
                filters=[_strip],
                # The text is in that language, whatever the panel's: typed in its direction.
                render_kw={"lang": code, "dir": text_direction(code)},
            ),
        )
        setattr(
            Form,
            f"body_{code}",
            TextAreaField(
                _("Message (%(language)s)", language=name),
                validators=[MaxLength(BODY_MAX)],
                description=_l("Markdown: **bold**, *italic*, - a list item, [a link](https://…)."),
                render_kw={"rows": 12, "lang": code, "dir": text_direction(code)},
            ),
        )
    form = Form(**kwargs)
    form.languages = [code for code, _name in languages]
    form.event.choices = [SelectChoice("", _("Choose an event"))] + [
        SelectChoice(value, label) for value, label in events
    ]
    form.country.choices = [SelectChoice("", _("Choose a country"))] + [
        SelectChoice(code, name) for code, name in countries
    ]
    return form


class TestForm(FlaskForm):
    language = SelectField(_l("Version"))
    submit = SubmitField(_l("Send me a test"))


class SendForm(FlaskForm):
    submit = SubmitField(_l("Send now"))


class ScheduleForm(FlaskForm):
    date = DateField(_l("Date"), validators=[InputRequired(_l("Enter the date."))])
    time = TimeField(_l("Time"), validators=[InputRequired(_l("Enter the time."))])
    submit = SubmitField(_l("Schedule"))


class ActionForm(FlaskForm):
    """A button that posts (pause, resume, cancel the schedule): CSRF only."""
