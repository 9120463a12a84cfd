"""The public pages through the test client: languages, the petition page, signing, confirming."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from campaign.mail.backends import backend_from_config
from campaign.mail.delivery import deliver_due
from campaign.models import Campaign, CampaignStatus, OutboxMessage, Signature
from tests.factories import make_campaign, make_signature

BASE_URL = "http://campaign.test"


# --- reading pages ----------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


def tags(html: str, tag_name: str | None = None, /, **attrs: str) -> list[dict[str, str]]:
    """Attributes of every start tag with these attribute values (`class_` for `class`,
    `aria_invalid` for `aria-invalid`)."""
    parser = _Tags()
    parser.feed(html)
    wanted = {key.rstrip("_").replace("_", "-"): value for key, value in attrs.items()}
    return [
        found
        for name, found in parser.tags
        if (tag_name is None or name == tag_name)
        and all(found.get(key) == value for key, value in wanted.items())
    ]


def tag(html: str, tag_name: str | None = None, /, **attrs: str) -> dict[str, str]:
    found = tags(html, tag_name, **attrs)
    assert len(found) == 1, f"expected one <{tag_name or '*'} {attrs}>, found {len(found)}"
    return found[0]


def by_id(html: str, element_id: str) -> dict[str, str]:
    return tag(html, id=element_id)


def text(html: str) -> str:
    """The visible text of a page, whitespace collapsed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def element_text(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no element with id {element_id}"
    return text(match.group(2))


def path_of(url: str) -> str:
    return urlsplit(url).path


# --- helpers ----------------------------------------------------------------------------------


def sign_data(**overrides) -> dict[str, str]:
    data = {
        "full_name": "Amira Haddad",
        "email": "amira@example.org",
        "country": "FR",
        "city": "Lyon",
        "reason": "",
        "is_public": "y",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def count_rows(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def signature_count(db, campaign_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Campaign, campaign_id).signature_count


@pytest.fixture
def petition(db):
    """An open campaign in English and Russian."""
    campaign = make_campaign(
        slug="clean-water",
        languages=("en", "ru"),
        goal=100_000,
        title="Clean water for Riverside",
        target="The Riverside City Council",
    )
    db.session.commit()
    return campaign


def deliver_mail(app, db) -> None:
    backend = backend_from_config(app.config)
    deliver_due(db.session, backend, app.config)


def confirmation_path(mail, address: str) -> str:
    """The path of the confirmation link in the last email to `address`."""
    (message,) = mail.to(address)[-1:]
    links = [link for link in message.links() if "/confirm/" in link]
    assert len(links) == 1, message.text
    assert links[0].startswith(f"{BASE_URL}/"), "links in emails are absolute under BASE_URL"
    return path_of(links[0])


# --- languages --------------------------------------------------------------------------------


def test_root_redirects_by_accept_language(client):
    response = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert response.status_code == 302
    assert path_of(response.location) == "/ru/"

    response = client.get("/", headers={"Accept-Language": "de-DE,en;q=0.5"})
    assert path_of(response.location) == "/en/"


@pytest.mark.parametrize("path", ["/", "/c/clean-water"])
def test_language_redirects_vary_by_cookie_and_accept_language(client, petition, path):
    response = client.get(path, headers={"Accept-Language": "ru"})
    assert {"cookie", "accept-language"} <= {v.lower() for v in response.vary}


def test_the_panel_does_not_change_the_public_language(client, petition, db):
    from tests.factories import login, make_organizer

    client.get("/ru/c/clean-water")
    organizer = make_organizer(email="panel@example.org", language="en")
    login(client, organizer)
    client.get("/admin/")
    response = client.get("/", headers={"Accept-Language": "en"})
    assert path_of(response.location) == "/ru/"


def test_root_redirects_to_the_first_language_without_preferences(client):
    response = client.get("/")
    assert response.status_code == 302
    assert path_of(response.location) == "/en/"


def test_language_cookie_wins_over_accept_language(client):
    client.set_cookie("lang", "ru")
    response = client.get("/", headers={"Accept-Language": "en"})
    assert path_of(response.location) == "/ru/"


def test_visiting_a_language_remembers_it(client, petition):
    client.get("/ru/c/clean-water")
    response = client.get("/", headers={"Accept-Language": "en"})
    assert path_of(response.location) == "/ru/"


def test_unknown_language_cookie_is_ignored(client):
    client.set_cookie("lang", "xx")
    response = client.get("/", headers={"Accept-Language": "ru"})
    assert path_of(response.location) == "/ru/"


def test_unprefixed_petition_url_redirects_to_the_readers_language(client, petition):
    response = client.get("/c/clean-water", headers={"Accept-Language": "ru"})
    assert response.status_code == 302
    assert path_of(response.location) == "/ru/c/clean-water"

    response = client.get("/c/clean-water?utm_source=leaflet")
    assert response.status_code == 302
    assert response.location.endswith("/en/c/clean-water?utm_source=leaflet")


@pytest.mark.parametrize("path", ["/xx/c/clean-water", "/de/c/clean-water", "/xx/"])
def test_unknown_language_prefix_is_404(client, petition, path):
    assert client.get(path).status_code == 404


def test_text_in_another_language_keeps_its_own_direction(client, db):
    make_campaign(slug="arabic", languages=("ar",), default_language="ar", title="أوقفوا القصف")
    db.session.commit()
    html = client.get("/en/c/arabic").text
    assert tag(html, "html") == {"lang": "en", "dir": "ltr"}
    assert tag(html, "div", class_="petition") == {"class": "petition", "lang": "ar", "dir": "rtl"}
    switcher = tag(html, "a", hreflang="ru")
    assert (switcher["lang"], switcher["dir"]) == ("ru", "ltr")


def test_the_home_page_has_a_canonical_url_and_a_default_alternate(client, petition):
    html = client.get("/ru/").text
    assert tag(html, "link", rel="canonical")["href"].endswith("/ru/")
    default = tag(html, "link", hreflang="x-default")["href"]
    assert path_of(default) == "/"
    html = client.get("/ru/c/clean-water").text
    assert path_of(tag(html, "link", hreflang="x-default")["href"]) == "/c/clean-water"


def test_html_lang_and_dir_follow_the_url(client, petition):
    for path in ("/ru/", "/ru/c/clean-water"):
        html = client.get(path, headers={"Accept-Language": "en"}).text
        assert tag(html, "html") == {"lang": "ru", "dir": "ltr"}
    html = client.get("/en/c/clean-water", headers={"Accept-Language": "ru"}).text
    assert tag(html, "html") == {"lang": "en", "dir": "ltr"}


# --- the petition page ------------------------------------------------------------------------


def test_petition_page_shows_the_appeal(client, petition, db):
    petition.signature_count = 1234
    db.session.commit()
    response = client.get("/en/c/clean-water")
    assert response.status_code == 200
    html = response.text
    page = text(html)
    assert text(re.search(r"<h1>(.*?)</h1>", html, re.S)[1]) == "Clean water for Riverside"
    assert "To: The Riverside City Council" in page
    # Progress: the confirmed count and the goal, formatted for the reader's locale.
    assert "1,234 signatures" in page
    assert "Goal: 100,000" in page
    bar = tag(html, role="progressbar")
    assert bar["aria-valuenow"] == "1234"
    assert bar["aria-valuemax"] == "100000"


def test_petition_page_renders_markdown_and_strips_scripts(client, db):
    make_campaign(
        slug="md",
        body_markdown=(
            "We **demand** action.\n\n"
            "<script>alert('owned')</script>\n\n"
            '<img src=x onerror="alert(1)">\n\n'
            "[a trap](javascript:alert(2)) and [the report](https://example.org/report)\n"
        ),
    )
    db.session.commit()
    html = client.get("/en/c/md").text
    assert "<strong>demand</strong>" in html
    assert "<script>alert" not in html
    assert not tags(html, "img")
    assert not [found for found in tags(html) if "onerror" in found]
    assert not [a for a in tags(html, "a") if a.get("href", "").startswith("javascript:")]
    (report,) = tags(html, "a", href="https://example.org/report")
    assert "nofollow" in report["rel"]


def test_petition_page_has_open_graph_canonical_and_hreflang(client, petition):
    html = client.get("/en/c/clean-water").text
    url = f"{BASE_URL}/en/c/clean-water"
    assert tag(html, "meta", property="og:title")["content"] == "Clean water for Riverside"
    assert tag(html, "meta", property="og:url")["content"] == url
    assert tag(html, "link", rel="canonical")["href"] == url
    alternates = {link["hreflang"]: link["href"] for link in tags(html, "link", rel="alternate")}
    assert alternates == {
        "en": url,
        "ru": f"{BASE_URL}/ru/c/clean-water",
        "x-default": f"{BASE_URL}/c/clean-water",
    }


def test_russian_petition_page_is_russian(client, petition):
    html = client.get("/ru/c/clean-water").text
    assert tag(html, "html") == {"lang": "ru", "dir": "ltr"}
    assert tag(html, "meta", property="og:url")["content"] == f"{BASE_URL}/ru/c/clean-water"
    assert tag(html, "link", rel="canonical")["href"] == f"{BASE_URL}/ru/c/clean-water"
    assert "Clean water for Riverside" in text(html)  # the factory uses one title for all
    assert not tags(html, class_="notice")


def test_sign_form_has_visible_labels(client, petition):
    html = client.get("/en/c/clean-water").text
    for field_id, label in (("full_name", "Full name"), ("email", "Email"), ("country", "Country")):
        assert re.search(rf'<label for="{field_id}">\s*{label}\s*</label>', html), label
        assert by_id(html, field_id)
    assert tag(html, "input", type="submit", id="submit")["value"] == "Sign"
    # The spam trap is there, but hidden from people and assistive technology.
    assert tag(html, "input", name="website")["tabindex"] == "-1"


def test_country_choices_are_named_in_the_readers_language(client, petition):
    html = client.get("/ru/c/clean-water").text
    assert re.search(r'<option value="DE">Германия</option>', html)
    html = client.get("/en/c/clean-water").text
    assert re.search(r'<option value="DE">Germany</option>', html)


def test_recent_signers_show_first_names_and_places_only(client, petition, db):
    make_signature(
        petition,
        confirmed=True,
        full_name="Alice Smithson",
        email="alice.private@example.org",
        city="Lyon",
        country="FR",
    )
    make_signature(
        petition,
        confirmed=True,
        full_name="Dieter Mustermannsohn",
        email="dieter.private@example.org",
        city="",
        country="DE",
    )
    make_signature(
        petition,
        confirmed=False,
        full_name="Bob Unconfirmedson",
        email="bob.private@example.org",
    )
    make_signature(
        petition,
        confirmed=True,
        is_public=False,
        full_name="Carol Hiddenberg",
        email="carol.private@example.org",
    )
    db.session.commit()

    html = client.get("/en/c/clean-water").text
    signers = re.search(r'<ul class="signers__list">(.*?)</ul>', html, re.S)
    assert signers, "the list of recent signers is missing"
    listed = text(signers.group(1))
    assert "Alice Lyon" in listed
    assert "Dieter Germany" in listed
    for hidden in ("Smithson", "Mustermannsohn", "Bob", "Unconfirmedson", "Carol", "Hiddenberg"):
        assert hidden not in html
    assert "private@example.org" not in html
    assert "No public signatures yet" not in html

    html = client.get("/ru/c/clean-water").text
    assert "Германия" in text(re.search(r'<ul class="signers__list">(.*?)</ul>', html, re.S)[1])


def test_recent_signers_empty_state(client, petition):
    html = client.get("/en/c/clean-water").text
    assert "signers__list" not in html
    assert "No public signatures yet. Be the first." in text(html)


def test_draft_campaign_is_not_found(client, db):
    make_campaign(slug="secret-draft", status=CampaignStatus.DRAFT)
    db.session.commit()
    assert client.get("/en/c/secret-draft").status_code == 404
    assert client.post("/en/c/secret-draft", data=sign_data()).status_code == 404
    assert client.get("/en/c/secret-draft/signed").status_code == 404
    assert count_rows(db, Signature) == 0


def test_unknown_campaign_is_not_found(client, db):
    assert client.get("/en/c/no-such-campaign").status_code == 404


def test_fallback_notice_when_no_translation(client, db):
    make_campaign(slug="english-only", languages=("en",), title="Only in English")
    db.session.commit()

    html = client.get("/ru/c/english-only").text
    assert tag(html, "html")["lang"] == "ru"
    (notice,) = tags(html, "p", class_="notice")
    assert notice["role"] == "status"
    assert "Only in English" in text(html)
    # The notice, in the reader's language, names the language the petition is shown in.
    assert "Английский" in text(re.search(r'<p class="notice".*?</p>', html, re.S)[0])


def test_fallback_notice_in_english(client, db):
    make_campaign(
        slug="russian-only",
        languages=("ru",),
        default_language="ru",
        title="Только по-русски",
    )
    db.session.commit()

    html = client.get("/en/c/russian-only").text
    assert tag(html, "html")["lang"] == "en"
    page = text(html)
    # Named in the reader's language, in a sentence; the links name each language in itself.
    assert "This petition is not yet available in your language. It is shown in Russian." in page
    assert "Только по-русски" in page


def test_no_fallback_notice_in_a_translated_language(client, petition):
    assert not tags(client.get("/en/c/clean-water").text, "p", class_="notice")


def test_each_request_is_rendered_in_its_own_language(client, petition):
    """Reading /ru/ then /en/ in one session: the English page is in English.

    The `app` fixture keeps one app context, so one `g`, across a test's requests; the views
    reset `g.lang` for that reason, and the locale Flask-Babel caches on `g` must follow.
    """
    client.get("/ru/c/clean-water")
    html = client.get("/en/c/clean-water").text
    assert tag(html, "html")["lang"] == "en"
    assert re.search(r'<label for="full_name">\s*Full name\s*</label>', html)
    assert tag(html, "input", type="submit", id="submit")["value"] == "Sign"


# --- signing ----------------------------------------------------------------------------------


def test_signing_stores_an_unconfirmed_signature_and_queues_one_email(client, petition, db, mail):
    response = client.post("/en/c/clean-water", data=sign_data(has_update_consent="y"))
    assert response.status_code == 302
    assert path_of(response.location) == "/en/c/clean-water/signed"

    signature = db.session.scalars(select(Signature)).one()
    assert signature.campaign_id == petition.id
    assert signature.full_name == "Amira Haddad"
    assert signature.email == "amira@example.org"
    assert signature.country == "FR"
    assert signature.city == "Lyon"
    assert signature.language == "en"
    assert signature.is_public is True
    assert signature.has_update_consent is True
    assert signature.confirmed_at is None
    assert signature_count(db, petition.id) == 0

    (message,) = db.session.scalars(select(OutboxMessage)).all()
    assert message.to_email == "amira@example.org"
    # Signing never waits on the provider: nothing was sent during the request.
    assert mail.sent == []


def test_update_consent_is_off_unless_ticked(client, petition, db):
    client.post("/en/c/clean-water", data=sign_data(is_public=None))
    signature = db.session.scalars(select(Signature)).one()
    assert signature.has_update_consent is False
    assert signature.is_public is False


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("full_name", {"full_name": ""}),
        ("full_name", {"full_name": "   "}),
        ("email", {"email": "not-an-email"}),
        ("email", {"email": ""}),
        ("country", {"country": "XX"}),
        ("country", {"country": ""}),
    ],
)
def test_invalid_input_is_shown_beside_the_field(client, petition, db, field, overrides):
    data = sign_data(**overrides)
    response = client.post("/en/c/clean-water", data=data)
    assert response.status_code == 422
    html = response.text

    control = by_id(html, field)
    assert control["aria-invalid"] == "true"
    assert f"{field}-error" in control["aria-describedby"].split()
    error = by_id(html, f"{field}-error")
    assert error["role"] == "alert"
    assert element_text(html, f"{field}-error")
    # The other fields are not marked.
    for other in {"full_name", "email", "country"} - {field}:
        assert "aria-invalid" not in by_id(html, other)

    # What was typed is kept, the wrong value included, so it can be corrected.
    assert by_id(html, "full_name")["value"] == data["full_name"]
    assert by_id(html, "email")["value"] == data["email"]
    assert by_id(html, "city")["value"] == "Lyon"
    if field != "country":
        assert tag(html, "option", value="FR").get("selected") is not None
    assert "checked" in by_id(html, "is_public")

    assert count_rows(db, Signature) == 0
    assert count_rows(db, OutboxMessage) == 0


def test_invalid_input_keeps_the_reason_and_consent(client, petition, db):
    response = client.post(
        "/en/c/clean-water",
        data=sign_data(email="nope", reason="For my <children>", has_update_consent="y"),
    )
    assert response.status_code == 422
    assert "For my &lt;children&gt;" in response.text
    assert "checked" in by_id(response.text, "has_update_consent")


def test_signing_twice_reveals_nothing_and_counts_once(client, petition, db):
    first = client.post("/en/c/clean-water", data=sign_data())
    second = client.post(
        "/en/c/clean-water", data=sign_data(email="Amira@Example.org", full_name="A. Haddad")
    )
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert first.get_data() == second.get_data()
    assert count_rows(db, Signature) == 1

    first_page = client.get(first.location)
    second_page = client.get(second.location)
    assert first_page.status_code == second_page.status_code == 200
    assert first_page.get_data() == second_page.get_data()
    # The second email re-sends the confirmation link rather than creating a signature.
    assert count_rows(db, OutboxMessage) == 2


def test_signing_again_after_confirming_reveals_nothing(client, petition, db):
    make_signature(petition, confirmed=True, email="amira@example.org")
    db.session.commit()
    response = client.post("/en/c/clean-water", data=sign_data())
    assert response.status_code == 302
    assert path_of(response.location) == "/en/c/clean-water/signed"
    assert count_rows(db, Signature) == 1
    assert signature_count(db, petition.id) == 1
    assert db.session.scalars(select(OutboxMessage.kind)).one() == "signature_already_confirmed"


def test_honeypot_is_thanked_and_ignored(client, petition, db):
    response = client.post("/en/c/clean-water", data=sign_data(website="http://spam.example"))
    assert response.status_code == 302
    assert path_of(response.location) == "/en/c/clean-water/signed"
    assert count_rows(db, Signature) == 0
    assert count_rows(db, OutboxMessage) == 0


def test_closed_campaign_shows_it_and_has_no_form(client, db):
    make_campaign(slug="closed-one", status=CampaignStatus.CLOSED, title="An old appeal")
    db.session.commit()
    response = client.get("/en/c/closed-one")
    assert response.status_code == 200
    html = response.text
    assert "This petition is closed" in text(html)
    assert "An old appeal" in text(html)
    assert not tags(html, "form")
    assert not tags(html, "input", name="full_name")


def test_closed_campaign_refuses_signatures(client, db):
    make_campaign(slug="closed-one", status=CampaignStatus.CLOSED, title="An old appeal")
    db.session.commit()
    response = client.post("/en/c/closed-one", data=sign_data())
    assert response.status_code == 409
    page = text(response.text)
    assert "This petition is closed" in page
    assert "no longer takes signatures, so yours was not added" in page
    assert count_rows(db, Signature) == 0
    assert count_rows(db, OutboxMessage) == 0


def test_signed_page_has_share_links(client, petition):
    response = client.get("/en/c/clean-water/signed")
    assert response.status_code == 200
    html = response.text
    url = f"{BASE_URL}/en/c/clean-water"
    encoded = quote(url, safe="")
    assert "check your email" in text(html)

    hrefs = [a["href"] for a in tags(html, "a", class_="share__link")]

    def link(prefix: str) -> str:
        (found,) = [href for href in hrefs if href.startswith(prefix)]
        assert encoded in found, f"{found} does not carry the URL-encoded petition URL"
        return found

    def params(href: str) -> dict[str, str]:
        return {key: value[0] for key, value in parse_qs(urlsplit(href).query).items()}

    assert url in params(link("https://wa.me/"))["text"]
    assert params(link("https://t.me/share/url"))["url"] == url
    assert params(link("https://twitter.com/intent/tweet"))["url"] == url
    assert params(link("https://www.facebook.com/sharer/sharer.php"))["u"] == url
    assert params(link("https://vk.com/share.php"))["url"] == url
    assert url in params(link("mailto:"))["body"]
    assert by_id(html, "share-url")["value"] == url


def test_signed_page_in_russian_shares_the_russian_url(client, petition):
    html = client.get("/ru/c/clean-water/signed").text
    assert quote(f"{BASE_URL}/ru/c/clean-water", safe="") in html


# --- confirming -------------------------------------------------------------------------------


def test_the_whole_journey_with_the_real_outbox(app, client, petition, db, mail):
    response = client.post("/en/c/clean-water", data=sign_data(email="journey@example.org"))
    assert path_of(response.location) == "/en/c/clean-water/signed"
    assert mail.sent == []

    deliver_mail(app, db)
    (message,) = mail.sent
    assert message.to == "journey@example.org"
    assert "Clean water for Riverside" in message.subject
    path = confirmation_path(mail, "journey@example.org")
    assert path.startswith("/en/c/clean-water/confirm/")

    # Opening the link (as mail scanners do) shows a button and counts nothing.
    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200
        form = tag(page.text, "form")
        assert form["method"] == "post"
        assert tag(page.text, "input", type="submit")["value"] == "Confirm my signature"
        assert signature_count(db, petition.id) == 0
    assert db.session.scalars(select(Signature)).one().confirmed_at is None

    # Pressing the button counts once.
    response = client.post(path)
    assert response.status_code == 302
    assert path_of(response.location) == "/en/c/clean-water/thanks"
    assert signature_count(db, petition.id) == 1
    assert db.session.scalars(select(Signature)).one().confirmed_at is not None

    thanks = client.get(response.location)
    assert thanks.status_code == 200
    assert "Thank you" in text(thanks.text)
    assert "1 signature" in text(thanks.text)

    # Pressing again, or opening the link again, changes nothing.
    again = client.post(path)
    assert again.status_code == 302
    assert path_of(again.location) == "/en/c/clean-water/thanks"
    assert signature_count(db, petition.id) == 1
    reopened = client.get(path)
    assert reopened.status_code == 302
    assert path_of(reopened.location) == "/en/c/clean-water/thanks"

    # The petition page shows the new signer and the new count.
    html = client.get("/en/c/clean-water").text
    assert "1 signature" in text(html)
    assert "Amira Lyon" in text(re.search(r'<ul class="signers__list">(.*?)</ul>', html, re.S)[1])


def test_confirmation_link_is_in_the_signers_language(app, client, petition, db, mail):
    client.post("/ru/c/clean-water", data=sign_data(email="ru@example.org"))
    deliver_mail(app, db)
    path = confirmation_path(mail, "ru@example.org")
    assert path.startswith("/ru/c/clean-water/confirm/")
    response = client.post(path)
    assert path_of(response.location) == "/ru/c/clean-water/thanks"
    assert signature_count(db, petition.id) == 1


def _tampered(token: str) -> str:
    """The token with one character of its payload changed."""
    position = 3
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


def test_tampered_token_is_a_friendly_404(app, client, petition, db, mail):
    client.post("/en/c/clean-water", data=sign_data())
    deliver_mail(app, db)
    path = confirmation_path(mail, "amira@example.org")
    prefix, token = path.rsplit("/", 1)

    for bad in (f"{prefix}/{_tampered(token)}", f"{prefix}/not-a-token"):
        for method in (client.get, client.post):
            response = method(bad)
            assert response.status_code == 404
            page = text(response.text)
            assert "This confirmation link does not work" in page
            assert "Sign again" in page
            assert tags(response.text, "a", href="/en/c/clean-water#sign")
    assert signature_count(db, petition.id) == 0
    assert db.session.scalars(select(Signature)).one().confirmed_at is None


def test_token_for_another_campaign_is_refused(app, client, petition, db, mail):
    make_campaign(slug="other", languages=("en",))
    db.session.commit()
    client.post("/en/c/clean-water", data=sign_data())
    deliver_mail(app, db)
    token = confirmation_path(mail, "amira@example.org").rsplit("/", 1)[1]
    response = client.post(f"/en/c/other/confirm/{token}")
    assert response.status_code == 404
    assert signature_count(db, petition.id) == 0


def test_expired_token_is_410(app, client, petition, db, mail, monkeypatch):
    client.post("/en/c/clean-water", data=sign_data())
    deliver_mail(app, db)
    path = confirmation_path(mail, "amira@example.org")

    # A week and a day later.
    later = app.config["CONFIRM_TOKEN_MAX_AGE"] + 24 * 3600
    real_timestamp = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real_timestamp(self) + later)

    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 410
        page = text(response.text)
        assert "This confirmation link has expired" in page
        assert "Sign again" in page
    assert signature_count(db, petition.id) == 0


def test_confirming_after_the_campaign_closed_is_refused(app, client, petition, db, mail):
    client.post("/en/c/clean-water", data=sign_data())
    deliver_mail(app, db)
    path = confirmation_path(mail, "amira@example.org")
    db.session.get(Campaign, petition.id).status = CampaignStatus.CLOSED
    db.session.commit()
    response = client.post(path)
    assert response.status_code == 409
    assert "This petition is closed" in text(response.text)
    assert signature_count(db, petition.id) == 0
