"""Forms of the team screen: invite, change a member's role, remove, revoke."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email

from campaign.form_fields import MaxLength, SelectField
from campaign.models import Role

ROLE_CHOICES = [
    SelectChoice(Role.OWNER.value, _l("Owner")),
    SelectChoice(Role.EDITOR.value, _l("Editor")),
    SelectChoice(Role.MODERATOR.value, _l("Moderator")),
]


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def _role_or_none(value) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None  # then "Choose a role." rather than WTForms' "could not coerce"


def _role_field(label, **kwargs):
    return SelectField(
        label,
        choices=ROLE_CHOICES,
        coerce=_role_or_none,
        validate_choice=False,  # every Role is a choice; anything else is None
        validators=[DataRequired(_l("Choose a role."))],
        **kwargs,
    )


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter an email address.")),
            MaxLength(254),
            Email(_l("Enter a valid email address.")),
        ],
        render_kw={"autocomplete": "off"},
    )
    # Editor, not owner, unless the owner chooses: owners can remove everyone else.
    role = _role_field(_l("Role"), default=Role.EDITOR.value)
    submit = SubmitField(_l("Send invitation"))


class RoleForm(FlaskForm):
    """One per member on the team screen, told apart by a prefix with the membership's id."""

    role = _role_field(_l("Role"))
    submit = SubmitField(_l("Save"))


def role_form(membership_id: int, **kwargs) -> RoleForm:
    return RoleForm(prefix=f"member-{membership_id}", **kwargs)


class RemoveMemberForm(FlaskForm):
    submit = SubmitField(_l("Remove from the team"))
