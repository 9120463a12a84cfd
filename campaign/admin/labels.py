"""Words for states and roles, translated, for the panel's templates."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from campaign.admin import bp
from campaign.models import CampaignStatus, OutcomeKind, Role

STATUS_LABELS = {
    CampaignStatus.DRAFT: _l("Draft"),
    CampaignStatus.OPEN: _l("Open"),
    CampaignStatus.CLOSED: _l("Closed"),
    CampaignStatus.ARCHIVED: _l("Archived"),
}

ROLE_LABELS = {
    Role.OWNER: _l("owner"),
    Role.EDITOR: _l("editor"),
    Role.MODERATOR: _l("moderator"),
}

OUTCOME_LABELS = {
    OutcomeKind.VICTORY: _l("Victory"),
    OutcomeKind.OUTCOME: _l("Outcome"),
}


@bp.app_template_global()
def status_label(status: CampaignStatus) -> str:
    return str(STATUS_LABELS[CampaignStatus(status)])


@bp.app_template_global()
def role_label(role: Role) -> str:
    return str(ROLE_LABELS[Role(role)])


@bp.app_template_global()
def outcome_label(kind: OutcomeKind) -> str:
    return str(OUTCOME_LABELS[OutcomeKind(kind)])


@bp.app_template_global()
def has_endpoint(endpoint: str) -> bool:
    """Whether a screen exists, so links to features not installed are not drawn."""
    return endpoint in current_app.view_functions
