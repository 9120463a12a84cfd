"""The panel's navigation. Later features add their screens to CAMPAIGN_NAV."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from flask_babel import lazy_gettext as _l

from campaign.admin import bp
from campaign.services.authz import Action


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy string
    action: Action
    also: tuple[str, ...] = ()  # screens reached from this one, where its tab stays current

    def is_current(self, endpoint: str | None) -> bool:
        return endpoint == self.endpoint or endpoint in self.also


CAMPAIGN_NAV: list[NavItem] = [
    NavItem("admin.campaign_overview", _l("Overview"), Action.VIEW, ("admin.campaign_status",)),
    NavItem(
        "admin.campaign_edit",
        _l("Settings and texts"),
        Action.EDIT,
        ("admin.campaign_texts", "admin.campaign_outcome", "admin.campaign_delete"),
    ),
    NavItem("admin.campaign_stats", _l("Statistics"), Action.VIEW_STATS),
    NavItem("admin.signatures", _l("Signatures"), Action.VIEW_SIGNATURES),
    NavItem(
        "admin.comments",
        _l("Comments"),
        Action.MODERATE,
        ("admin.comment_remove", "admin.comment_block", "admin.comment_blocks"),
    ),
    NavItem(
        "admin.suspicious_activity",
        _l("Suspicious activity"),
        Action.REVIEW_SUSPICIOUS,
        ("admin.suspicious_invalidate", "admin.suspicious_invalidated"),
    ),
    NavItem(
        "admin.events",
        _l("Events"),
        Action.MANAGE_EVENTS,
        (
            "admin.event_new",
            "admin.event_edit",
            "admin.event_cancel",
            "admin.event_approve",
            "admin.event_decline",
            "admin.event_attendees",
            "admin.rsvp_cancel",
            "admin.event_attendees_csv",
            "admin.event_sign_in_sheet",
            "admin.where_to_rally",
            "admin.untrust_host",
        ),
    ),
    NavItem(
        "admin.broadcasts_index",
        _l("Updates"),
        Action.SEND_BROADCASTS,
        (
            "admin.broadcast_new",
            "admin.broadcast",
            "admin.broadcast_edit",
            "admin.broadcast_test",
            "admin.broadcast_send",
            "admin.broadcast_schedule",
        ),
    ),
    NavItem(
        "admin.paper_signatures",
        _l("Paper signatures"),
        Action.ENTER_PAPER_SIGNATURES,
        ("admin.paper_signatures_delete",),
    ),
    NavItem("admin.team", _l("Team"), Action.MANAGE_TEAM, ("admin.team_remove",)),
    NavItem("admin.people", _l("People"), Action.ERASE_PEOPLE),
    NavItem("admin.audit_log", _l("Audit log"), Action.VIEW_AUDIT),
]


@bp.app_context_processor
def _campaign_nav():
    campaign = g.get("campaign")
    if campaign is None:
        return {"campaign_nav": []}
    allowed = g.get("allowed", set())
    items = [
        item
        for item in CAMPAIGN_NAV
        if item.endpoint in current_app.view_functions and item.action in allowed
    ]
    return {"campaign_nav": items}
