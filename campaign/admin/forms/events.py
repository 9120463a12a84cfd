"""Forms of the events screens: an event, cancelling it, an RSVP cancelled by an organizer."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from campaign.form_fields import (
    DateField,
    FloatField,
    IntegerField,
    MaxLength,
    SelectField,
    TextAreaField,
    TimeField,
)
from campaign.models import EventMode
from campaign.services.countries import country_names
from campaign.services.events import MAX_CAPACITY, EventData, timezone_names


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _places(form, field):
    # Not a number at all is said once, by the field; a number is checked here.
    if field.data is not None and not 0 < field.data <= MAX_CAPACITY:
        raise ValidationError(
            _l("Enter a number of places above zero, or leave it empty for no limit.")
        )


MODE_CHOICES = [
    SelectChoice(EventMode.IN_PERSON.value, _l("In person")),
    SelectChoice(EventMode.ONLINE.value, _l("Online")),
    SelectChoice(EventMode.BOTH.value, _l("In person and online")),
]


class EventForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Enter a title.")), MaxLength(200)],
        filters=[_strip],
        description=_l("What and where, in a few words, e.g. “Rally at the town hall”."),
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), MaxLength(20_000)],
        filters=[_strip],
        description=_l(
            "What will happen and what to bring. Markdown: **bold**, *italic*, - a list item,"
            " [a link](https://…)."
        ),
        render_kw={"rows": 8},
    )
    language = SelectField(
        _l("Language of the title and description"),
        validators=[DataRequired(_l("Choose a language."))],
    )
    date = DateField(_l("Date"), validators=[InputRequired(_l("Enter the date."))])
    start_time = TimeField(
        _l("Starts at"), validators=[InputRequired(_l("Enter the time it starts."))]
    )
    end_time = TimeField(_l("Ends at"), validators=[InputRequired(_l("Enter the time it ends."))])
    end_date = DateField(
        _l("Ends on another day"),
        validators=[Optional()],
        description=_l("Only for an event that ends after midnight or lasts several days."),
    )
    timezone = SelectField(
        _l("Time zone"),
        validators=[DataRequired(_l("Choose a time zone from the list."))],
        description=_l("Where the event happens: the times above are local to it."),
        # The IANA names ("Europe/Berlin") are identifiers, written in English.
        render_kw={"lang": "en", "dir": "ltr"},
    )
    mode = SelectField(_l("Where"), choices=MODE_CHOICES, default=EventMode.IN_PERSON.value)
    venue = StringField(
        _l("Venue"),
        validators=[Optional(), MaxLength(200)],
        filters=[_strip],
        description=_l("A square, a hall, a park…"),
    )
    address = StringField(_l("Address"), validators=[Optional(), MaxLength(300)], filters=[_strip])
    city = StringField(
        _l("City"),
        validators=[Optional(), MaxLength(120)],
        filters=[_strip],
        description=_l("Required for an event in person."),
    )
    country = SelectField(_l("Country"), validators=[Optional()])
    online_url = URLField(
        _l("Online link"),
        validators=[Optional(), MaxLength(500)],
        filters=[_strip],
        description=_l("Where people join an online event, starting with https://."),
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    latitude = FloatField(
        _l("Latitude"),
        validators=[Optional()],
        description=_l("Optional, to show the event on a map: e.g. 52.5163."),
        render_kw={"inputmode": "decimal"},
    )
    longitude = FloatField(
        _l("Longitude"),
        validators=[Optional()],
        description=_l("e.g. 13.3777."),
        render_kw={"inputmode": "decimal"},
    )
    capacity = IntegerField(
        _l("Places"),
        validators=[Optional(), _places],
        description=_l("Leave it empty for no limit. When it is full, people join a waitlist."),
        render_kw={"min": 1, "inputmode": "numeric"},
    )
    contact = StringField(
        _l("Contact"),
        validators=[Optional(), MaxLength(200)],
        filters=[_strip],
        description=_l("An email address or phone number people can ask questions at."),
    )
    submit = SubmitField(_l("Save the event"))

    # The fields a service error names (InvalidEvent.field) and the fields that show it.
    SERVICE_FIELDS = {
        "starts_local": "start_time",
        "ends_local": "end_time",
        "latitude": "latitude",
    }

    def set_choices(self, languages: list[tuple[str, str]], reader_language: str) -> None:
        """Languages the campaign is written in; every time zone; countries in the reader's
        language, after an empty choice for online events."""
        self.language.choices = [SelectChoice(code, name) for code, name in languages]
        self.timezone.choices = timezone_names()
        self.country.choices = [SelectChoice("", _l("Choose a country"))] + [
            SelectChoice(code, name) for code, name in country_names(reader_language).items()
        ]

    def event_data(self) -> EventData:
        """What was typed, with the times local to the chosen zone."""
        return EventData(
            title=self.title.data or "",
            description=self.description.data or "",
            language=self.language.data,
            starts_local=datetime.combine(self.date.data, self.start_time.data),
            ends_local=datetime.combine(self.end_date.data or self.date.data, self.end_time.data),
            timezone=self.timezone.data,
            mode=self.mode.data,
            venue=self.venue.data or "",
            address=self.address.data or "",
            city=self.city.data or "",
            country=self.country.data or "",
            online_url=self.online_url.data or "",
            latitude=self.latitude.data,
            longitude=self.longitude.data,
            capacity=self.capacity.data,
            contact=self.contact.data or "",
        )

    def fill_from(self, data: EventData) -> None:
        """Show an event for editing (its times local to its zone)."""
        for name in ("title", "description", "language", "timezone", "mode", "venue", "address",
                     "city", "country", "online_url", "latitude", "longitude", "capacity",
                     "contact"):  # fmt: skip
            getattr(self, name).data = getattr(data, name)
        self.date.data = data.starts_local.date()
        self.start_time.data = data.starts_local.time()
        self.end_time.data = data.ends_local.time()
        if data.ends_local.date() != data.starts_local.date():
            self.end_date.data = data.ends_local.date()

    def field_for(self, service_field: str):
        """The form field where a service error about `service_field` is shown."""
        name = self.SERVICE_FIELDS.get(service_field, service_field)
        return getattr(self, name, None) or self.title


class CancelEventForm(FlaskForm):
    submit = SubmitField(_l("Cancel the event"))


class CancelRsvpForm(FlaskForm):
    submit = SubmitField(_l("Cancel this RSVP"))


class EventActionForm(FlaskForm):
    """Approve, decline: buttons whose only field is the CSRF token."""
