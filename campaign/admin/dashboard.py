"""The organizer's home: their campaigns at a glance."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from campaign.admin import bp
from campaign.admin.forms.auth import LogoutForm
from campaign.extensions import db
from campaign.services import stats
from campaign.services.authz import visible_campaigns


@bp.route("/")
@login_required
def dashboard():
    campaigns = visible_campaigns(db.session, current_user)
    rows = stats.dashboard_rows(db.session, campaigns, current_user.language)
    return render_template("admin/dashboard.html", rows=rows, logout_form=LogoutForm())
