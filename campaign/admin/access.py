"""Login, the admin language, and the decorator that checks every campaign screen."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, g, request
from flask_login import current_user, login_required
from sqlalchemy import select

from campaign.admin import bp
from campaign.extensions import db, login_manager
from campaign.models import Campaign, Organizer
from campaign.services.authz import Action, NotAllowed, NotAMember, allowed_actions, authorize


@login_manager.user_loader
def _load_organizer(user_id: str) -> Organizer | None:
    organizer_id, _, version = user_id.partition(".")
    if not organizer_id.isdigit() or not version.isdigit():
        return None
    organizer = db.session.get(Organizer, int(organizer_id))
    # A changed password bumps the version and so ends every session made before it.
    if organizer is None or organizer.session_version != int(version) or not organizer.is_active:
        return None
    return organizer


@bp.before_request
def _admin_language():
    if current_user.is_authenticated:
        g.lang = current_user.language
    else:
        from campaign.i18n import best_language

        g.lang = best_language()


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: `next` must not leave the site."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def campaign_screen(action: Action):
    """Decorate a view of /admin/c/<slug>/…: login required, then `action` allowed on it.

    The view gets the campaign as its first argument. No role at all: 404, as if the campaign
    did not exist; a role that does not allow the action: 403.
    """

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(slug: str, **kwargs):
            campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
            if campaign is None:
                abort(404)
            try:
                authorize(db.session, current_user, campaign, action)
            except NotAMember:
                abort(404)
            except NotAllowed:
                abort(403)
            g.campaign = campaign
            g.allowed = allowed_actions(db.session, current_user, campaign)
            return view(campaign, **kwargs)

        wrapper.required_action = action
        return wrapper

    return decorator


def page_number() -> int:
    """The `page` query argument, at least 1."""
    return max(1, request.args.get("page", 1, type=int) or 1)
