"""The whole matrix of role × admin screen, found from the app's own routes.

Every view of /admin/c/<slug>/… is decorated with `campaign_screen(action)`, which records the
action it checks. This test walks each such route with each kind of visitor and expects:
allowed → the screen answers (never 403); a role that does not allow it → 403; an organizer of
another campaign → 404 without a trace of the campaign; anonymous → the login page. A new
screen is covered the moment it exists.
"""

from __future__ import annotations

import re

import pytest

from campaign import create_app
from campaign.models import Role
from campaign.services.authz import PERMISSIONS
from tests.conftest import test_config as config_for
from tests.factories import add_member, login, make_campaign, make_organizer

SECRET_TITLE = "Matrix secret title"


def _admin_campaign_routes():
    app = create_app(config_for("sqlite://", _NoServer()))
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        action = getattr(view, "required_action", None)
        if action is None or not rule.rule.startswith("/admin/c/"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, rule.rule, method, action))
    return routes


class _NoServer:
    api_key = "unused"
    url = "http://127.0.0.1:9"


ROUTES = _admin_campaign_routes()
VISITORS = ["owner", "editor", "moderator", "outsider", "site_admin", "anonymous"]


def _url(rule: str, slug: str) -> str:
    """Fill a rule's arguments: the slug, a language, and 1 for any id."""

    def value(match):
        converter, name = match.group(1), match.group(2)
        if name == "slug":
            return slug
        if name in ("lang", "language"):
            return "en"
        if converter in ("int",):
            return "1"
        return "x"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", value, rule)


def test_there_are_screens_to_check():
    assert len(ROUTES) >= 10, ROUTES


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize(
    ("endpoint", "rule", "method", "action"),
    ROUTES,
    ids=[f"{method} {endpoint}" for endpoint, _, method, _ in ROUTES],
)
def test_role_matrix(app, db, client, endpoint, rule, method, action, visitor):
    campaign = make_campaign(slug="matrix", title=SECRET_TITLE)
    other = make_campaign(slug="elsewhere")
    members = {}
    for role in Role:
        members[role.value] = make_organizer()
        add_member(campaign, members[role.value], role)
    outsider = make_organizer()
    add_member(other, outsider, Role.OWNER)
    site_admin = make_organizer(is_admin=True)
    db.session.commit()

    who = {"outsider": outsider, "site_admin": site_admin, **members}.get(visitor)
    if who is not None:
        assert login(client, who).status_code == 302
    url = _url(rule, campaign.slug)
    response = client.open(url, method=method, data={})
    body = response.get_data(as_text=True)

    if visitor == "anonymous":
        assert response.status_code == 302
        assert "/admin/login" in response.location
    elif visitor == "outsider":
        assert response.status_code == 404, f"{method} {url} answered {response.status_code}"
        assert SECRET_TITLE not in body
    elif visitor == "site_admin" or Role(visitor) in PERMISSIONS[action]:
        assert response.status_code not in (401, 403), f"{visitor} refused {method} {url}"
        assert response.status_code < 500
    else:
        assert response.status_code == 403, f"{visitor} got {response.status_code} on {url}"
        assert SECRET_TITLE not in body


PUBLIC_ADMIN_ENDPOINTS = {
    "admin.login",
    "admin.logout",
    "admin.forgot_password",
    "admin.reset_password",
    "admin.accept_invitation",
}


def _all_admin_routes():
    app = create_app(config_for("sqlite://", _NoServer()))
    return sorted(
        (rule.endpoint, rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin") and rule.endpoint not in PUBLIC_ADMIN_ENDPOINTS
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    )


@pytest.mark.parametrize(("endpoint", "rule", "method"), _all_admin_routes())
def test_every_other_admin_url_needs_a_login(app, db, client, endpoint, rule, method):
    make_campaign(slug="matrix", title=SECRET_TITLE)
    db.session.commit()
    response = client.open(_url(rule, "matrix"), method=method, data={})
    assert response.status_code == 302, f"{method} {rule} answered {response.status_code}"
    assert "/admin/login" in response.location
