"""Organizer login, logout, passwords, reset by email, invitations by email, and the CLI.

Everything goes through the real screens; mail goes through the SendGrid stand-in, so the links
followed are the ones a person would click.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from campaign.mail.backends import backend_from_config
from campaign.mail.delivery import deliver_due
from campaign.models import AuditEntry, Membership, Organizer, Role
from campaign.services.demo import DEMO_ORGANIZER_EMAIL
from tests.conftest import test_config as config_for
from tests.factories import DEFAULT_PASSWORD, add_member, login, make_campaign, make_organizer

NEW_PASSWORD = "a brand new passphrase"
NO_MATCH = "That email and password do not match an account."


@pytest.fixture
def app_config(request, database_url, sendgrid):
    """Settings for `app`; a test changes some: `parametrize("app_config", […], indirect=True)`."""
    return config_for(database_url, sendgrid, **getattr(request, "param", {}))


def deliver(app, db) -> None:
    db.session.commit()
    deliver_due(db.session, backend_from_config(app.config), app.config)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def is_logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


@pytest.fixture
def ada(db):
    organizer = make_organizer(email="ada@example.org", name="Ada")
    db.session.commit()
    return organizer


# --- logging in -------------------------------------------------------------------------------


def test_login_page_has_labelled_fields(client):
    response = client.get("/admin/login")
    assert response.status_code == 200
    html = response.text
    for field_id, label, kind in (
        ("email", "Email", "email"),
        ("password", "Password", "password"),
    ):
        assert re.search(rf'<label for="{field_id}">\s*{label}\s*</label>', html), label
        assert re.search(rf'<input[^>]*id="{field_id}"[^>]*type="{kind}"', html) or re.search(
            rf'<input[^>]*type="{kind}"[^>]*id="{field_id}"', html
        ), field_id
    assert 'value="Log in"' in html


@pytest.mark.parametrize(
    ("email", "password"),
    [("ada@example.org", "not the password"), ("nobody@example.org", DEFAULT_PASSWORD)],
    ids=["wrong password", "unknown email"],
)
def test_wrong_credentials_do_not_say_which_was_wrong(client, ada, email, password):
    response = client.post("/admin/login", data={"email": email, "password": password})
    assert response.status_code == 422
    html = response.text
    assert NO_MATCH in html
    assert 'aria-invalid="true"' in html
    assert "unknown" not in html.lower()
    assert "no account" not in html.lower()
    assert not is_logged_in(client)


def test_empty_login_form_says_what_is_missing(client):
    response = client.post("/admin/login", data={})
    assert response.status_code == 422
    assert "Enter your email address." in response.text
    assert "Enter your password." in response.text


def test_good_login_goes_to_the_dashboard(client, ada):
    response = login(client, ada)
    assert response.status_code == 302
    assert path_of(response.location) == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "Your campaigns" in page.text
    # Already logged in: the login page sends you on.
    assert path_of(client.get("/admin/login").location) == "/admin/"


def test_login_email_is_case_insensitive(client, ada):
    response = client.post(
        "/admin/login", data={"email": "  ADA@Example.org ", "password": DEFAULT_PASSWORD}
    )
    assert path_of(response.location) == "/admin/"


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/admin/account", "/admin/account"),
        ("/admin/account?tab=1", "/admin/account?tab=1"),
        ("https://evil.example/", "/admin/"),
        ("//evil.example", "/admin/"),
        ("/\\evil", "/admin/"),
        ("\\\\evil.example", "/admin/"),
        ("javascript:alert(1)", "/admin/"),
        ("admin/account", "/admin/"),
        ("/\tadmin", "/admin/"),
    ],
)
def test_next_is_followed_only_within_the_site(client, ada, next_url, expected):
    data = {"email": ada.email, "password": DEFAULT_PASSWORD, "next": next_url}
    response = client.post("/admin/login", data=data)
    assert response.status_code == 302
    assert response.location == expected


def test_next_from_the_query_string_is_carried_by_the_form(client, ada):
    html = client.get("/admin/login?next=/admin/account").text
    assert re.search(r'<input[^>]*name="next"[^>]*value="/admin/account"', html)


def test_anonymous_visitors_are_sent_to_login_and_back(client, ada):
    response = client.get("/admin/account")
    assert response.status_code == 302
    assert path_of(response.location) == "/admin/login?next=%2Fadmin%2Faccount"

    response = client.get("/admin/")
    assert path_of(response.location) == "/admin/login?next=%2Fadmin%2F"

    response = client.post(
        "/admin/login",
        data={"email": ada.email, "password": DEFAULT_PASSWORD, "next": "/admin/account"},
    )
    assert response.location == "/admin/account"
    assert client.get("/admin/account").status_code == 200


def test_a_disabled_organizer_cannot_log_in(client, db):
    organizer = make_organizer(is_disabled=True)
    response = login(client, organizer)
    assert response.status_code == 422
    assert NO_MATCH in response.text


def test_a_disabled_organizer_is_logged_out(client, db, ada):
    login(client, ada)
    ada.is_disabled = True
    db.session.commit()
    assert not is_logged_in(client)


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}], indirect=True
)
def test_login_attempts_are_rate_limited(client, ada):
    for _ in range(3):
        response = client.post("/admin/login", data={"email": ada.email, "password": "wrong one"})
        assert response.status_code == 422
    response = client.post("/admin/login", data={"email": ada.email, "password": "wrong one"})
    assert response.status_code == 429
    assert "<html" in response.text
    # Even the right password waits: that is the point.
    assert login(client, ada).status_code == 429
    # Reading the page is not limited.
    assert client.get("/admin/login").status_code == 200


# --- logging out ------------------------------------------------------------------------------


def test_logout_is_a_post(client, ada):
    login(client, ada)
    assert client.get("/admin/logout").status_code == 405
    assert is_logged_in(client)
    response = client.post("/admin/logout")
    assert path_of(response.location) == "/admin/login"
    assert "You are logged out." in client.get("/admin/login").text
    assert not is_logged_in(client)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_logout_and_login_need_the_csrf_token(client, ada):
    # No token, no login.
    response = client.post("/admin/login", data={"email": ada.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    token = csrf_token(client.get("/admin/login").text)
    response = client.post(
        "/admin/login",
        data={"email": ada.email, "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302

    # A page elsewhere cannot log the organizer out.
    assert client.post("/admin/logout").status_code == 400
    assert is_logged_in(client)

    token = csrf_token(client.get("/admin/").text)
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert not is_logged_in(client)


# --- the account and its password -------------------------------------------------------------


def _change_password(client, current=DEFAULT_PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        "/admin/account",
        data={
            "pw-current": current,
            "pw-password": new,
            "pw-confirm": new if confirm is None else confirm,
            "pw-submit": "Change password",
        },
    )


def test_account_page_shows_both_forms(client, ada):
    login(client, ada)
    html = client.get("/admin/account").text
    assert "You log in as ada@example.org." in html
    for label in ("Your name", "Current password", "New password", "Repeat the new password"):
        assert re.search(rf"<label[^>]*>\s*{label}\s*</label>", html), label


def test_account_saves_name_and_language(client, db, ada):
    login(client, ada)
    response = client.post(
        "/admin/account", data={"name": " Ada L. ", "language": "ru", "submit": "Save"}
    )
    assert path_of(response.location) == "/admin/account"
    organizer = db.session.get(Organizer, ada.id)
    assert (organizer.name, organizer.language) == ("Ada L.", "ru")
    # The panel now speaks Russian to her.
    assert 'lang="ru"' in client.get("/admin/account").text


def test_changing_the_password_logs_out_other_devices_only(app, db, client, ada):
    phone, laptop = client, app.test_client()
    login(phone, ada)
    login(laptop, ada)
    assert is_logged_in(phone)
    assert is_logged_in(laptop)

    response = _change_password(laptop)
    assert path_of(response.location) == "/admin/account"

    assert is_logged_in(laptop)
    assert not is_logged_in(phone)
    assert login(phone, ada).status_code == 422
    assert login(phone, ada, NEW_PASSWORD).status_code == 302


def test_changing_the_password_needs_the_current_one(client, db, ada):
    login(client, ada)
    response = _change_password(client, current="not my password")
    assert response.status_code == 422
    assert "That is not your current password." in response.text
    db.session.refresh(ada)
    assert ada.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("short", None, "Use at least 10 characters."),
        (NEW_PASSWORD, "something different", "The two passwords differ."),
    ],
)
def test_a_new_password_is_checked(client, db, ada, new, confirm, message):
    login(client, ada)
    response = _change_password(client, new=new, confirm=confirm)
    assert response.status_code == 422
    assert message in response.text
    db.session.refresh(ada)
    assert ada.check_password(DEFAULT_PASSWORD)


# --- forgotten passwords ----------------------------------------------------------------------


def _ask_for_reset(client, email: str):
    response = client.post("/admin/forgot-password", data={"email": email})
    assert response.status_code == 302
    assert path_of(response.location) == "/admin/login"
    return client.get("/admin/login").text


def test_forgot_password_emails_a_link_that_sets_a_new_password(app, db, client, mail, ada):
    page = _ask_for_reset(client, "Ada@Example.org")
    assert "If that address has an account, a reset link is on its way." in page
    deliver(app, db)

    (message,) = mail.to("ada@example.org")
    assert message.subject == "Reset your password"
    (link,) = [url for url in message.links() if "/admin/reset-password/" in url]
    assert link.startswith("http://campaign.test/admin/reset-password/")
    reset_path = path_of(link)

    form = client.get(reset_path)
    assert form.status_code == 200
    assert "Choose a new password" in form.text
    weak = client.post(reset_path, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 422
    response = client.post(reset_path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert path_of(response.location) == "/admin/"
    assert is_logged_in(client)  # the reset logs you in

    other = app.test_client()
    assert login(other, ada).status_code == 422  # the old password is gone
    assert login(other, ada, NEW_PASSWORD).status_code == 302

    # The link worked once.
    again = client.get(reset_path)
    assert again.status_code == 404
    assert "This link does not work" in again.text
    assert (
        client.post(reset_path, data={"password": "x" * 12, "confirm": "x" * 12}).status_code == 404
    )
    db.session.refresh(ada)
    assert ada.check_password(NEW_PASSWORD)


def test_forgot_password_for_an_unknown_address_says_the_same_and_sends_nothing(
    app, db, client, mail, ada
):
    known = _ask_for_reset(client, "ada@example.org")
    unknown = _ask_for_reset(app.test_client(), "nobody@example.org")
    deliver(app, db)

    message = "If that address has an account, a reset link is on its way."
    assert message in known
    assert message in unknown
    assert [m.to for m in mail.sent] == ["ada@example.org"]


def test_a_broken_reset_link_does_not_work(client):
    response = client.get("/admin/reset-password/not-a-token")
    assert response.status_code == 404
    assert "This link does not work" in response.text


# --- invitations by email ---------------------------------------------------------------------


@pytest.fixture
def owned(db):
    campaign = make_campaign(slug="owned", title="Clean rivers")
    owner = make_organizer(email="owner@example.org", name="Olga Owner")
    add_member(campaign, owner, Role.OWNER)
    db.session.commit()
    return campaign, owner


def _invite(app, db, client, mail, owner, email: str, role: str) -> str:
    """The owner invites `email` on the team screen; returns the path of the emailed link."""
    login(client, owner)
    response = client.post("/admin/c/owned/team/invite", data={"email": email, "role": role})
    assert response.status_code == 302, response.text
    client.post("/admin/logout")
    deliver(app, db)
    (message,) = mail.to(email)
    assert "Clean rivers" in message.subject
    assert "Olga Owner invites you" in message.text
    (link,) = [url for url in message.links() if "/admin/invitation/" in url]
    return path_of(link)


def _role(db, campaign, email):
    return db.session.scalar(
        select(Membership.role)
        .join(Organizer, Organizer.id == Membership.organizer_id)
        .where(Membership.campaign_id == campaign.id, Organizer.email == email)
    )


def test_a_new_person_joins_from_the_emailed_link(app, db, client, mail, owned):
    campaign, owner = owned
    link = _invite(app, db, client, mail, owner, "nina@example.org", "editor")

    page = client.get(link)
    assert page.status_code == 200
    assert "nina@example.org" in page.text
    for label in ("Your name", "New password", "Repeat the new password"):
        assert re.search(rf"<label[^>]*>\s*{label}\s*</label>", page.text), label

    bad = client.post(link, data={"name": "", "password": "short", "confirm": "short"})
    assert bad.status_code == 422
    assert "Enter your name." in bad.text

    response = client.post(
        link, data={"name": "Nina New", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert path_of(response.location).startswith("/admin/c/owned")
    assert _role(db, campaign, "nina@example.org") == Role.EDITOR
    assert is_logged_in(client)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "team.join"))

    # The new account logs in with its password; the link is spent.
    fresh = app.test_client()
    response = fresh.post(
        "/admin/login", data={"email": "nina@example.org", "password": NEW_PASSWORD}
    )
    assert path_of(response.location) == "/admin/"
    spent = app.test_client().get(link)
    assert spent.status_code == 410
    assert "This invitation no longer works" in spent.text


def test_an_existing_organizer_joins_while_logged_in_as_that_address(app, db, client, mail, owned):
    campaign, owner = owned
    ed = make_organizer(email="ed@example.org")
    db.session.commit()
    link = _invite(app, db, client, mail, owner, "ed@example.org", "moderator")

    # Anonymous: log in first, then come back to the link.
    response = client.get(link)
    assert response.status_code == 302
    login_path = path_of(response.location)
    assert login_path.startswith("/admin/login?next=")
    response = client.post(
        "/admin/login",
        data={"email": "ed@example.org", "password": DEFAULT_PASSWORD, "next": link},
    )
    assert response.location == link

    page = client.get(link)
    assert page.status_code == 200
    assert "Your name" not in page.text  # no new password for an existing account
    response = client.post(link, data={})
    assert response.status_code == 302
    assert _role(db, campaign, "ed@example.org") == Role.MODERATOR
    db.session.refresh(ed)
    assert ed.check_password(DEFAULT_PASSWORD)


def test_another_logged_in_organizer_cannot_take_an_invitation(app, db, client, mail, owned):
    campaign, owner = owned
    make_organizer(email="ed@example.org")
    intruder = make_organizer(email="intruder@example.org")
    db.session.commit()
    link = _invite(app, db, client, mail, owner, "ed@example.org", "editor")

    login(client, intruder)
    page = client.get(link)
    assert page.status_code == 403
    assert "This invitation is for another account" in page.text
    assert client.post(link, data={}).status_code == 403
    assert _role(db, campaign, "ed@example.org") is None
    assert _role(db, campaign, "intruder@example.org") is None


def test_a_revoked_invitation_link_no_longer_works(app, db, client, mail, owned):
    campaign, owner = owned
    link = _invite(app, db, client, mail, owner, "nina@example.org", "editor")
    login(client, owner)
    html = client.get("/admin/c/owned/team").text
    (revoke,) = re.findall(r'action="(/admin/c/owned/team/invitations/\d+/revoke)"', html)
    assert client.post(revoke).status_code == 302
    client.post("/admin/logout")

    response = client.get(link)
    assert response.status_code == 410
    assert "This invitation no longer works" in response.text
    response = client.post(
        link, data={"name": "Nina", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 410
    assert db.session.scalar(select(Organizer).where(Organizer.email == "nina@example.org")) is None


# --- the command line -------------------------------------------------------------------------


def test_create_organizer_command(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-organizer", "--email", "Cli@Example.org", "--password", DEFAULT_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "Created organizer cli@example.org" in result.output
    organizer = db.session.scalar(select(Organizer).where(Organizer.email == "cli@example.org"))
    assert not organizer.is_admin
    assert organizer.check_password(DEFAULT_PASSWORD)


def test_create_organizer_command_refuses_a_duplicate(app, db):
    runner = app.test_cli_runner()
    args = ["create-organizer", "--email", "cli@example.org", "--password", DEFAULT_PASSWORD]
    assert runner.invoke(args=args).exit_code == 0
    result = runner.invoke(args=[*args[:2], "CLI@example.org", *args[3:]])
    assert result.exit_code != 0
    assert "an organizer with cli@example.org already exists" in result.output


def test_create_organizer_command_refuses_a_short_password(app, db):
    result = app.test_cli_runner().invoke(
        args=["create-organizer", "--email", "cli@example.org", "--password", "short"]
    )
    assert result.exit_code != 0
    assert "use at least 10 characters" in result.output
    assert db.session.scalars(select(Organizer)).all() == []


def test_create_organizer_command_refuses_a_bad_address(app, db):
    result = app.test_cli_runner().invoke(
        args=["create-organizer", "--email", "not an address", "--password", DEFAULT_PASSWORD]
    )
    assert result.exit_code != 0
    assert "--email" in result.output


def test_create_organizer_command_makes_a_site_admin(app, db, client):
    result = app.test_cli_runner().invoke(
        args=[
            "create-organizer",
            "--email",
            "root@example.org",
            "--password",
            DEFAULT_PASSWORD,
            "--admin",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created site admin root@example.org" in result.output
    admin = db.session.scalar(select(Organizer).where(Organizer.email == "root@example.org"))
    assert admin.is_admin
    # A site admin sees every campaign, team included.
    make_campaign(slug="anyones")
    assert login(client, admin).status_code == 302
    assert client.get("/admin/c/anyones/team").status_code == 200


def test_demo_command_prints_a_login_that_works(app, db, client):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    match = re.search(r"login: (\S+)\s+password: (\S+)", result.output)
    assert match, result.output
    email, password = match.groups()
    assert email == DEMO_ORGANIZER_EMAIL

    response = client.post("/admin/login", data={"email": email, "password": password})
    assert path_of(response.location) == "/admin/"
    assert "aleppo" in client.get("/admin/").text
    # Running it again prints the same login, which still works.
    again = app.test_cli_runner().invoke(args=["demo"])
    assert f"login: {email}  password: {password}" in again.output
