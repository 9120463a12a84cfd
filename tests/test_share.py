"""Reach: the share image, Open Graph cards, share links and the embeddable widget
(campaign/public/share.py), through the test client."""

from __future__ import annotations

import io
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image

from campaign.models import CampaignStatus, CampaignTranslation, Role
from tests.conftest import test_config as config_for
from tests.factories import add_member, login, make_campaign, make_event, make_organizer
from tests.test_public import BASE_URL, tag, tags, text

SLUG = "clean-water"


@pytest.fixture
def app_config(database_url, sendgrid):
    return config_for(database_url, sendgrid, LANGUAGES=["en", "ru", "ar"])


@pytest.fixture
def petition(db):
    """An open campaign in English, Russian and Arabic, a quarter of the way to its goal."""
    campaign = make_campaign(
        slug=SLUG, languages=("en",), goal=4000, title="Clean water for Riverside"
    )
    for language, title in (("ru", "Чистая вода для Риверсайда"), ("ar", "مياه نظيفة لريفرسايد")):
        campaign.translations.append(
            CampaignTranslation(
                language=language,
                title=title,
                target="—",
                summary=f"{title}: summary",
                body_markdown="…",
                call_to_action="→",
            )
        )
    campaign.signature_count = 1234
    db.session.commit()
    return campaign


def set_count(db, campaign, count: int) -> None:
    campaign.signature_count = count
    db.session.commit()


def meta(html: str, key: str) -> str:
    found = tags(html, "meta", property=key) or tags(html, "meta", name=key)
    assert len(found) == 1, f"one <meta> {key}, found {len(found)}"
    return found[0]["content"]


def png(response) -> Image.Image:
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    image.load()
    return image


# --- the share image ------------------------------------------------------------------------


def test_share_image_is_a_1200_by_630_png(client, petition):
    image = png(client.get(f"/en/c/{SLUG}/share.png"))
    assert image.format == "PNG"
    assert image.size == (1200, 630)


def test_share_image_differs_by_language(client, petition):
    pictures = {lang: client.get(f"/{lang}/c/{SLUG}/share.png") for lang in ("en", "ru", "ar")}
    assert len({r.data for r in pictures.values()}) == 3
    assert len({r.headers["ETag"] for r in pictures.values()}) == 3


def test_share_image_changes_with_the_count_in_buckets(client, db, petition):
    first = client.get(f"/en/c/{SLUG}/share.png")
    set_count(db, petition, 1250)  # still "1,200"
    same = client.get(f"/en/c/{SLUG}/share.png")
    assert same.headers["ETag"] == first.headers["ETag"]
    assert same.data == first.data
    set_count(db, petition, 1300)
    changed = client.get(f"/en/c/{SLUG}/share.png")
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert changed.data != first.data


def test_share_image_changes_with_the_title(client, db, petition):
    first = client.get(f"/en/c/{SLUG}/share.png")
    petition.translation("en").title = "Clean rivers for Riverside"
    db.session.commit()
    assert client.get(f"/en/c/{SLUG}/share.png").data != first.data


def test_share_image_is_publicly_cacheable_and_revalidates(client, petition):
    response = client.get(f"/en/c/{SLUG}/share.png")
    assert response.cache_control.public
    assert response.cache_control.max_age == 300
    assert "Set-Cookie" not in response.headers  # a shared cache must not hand out a cookie
    etag = response.headers["ETag"]

    again = client.get(f"/en/c/{SLUG}/share.png", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag

    other = client.get(f"/en/c/{SLUG}/share.png", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


@pytest.mark.parametrize("status", [CampaignStatus.CLOSED, CampaignStatus.ARCHIVED])
def test_share_image_of_a_closed_campaign_still_draws(client, db, petition, status):
    petition.status = status
    db.session.commit()
    assert png(client.get(f"/en/c/{SLUG}/share.png")).size == (1200, 630)


def test_no_share_image_for_a_draft_an_unknown_campaign_or_language(client, db, petition):
    assert client.get(f"/xx/c/{SLUG}/share.png").status_code == 404
    assert client.get("/en/c/no-such-campaign/share.png").status_code == 404
    petition.status = CampaignStatus.DRAFT
    db.session.commit()
    assert client.get(f"/en/c/{SLUG}/share.png").status_code == 404


# --- Open Graph and Twitter cards -----------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ru", "ar"])
def test_petition_page_has_a_card_with_the_share_image_in_its_language(client, petition, lang):
    html = client.get(f"/{lang}/c/{SLUG}").text
    assert meta(html, "og:url") == f"{BASE_URL}/{lang}/c/{SLUG}"
    assert meta(html, "og:title") == petition.translation(lang).title
    assert meta(html, "og:description") == petition.translation(lang).summary
    assert meta(html, "og:locale") == lang
    image_url = meta(html, "og:image")
    parts = urlsplit(image_url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL, "crawlers need an absolute URL"
    assert parts.path == f"/{lang}/c/{SLUG}/share.png"
    assert meta(html, "og:image:width") == "1200"
    assert meta(html, "og:image:height") == "630"
    assert meta(html, "og:image:alt") == petition.translation(lang).title
    assert meta(html, "twitter:card") == "summary_large_image"
    assert meta(html, "twitter:image") == image_url
    # The URL in the tag is the image the crawler will get.
    assert png(client.get(f"{parts.path}?{parts.query}")).size == (1200, 630)


def test_the_image_url_changes_when_the_picture_does(client, db, petition):
    before = meta(client.get(f"/en/c/{SLUG}").text, "og:image")
    set_count(db, petition, 2500)
    after = meta(client.get(f"/en/c/{SLUG}").text, "og:image")
    assert before != after
    assert urlsplit(before).path == urlsplit(after).path


def test_the_thanks_page_carries_the_card_too(client, petition):
    html = client.get(f"/ru/c/{SLUG}/thanks").text
    assert urlsplit(meta(html, "og:image")).path == f"/ru/c/{SLUG}/share.png"


def test_an_event_page_shares_the_campaigns_image(client, db, petition):
    event = make_event(petition)
    db.session.commit()
    html = client.get(f"/ru/e/{event.id}").text
    assert urlsplit(meta(html, "og:image")).path == f"/ru/c/{SLUG}/share.png"
    assert meta(html, "twitter:card") == "summary_large_image"


# --- share links ----------------------------------------------------------------------------


def test_petition_page_offers_plain_share_links(client, petition):
    html = client.get(f"/en/c/{SLUG}").text
    url = f"{BASE_URL}/en/c/{SLUG}"
    links = {a["href"] for a in tags(html, "a", class_="share__link")}
    assert any(h.startswith("https://wa.me/?text=") for h in links)
    assert any(h.startswith("https://t.me/share/url?url=") for h in links)
    assert any(h.startswith("https://twitter.com/intent/tweet?url=") for h in links)
    assert any(h.startswith("https://www.facebook.com/sharer/sharer.php?u=") for h in links)
    assert any(h.startswith("mailto:?subject=") for h in links)
    for link in tags(html, "a", class_="share__link"):
        if link["href"].startswith("http"):
            assert link["target"] == "_blank"
            assert link["rel"] == "noopener"
    assert tag(html, "input", id="share-url")["value"] == url
    # The copy button needs the script: hidden until site.js shows it.
    assert "hidden" in tag(html, "button", data_copy="#share-url")
    # No third-party script on the page.
    assert all(urlsplit(s["src"]).netloc == "" for s in tags(html, "script") if "src" in s)


def test_share_message_is_in_the_readers_language(client, petition):
    html = client.get(f"/ru/c/{SLUG}").text
    whatsapp = next(
        a["href"] for a in tags(html, "a", class_="share__link") if "wa.me" in a["href"]
    )
    message = unquote(whatsapp.split("text=", 1)[1])
    assert "Чистая вода для Риверсайда" in message
    assert message.endswith(f"{BASE_URL}/ru/c/{SLUG}")


# --- the embeddable widget ------------------------------------------------------------------


def test_embed_shows_title_count_goal_progress_and_a_sign_link(client, petition):
    response = client.get(f"/embed/{SLUG}?lang=en")
    assert response.status_code == 200
    html = response.text
    html_tag = tag(html, "html")
    assert (html_tag["lang"], html_tag["dir"]) == ("en", "ltr")
    page = text(html)
    assert "Clean water for Riverside" in page
    assert "1,234 signatures" in page
    assert "Goal: 4,000" in page
    bar = tag(html, role="progressbar")
    assert (bar["aria-valuenow"], bar["aria-valuemax"]) == ("1234", "4000")
    sign = tag(html, "a", class_="widget__button")
    assert sign["href"] == f"{BASE_URL}/en/c/{SLUG}#sign"
    assert (sign["target"], sign["rel"]) == ("_blank", "noopener")
    assert text(html).count("Sign") >= 1
    # Light: its own stylesheet, no script, no form.
    assert [link["href"].split("?")[0] for link in tags(html, "link", rel="stylesheet")] == [
        "/static/css/embed.css"
    ]
    assert not tags(html, "script")
    assert not tags(html, "form")


def test_embed_in_arabic_is_right_to_left(client, petition):
    html = client.get(f"/embed/{SLUG}?lang=ar").text
    html_tag = tag(html, "html")
    assert (html_tag["lang"], html_tag["dir"]) == ("ar", "rtl")
    assert "مياه نظيفة لريفرسايد" in text(html)
    assert tag(html, "a", class_="widget__button")["href"] == f"{BASE_URL}/ar/c/{SLUG}#sign"


def test_embed_follows_the_readers_browser_language(client, petition):
    response = client.get(f"/embed/{SLUG}", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert tag(response.text, "html")["lang"] == "ru"
    assert "Чистая вода для Риверсайда" in text(response.text)
    assert "Accept-Language" in response.headers["Vary"]


def test_embed_falls_back_to_the_campaigns_default_language(client, petition):
    for url, headers in (
        (f"/embed/{SLUG}", {"Accept-Language": "ja"}),
        (f"/embed/{SLUG}?lang=xx", {}),
    ):
        html = client.get(url, headers=headers).text
        assert tag(html, "html")["lang"] == "en", url


def test_embed_of_a_closed_campaign_has_no_sign_button(client, db, petition):
    petition.status = CampaignStatus.CLOSED
    db.session.commit()
    html = client.get(f"/embed/{SLUG}?lang=en").text
    assert "This petition is closed" in text(html)
    assert not tags(html, "a", href=f"{BASE_URL}/en/c/{SLUG}#sign")


def test_embed_is_cacheable_and_sets_no_cookie(client, petition):
    response = client.get(f"/embed/{SLUG}?lang=ru")
    assert response.cache_control.public
    assert response.cache_control.max_age == 300
    assert "Set-Cookie" not in response.headers


def test_embed_alone_may_be_framed(client, petition):
    embed = client.get(f"/embed/{SLUG}?lang=en").headers
    assert "X-Frame-Options" not in embed
    policy = embed["Content-Security-Policy"]
    assert "frame-ancestors *" in policy
    assert "frame-ancestors 'none'" not in policy
    assert "script-src 'self'" in policy  # the rest of the policy stands
    for path in (f"/en/c/{SLUG}", f"/en/c/{SLUG}/share.png", f"/en/c/{SLUG}/thanks"):
        headers = client.get(path).headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path


def test_no_embed_for_a_draft_or_an_unknown_campaign(client, db, petition):
    assert client.get("/embed/no-such-campaign").status_code == 404
    petition.status = CampaignStatus.DRAFT
    db.session.commit()
    assert client.get(f"/embed/{SLUG}").status_code == 404


# --- the embed code for organizers ----------------------------------------------------------


def test_campaign_overview_offers_the_embed_code(client, db, petition):
    owner = make_organizer()
    add_member(petition, owner, Role.OWNER)
    petition.translation("en").title = 'Clean "water" <now>'
    login(client, owner)
    html = client.get(f"/admin/c/{SLUG}/").text
    area = tag(html, "textarea", id="embed-code")
    assert "readonly" in area
    code = text(html.split('id="embed-code"', 1)[1].split("</textarea>", 1)[0].split(">", 1)[1])
    assert code.startswith(f'<iframe src="{BASE_URL}/embed/{SLUG}"')
    assert 'title="Clean &#34;water&#34; &lt;now&gt;"' in code
    assert tag(html, "a", href=f"{BASE_URL}/embed/{SLUG}")


def test_a_draft_offers_no_embed_code(client, db, petition):
    owner = make_organizer()
    add_member(petition, owner, Role.OWNER)
    petition.status = CampaignStatus.DRAFT
    login(client, owner)
    assert not tags(client.get(f"/admin/c/{SLUG}/").text, "textarea", id="embed-code")
