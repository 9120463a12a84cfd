"""The organizer panel under /admin/."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Each module registers its routes on `bp`.
from campaign.admin import (  # noqa: E402,F401
    access,
    audit_log,
    auth,
    broadcasts,
    campaigns,
    comments,
    dashboard,
    events,
    labels,
    nav,
    paper,
    people,
    signatures,
    statistics,
    suspicious,
    team,
)
