"""The team screen: members, roles, removal, invitations; owners only."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from campaign.mail.backends import backend_from_config
from campaign.mail.delivery import deliver_due
from campaign.models import AuditEntry, Invitation, Membership, Role
from campaign.services import organizers
from tests.conftest import test_config as config_for
from tests.factories import add_member, login, make_campaign, make_organizer

SECRET_TITLE = "Team secret title"


@pytest.fixture
def app_config(request, database_url, sendgrid):
    """Settings for `app`; a test changes some: `parametrize("app_config", […], indirect=True)`."""
    return config_for(database_url, sendgrid, **getattr(request, "param", {}))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def membership(db, campaign, organizer) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.campaign_id == campaign.id, Membership.organizer_id == organizer.id
        )
    )


def audit_actions(db, campaign) -> list[tuple[str, dict]]:
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.campaign_id == campaign.id).order_by(AuditEntry.id)
    )
    return [(entry.action, entry.details) for entry in entries]


class Crew:
    def __init__(self, db):
        self.campaign = make_campaign(slug="crew", title=SECRET_TITLE)
        self.owner = make_organizer(email="olga@example.org", name="Olga Owner")
        self.editor = make_organizer(email="ed@example.org", name="Ed Editor")
        self.moderator = make_organizer(email="mo@example.org", name="Mo Moderator")
        add_member(self.campaign, self.owner, Role.OWNER)
        add_member(self.campaign, self.editor, Role.EDITOR)
        add_member(self.campaign, self.moderator, Role.MODERATOR)
        self.other = make_campaign(slug="elsewhere")
        self.outsider = make_organizer(email="out@example.org", name="Otto Outsider")
        add_member(self.other, self.outsider, Role.OWNER)
        self.invitation = organizers.invite(
            db.session, self.owner, self.campaign, "pending@example.org", Role.EDITOR
        )
        db.session.commit()

    def member_id(self, db, organizer) -> int:
        return membership(db, self.campaign, organizer).id

    def urls(self, db) -> list[tuple[str, str]]:
        """Every team URL of the campaign, with real ids in it."""
        base = "/admin/c/crew/team"
        member = self.member_id(db, self.editor)
        return [
            ("GET", base),
            ("POST", f"{base}/invite"),
            ("POST", f"{base}/members/{member}/role"),
            ("GET", f"{base}/members/{member}/remove"),
            ("POST", f"{base}/members/{member}/remove"),
            ("POST", f"{base}/invitations/{self.invitation.id}/revoke"),
        ]


@pytest.fixture
def crew(db) -> Crew:
    return Crew(db)


def role_data(db, crew, organizer, role: str) -> tuple[str, dict]:
    member = crew.member_id(db, organizer)
    return f"/admin/c/crew/team/members/{member}/role", {f"member-{member}-role": role}


# --- the screen -------------------------------------------------------------------------------


def test_the_team_screen_lists_members_and_invitations(client, db, crew):
    login(client, crew.owner)
    response = client.get("/admin/c/crew/team")
    assert response.status_code == 200
    html = response.text

    assert "3 members" in html
    for name, email in (
        ("Olga Owner", "olga@example.org"),
        ("Ed Editor", "ed@example.org"),
        ("Mo Moderator", "mo@example.org"),
    ):
        assert name in html
        assert email in html
    assert html.index("Olga Owner") < html.index("Ed Editor") < html.index("Mo Moderator")
    assert "Otto Outsider" not in html
    # Each member but the only owner gets a role form and a remove link.
    editor_id = crew.member_id(db, crew.editor)
    assert re.search(rf'<label for="member-{editor_id}-role">\s*Role\s*</label>', html)
    select_html = re.search(
        rf'<select[^>]*name="member-{editor_id}-role"[^>]*>.*?</select>', html, re.S
    ).group(0)
    assert re.search(r'<option selected value="editor">Editor</option>', select_html)
    assert 'aria-label="Save the role of Ed Editor"' in html
    assert f'href="/admin/c/crew/team/members/{editor_id}/remove">Remove Ed Editor…</a>' in html
    owner_id = crew.member_id(db, crew.owner)
    assert f'name="member-{owner_id}-role"' not in html
    assert f"/members/{owner_id}/remove" not in html
    assert "The only owner" in html
    # The pending invitation, with its revoke button.
    assert "pending@example.org" in html
    assert f"/admin/c/crew/team/invitations/{crew.invitation.id}/revoke" in html
    assert "The link works until" in html
    # The invite form, with visible labels.
    assert re.search(r'<label for="email">\s*Email\s*</label>', html)
    assert re.search(r'<label for="role">\s*Role\s*</label>', html)
    assert 'value="Send invitation"' in html
    # Inviting someone as owner is a choice, not the default.
    invite_role = re.search(r'<select[^>]*id="role"[^>]*>.*?</select>', html, re.S).group(0)
    assert '<option selected value="editor">' in invite_role


def test_the_campaign_menu_links_the_team_screen_for_owners_only(client, db, crew):
    login(client, crew.owner)
    assert 'href="/admin/c/crew/team"' in client.get("/admin/c/crew/team").text


# --- inviting ---------------------------------------------------------------------------------


def test_an_owner_invites_someone_by_email(app, client, db, mail, crew):
    login(client, crew.owner)
    response = client.post(
        "/admin/c/crew/team/invite", data={"email": " Nina@Example.org ", "role": "moderator"}
    )
    assert response.status_code == 302
    assert path_of(response.location) == "/admin/c/crew/team"
    page = client.get("/admin/c/crew/team").text
    assert "Invitation sent to nina@example.org as moderator." in page
    assert "nina@example.org" in page

    deliver_due(db.session, backend_from_config(app.config), app.config)
    (message,) = mail.to("nina@example.org")
    assert any("/admin/invitation/" in link for link in message.links())
    assert ("team.invite", {"email": "nina@example.org", "role": "moderator"}) in audit_actions(
        db, crew.campaign
    )


@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        ("ed@example.org", "editor", "ed@example.org is already on the team as editor"),
        ("ED@example.org", "owner", "ed@example.org is already on the team as editor"),
        ("olga@example.org", "editor", "olga@example.org is already on the team as owner"),
        ("pending@example.org", "editor", "pending@example.org is already invited."),
        ("Pending@Example.org", "owner", "pending@example.org is already invited."),
        ("not an address", "editor", "Enter a valid email address."),
        ("", "editor", "Enter an email address."),
        ("new@example.org", "boss", "Choose a role."),
    ],
)
def test_inviting_explains_what_is_wrong(client, db, mail, crew, email, role, message):
    login(client, crew.owner)
    response = client.post("/admin/c/crew/team/invite", data={"email": email, "role": role})
    assert response.status_code == 422
    html = response.text
    assert message in html
    assert 'role="alert"' in html
    # The page is the whole team screen again, with what was typed kept.
    assert "Olga Owner" in html
    if email:
        assert f'value="{email}"' in html
    assert len(db.session.scalars(select(Invitation)).all()) == 1


def test_a_revoked_invitation_can_be_sent_again(client, db, crew):
    login(client, crew.owner)
    revoke = f"/admin/c/crew/team/invitations/{crew.invitation.id}/revoke"
    assert client.post(revoke).status_code == 302
    response = client.post(
        "/admin/c/crew/team/invite", data={"email": "pending@example.org", "role": "owner"}
    )
    assert response.status_code == 302


# --- revoking ---------------------------------------------------------------------------------


def test_an_owner_revokes_an_invitation(client, db, crew):
    login(client, crew.owner)
    response = client.post(f"/admin/c/crew/team/invitations/{crew.invitation.id}/revoke")
    assert path_of(response.location) == "/admin/c/crew/team"
    page = client.get("/admin/c/crew/team").text
    assert "The invitation to pending@example.org is revoked." in page
    assert "No invitations are waiting." in page
    db.session.refresh(crew.invitation)
    assert crew.invitation.revoked_at is not None
    assert ("team.revoke", {"email": "pending@example.org", "role": "editor"}) in audit_actions(
        db, crew.campaign
    )

    again = client.post(f"/admin/c/crew/team/invitations/{crew.invitation.id}/revoke")
    assert again.status_code == 302
    assert "already accepted or revoked" in client.get("/admin/c/crew/team").text


# --- changing roles ---------------------------------------------------------------------------


def test_an_owner_changes_a_members_role(client, db, crew):
    login(client, crew.owner)
    url, data = role_data(db, crew, crew.moderator, "editor")
    response = client.post(url, data=data)
    assert path_of(response.location) == "/admin/c/crew/team"
    assert "Mo Moderator is now editor." in client.get("/admin/c/crew/team").text
    assert membership(db, crew.campaign, crew.moderator).role == Role.EDITOR
    assert (
        "team.change_role",
        {"email": "mo@example.org", "old_role": "moderator", "role": "editor"},
    ) in audit_actions(db, crew.campaign)


def test_choosing_the_same_role_changes_nothing(client, db, crew):
    login(client, crew.owner)
    url, data = role_data(db, crew, crew.editor, "editor")
    client.post(url, data=data)
    assert "Ed Editor already has that role." in client.get("/admin/c/crew/team").text
    assert not [a for a, _ in audit_actions(db, crew.campaign) if a == "team.change_role"]


def test_a_bad_role_is_refused(client, db, crew):
    login(client, crew.owner)
    url, data = role_data(db, crew, crew.editor, "king")
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert membership(db, crew.campaign, crew.editor).role == Role.EDITOR


def test_the_last_owner_cannot_be_demoted(client, db, crew):
    login(client, crew.owner)
    url, data = role_data(db, crew, crew.owner, "editor")
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert "You are this campaign&#39;s only owner." in response.text
    assert membership(db, crew.campaign, crew.owner).role == Role.OWNER
    assert not [a for a, _ in audit_actions(db, crew.campaign) if a == "team.change_role"]


def test_an_owner_steps_down_when_there_is_another_owner(client, db, crew):
    login(client, crew.owner)
    url, data = role_data(db, crew, crew.editor, "owner")
    client.post(url, data=data)
    url, data = role_data(db, crew, crew.owner, "editor")
    response = client.post(url, data=data)
    # No longer allowed on the team screen: sent to the dashboard.
    assert path_of(response.location) == "/admin/"
    assert membership(db, crew.campaign, crew.owner).role == Role.EDITOR
    assert client.get("/admin/c/crew/team").status_code == 403


def test_a_site_admin_manages_the_team_but_not_past_the_last_owner(client, db, crew):
    admin = make_organizer(is_admin=True)
    login(client, admin)
    assert client.get("/admin/c/crew/team").status_code == 200
    url, data = role_data(db, crew, crew.editor, "moderator")
    assert client.post(url, data=data).status_code == 302
    url, data = role_data(db, crew, crew.owner, "moderator")
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert "A campaign needs at least one owner." in response.text


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_role_forms_carry_their_csrf_token(client, db, crew):
    page = client.get("/admin/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"email": crew.owner.email, "password": "correct horse battery", "csrf_token": token}
    assert client.post("/admin/login", data=data).status_code == 302

    url, data = role_data(db, crew, crew.moderator, "editor")
    assert client.post(url, data=data).status_code == 400  # no token: refused
    html = client.get("/admin/c/crew/team").text
    member = crew.member_id(db, crew.moderator)
    token = re.search(rf'name="member-{member}-csrf_token" type="hidden" value="([^"]+)"', html)
    response = client.post(url, data={**data, f"member-{member}-csrf_token": token.group(1)})
    assert response.status_code == 302
    assert membership(db, crew.campaign, crew.moderator).role == Role.EDITOR

    revoke = f"/admin/c/crew/team/invitations/{crew.invitation.id}/revoke"
    assert client.post(revoke).status_code == 400
    (token,) = set(re.findall(r'name="csrf_token" value="([^"]+)"', html))
    assert client.post(revoke, data={"csrf_token": token}).status_code == 302


# --- removing and leaving ---------------------------------------------------------------------


def test_removing_asks_first(client, db, crew):
    login(client, crew.owner)
    url = f"/admin/c/crew/team/members/{crew.member_id(db, crew.editor)}/remove"
    page = client.get(url)
    assert page.status_code == 200
    assert "Remove Ed Editor from the team?" in page.text
    assert 'value="Remove from the team"' in page.text
    assert membership(db, crew.campaign, crew.editor) is not None


def test_a_removed_member_loses_access_at_once(app, client, db, crew):
    second_owner = make_organizer(email="sam@example.org", name="Sam Second")
    add_member(crew.campaign, second_owner, Role.OWNER)
    db.session.commit()
    theirs = app.test_client()
    login(theirs, second_owner)
    assert theirs.get("/admin/c/crew/team").status_code == 200

    login(client, crew.owner)
    url = f"/admin/c/crew/team/members/{crew.member_id(db, second_owner)}/remove"
    response = client.post(url)
    assert path_of(response.location) == "/admin/c/crew/team"
    assert "Sam Second is no longer on the team." in client.get("/admin/c/crew/team").text

    assert membership(db, crew.campaign, second_owner) is None
    response = theirs.get("/admin/c/crew/team")
    assert response.status_code == 404
    assert SECRET_TITLE not in response.text
    assert "crew" not in theirs.get("/admin/").text
    assert ("team.remove", {"email": "sam@example.org", "role": "owner"}) in audit_actions(
        db, crew.campaign
    )


def test_the_last_owner_cannot_leave(client, db, crew):
    login(client, crew.owner)
    url = f"/admin/c/crew/team/members/{crew.member_id(db, crew.owner)}/remove"
    page = client.get(url)
    assert page.status_code == 200
    assert "Leave the team?" in page.text
    assert "A campaign needs at least one owner." in page.text
    assert 'type="submit"' not in page.text.split("<main", 1)[1]

    response = client.post(url)
    assert response.status_code == 422
    assert "You are this campaign&#39;s only owner." in response.text
    assert membership(db, crew.campaign, crew.owner) is not None


def test_an_owner_leaves_when_another_owner_remains(client, db, crew):
    add_member(crew.campaign, make_organizer(), Role.OWNER)
    login(client, crew.owner)
    url = f"/admin/c/crew/team/members/{crew.member_id(db, crew.owner)}/remove"
    assert 'value="Leave the team"' in client.get(url).text

    response = client.post(url)
    assert path_of(response.location) == "/admin/"
    assert "You left the team of crew." in client.get("/admin/").text
    assert client.get("/admin/c/crew/team").status_code == 404
    assert ("team.leave", {"email": "olga@example.org", "role": "owner"}) in audit_actions(
        db, crew.campaign
    )


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["editor", "moderator"])
def test_editors_and_moderators_get_403_on_every_team_url(client, db, crew, who):
    login(client, getattr(crew, who))
    for method, url in crew.urls(db):
        response = client.open(url, method=method, data={"email": "x@example.org", "role": "owner"})
        assert response.status_code == 403, f"{method} {url}: {response.status_code}"
        assert "pending@example.org" not in response.text
    assert crew.invitation.is_pending
    assert membership(db, crew.campaign, crew.editor).role == Role.EDITOR
    assert len(db.session.scalars(select(Invitation)).all()) == 1


def test_another_campaigns_owner_gets_404_on_every_team_url(client, db, crew):
    login(client, crew.outsider)
    for method, url in crew.urls(db):
        response = client.open(url, method=method, data={"email": "x@example.org", "role": "owner"})
        assert response.status_code == 404, f"{method} {url}: {response.status_code}"
        assert SECRET_TITLE not in response.text
        assert "pending@example.org" not in response.text
    assert crew.invitation.is_pending
    assert membership(db, crew.campaign, crew.editor) is not None


def test_ids_from_another_campaign_are_not_found(client, db, crew):
    """An owner cannot reach another campaign's members or invitations through their own URL."""
    foreign_invitation = organizers.invite(
        db.session, crew.outsider, crew.other, "x@example.org", Role.EDITOR
    )
    foreign_member = membership(db, crew.other, crew.outsider).id
    db.session.commit()
    login(client, crew.owner)
    base = "/admin/c/crew/team"
    for method, url, data in (
        (
            "POST",
            f"{base}/members/{foreign_member}/role",
            {f"member-{foreign_member}-role": "moderator"},
        ),
        ("GET", f"{base}/members/{foreign_member}/remove", {}),
        ("POST", f"{base}/members/{foreign_member}/remove", {}),
        ("POST", f"{base}/invitations/{foreign_invitation.id}/revoke", {}),
    ):
        assert client.open(url, method=method, data=data).status_code == 404, url
    assert membership(db, crew.other, crew.outsider).role == Role.OWNER
    db.session.refresh(foreign_invitation)
    assert foreign_invitation.is_pending


def test_anonymous_visitors_are_sent_to_login(client, db, crew):
    for method, url in crew.urls(db):
        response = client.open(url, method=method)
        assert response.status_code == 302
        assert path_of(response.location).startswith("/admin/login?next=")
