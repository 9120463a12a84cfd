"""Privacy for supporters (campaign/services/privacy.py, campaign/public/privacy.py).

A privacy page in every language; consent stored in the words and language shown; a signer's
own page, reached only by an emailed link, to see a signature and withdraw it; asking for the
links never reveals whether an address signed. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from campaign.config import DEFAULT_LANGUAGES
from campaign.models import AuditEntry, Campaign, ConsentWording, OutboxMessage, Signature
from campaign.public.forms import SignForm
from campaign.services import privacy
from campaign.services.privacy import SIGN_FORM_NOTICE
from campaign.services.signing import confirmation_token
from campaign.services.subscribers import SIGN_FORM_CONSENT
from campaign.services.tokens import make_token
from tests import conftest
from tests.factories import add_member, login, make_campaign, make_organizer, make_signature
from tests.test_public import BASE_URL, confirmation_path, deliver_mail, path_of, sign_data, text

ALL_LANGUAGES = DEFAULT_LANGUAGES.split(",")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
MANAGE_LINK = re.compile(r"/(\w+)/signature/([A-Za-z0-9_.\-]+)")


@pytest.fixture
def app_config(database_url, sendgrid):
    return conftest.test_config(database_url, sendgrid, LANGUAGES=ALL_LANGUAGES)


@pytest.fixture
def petition(db):
    campaign = make_campaign(
        slug="clean-water", languages=("en", "ru"), title="Clean water for Riverside"
    )
    db.session.commit()
    return campaign


def _signatures(db) -> list[Signature]:
    db.session.rollback()  # read what requests committed since (SQLite keeps a snapshot)
    return list(db.session.scalars(select(Signature).order_by(Signature.id)))


def _count(db, campaign_id: int) -> int:
    db.session.rollback()
    return db.session.get(Campaign, campaign_id).signature_count


def _manage_paths(mail, address: str) -> list[str]:
    """The "see or withdraw" links in the last email to `address`, as paths."""
    message = mail.to(address)[-1]
    links = [path_of(link) for link in message.links() if MANAGE_LINK.search(link)]
    assert all(link.startswith(f"{BASE_URL}/") for link in message.links())
    return links


def _sign_and_confirm(client, app, db, mail, lang="en", **overrides) -> str:
    """Sign through the form and open the confirmation link; returns the address."""
    data = sign_data(**overrides)
    response = client.post(f"/{lang}/c/clean-water", data=data)
    assert response.status_code == 302, text(response.text)
    deliver_mail(app, db)
    path = confirmation_path(mail, data["email"])
    assert client.post(path).status_code == 302
    return data["email"]


# --- the privacy page ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ALL_LANGUAGES)
def test_privacy_page_in_every_language(client, lang):
    response = client.get(f"/{lang}/privacy")
    assert response.status_code == 200
    html = response.text
    direction = "rtl" if lang == "ar" else "ltr"
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert f'<link rel="canonical" href="{BASE_URL}/{lang}/privacy">' in html
    for other in ALL_LANGUAGES:
        assert f'hreflang="{other}" href="{BASE_URL}/{other}/privacy"' in html
    # Rights come with the way to use them: the request form for the manage links.
    assert f'href="/{lang}/my-signatures"' in html


def test_privacy_page_says_what_is_kept_and_for_how_long(client, app):
    app.config["UNCONFIRMED_SIGNATURE_DAYS"] = 12
    page = text(client.get("/en/privacy").text)
    assert app.config["SITE_NAME"] in page
    for words in (
        "When you sign: your name, email address and country",
        "your first name and your city",
        "scrambled (hashed) form of your internet address",
        "the kind of browser you used",
        "how long the form was open",
        "within 12 days is deleted",
        "SendGrid",
        "Get a copy of your data, or have it erased",
    ):
        assert words in page, words
    # No contact configured: no empty mailto.
    assert "mailto:" not in client.get("/en/privacy").text


def test_privacy_page_shows_the_contact_when_configured(client, app):
    app.config["PRIVACY_CONTACT"] = "privacy@riverside.example"
    html = client.get("/en/privacy").text
    assert 'href="mailto:privacy@riverside.example"' in html


def test_privacy_is_linked_from_the_footer_the_sign_form_and_the_subscribe_form(client, petition):
    home = client.get("/en/").text
    footer = home.split('<footer class="site-footer">', 1)[1]
    assert 'href="/en/privacy"' in footer
    assert 'href="/en/my-signatures"' in footer

    html = client.get("/ru/c/clean-water").text
    sign_form = html.split('id="sign"', 1)[1].split("</form>", 1)[0]
    assert 'href="/ru/privacy"' in sign_form
    subscribe = html.split('class="subscribe', 1)[1].split("</form>", 1)[0]
    assert 'href="/ru/privacy"' in subscribe


# --- consent in the words shown -----------------------------------------------------------


def test_a_russian_signers_consent_is_stored_in_russian(client, app, db, petition):
    client.post(
        "/ru/c/clean-water",
        data=sign_data(email="ivan@example.org", full_name="Иван Петров", is_public="y"),
    )
    (signature,) = _signatures(db)
    wording = signature.consent_wording
    assert wording is not None
    assert wording.language == "ru"
    with force_locale("ru"):
        expected_public = str(SignForm.is_public.args[0])
        expected_updates = str(SIGN_FORM_CONSENT)
        expected_notice = str(SIGN_FORM_NOTICE)
    assert [(c["name"], c["label"], c["given"]) for c in wording.choices] == [
        ("is_public", expected_public, True),
        ("has_update_consent", expected_updates, False),
    ]
    assert wording.notice == expected_notice
    assert wording.privacy_version == privacy.PRIVACY_VERSION
    for words in (expected_public, expected_updates, expected_notice):
        assert CYRILLIC.search(words), "the Russian catalogue translates the sign form"
    # The form on the page showed these very words.
    page = client.get("/ru/c/clean-water").text
    assert expected_public in page
    assert expected_notice in page


def test_signers_who_saw_the_same_words_share_one_wording(client, db, petition):
    client.post("/en/c/clean-water", data=sign_data(email="a@example.org"))
    client.post("/en/c/clean-water", data=sign_data(email="b@example.org"))
    client.post("/en/c/clean-water", data=sign_data(email="c@example.org", is_public=None))
    a, b, c = _signatures(db)
    assert a.consent_wording_id == b.consent_wording_id
    assert c.consent_wording_id != a.consent_wording_id  # another answer, another record
    assert db.session.scalar(select(func.count()).select_from(ConsentWording)) == 2


def test_organizers_see_the_consent_wording_in_the_persons_record(client, db, petition):
    client.post("/ru/c/clean-water", data=sign_data(email="ivan@example.org", is_public="y"))
    owner = make_organizer(email="owner@example.org")
    add_member(petition, owner, "owner")
    login(client, owner)
    page = text(client.get("/admin/c/clean-water/people?email=ivan@example.org").text)
    with force_locale("ru"):
        label = str(SignForm.is_public.args[0])
    assert f"“{label}”: ticked" in page
    assert "Shown in Russian" in page


# --- the signer's own page ------------------------------------------------------------------


def test_the_confirmation_email_links_to_the_signers_page_and_the_thanks_page_does_not(
    client, app, db, mail, petition
):
    response = client.post("/ru/c/clean-water", data=sign_data(email="ivan@example.org"))
    signed_page = client.get(response.location).text
    assert "/signature/" not in signed_page  # whoever typed the address may not own it
    deliver_mail(app, db)
    (message,) = mail.to("ivan@example.org")
    assert CYRILLIC.search(message.text)  # in the signer's language
    (path,) = _manage_paths(mail, "ivan@example.org")
    assert path.startswith("/ru/signature/")
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "Amira Haddad" in page.text


def test_request_open_see_and_withdraw(client, app, db, mail, petition):
    address = _sign_and_confirm(
        client, app, db, mail, city="Lyon", reason="Water is life", is_public="y"
    )
    other = make_campaign(slug="other")
    kept = make_signature(other, confirmed=True, email=address)
    db.session.commit()
    assert _count(db, petition.id) == 1

    response = client.post("/en/my-signatures", data={"email": address.upper()})
    assert response.status_code == 302
    assert path_of(response.location) == "/en/my-signatures/sent"
    assert "If this address signed a petition here" in text(client.get(response.location).text)
    deliver_mail(app, db)
    links_mail = mail.to(address)[-1]
    assert "Your signatures" in links_mail.subject
    paths = _manage_paths(mail, address)
    assert len(paths) == 2  # one per signature, across campaigns

    own = next(p for p in paths if client.get(p).text.count("Clean water for Riverside"))
    page = text(client.get(own).text)
    for words in (
        "Clean water for Riverside",
        "Amira Haddad",
        address,
        "France",
        "Lyon",
        "Water is life",
        "“Show my first name and city on the petition page”: ticked",
        "“Send me updates about this campaign”: not ticked",
        "Yes: your first name, “Amira”",
        "The petition's count goes down by one.",
    ):
        assert words in page, words

    response = client.post(own)
    assert response.status_code == 302
    assert path_of(response.location) == "/en/my-signatures/withdrawn"
    done = text(client.get(response.location).text)
    assert "We have deleted your signature on “Clean water for Riverside”" in done

    assert _count(db, petition.id) == 0
    assert [s.id for s in _signatures(db)] == [kept.id]  # another campaign's stays
    (entry,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == privacy.WITHDRAW_ACTION)
    )
    assert entry.campaign_id == petition.id
    assert entry.actor_id is None
    assert entry.details["signatures"] == 1
    assert entry.details["confirmed_signatures"] == 1
    assert address not in str(entry.details)
    assert "Amira" not in str(entry.details)
    # The emails about this campaign are emptied too.
    assert not db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.to_email == address)
        .where(OutboxMessage.kind == "signature_confirmation")
    )

    again = client.get(own)
    assert again.status_code == 410
    assert "This signature is no longer here" in text(again.text)
    assert client.post(own).status_code == 410
    assert _count(db, other.id) == 1


def test_the_audit_log_says_the_signer_withdrew(client, app, db, mail, petition):
    address = _sign_and_confirm(client, app, db, mail)
    (path,) = _manage_paths(mail, address)  # the confirmation email's link
    client.post(path)
    owner = make_organizer(email="owner@example.org")
    add_member(petition, owner, "owner")
    login(client, owner)
    log = text(client.get("/admin/c/clean-water/audit").text)
    assert "Withdrawn by the signer" in log


def test_an_unconfirmed_signature_can_be_withdrawn(client, app, db, mail, petition):
    client.post("/en/c/clean-water", data=sign_data())
    deliver_mail(app, db)
    (path,) = _manage_paths(mail, "amira@example.org")
    page = text(client.get(path).text)
    assert "Not confirmed yet" in page
    assert "The petition's count goes down" not in page
    assert client.post(path).status_code == 302
    assert _signatures(db) == []
    assert _count(db, petition.id) == 0


def test_no_enumeration_the_same_answer_and_no_email_for_an_unknown_address(
    client, app, db, mail, petition
):
    make_signature(petition, confirmed=True, email="known@example.org")
    db.session.commit()
    known = client.post("/en/my-signatures", data={"email": "known@example.org"})
    unknown = client.post("/en/my-signatures", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location
    assert client.get(known.location).text == client.get(unknown.location).text
    deliver_mail(app, db)
    assert mail.to("nobody@example.org") == []
    assert len(mail.to("known@example.org")) == 1
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds == ["signature_links"]


def test_the_request_form_refuses_what_is_not_an_address(client, db, mail):
    response = client.post("/en/my-signatures", data={"email": "not an address"})
    assert response.status_code == 422
    assert "Enter an email address like name@example.org." in text(response.text)


# --- tokens -------------------------------------------------------------------------------


def _manage_path(app, db, petition) -> tuple[Signature, str]:
    signature = make_signature(petition, confirmed=True, email="ana@example.org")
    db.session.commit()
    with app.test_request_context():
        return signature, path_of(privacy.manage_url(signature, "en"))


def test_a_tampered_token_is_a_clear_404(client, app, db, petition):
    signature, path = _manage_path(app, db, petition)
    assert client.get(path).status_code == 200
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    response = client.get(tampered)
    assert response.status_code == 404
    assert "This link does not work" in text(response.text)
    assert client.post(tampered).status_code == 404
    assert len(_signatures(db)) == 1


def test_a_token_for_another_purpose_or_signature_is_refused(client, app, db, petition):
    signature, _path = _manage_path(app, db, petition)
    with app.test_request_context():
        confirm = confirmation_token(signature)
        forged = make_token(
            app.config["SECRET_KEY"],
            privacy.MANAGE_PURPOSE,
            {"s": signature.id, "c": signature.campaign_id, "k": "0" * 16, "t": "x"},
        )
    assert client.get(f"/en/signature/{confirm}").status_code == 404
    assert client.get(f"/en/signature/{forged}").status_code == 410  # names nobody now
    assert client.post(f"/en/signature/{forged}").status_code == 410
    assert len(_signatures(db)) == 1


def test_an_expired_link_says_so_and_offers_a_new_one(client, app, db, petition):
    _signature, path = _manage_path(app, db, petition)
    app.config["SIGNATURE_MANAGE_TOKEN_MAX_AGE"] = -1
    response = client.get(path)
    assert response.status_code == 410
    page = text(response.text)
    assert "This link has expired" in page
    assert 'href="/en/my-signatures"' in response.text
    assert client.post(path).status_code == 410
    assert len(_signatures(db)) == 1


class TestWithCsrfAndRateLimits:
    @pytest.fixture
    def app_config(self, database_url, sendgrid):
        return conftest.test_config(
            database_url,
            sendgrid,
            WTF_CSRF_ENABLED=True,
            RATELIMIT_ENABLED=True,
            MY_SIGNATURES_RATE_LIMIT="2 per minute",
        )

    def test_withdrawing_needs_the_forms_csrf_token(self, app, db, petition):
        from tests.test_csrf import Browser, csrf_token

        _signature, path = _manage_path(app, db, petition)
        browser = Browser(app)
        assert browser.post(path, data={}).status_code == 400
        assert len(_signatures(db)) == 1
        token = csrf_token(browser.get(path).text)
        assert browser.post(path, data={"csrf_token": token}).status_code == 302
        assert _signatures(db) == []

    def test_asking_for_links_is_rate_limited_per_address(self, app, db):
        from tests.test_csrf import Browser, csrf_token

        browser = Browser(app)
        statuses = []
        for n in range(3):
            token = csrf_token(browser.get("/en/my-signatures").text)
            data = {"email": f"person{n}@example.org", "csrf_token": token}
            statuses.append(browser.post("/en/my-signatures", data=data).status_code)
        assert statuses == [302, 302, 429]
