"""Forms of the suspicious-activity screens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import Optional

from campaign.form_fields import MaxLength
from campaign.services.suspicious import REASON_MAX


class InvalidateForm(FlaskForm):
    """The confirmation of an invalidation. The chosen bursts come as `burst` values."""

    # How many signatures the page said would go: if more arrived meanwhile, it asks again.
    expected = HiddenField()
    reason = StringField(
        _l("Reason (optional)"),
        validators=[Optional(), MaxLength(REASON_MAX)],
        description=_l("For the team and the audit log, such as “one network, 300 in 5 minutes”."),
        render_kw={"maxlength": REASON_MAX},
    )
    submit = SubmitField(_l("Invalidate these signatures"))


class RestoreForm(FlaskForm):
    submit = SubmitField(_l("Restore"))
