"""Strings that escaped `_()`: every page and email rendered under a pseudo-locale.

The pseudo-locale is built here from the strings the code holds right now: each translation is
the English text with its letters accented and the whole wrapped in ⟦…⟧, placeholders and HTML
left intact. The app then serves Western Frisian ("fy", a locale Babel knows, so dates, numbers
and country names are real Frisian) from that catalog. We crawl the public site and the organizer
panel, render every kind of email, and fail on any word of plain English outside ⟦…⟧: that word
came from a template or from Python code that never went through the catalog.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from campaign import create_app
from campaign.extensions import db as _db
from campaign.models import CommentStatus, OutboxMessage, OutcomeKind, Role
from tests.conftest import FreshContextClient
from tests.conftest import test_config as config_for
from tests.factories import (
    add_member,
    login,
    make_campaign,
    make_comment,
    make_event,
    make_organizer,
    make_rsvp,
    make_signature,
    make_subscriber,
)

ROOT = Path(__file__).resolve().parent.parent
PSEUDO = "fy"
OPEN, CLOSE = "⟦", "⟧"
SLUG = "ŝanco"
ACCENTS = str.maketrans(
    "abcdeghiklnorstuwyzABCDEGHIKLNORSTUWYZ",
    "áƀçđéğħíķłñóŕšŧúŵýžÁƁÇĐÉĞĦÍĶŁÑÓŔŠŦÚŴÝŽ",
)
# Placeholders, tags and entities keep their exact spelling.
KEEP = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}|<[^>]+>|&\w+;")
PAGE_LIMIT = 250


def pseudo(text: str) -> str:
    pieces, position = [], 0
    for match in KEEP.finditer(text):
        pieces.append(text[position : match.start()].translate(ACCENTS))
        pieces.append(match.group(0))
        position = match.end()
    pieces.append(text[position:].translate(ACCENTS))
    return OPEN + "".join(pieces) + CLOSE


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    """The messages the code holds right now, freshly extracted."""
    pot = tmp_path_factory.mktemp("pseudo-pot") / "messages.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
         "-k", "lazy_gettext", "-o", str(pot), str(ROOT)]
    )  # fmt: skip
    with pot.open("rb") as f:
        return [message for message in read_po(f) if message.id]


@pytest.fixture(scope="module")
def translations_dir(tmp_path_factory, source_messages) -> Path:
    directory = tmp_path_factory.mktemp("pseudo-translations")
    catalog = Catalog(locale=PSEUDO)
    for message in source_messages:
        if isinstance(message.id, tuple | list):
            string = tuple(pseudo(message.id[min(n, 1)]) for n in range(catalog.num_plurals))
        else:
            string = pseudo(message.id)
        catalog.add(message.id, string)
    target = directory / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as f:
        write_mo(f, catalog)
    return directory


@pytest.fixture(scope="module")
def english_words(source_messages) -> set[str]:
    """Every word of three letters or more in the English source strings."""
    words: set[str] = set()
    for message in source_messages:
        for text in message.id if isinstance(message.id, tuple | list) else [message.id]:
            words.update(w.lower() for w in re.findall(r"[A-Za-z]{3,}", KEEP.sub(" ", text)))
    return words


@pytest.fixture
def pseudo_app(database_url, sendgrid, mail, translations_dir):
    app = create_app(
        config_for(
            database_url,
            sendgrid,
            LANGUAGES=["en", PSEUDO],
            BABEL_TRANSLATION_DIRECTORIES=str(translations_dir),
            SITE_NAME="Ŝajto",
            WTF_CSRF_ENABLED=True,
        )
    )
    # Each request in its own context, as in production: the locale is chosen per request.
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())
        _db.engine.dispose()


class _VisibleText(HTMLParser):
    """Text and readable attributes in the page's own language (content in other languages,
    marked with `lang`, is campaign data, not interface)."""

    READABLE = ("title", "aria-label", "placeholder", "alt", "data-counter", "data-copied")
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.chunks: list[str] = []
        self.skip = 0

    def _lang(self) -> str | None:
        for _tag, lang in reversed(self.stack):
            if lang is not None:
                return lang
        return None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        lang = attributes.get("lang")
        if tag not in self.VOID:
            self.stack.append((tag, lang))
        if tag in ("script", "style"):
            self.skip += 1
        current = lang or self._lang()
        if current not in (None, PSEUDO):
            return
        for name in self.READABLE:
            if attributes.get(name):
                self.chunks.append(attributes[name])
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self.chunks.append(attributes.get("value", ""))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self.skip and self._lang() in (None, PSEUDO):
            self.chunks.append(data)


def english_left(text: str, english_words: set[str]) -> list[str]:
    """Words of English interface text outside the pseudo-locale's brackets."""
    text = re.sub(r"https?://\S+|[\w.+-]+@[\w.-]+", " ", text)  # links and addresses are data
    text = re.sub(f"{OPEN}.*?{CLOSE}", " ", text, flags=re.S)
    return sorted({w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() in english_words})


def visible_english(html: str, english_words: set[str]) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    return english_left(" ".join(parser.chunks), english_words)


def crawl(client, seeds: list[str], english_words: set[str]) -> tuple[dict[str, list[str]], int]:
    """Visit the seeds and every page they link to on this site.

    Returns the English found, per page, and how many HTML pages were read.
    """
    found: dict[str, list[str]] = {}
    pages = 0
    queue, seen = list(seeds), set(seeds)
    while queue and len(seen) <= PAGE_LIMIT:
        path = queue.pop(0)
        response = client.get(path)
        if not response.content_type.startswith("text/html"):
            continue
        html = response.get_data(as_text=True)
        pages += 1
        english = visible_english(html, english_words)
        if english:
            found[path] = english
        for href in re.findall(r'href="([^"]+)"', html):
            href = urldefrag(href.replace("&amp;", "&"))[0]
            parts = urlsplit(href)
            if parts.netloc and parts.netloc != "campaign.test":
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            wanted = parts.path.startswith((f"/{PSEUDO}/", "/admin/"))
            unwanted = any(word in parts.path for word in ("logout", "export", ".csv", "/static/"))
            if target and wanted and not unwanted and target not in seen:
                seen.add(target)
                queue.append(target)
    return found, pages


@pytest.fixture
def world(pseudo_app):
    """A campaign with a bit of everything, written in the pseudo-locale, and its team."""
    campaign = make_campaign(
        slug=SLUG,
        languages=("en", PSEUDO),
        title="Ŝanĝo",
        target="Ĉefo",
        summary="Ĝuste",
        body_markdown="Ĉi ŝanĝo",
        call_to_action="Ĝoju",
    )
    campaign.outcome_kind = OutcomeKind.VICTORY
    campaign.translation(PSEUDO).outcome_markdown = "Ŝajnas"
    make_signature(campaign, confirmed=True, full_name="Ĵaĥo Ŭu", city="Ĉerkeso")
    top = make_comment(campaign, author_name="Ĉjo", body="Ĉu ĝuste?", language=PSEUDO)
    make_comment(campaign, reply_to=top, author_name="Ĝino", body="Jes ĝuste", language=PSEUDO)
    make_comment(campaign, author_name="Ŝio", body="Ŝŝ", status=CommentStatus.HIDDEN)
    make_comment(campaign, author_name="Ŭo", body="Ŭŭ", status=CommentStatus.PENDING)
    admin = make_organizer(email="admin@example.org", name="Ĥoĥo", language=PSEUDO)
    add_member(campaign, admin, Role.OWNER)
    make_subscriber(campaign, "sub@example.org", language=PSEUDO)
    _updates(campaign, admin)
    event = make_event(
        campaign,
        title="Ĉe la placo",
        description="Ĉiuj venu",
        venue="Ĉefplaco",
        language=PSEUDO,
        city="Ĉerkeso",
        latitude=48.1,
        longitude=11.5,
        capacity=5,
    )
    make_rsvp(event, full_name="Ĵaĥo", email="rsvp@example.org", language=PSEUDO)
    _db.session.commit()
    return campaign, admin


def _updates(campaign, admin) -> None:
    """A draft update and a sent one, so the crawl reaches every state of the updates screens."""
    from campaign.models import BroadcastStatus
    from campaign.models.types import utcnow
    from campaign.services import broadcasts
    from campaign.services.broadcasts import BroadcastData, BroadcastText

    texts = {
        "en": BroadcastText("Ĝi", "Ĉu **ĝi**?"),
        PSEUDO: BroadcastText("Ĝi ŝi", "Ĉu **ŝi**?"),
    }
    broadcasts.create_broadcast(_db.session, admin, campaign, BroadcastData(texts=texts))
    sent = broadcasts.create_broadcast(_db.session, admin, campaign, BroadcastData(texts=texts))
    sent.status = BroadcastStatus.SENT
    sent.recipients_listed_at = sent.sent_at = utcnow()


def test_the_pseudo_catalog_covers_every_string(translations_dir, source_messages):
    assert (translations_dir / PSEUDO / "LC_MESSAGES" / "messages.mo").stat().st_size > 0
    assert pseudo("Sign %(count)s <b>x</b>") == "⟦Šíğñ %(count)s <b>x</b>⟧"
    assert len(source_messages) > 100


def test_the_check_catches_a_plain_english_string(english_words):
    # The check itself: a page that forgot a `{% trans %}` fails, a translated one passes.
    assert visible_english("<p>⟦Šíğñ⟧ Please correct the fields</p>", english_words)
    assert not visible_english('<p>⟦Šíğñ⟧ <span lang="en">Please</span> 42</p>', english_words)


def test_public_pages_have_no_untranslated_text(pseudo_app, world, english_words):
    client = pseudo_app.test_client()
    found, pages = crawl(
        client,
        [
            f"/{PSEUDO}/",
            f"/{PSEUDO}/c/{SLUG}",
            f"/{PSEUDO}/c/{SLUG}?sort=supported&show=mine",
            f"/{PSEUDO}/c/{SLUG}/signed",
            f"/{PSEUDO}/c/{SLUG}/thanks",
            f"/{PSEUDO}/c/{SLUG}/confirm/not-a-token",
            f"/{PSEUDO}/c/{SLUG}/comments/confirm/not-a-token",
            f"/{PSEUDO}/c/no-such-campaign",
            f"/{PSEUDO}/c/{SLUG}/events",
            f"/{PSEUDO}/c/{SLUG}/events?city=Berlin&country=DE",
            f"/{PSEUDO}/c/{SLUG}/events/propose",
            f"/{PSEUDO}/c/{SLUG}/updates",
            f"/{PSEUDO}/subscribe/sent",
            f"/{PSEUDO}/subscribe/confirm/not-a-token",
            f"/{PSEUDO}/preferences/not-a-token",
            "/u/not-a-token",
        ],
        english_words,
    )
    assert found == {}
    assert pages >= 12, "the crawl should reach the reply, report and confirm pages too"


def test_forms_with_errors_have_no_untranslated_text(pseudo_app, world, english_words):
    pseudo_app.config["WTF_CSRF_ENABLED"] = False
    client = pseudo_app.test_client()
    pages = [
        client.post(f"/{PSEUDO}/c/{SLUG}", data={"email": "x", "country": "??"}),
        client.post(f"/{PSEUDO}/c/{SLUG}/comments", data={"comment-email": "x"}),
        client.post(f"/{PSEUDO}/c/{SLUG}/comments/1/flag", data={}),
        client.post("/admin/login", data={"email": "x", "password": ""}),
    ]
    for response in pages:
        assert response.status_code in (200, 404, 422), response.status_code
        assert visible_english(response.get_data(as_text=True), english_words) == []


def test_the_organizer_panel_has_no_untranslated_text(pseudo_app, world, english_words):
    campaign, admin = world
    client = pseudo_app.test_client()
    pseudo_app.config["WTF_CSRF_ENABLED"] = False
    assert visible_english(client.get("/admin/login").get_data(as_text=True), english_words) == []
    assert login(client, admin).status_code == 302
    found, pages = crawl(
        client,
        [
            "/admin/",
            f"/admin/c/{SLUG}/comments?tab=pending",
            f"/admin/c/{SLUG}/comments?tab=flagged",
            f"/admin/c/{SLUG}/comments?tab=hidden",
            f"/admin/c/{SLUG}/signatures?q=zz",
        ],
        english_words,
    )
    assert found == {}
    assert pages >= 24, "the crawl should reach every screen of the panel"


def test_emails_have_no_untranslated_text(pseudo_app, world, english_words):
    from campaign.models import Broadcast, Rsvp
    from campaign.services import broadcasts, digests, moderation, rsvps, subscribers
    from campaign.services.comments import CommentData, CommentRules, post_comment
    from campaign.services.organizers import invite, request_password_reset
    from campaign.services.signing import SignatureData, sign

    campaign, admin = world
    with pseudo_app.test_request_context():
        sign(_db.session, campaign, SignatureData("Ĵo", "jo@example.org", "DE"), PSEUDO)
        make_signature(campaign, confirmed=True, email="ready@example.org")
        sign(_db.session, campaign, SignatureData("Ĵo", "ready@example.org", "DE"), PSEUDO)
        post_comment(
            _db.session,
            campaign,
            CommentData("Ĵo", "jo2@example.org", "Ĉu vere ĝuste?"),
            ui_language=PSEUDO,
            rules=CommentRules(),
        )
        request_password_reset(_db.session, admin.email, PSEUDO)
        subscribers.subscribe(
            _db.session, campaign, "new.reader@example.org", PSEUDO, "footer", "Ĝi"
        )
        draft = _db.session.scalars(select(Broadcast).order_by(Broadcast.id)).first()
        broadcasts.send_test(_db.session, admin, draft, PSEUDO)
        # An invitation goes out in the invitee's language when they have an account.
        make_organizer(email="new@example.org", language=PSEUDO)
        invite(_db.session, admin, campaign, "new@example.org", Role.EDITOR)
        _db.session.commit()
        moderation.send_moderation_alerts(_db.session)
        record = _db.session.scalars(select(Rsvp)).one()
        for template in rsvps.SUBJECTS:
            rsvps.queue_rsvp_email(_db.session, record, template)
        tomorrow = datetime.combine(date.today() + timedelta(days=1), time(9), tzinfo=UTC)
        assert digests.send_due(_db.session, now=tomorrow) == 1
    messages = _db.session.scalars(select(OutboxMessage)).all()
    kinds = {m.kind for m in messages}
    assert kinds >= {
        "signature_confirmation",
        "signature_already_confirmed",
        "comment_confirmation",
        "moderation_alert",
        "password_reset",
        "team_invitation",
        "subscription_confirmation",
        "broadcast_test",
        "digest",
        *rsvps.SUBJECTS,
    }
    for message in messages:
        text = f"{message.subject}\n{message.text_body}"
        assert english_left(text, english_words) == [], message.kind
        assert visible_english(message.html_body, english_words) == [], message.kind
