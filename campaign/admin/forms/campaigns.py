"""Forms of the campaign screens: create, settings, texts, status, outcome, deletion."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from campaign.form_fields import IntegerField, MaxLength, SelectField, TextAreaField
from campaign.services.campaign_admin import (
    SLUG_MAX_LENGTH,
    SLUG_MIN_LENGTH,
    SLUG_PATTERN,
    CampaignTexts,
)
from campaign.services.email_domains import parse_domain_list

# An INTEGER column holds up to 2**31 - 1 on PostgreSQL; no petition needs more.
MAX_GOAL = 2_000_000_000


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _slug_field():
    return StringField(
        _l("Slug"),
        validators=[
            DataRequired(_l("Choose a slug.")),
            Length(
                min=SLUG_MIN_LENGTH,
                max=SLUG_MAX_LENGTH,
                message=_l(
                    "Use %(min)d to %(max)d characters.", min=SLUG_MIN_LENGTH, max=SLUG_MAX_LENGTH
                ),
            ),
            Regexp(
                SLUG_PATTERN,
                message=_l(
                    "Use only lowercase letters, digits and single hyphens between them, "
                    "like clean-air-2025."
                ),
            ),
        ],
        filters=[_strip],
        description=_l(
            "Part of the petition's address (/en/c/slug): lowercase letters, digits and hyphens."
        ),
        render_kw={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"},
    )


def _goal_field():
    return IntegerField(
        _l("Goal"),
        validators=[
            InputRequired(_l("Enter the number of signatures you aim for.")),
            NumberRange(
                min=1, max=MAX_GOAL, message=_l("Enter a whole number of signatures above zero.")
            ),
        ],
        description=_l("The number of signatures you aim for."),
        render_kw={"min": 1, "inputmode": "numeric"},
    )


def _language_field(label):
    return SelectField(label, validators=[DataRequired(_l("Choose a language."))])


class _TextFields(FlaskForm):
    """The texts readers of one language see."""

    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Enter a title.")), MaxLength(200)],
        filters=[_strip],
    )
    target = TextAreaField(
        _l("Target (the decision makers)"),
        validators=[DataRequired(_l("Say who the petition addresses.")), MaxLength(500)],
        filters=[_strip],
        description=_l("Who the petition addresses, e.g. “The Mayor of Springfield”."),
        render_kw={"rows": 2},
    )
    summary = TextAreaField(
        _l("Summary"),
        validators=[DataRequired(_l("Enter a summary.")), MaxLength(500)],
        filters=[_strip],
        description=_l("One or two sentences under the title, also shown when people share it."),
        render_kw={"rows": 3},
    )
    body_markdown = TextAreaField(
        _l("Appeal"),
        validators=[DataRequired(_l("Write the appeal.")), MaxLength(100_000)],
        filters=[_strip],
        description=_l(
            "Markdown: **bold**, *italic*, ## a heading, - a list item, [a link](https://…)."
        ),
        render_kw={"rows": 14},
    )
    call_to_action = StringField(
        _l("Call to action"),
        validators=[DataRequired(_l("Enter a call to action.")), MaxLength(200)],
        filters=[_strip],
        description=_l("The button that leads readers to the form, e.g. “Add your name”."),
    )

    def text_fields(self):
        return [self.title, self.target, self.summary, self.body_markdown, self.call_to_action]

    def texts(self) -> CampaignTexts:
        return CampaignTexts(
            title=self.title.data or "",
            target=self.target.data or "",
            summary=self.summary.data or "",
            body_markdown=self.body_markdown.data or "",
            call_to_action=self.call_to_action.data or "",
        )


class NewCampaignForm(_TextFields):
    slug = _slug_field()
    goal = _goal_field()
    default_language = _language_field(_l("Default language"))
    submit = SubmitField(_l("Create the campaign"))


def _domain_list(form, field):
    _valid, invalid = parse_domain_list(field.data or "")
    if invalid:
        raise ValidationError(
            _l("These lines are not domains: %(lines)s", lines=", ".join(invalid[:5]))
        )


class SettingsForm(FlaskForm):
    slug = _slug_field()
    goal = _goal_field()
    default_language = _language_field(_l("Default language"))
    blocks_disposable_email = BooleanField(
        _l("Refuse signatures from disposable email addresses"),
        description=_l(
            "Throwaway mailboxes (from a list of about 120,000 domains) are the cheapest way to "
            "inflate a count. People who use one are asked for another address."
        ),
    )
    blocked_email_domains = TextAreaField(
        _l("Also refuse these email domains (optional)"),
        validators=[Optional(), MaxLength(20_000), _domain_list],
        description=_l("One domain per line, such as example.com. Its subdomains are refused too."),
        render_kw={"rows": 4, "autocomplete": "off", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Save settings"))


class TextsForm(_TextFields):
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save"))


class StatusForm(FlaskForm):
    to = HiddenField()
    understand = BooleanField(
        _l("I understand"), validators=[DataRequired(_l("Tick the box to confirm."))]
    )
    submit = SubmitField(_l("Confirm"))


OUTCOME_NONE = "none"


class _OutcomeBase(FlaskForm):
    kind = SelectField(
        _l("What happened"),
        choices=[
            SelectChoice("victory", _l("Victory: the demand was met")),
            SelectChoice("outcome", _l("Another outcome worth telling supporters")),
            SelectChoice(OUTCOME_NONE, _l("Nothing to show (removes the outcome)")),
        ],
    )
    submit = SubmitField(_l("Save the outcome"))

    def text_fields(self):
        return [field for field in self if field.name.startswith("text_")]

    def texts(self) -> dict[str, str]:
        return {field.name.removeprefix("text_"): field.data or "" for field in self.text_fields()}


def outcome_form(
    languages: list[str], default_language: str, names: dict[str, str], **kwargs
) -> _OutcomeBase:
    """The outcome form with a Markdown text field per language the campaign has texts in,
    the default language first."""
    ordered = sorted(languages, key=lambda language: (language != default_language, language))
    fields = {
        f"text_{language}": TextAreaField(
            _l("Text in %(language)s", language=names.get(language, language)),
            validators=[Optional(), MaxLength(20_000)],
            filters=[_strip],
            description=(
                _l("Required: readers of other languages fall back to it.")
                if language == default_language
                else _l("Readers of this language see it; leave it empty to show the default.")
            ),
            render_kw={"rows": 6, "lang": language},
        )
        for language in ordered
    }
    form_class = type("OutcomeForm", (_OutcomeBase,), fields)
    return form_class(**kwargs)


class DeleteForm(FlaskForm):
    confirm_slug = StringField(
        _l("Slug of the campaign"),
        validators=[DataRequired(_l("Type the slug to confirm."))],
        filters=[_strip],
        render_kw={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"},
    )
    submit = SubmitField(_l("Delete the campaign for ever"))
