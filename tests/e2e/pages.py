"""The pages the reach tests (accessibility, phone widths, screenshots) visit, in one table.

Adding a page is one line in PUBLIC_PAGES or ADMIN_PAGES. A path is a format string filled
from `Site`: `{lang}`, `{slug}`, `{event}`, `{comment}` and the per-language tokens
`{confirm}`, `{preferences}`, `{unsubscribe}`. Admin pages are read while logged in as the demo
organizer (English) or an Arabic-speaking one, both owners of the campaign made here.

The campaign (slug `reach`) is a copy of the demo petition in English and Arabic, with the
demo's comments and rallies, so these tests change nothing the other browser tests count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

try:
    from playwright.sync_api import BrowserContext, Page, expect
except ImportError:  # conftest's e2e_available skips these tests (or fails them in CI)
    BrowserContext = Page = expect = None

SLUG = "reach"
LANGUAGES = ("en", "ar")
ORGANIZER_EMAIL = "organizer@example.org"
ORGANIZER_PASSWORD = "demo-organizer"  # noqa: S105 - printed by `flask demo`
# The panel speaks each organizer's own language: Arabic pages are read by an Arabic speaker.
ORGANIZERS = {
    "en": ORGANIZER_EMAIL,
    "ar": "munazzim.reach@example.org",
}
SUBSCRIBER_EMAIL = "reach.subscriber@example.org"


@dataclass(frozen=True)
class Audited:
    """A page to look at: a name for reports and screenshots, a path, and, when a plain GET
    does not show the state worth checking, what to do once it is open."""

    name: str
    path: str
    admin: bool = False
    then: Callable[[Page], None] | None = None
    status: int = 200


def submit_empty_sign_form(page: Page) -> None:
    """The sign form sent empty: the page comes back with its errors beside the fields."""
    page.locator("#sign form [type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()


def subscribe_with_a_bad_address(page: Page) -> None:
    """The petition's subscribe form sent with no valid address: its own page, with the error."""
    page.locator("#subscribe-campaign-email").fill("not-an-address")
    page.locator("#subscribe-campaign-submit").click()
    expect(page.locator("main .error").first).to_be_visible()


PUBLIC_PAGES = [
    Audited("home", "/{lang}/"),
    Audited("petition", "/{lang}/c/{slug}"),
    Audited("petition-invalid", "/{lang}/c/{slug}", then=submit_empty_sign_form),
    Audited("signed", "/{lang}/c/{slug}/signed"),
    Audited("confirm", "/{lang}/c/{slug}/confirm/{confirm}"),
    Audited("confirm-invalid", "/{lang}/c/{slug}/confirm/not-a-valid-token", status=404),
    Audited("thanks", "/{lang}/c/{slug}/thanks"),
    Audited("events", "/{lang}/c/{slug}/events"),
    Audited("event", "/{lang}/e/{event}"),
    Audited("event-propose", "/{lang}/c/{slug}/events/propose"),
    Audited("updates", "/{lang}/c/{slug}/updates"),
    Audited("comment-reply", "/{lang}/c/{slug}/comments/{comment}/reply"),
    Audited("comment-flag", "/{lang}/c/{slug}/comments/{comment}/flag"),
    Audited("subscribe-invalid", "/{lang}/c/{slug}", then=subscribe_with_a_bad_address),
    Audited("subscribe-sent", "/{lang}/subscribe/sent?c={slug}"),
    Audited("preferences", "/{lang}/preferences/{preferences}"),
    Audited("unsubscribe", "/u/{unsubscribe}"),
    Audited("not-found", "/{lang}/no-such-page", status=404),
    Audited("privacy", "/{lang}/privacy"),
    Audited("poster", "/{lang}/c/{slug}/poster"),
    Audited("embed", "/embed/{slug}?lang={lang}"),
]

ADMIN_PAGES = [
    Audited("admin-login", "/admin/login"),
    Audited("admin-dashboard", "/admin/", admin=True),
    Audited("admin-campaign", "/admin/c/{slug}/", admin=True),
    Audited("admin-campaign-edit", "/admin/c/{slug}/edit", admin=True),
    Audited("admin-signatures", "/admin/c/{slug}/signatures", admin=True),
    Audited("admin-comments", "/admin/c/{slug}/comments", admin=True),
    Audited("admin-events", "/admin/c/{slug}/events", admin=True),
    Audited("admin-updates", "/admin/c/{slug}/updates", admin=True),
    Audited("admin-team", "/admin/c/{slug}/team", admin=True),
    Audited("admin-audit", "/admin/c/{slug}/audit", admin=True),
    Audited("admin-people", "/admin/c/{slug}/people", admin=True),
    Audited("admin-suspicious", "/admin/c/{slug}/suspicious", admin=True),
    Audited("admin-paper", "/admin/c/{slug}/paper", admin=True),
]

ALL_PAGES = PUBLIC_PAGES + ADMIN_PAGES

_SETUP_BODY = """
import json
from sqlalchemy import select
from campaign import create_app
from campaign.extensions import db
from campaign.models import (
    Campaign, CampaignStatus, CampaignTranslation, Comment, Event, Membership, Organizer, Role,
    Signature,
)
from campaign.services import signing, subscribers
from campaign.services.demo import DEMO_TEXTS, load_demo_comments, load_demo_events

SLUG = PARAMS['slug']
app = create_app()
with app.app_context():
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == SLUG))
    if campaign is None:
        campaign = Campaign(slug=SLUG, status=CampaignStatus.OPEN, goal=5000,
                            default_language="en")
        for language in ("en", "ar"):
            campaign.translations.append(
                # A title of its own: journeys find the demo petition by its title.
                CampaignTranslation(language=language, **{
                    **DEMO_TEXTS[language], "title": DEMO_TEXTS[language]["title"] + " · 2"}))
        db.session.add(campaign)
        db.session.flush()
        organizer = db.session.scalar(
            select(Organizer).where(Organizer.email == PARAMS['organizer']))
        db.session.add(Membership(campaign_id=campaign.id, organizer_id=organizer.id,
                                  role=Role.OWNER))
        arabic = Organizer(email=PARAMS['arabic'], name="Munazzim", language="ar")
        arabic.set_password(PARAMS['password'])
        db.session.add(arabic)
        db.session.flush()
        db.session.add(Membership(campaign_id=campaign.id, organizer_id=arabic.id,
                                  role=Role.OWNER))
        load_demo_comments(db.session, campaign)
        load_demo_events(db.session, campaign)
        db.session.add(Signature(
            campaign_id=campaign.id, full_name="Unconfirmed Reader",
            email="reach.unconfirmed@example.org", email_key="reach.unconfirmed@example.org",
            country="DE", city="Berlin", language="en"))
        subscribers.subscribe(db.session, campaign, PARAMS['subscriber'], "en", "campaign",
                              subscribers.consent_text(campaign, "en"))
        db.session.commit()
    signature = db.session.scalar(select(Signature).where(
        Signature.campaign_id == campaign.id, Signature.confirmed_at.is_(None)))
    event = db.session.scalar(select(Event).where(
        Event.campaign_id == campaign.id).order_by(Event.starts_at))
    comment = db.session.scalar(select(Comment).where(
        Comment.campaign_id == campaign.id, Comment.parent_id.is_(None)).order_by(Comment.id))
    tokens = {}
    for language in ("en", "ar"):
        tokens[language] = {
            "confirm": signing.confirmation_token(signature),
            "preferences": subscribers.preferences_url(
                PARAMS['subscriber'], language).rsplit("/", 1)[1],
            "unsubscribe": subscribers.unsubscribe_url(
                PARAMS['subscriber'], campaign, language).rsplit("/", 1)[1],
        }
    print(json.dumps({"event": event.id, "comment": comment.id, "tokens": tokens}))
"""
_PARAMS = {
    "slug": SLUG,
    "organizer": ORGANIZER_EMAIL,
    "arabic": ORGANIZERS["ar"],
    "password": ORGANIZER_PASSWORD,
    "subscriber": SUBSCRIBER_EMAIL,
}
# The script runs in the app's own process (LiveServer.run_python), given these values.
SETUP = f"PARAMS = {_PARAMS!r}\n{_SETUP_BODY}"


@dataclass
class Site:
    """What the pages' paths need: ids and tokens of the campaign made for these tests."""

    event: int
    comment: int
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def path(self, audited: Audited, lang: str) -> str:
        return audited.path.format(
            lang=lang, slug=SLUG, event=self.event, comment=self.comment, **self.tokens[lang]
        )


_sites: dict[str, Site] = {}


def reach_site(live_server) -> Site:
    """The campaign for these tests, made once per server (each test module may ask)."""
    if live_server.url not in _sites:
        data = json.loads(live_server.run_python(SETUP).strip().splitlines()[-1])
        _sites[live_server.url] = Site(data["event"], data["comment"], data["tokens"])
    return _sites[live_server.url]


def new_reader_context(browser, live_server, lang: str, **options) -> BrowserContext:
    """A fresh profile whose browser asks for `lang` (the panel follows Accept-Language)."""
    options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(
        base_url=live_server.url,
        locale="ar" if lang == "ar" else "en-US",
        timezone_id="Europe/Berlin",
        **options,
    )
    context.set_default_timeout(10_000)
    return context


def open_tabs(browser, live_server, **options) -> tuple[list[BrowserContext], dict]:
    """Per language, a supporter's tab and a logged-in organizer's: `tabs[lang, is_admin]`.
    Close the returned contexts when done."""
    contexts, tabs = [], {}
    for lang in LANGUAGES:
        for admin in (False, True):
            context = new_reader_context(browser, live_server, lang, **options)
            contexts.append(context)
            tab = context.new_page()
            if admin:
                log_in(tab, ORGANIZERS[lang])
            tabs[lang, admin] = tab
    return contexts, tabs


def log_in(page: Page, email: str = ORGANIZER_EMAIL) -> None:
    """Log in as an organizer of the campaign (the form is found the same in any language)."""
    page.goto("/admin/login")
    page.locator("input[type=email]").fill(email)
    page.locator("input[type=password]").fill(ORGANIZER_PASSWORD)
    page.locator("main form [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def open_page(page: Page, site: Site, audited: Audited, lang: str):
    """Go to the page and bring it to the state worth checking; returns the response."""
    response = page.goto(site.path(audited, lang))
    if audited.then is not None:
        audited.then(page)
    return response
