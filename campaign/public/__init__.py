"""Public pages: petitions, signing and confirming, discussion, rallies, under a language prefix."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from campaign.public import (  # noqa: E402,F401  (registers the routes)
    comments,
    events,
    printed,
    privacy,
    share,
    subscriptions,
    updates,
    views,
)
