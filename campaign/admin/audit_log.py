"""A campaign's audit log.

Each action name gets a sentence in `ACTION_LABELS`; a feature that records a new action adds
its label there (unknown names are still shown, raw). The details an entry carries are shown
as a definition list, their keys named by `DETAIL_LABELS` where we have a word for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, redirect, render_template, url_for
from flask_babel import format_number, get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from campaign.admin import bp
from campaign.admin.access import campaign_screen, page_number
from campaign.admin.labels import (
    AUDIENCE_LABELS,
    COMMENT_POLICY_LABELS,
    COMMENT_STATUS_LABELS,
    OUTCOME_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
)
from campaign.extensions import db
from campaign.i18n import ui_language_name
from campaign.models import (
    Audience,
    AuditEntry,
    Campaign,
    CampaignStatus,
    CommentPolicy,
    CommentStatus,
    OutcomeKind,
    Role,
)
from campaign.pagination import Page
from campaign.services import audit
from campaign.services.authz import Action
from campaign.services.countries import country_name, is_country

PER_PAGE = 50

ACTION_LABELS = {
    "campaign.create": _l("Created the campaign"),
    "campaign.update": _l("Changed the campaign's settings"),
    "campaign.texts": _l("Changed the campaign's texts"),
    "campaign.status": _l("Changed the campaign's status"),
    "campaign.delete": _l("Deleted the campaign"),
    "campaign.outcome": _l("Posted an outcome"),
    "campaign.outcome_removed": _l("Removed the outcome"),
    "team.invite": _l("Invited someone to the team"),
    "team.join": _l("Joined the team"),
    "team.role": _l("Changed a team member's role"),
    "team.change_role": _l("Changed a team member's role"),
    "team.remove": _l("Removed someone from the team"),
    "team.leave": _l("Left the team"),
    "team.revoke": _l("Withdrew an invitation"),
    "signatures.export": _l("Exported the signatures"),
    "signatures.invalidate": _l("Invalidated suspicious signatures"),
    "signatures.restore": _l("Restored invalidated signatures"),
    "signatures.purge_unconfirmed": _l("Deleted old unconfirmed signatures"),
    "person.export": _l("Exported a person's data"),
    "person.erase": _l("Erased a person's data"),
    "signature.withdraw": _l("Withdrawn by the signer: their signature and this campaign's data"),
    "comment.approve": _l("Approved a comment"),
    "comment.hide": _l("Hid a comment"),
    "comment.remove": _l("Removed a comment"),
    "comment.block": _l("Blocked a commenter"),
    "comment.unblock": _l("Unblocked a commenter"),
    "comment.policy": _l("Changed the discussion policy"),
    "event.create": _l("Created an event"),
    "event.update": _l("Changed an event"),
    "event.cancel": _l("Cancelled an event"),
    "event.propose": _l("A supporter proposed an event"),
    "event.approve": _l("Approved a proposed event"),
    "event.decline": _l("Declined a proposed event"),
    "event.trust_host": _l("Trusted a host to publish events without approval"),
    "event.untrust_host": _l("Stopped trusting a host: their proposals wait for approval"),
    "event.host_message": _l("A host wrote to the people coming to their event"),
    "event.export": _l("Exported an event's attendees"),
    "rsvp.cancel": _l("Cancelled someone's RSVP"),
    "digest.unsubscribe": _l("Unsubscribed from digests with one click"),
    "broadcast.create": _l("Wrote an update"),
    "broadcast.update": _l("Changed an update"),
    "broadcast.test": _l("Sent a test of an update"),
    "broadcast.send": _l("Sent an update"),
    "broadcast.schedule": _l("Scheduled an update"),
    "broadcast.unschedule": _l("Cancelled an update's schedule"),
    "broadcast.pause": _l("Paused an update"),
    "broadcast.resume": _l("Resumed an update"),
    "paper.add": _l("Entered paper signatures"),
    "paper.delete": _l("Deleted an entry of paper signatures"),
}

DETAIL_LABELS = {
    "email": _l("Email"),
    "role": _l("Role"),
    "old_role": _l("Previous role"),
    "from": _l("From"),
    "to": _l("To"),
    "status": _l("Status"),
    "language": _l("Language"),
    "default_language": _l("Default language"),
    "languages": _l("Languages"),
    "fields": _l("Fields"),
    "changes": _l("Changes"),
    "slug": _l("Web address"),
    "title": _l("Title"),
    "goal": _l("Goal"),
    "kind": _l("Kind"),
    "filter": _l("Filter"),
    "q": _l("Search"),
    "rows": _l("Rows"),
    "person": _l("Person (anonymous reference)"),
    "signatures": _l("Signatures"),
    "confirmed_signatures": _l("Confirmed signatures"),
    "batch": _l("Batch number"),
    "reason": _l("Reason"),
    "bursts": _l("Bursts"),
    "days": _l("Older than (days)"),
    "emails": _l("Emails"),
    "subscriptions": _l("Subscriptions"),
    "comments": _l("Comments"),
    "rsvps": _l("RSVPs"),
    "comment": _l("Comment number"),
    "author": _l("Author's name"),
    "withdrawn": _l("Waiting comments removed"),
    "comment_policy": _l("Discussion"),
    "event": _l("Event number"),
    "city": _l("City"),
    "country": _l("Country"),
    "told": _l("People told by email"),
    "trusted": _l("Trusted host"),
    "recipients": _l("Recipients"),
    "name": _l("Name"),
    "update": _l("Update number"),
    "subject": _l("Subject"),
    "audience": _l("Who gets it"),
    "scheduled_at": _l("Scheduled for (UTC)"),
    "held": _l("Emails held back"),
    "count": _l("Number of signatures"),
    "collected_on": _l("Collected on"),
    "note": _l("Note"),
}


@dataclass(frozen=True)
class LogRow:
    """One entry as the screen shows it."""

    created_at: datetime
    actor: str
    description: str
    details: list[tuple[str, str]]


def describe(action: str) -> str:
    """A sentence for an action name; unknown names are shown as they are."""
    label = ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    return _("Other action: %(action)s", action=action)


def detail_items(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An entry's details as (label, text) pairs, in the order they were recorded."""
    if not isinstance(details, dict):
        return []
    return [(_key_label(key), _value_text(key, value)) for key, value in details.items()]


# Campaign text fields, named as on the texts form.
FIELD_LABELS = {
    "title": _l("Title"),
    "target": _l("Target (the decision makers)"),
    "summary": _l("Summary"),
    "body_markdown": _l("Appeal"),
    "call_to_action": _l("Call to action"),
    # An event's fields, named as on the event form.
    "description": _l("Description"),
    "language": _l("Language"),
    "starts_at": _l("Start"),
    "ends_at": _l("End"),
    "timezone": _l("Time zone"),
    "mode": _l("Where"),
    "venue": _l("Venue"),
    "address": _l("Address"),
    "city": _l("City"),
    "country": _l("Country"),
    "online_url": _l("Online link"),
    "latitude": _l("Latitude"),
    "longitude": _l("Longitude"),
    "capacity": _l("Places"),
    "contact": _l("Contact"),
    # An update's fields; its texts are "text_<language>".
    "audience": _l("Who gets it"),
    "event_id": _l("Event"),
    # Campaign settings that are not texts.
    "blocks_disposable_email": _l("Refuse disposable email addresses"),
    "blocked_email_domains": _l("Refused email domains"),
}


def _field_label(name: str) -> str:
    if name.startswith("text_"):
        return _("Text (%(language)s)", language=ui_language_name(name.removeprefix("text_")))
    return str(FIELD_LABELS.get(name, name))


def _value_text(key: str, value: Any) -> str:
    if key == "filter" and not value:
        return _("All signatures")
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if key == "fields" and isinstance(value, list | tuple):
        return ", ".join(_field_label(item) for item in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key in ("comment", "event", "update", "batch"):
        return str(value)  # an id, not a quantity: no thousands separator
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(key, item) for item in value)
    if isinstance(value, dict):
        if key == "changes":
            return "; ".join(_change_text(field, change) for field, change in value.items())
        return "; ".join(
            _("%(name)s: %(value)s", name=_key_label(name), value=_value_text(name, item))
            for name, item in value.items()
        )
    return _code_label(key, str(value))


def _change_text(field: str, change: Any) -> str:
    """One field of a "changes" detail, recorded as [old, new]."""
    if isinstance(change, list | tuple) and len(change) == 2:
        return _(
            "%(field)s: %(old)s → %(new)s",
            field=_key_label(field),
            old=_value_text(field, change[0]),
            new=_value_text(field, change[1]),
        )
    return _("%(name)s: %(value)s", name=_key_label(field), value=_value_text(field, change))


def _key_label(key: str) -> str:
    return str(DETAIL_LABELS.get(key, key))


def _code_label(key: str, value: str) -> str:
    """Roles, statuses, outcome kinds and languages are stored as codes: say them in words."""
    if key in ("role", "old_role") and value in set(Role):
        return str(ROLE_LABELS[Role(value)])
    # Campaign and comment statuses share no code, so "from"/"to" are read unambiguously.
    if key in ("from", "to", "status") and value in set(CampaignStatus):
        return str(STATUS_LABELS[CampaignStatus(value)])
    if key in ("from", "to", "status") and value in set(CommentStatus):
        return str(COMMENT_STATUS_LABELS[CommentStatus(value)])
    if key == "comment_policy" and value in set(CommentPolicy):
        return str(COMMENT_POLICY_LABELS[CommentPolicy(value)])
    if key == "kind" and value in set(OutcomeKind):
        return str(OUTCOME_LABELS[OutcomeKind(value)])
    if key == "audience" and value in set(Audience):
        return str(AUDIENCE_LABELS[Audience(value)])
    if key == "country" and is_country(value):
        return country_name(value, str(get_locale() or "en"))
    if key in ("language", "languages", "default_language") and value in _languages():
        return ui_language_name(value)
    return value


def _languages() -> list[str]:
    return current_app.config["LANGUAGES"]


def _row(entry: AuditEntry) -> LogRow:
    return LogRow(
        created_at=entry.created_at,
        actor=entry.actor_email or _("system"),
        description=describe(entry.action),
        details=detail_items(entry.details),
    )


@bp.route("/c/<slug>/audit")
@campaign_screen(Action.VIEW_AUDIT)
def audit_log(campaign: Campaign):
    number = page_number()
    entries, total = audit.campaign_log(db.session, campaign, page=number, per_page=PER_PAGE)
    page = Page(items=[_row(e) for e in entries], number=number, per_page=PER_PAGE, total=total)
    if number > page.pages:
        return redirect(url_for("admin.audit_log", slug=campaign.slug, page=page.pages))
    return render_template(
        "admin/audit/log.html", campaign=campaign, page=page, timezone=str(get_timezone())
    )
