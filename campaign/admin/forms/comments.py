"""Forms of the moderation screens: the actions on a comment, unblocking, the discussion policy."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from campaign.form_fields import SelectField
from campaign.models import CommentPolicy


class ModerationActionForm(FlaskForm):
    """Approve, hide, unblock: one button each, whose only field is the CSRF token.

    The button's words depend on the comment, so templates write the button themselves.
    """


class RemoveCommentForm(FlaskForm):
    submit = SubmitField(_l("Remove the comment"))


class BlockAuthorForm(FlaskForm):
    submit = SubmitField(_l("Block the author"))


POLICY_CHOICES = [
    SelectChoice(CommentPolicy.OFF.value, _l("Off: no discussion on the petition page")),
    SelectChoice(
        CommentPolicy.POST_MODERATED.value,
        _l("Post-moderated: comments are visible at once, moderated afterwards"),
    ),
    SelectChoice(
        CommentPolicy.PRE_MODERATED.value,
        _l("Pre-moderated: each comment waits until a moderator approves it"),
    ),
]


def _policy_or_none(value) -> CommentPolicy | None:
    try:
        return CommentPolicy(value)
    except ValueError:
        return None  # then "Choose a policy." rather than WTForms' "could not coerce"


class CommentPolicyForm(FlaskForm):
    policy = SelectField(
        _l("Discussion"),
        choices=POLICY_CHOICES,
        coerce=_policy_or_none,
        validate_choice=False,  # every CommentPolicy is a choice; anything else is None
        validators=[DataRequired(_l("Choose a policy."))],
    )
    submit = SubmitField(_l("Save the policy"))
