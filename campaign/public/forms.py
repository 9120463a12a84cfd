"""Forms of the public pages."""

from __future__ import annotations

from flask_babel import format_number
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectChoice,
    StringField,
    SubmitField,
    TelField,
    URLField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    ValidationError,
)

from campaign.form_fields import (
    DateField,
    IntegerField,
    ListedOptionsSelect,
    MaxLength,
    RadioField,
    SelectField,
    TextAreaField,
    TimeField,
)
from campaign.models import EventMode, FlagReason
from campaign.services.countries import country_names, is_country
from campaign.services.email_addresses import normalize_email
from campaign.services.errors import InvalidEmail
from campaign.services.privacy import SIGN_FORM_NOTICE, ConsentChoice, ConsentShown
from campaign.services.subscribers import SIGN_FORM_CONSENT

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
        widget=ListedOptionsSelect(),
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
    # The very words a signer's subscription records as consent (services.subscribers).
    has_update_consent = BooleanField(SIGN_FORM_CONSENT)
    # When the form was shown, signed (public.readers.clock_stamp): a signal for organizers.
    started = HiddenField()
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

    # The sentence under the button; recorded with the consent, so shown from here.
    notice = SIGN_FORM_NOTICE

    def consent_shown(self, language: str) -> ConsentShown:
        """The boxes and notice as this form shows them in the request's language, ticked or
        not: what the signature records as the consent given."""
        return ConsentShown(
            language=language,
            choices=tuple(
                ConsentChoice(field.name, str(field.label.text), bool(field.data))
                for field in (self.is_public, self.has_update_consent)
            ),
            notice=str(self.notice),
        )


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm my signature"))


class MySignaturesForm(FlaskForm):
    """Ask for a link to each of one's signatures, by email."""

    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), MaxLength(254), _valid_email],
        description=_l("The address you signed with. We send the links there, and only there."),
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    submit = SubmitField(_l("Email me the links"))


class WithdrawSignatureForm(FlaskForm):
    submit = SubmitField(_l("Withdraw my signature"))


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


# --- rallies ----------------------------------------------------------------------------------

HOST_MESSAGE_MAX = 5000
EVENT_DESCRIPTION_MAX = 5000


def _country_choices(language: str, prompt) -> list[tuple[str, str]]:
    return [("", prompt)] + list(country_names(language).items())


class EventSearchForm(FlaskForm):
    """Where the reader is, to list the rallies nearest to them first (a GET form)."""

    class Meta:
        csrf = False

    city = StringField(
        _l("Your city"),
        validators=[Optional(), MaxLength(120)],
        render_kw={"autocomplete": "address-level2"},
    )
    country = SelectField(
        _l("Your country"), render_kw={"autocomplete": "country"}, widget=ListedOptionsSelect()
    )

    def set_country_choices(self, language: str) -> None:
        self.country.choices = _country_choices(language, _l("Any country"))


class RsvpForm(FlaskForm):
    full_name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Enter your name.")), MaxLength(120)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), MaxLength(254), _valid_email],
        description=_l("We send you a link to confirm you are coming."),
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    phone = TelField(
        _l("Phone (optional)"),
        validators=[Optional(), MaxLength(40)],
        description=_l("Only the organizers see it, to reach you on the day."),
        render_kw={"autocomplete": "tel"},
    )
    # Its label is the consent the person gives, and is stored with the RSVP word for word.
    consent = BooleanField(
        _l(
            "The organizers of this event may use my name, email address and phone number to "
            "contact me about it. The host sees my name."
        ),
        validators=[DataRequired(_l("Tick the box: we need it to tell you about the event."))],
    )
    website = StringField(
        _l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"}
    )
    submit = SubmitField(_l("RSVP"))

    def for_full_event(self) -> None:
        """When no place is free, the button says what happens instead."""
        self.submit.label.text = _l("Join the waitlist")

    @property
    def is_bot(self) -> bool:
        return bool(self.website.data)


class RsvpConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm I am coming"))


class ManageRsvpForm(FlaskForm):
    """The buttons of a person's RSVP page; only the ones that apply are shown."""

    cancel = SubmitField(_l("I can't come"))
    accept = SubmitField(_l("Take the place"))


class ProposeEventForm(FlaskForm):
    host_name = StringField(
        _l("Your name"),
        validators=[DataRequired(_l("Enter your name.")), MaxLength(120)],
        render_kw={"autocomplete": "name"},
    )
    host_email = EmailField(
        _l("Your email"),
        validators=[DataRequired(_l("Enter your email address.")), MaxLength(254), _valid_email],
        description=_l("Never shown. We send you a link to confirm, then your host page."),
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    title = StringField(
        _l("Title of the event"),
        validators=[DataRequired(_l("Enter a title.")), MaxLength(200)],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), MaxLength(EVENT_DESCRIPTION_MAX)],
        description=_l("What will happen, and what to bring. Markdown works: **bold**, lists."),
        render_kw={"rows": 5, "maxlength": EVENT_DESCRIPTION_MAX},
    )
    # InputRequired, not DataRequired: a date that cannot be read keeps its own message.
    date = DateField(_l("Date"), validators=[InputRequired(_l("Enter the date."))])
    starts = TimeField(_l("Starts at"), validators=[InputRequired(_l("Enter the time it starts."))])
    ends = TimeField(_l("Ends at"), validators=[InputRequired(_l("Enter the time it ends."))])
    timezone = SelectField(
        _l("Time zone"),
        validators=[DataRequired(_l("Choose a time zone from the list."))],
        # Filled in by the browser's own zone when the script runs; UTC otherwise.
        render_kw={"data-guess-zone": ""},
    )
    mode = RadioField(
        _l("Where does it happen?"),
        choices=[
            SelectChoice(EventMode.IN_PERSON.value, _l("In person")),
            SelectChoice(EventMode.ONLINE.value, _l("Online")),
            SelectChoice(EventMode.BOTH.value, _l("In person and online")),
        ],
        default=EventMode.IN_PERSON.value,
        validators=[DataRequired(_l("Choose one of the options."))],
    )
    venue = StringField(
        _l("Meeting place (optional)"),
        validators=[Optional(), MaxLength(200)],
        description=_l("A square, a park, a hall: where people find you."),
    )
    address = StringField(
        _l("Address (optional)"),
        validators=[Optional(), MaxLength(300)],
        render_kw={"autocomplete": "street-address"},
    )
    city = StringField(
        _l("City"),
        validators=[Optional(), MaxLength(120)],
        render_kw={"autocomplete": "address-level2"},
    )
    country = SelectField(
        _l("Country"), render_kw={"autocomplete": "country"}, widget=ListedOptionsSelect()
    )
    online_url = URLField(
        _l("Online link"),
        validators=[Optional(), MaxLength(500)],
        description=_l("For an online event: the link to join, starting with https://."),
        render_kw={"inputmode": "url"},
    )
    capacity = IntegerField(
        _l("Places (optional)"),
        validators=[
            Optional(),
            NumberRange(min=1, max=1_000_000, message=_l("Enter a number of places above zero.")),
        ],
        description=_l("Leave it empty when there is no limit."),
        render_kw={"inputmode": "numeric", "min": 1},
    )
    website = StringField(
        _l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"}
    )
    submit = SubmitField(_l("Propose the event"))

    def set_choices(self, language: str, zones: list[str]) -> None:
        self.country.choices = _country_choices(language, _l("Choose the country"))
        # IANA names are English identifiers ("America/New_York"), said as such.
        self.timezone.choices = [
            SelectChoice(zone, zone.replace("_", " "), {"lang": "en", "translate": "no"})
            for zone in zones
        ]

    @property
    def is_bot(self) -> bool:
        return bool(self.website.data)


class ProposalConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm my proposal"))


class HostMessageForm(FlaskForm):
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(_l("Write your message.")), MaxLength(HOST_MESSAGE_MAX)],
        description=_l(
            "Sent by email to everyone going, offered a place or on the waitlist. "
            "Your email address is not shown to them."
        ),
        render_kw={"rows": 6, "maxlength": HOST_MESSAGE_MAX},
    )
    submit = SubmitField(_l("Send to attendees"))


class SubscribeForm(FlaskForm):
    """Updates by email about one campaign: in the footer, on the petition, after signing."""

    # Not "Email": the sign form on the same page is found by that label.
    email = EmailField(
        _l("Your email address"),
        validators=[DataRequired(_l("Enter your email address.")), MaxLength(254), _valid_email],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    campaign = HiddenField()
    source = HiddenField()
    # A spam trap, named apart from the sign form's so the two can share a page.
    homepage = StringField(
        _l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"}
    )
    submit = SubmitField(_l("Subscribe"))

    @property
    def is_bot(self) -> bool:
        return bool(self.homepage.data)


class ConfirmSubscriptionForm(FlaskForm):
    submit = SubmitField(_l("Confirm my subscription"))


class PreferencesForm(FlaskForm):
    """The preference page; which campaigns stay on comes as a list of checkboxes."""

    language = SelectField(_l("Language of the emails"))
    save = SubmitField(_l("Save my choices"))
    unsubscribe_all = SubmitField(_l("Unsubscribe from everything"))


class UnsubscribeForm(FlaskForm):
    submit = SubmitField(_l("Unsubscribe"))
