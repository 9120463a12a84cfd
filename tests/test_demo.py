"""The demo campaign that `flask demo` loads (campaign/services/demo.py)."""

import pytest
from sqlalchemy import func, select

from campaign.models import Campaign, CampaignStatus, CampaignTranslation
from campaign.services.demo import DEMO_TEXTS, load_demo
from campaign.services.markdown import render_markdown
from tests.factories import make_campaign


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_creates_the_aleppo_campaign(db):
    campaign, changed = load_demo(db.session)
    db.session.commit()
    assert changed is True
    assert campaign.slug == "aleppo"
    assert campaign.goal == 100_000
    assert campaign.status == CampaignStatus.OPEN
    assert campaign.default_language == "en"
    assert campaign.signature_count == 0


# The name of the city in each language the demo must ship in.
ALEPPO = {"en": "Aleppo", "ar": "حلب", "ru": "Алеппо", "fr": "Alep"}
TEXT_FIELDS = ("title", "target", "summary", "call_to_action", "body_markdown")


def test_demo_has_english_arabic_russian_and_french_texts(db):
    campaign, _ = load_demo(db.session)
    db.session.commit()
    # Every language in DEMO_TEXTS is stored, whether or not the site serves it.
    assert campaign.languages == sorted(DEMO_TEXTS)
    assert set(ALEPPO) <= set(campaign.languages)
    for language, city in ALEPPO.items():
        text = campaign.translation(language)
        for field in TEXT_FIELDS:
            assert getattr(text, field).strip(), (language, field)
        assert city in text.title, language
        assert city in text.body_markdown, language
    # Each is its own text, not a copy of the English one.
    assert len({campaign.translation(language).body_markdown for language in ALEPPO}) == 4


def test_demo_texts_fill_every_field_within_column_limits(db):
    campaign, _ = load_demo(db.session)
    db.session.commit()
    for text in campaign.translations:
        for field in TEXT_FIELDS:
            assert getattr(text, field).strip(), (text.language, field)
        assert len(text.title) <= 200
        assert len(text.target) <= 500
        assert len(text.summary) <= 500
        assert len(text.call_to_action) <= 200


def _structure(html: str) -> dict[str, int]:
    return {tag: html.count(tag) for tag in ("<h1>", "<h2>", "<p>", "<ol>", "<li>", "<strong>")}


def test_demo_appeal_renders_as_headings_and_a_numbered_list(db):
    campaign, _ = load_demo(db.session)
    html = render_markdown(campaign.translation("en").body_markdown)
    assert "<h2>" in html
    assert html.count("<ol>") == 1
    assert html.count("<li>") == 4


@pytest.mark.parametrize("language", ["ar", "ru", "fr"])
def test_demo_appeal_has_the_english_structure_in_every_language(db, language):
    campaign, _ = load_demo(db.session)
    english = _structure(render_markdown(campaign.translation("en").body_markdown))
    html = render_markdown(campaign.translation(language).body_markdown)
    # The same headings, paragraphs and numbered list of demands, each with its bold lead.
    assert _structure(html) == english


def test_demo_is_stored_in_the_database(db):
    load_demo(db.session)
    db.session.commit()
    db.session.expunge_all()
    stored = db.session.scalar(select(Campaign).where(Campaign.slug == "aleppo"))
    assert stored.languages == sorted(DEMO_TEXTS)


def test_second_run_changes_nothing(db):
    first, _ = load_demo(db.session)
    db.session.commit()
    second, changed = load_demo(db.session)
    db.session.commit()
    assert changed is False
    assert second.id == first.id
    assert _count(db, Campaign) == 1
    assert _count(db, CampaignTranslation) == len(DEMO_TEXTS)


def test_second_run_in_a_fresh_session_changes_nothing(db):
    load_demo(db.session)
    db.session.commit()
    db.session.expunge_all()  # as a second `flask demo` process would see it
    _, changed = load_demo(db.session)
    db.session.commit()
    assert changed is False
    assert _count(db, Campaign) == 1
    assert _count(db, CampaignTranslation) == len(DEMO_TEXTS)


def test_organizers_edit_survives_a_second_run(db):
    campaign, _ = load_demo(db.session)
    db.session.commit()
    campaign.translation("en").title = "Stop the bombs on Aleppo now"
    db.session.commit()
    db.session.expunge_all()

    campaign, changed = load_demo(db.session)
    db.session.commit()
    db.session.expunge_all()

    assert changed is False
    stored = db.session.scalar(select(Campaign).where(Campaign.slug == "aleppo"))
    assert stored.translation("en").title == "Stop the bombs on Aleppo now"


def test_organizers_status_and_goal_survive_a_second_run(db):
    campaign, _ = load_demo(db.session)
    campaign.status = CampaignStatus.CLOSED
    campaign.goal = 5000
    db.session.commit()
    db.session.expunge_all()
    campaign, _ = load_demo(db.session)
    assert campaign.status == CampaignStatus.CLOSED
    assert campaign.goal == 5000


def test_a_deleted_language_is_added_back(db):
    campaign, _ = load_demo(db.session)
    db.session.commit()
    campaign.translations.remove(campaign.translation("ru"))
    db.session.commit()
    db.session.expunge_all()

    campaign, changed = load_demo(db.session)
    db.session.commit()
    assert changed is True
    assert campaign.languages == sorted(DEMO_TEXTS)
    assert _count(db, CampaignTranslation) == len(DEMO_TEXTS)


def test_demo_leaves_other_campaigns_alone(db):
    make_campaign(slug="water")
    db.session.commit()
    load_demo(db.session)
    db.session.commit()
    assert _count(db, Campaign) == 2
    assert db.session.scalar(select(Campaign).where(Campaign.slug == "water")).languages == ["en"]


def test_demo_discussion_is_loaded_once_with_a_reply_in_its_thread(app, db):
    from campaign.models import Comment, CommentStatus
    from campaign.services.demo import DEMO_COMMENTS, load_demo_comments

    campaign, _ = load_demo(db.session)
    assert load_demo_comments(db.session, campaign) == len(DEMO_COMMENTS)
    assert load_demo_comments(db.session, campaign) == 0
    comments = db.session.scalars(select(Comment).order_by(Comment.id)).all()
    assert {c.status for c in comments} == {CommentStatus.VISIBLE}
    replies = [c for c in comments if c.parent_id]
    assert len(replies) == 1
    assert replies[0].reply_to.author_name == "James"
    # Detected among the site's languages (en and ru in tests).
    assert {c.author_name: c.language for c in comments}["Olga"] == "ru"
    assert {c.author_name: c.language for c in comments}["James"] == "en"


def test_the_demo_command_loads_the_discussion(app, db):
    from campaign.models import Comment

    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Comment)) > 0


def test_demo_rallies_are_upcoming_in_several_time_zones_and_load_once(app, db):
    from datetime import timedelta

    from campaign.models import Event
    from campaign.models.types import utcnow
    from campaign.services.demo import DEMO_EVENTS, load_demo_events

    campaign, _ = load_demo(db.session)
    now = utcnow()
    assert load_demo_events(db.session, campaign, now) == len(DEMO_EVENTS)
    assert load_demo_events(db.session, campaign, now) == 0
    events = db.session.scalars(select(Event)).all()
    assert len({e.timezone for e in events}) >= 3
    assert all(now < e.starts_at < now + timedelta(days=21) for e in events)
    assert all(e.ends_at > e.starts_at for e in events)
    # No rally in Berlin: the organizers' "Where to rally" has a city to start one in.
    assert "Berlin" not in {e.city for e in events}
