"""The pages to print for rallies (poster, signature sheet, QR image) and the paper count on the
petition page. QR codes are read back from pixels (tests/qr_reading.py), as a phone would.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest

from campaign.models import CampaignStatus, Role
from campaign.services import paper_signatures as paper
from tests.factories import add_member, make_campaign, make_event, make_organizer
from tests.qr_reading import read_svg_qr

BASE = "http://campaign.test"


@pytest.fixture
def campaign(db):
    campaign = make_campaign(
        slug="air",
        languages=("en", "ru"),
        title="Clean air for schools",
        target="The city council",
        summary="Close the street to cars at school times.",
        call_to_action="Sign for clean air",
    )
    db.session.commit()
    return campaign


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r"[ \t\r\n]+", " ", html)))


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_poster_says_what_and_leads_to_the_petition_in_its_language(client, campaign, lang):
    response = client.get(f"/{lang}/c/air/poster")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}"' in html
    (svg,) = _svgs(html)
    assert read_svg_qr(svg) == [f"{BASE}/{lang}/c/air"]
    text = _text(html)
    if lang == "en":
        for words in (
            "Clean air for schools",
            "The city council",
            "Close the street to cars at school times.",
            "Sign for clean air",
            "Sign the petition",
        ):
            assert words in text
    # The address in letters under the code, for a phone without a camera.
    assert f"{BASE}/{lang}/c/air" in text
    assert "campaign" in text  # the site name (SITE_NAME's default)
    assert "css/print.css" in html


def test_the_poster_and_sheet_need_no_inline_script_or_style(client, campaign):
    for page in ("poster", "clipboard"):
        html = client.get(f"/en/c/air/{page}").get_data(as_text=True)
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
        main = html[html.index("<main") :]
        assert " style=" not in main
        assert "data-print" in html  # a Print button, revealed by site.js


def test_a_reader_of_another_language_gets_the_default_text_and_their_own_petition_link(client, db):
    make_campaign(slug="only-en", languages=("en",), title="English only")
    db.session.commit()
    html = client.get("/ru/c/only-en/poster").get_data(as_text=True)
    assert "English only" in html
    (svg,) = _svgs(html)
    assert read_svg_qr(svg) == [f"{BASE}/ru/c/only-en"]


def test_the_signature_sheet(client, campaign):
    response = client.get("/en/c/air/clipboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    (svg,) = _svgs(html)
    assert read_svg_qr(svg) == [f"{BASE}/en/c/air"]
    text = _text(html)
    assert "Clean air for schools" in text
    assert "The city council" in text
    assert "By signing this sheet you add your name to this petition." in text
    assert "Your email address is never shown or shared." in text
    table = html[html.index('<table class="sheet__lines"') : html.index("</table>")]
    headers = [_text(h).strip() for h in re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", table)]
    assert headers == [
        "No.",
        "Full name",
        "Email",
        "Country / city",
        "Public name",
        "Send me updates",
        "Signature",
    ]
    rows = re.findall(r"<tr>", table.split("<tbody>")[1])
    assert len(rows) == 15
    assert table.count('class="tick-box"') == 30


def test_the_sheet_links_the_privacy_page_when_the_site_has_one(app, client, campaign):
    has_privacy = any(rule.rule == "/<lang>/privacy" for rule in app.url_map.iter_rules())
    html = client.get("/en/c/air/clipboard").get_data(as_text=True)
    assert (f'href="{BASE}/en/privacy"' in html) == has_privacy
    if has_privacy:
        assert client.get("/en/privacy").status_code == 200


def test_the_qr_image_alone(client, campaign):
    response = client.get("/ru/c/air/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "air.svg" in response.headers["Content-Disposition"]
    assert read_svg_qr(response.get_data(as_text=True)) == [f"{BASE}/ru/c/air"]


@pytest.mark.parametrize(
    "status", [CampaignStatus.DRAFT, CampaignStatus.CLOSED, CampaignStatus.ARCHIVED]
)
@pytest.mark.parametrize("page", ["poster", "clipboard", "qr.svg"])
def test_only_open_campaigns_have_them(client, db, status, page):
    make_campaign(slug="not-open", status=status)
    db.session.commit()
    assert client.get(f"/en/c/not-open/{page}").status_code == 404


@pytest.mark.parametrize(
    "url", ["/en/c/nothing/poster", "/xx/c/air/poster", "/en/c/air/clipboard/x"]
)
def test_unknown_addresses_are_404(client, campaign, url):
    assert client.get(url).status_code == 404


def test_the_event_page_offers_both_to_print(client, db, campaign):
    event = make_event(campaign)
    db.session.commit()
    html = client.get(f"/en/e/{event.id}").get_data(as_text=True)
    assert 'href="/en/c/air/poster"' in html
    assert 'href="/en/c/air/clipboard"' in html
    assert "Print a poster" in html
    assert "Print a signature sheet" in html


# --- the paper count on the petition page ----------------------------------------------------


def _organizer(db, campaign):
    organizer = make_organizer()
    add_member(campaign, organizer, Role.OWNER)
    return organizer


def test_the_petition_shows_paper_signatures_apart(client, db, campaign):
    campaign.signature_count = 12345
    campaign.goal = 20000
    paper.add(
        db.session, _organizer(db, campaign), campaign, paper.PaperSignatureData(320, date.today())
    )
    db.session.commit()

    html = client.get("/en/c/air").get_data(as_text=True)
    assert "12,345 signed online" in _text(html)
    assert "320 on paper" in _text(html)
    # The progress to the goal counts the online signatures only.
    assert 'aria-valuenow="12345"' in html


def test_numbers_are_written_the_readers_way(client, db, campaign):
    campaign.signature_count = 12345
    paper.add(
        db.session, _organizer(db, campaign), campaign, paper.PaperSignatureData(4321, date.today())
    )
    db.session.commit()
    text = _text(client.get("/ru/c/air").get_data(as_text=True))
    assert "4\xa0321" in text
    assert "12\xa0345" in text


def test_without_paper_signatures_nothing_is_said_about_paper(client, campaign):
    assert "on paper" not in client.get("/en/c/air").get_data(as_text=True)
