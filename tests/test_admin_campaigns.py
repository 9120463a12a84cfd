"""The campaign screens of the organizer panel, through the client (campaign/admin/campaigns.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaign.models import (
    AuditEntry,
    Campaign,
    CampaignStatus,
    Membership,
    OutcomeKind,
    Role,
)
from tests.factories import add_member, login, make_campaign, make_organizer

TEXT_FORM = {
    "title": "Clean air for Springfield",
    "target": "The Mayor of Springfield",
    "summary": "Our children breathe the worst air in the state.",
    "body_markdown": "## Why it matters\n\nBecause **we** breathe it.",
    "call_to_action": "Add your name",
}


@pytest.fixture
def owner(db):
    return make_organizer()


@pytest.fixture
def campaign(db, owner):
    campaign = make_campaign(
        slug="clean-air", status=CampaignStatus.DRAFT, languages=("en",), title="Clean air now"
    )
    add_member(campaign, owner, Role.OWNER)
    return campaign


@pytest.fixture
def as_owner(client, owner, campaign):
    assert login(client, owner).status_code == 302
    return client


def _reload(db, campaign: Campaign) -> Campaign:
    db.session.expire_all()
    return db.session.get(Campaign, campaign.id)


def _audit(db, action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _member(db, campaign, role):
    organizer = make_organizer()
    add_member(campaign, organizer, role)
    return organizer


# New campaign


def test_new_campaign_form_renders(db, client):
    login(client, make_organizer())
    response = client.get("/admin/campaigns/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for label in ("Slug", "Goal", "Default language", "Title", "Target", "Appeal", "Russian"):
        assert label in page


def test_new_campaign_is_a_draft_owned_by_its_creator(db, client):
    organizer = make_organizer()
    login(client, organizer)
    response = client.post(
        "/admin/campaigns/new",
        data={"slug": "clean-air", "goal": "5000", "default_language": "en", **TEXT_FORM},
    )
    assert response.status_code == 302
    assert response.location.endswith("/admin/c/clean-air/")
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "clean-air"))
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.goal == 5000
    assert campaign.translation("en").title == TEXT_FORM["title"]
    membership = db.session.scalar(select(Membership).where(Membership.campaign_id == campaign.id))
    assert (membership.organizer_id, membership.role) == (organizer.id, Role.OWNER)
    assert _audit(db, "campaign.create")[0].actor_id == organizer.id
    page = client.get(response.location).get_data(as_text=True)
    assert "created as a draft" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "Clean Air", "Use only lowercase letters"),
        ("slug", "ab", "Use 3 to 80 characters"),
        ("goal", "0", "above zero"),
        ("goal", "many", "Enter a whole number"),
        ("title", "", "Enter a title."),
        ("body_markdown", "", "Write the appeal."),
        ("default_language", "xx", "Choose one of the options in the list"),
    ],
)
def test_new_campaign_errors_show_beside_their_field(db, client, field, value, message):
    login(client, make_organizer())
    data = {"slug": "clean-air", "goal": "5000", "default_language": "en", **TEXT_FORM}
    data[field] = value
    response = client.post("/admin/campaigns/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert message in page
    assert db.session.scalar(select(Campaign)) is None


def test_new_campaign_with_a_taken_slug_says_so(db, client, campaign):
    login(client, make_organizer())
    response = client.post(
        "/admin/campaigns/new",
        data={"slug": "clean-air", "goal": "10", "default_language": "en", **TEXT_FORM},
    )
    assert response.status_code == 422
    assert "Another campaign already uses “clean-air”" in response.get_data(as_text=True)


def test_new_campaign_needs_a_login(db, client):
    response = client.get("/admin/campaigns/new")
    assert response.status_code == 302
    assert "/admin/login" in response.location


# Overview


def test_overview_of_a_draft(db, as_owner, campaign):
    page = as_owner.get("/admin/c/clean-air/").get_data(as_text=True)
    assert "Clean air now" in page
    assert "Draft" in page
    assert "English" in page
    assert "/en/c/clean-air" not in page  # no public page yet
    assert "/admin/c/clean-air/status" in page
    assert "Open for signatures" in page
    assert "/admin/c/clean-air/texts/en" in page
    assert "/admin/c/clean-air/delete" in page


def test_overview_of_an_open_campaign_links_its_page_and_shows_its_outcome(db, client, owner):
    campaign = make_campaign(slug="open-one", status=CampaignStatus.OPEN, goal=10)
    add_member(campaign, owner, Role.OWNER)
    campaign.signature_count = 4
    campaign.outcome_kind = OutcomeKind.VICTORY
    campaign.translation("en").outcome_markdown = "The council **agreed**."
    login(client, owner)
    page = client.get("/admin/c/open-one/").get_data(as_text=True)
    assert 'href="/en/c/open-one"' in page
    assert "4 confirmed signatures: 40% of the goal." in page
    assert "Close the campaign" in page
    assert "Victory" in page
    assert "The council <strong>agreed</strong>." in page
    assert "Change the outcome" in page


def test_overview_shows_an_editor_only_what_they_may_do(db, client, campaign):
    login(client, _member(db, campaign, Role.EDITOR))
    page = client.get("/admin/c/clean-air/").get_data(as_text=True)
    assert "/admin/c/clean-air/texts/en" in page
    assert "/admin/c/clean-air/status" not in page
    assert "/admin/c/clean-air/delete" not in page


def test_overview_shows_a_moderator_no_buttons(db, client, campaign):
    login(client, _member(db, campaign, Role.MODERATOR))
    response = client.get("/admin/c/clean-air/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/admin/c/clean-air/texts/en" not in page
    assert "/admin/c/clean-air/edit" not in page
    assert "its owner and editors change it" in page


# Settings


def test_settings_render_with_every_language(db, as_owner):
    response = as_owner.get("/admin/c/clean-air/edit")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="slug"' in page
    assert "Edit the English texts" in page
    assert "Add the Russian texts" in page
    assert "/admin/c/clean-air/texts/ru" in page


def test_settings_save_goal_and_slug_of_a_draft(db, as_owner, campaign):
    response = as_owner.post(
        "/admin/c/clean-air/edit",
        data={
            "slug": "cleaner-air",
            "goal": "1234",
            "default_language": "en",
            "blocks_disposable_email": "y",
        },
    )
    assert response.status_code == 302
    assert response.location.endswith("/admin/c/cleaner-air/edit")
    campaign = _reload(db, campaign)
    assert (campaign.slug, campaign.goal) == ("cleaner-air", 1234)
    (entry,) = _audit(db, "campaign.update")
    assert entry.details["changes"] == {"slug": ["clean-air", "cleaner-air"], "goal": [1000, 1234]}
    assert "Settings saved." in as_owner.get(response.location).get_data(as_text=True)


def test_settings_of_a_public_campaign_do_not_offer_the_slug(db, client, owner):
    campaign = make_campaign(slug="public-one", status=CampaignStatus.OPEN)
    add_member(campaign, owner, Role.OWNER)
    login(client, owner)
    page = client.get("/admin/c/public-one/edit").get_data(as_text=True)
    assert 'name="slug"' not in page
    assert "can no longer change" in page
    # A forged slug is ignored; the rest is saved.
    response = client.post(
        "/admin/c/public-one/edit", data={"slug": "moved", "goal": "50", "default_language": "en"}
    )
    assert response.status_code == 302
    campaign = _reload(db, campaign)
    assert (campaign.slug, campaign.goal) == ("public-one", 50)


def test_settings_refuse_a_taken_slug_and_a_bad_goal(db, as_owner, campaign):
    make_campaign(slug="taken")
    db.session.commit()
    response = as_owner.post(
        "/admin/c/clean-air/edit", data={"slug": "taken", "goal": "5", "default_language": "en"}
    )
    assert response.status_code == 422
    assert "Another campaign already uses “taken”" in response.get_data(as_text=True)
    response = as_owner.post(
        "/admin/c/clean-air/edit",
        data={"slug": "clean-air", "goal": "-1", "default_language": "en"},
    )
    assert response.status_code == 422
    assert 'id="goal-error"' in response.get_data(as_text=True)
    assert _reload(db, campaign).slug == "clean-air"


def test_settings_offer_only_languages_with_texts_as_default(db, as_owner, campaign):
    response = as_owner.post(
        "/admin/c/clean-air/edit", data={"slug": "clean-air", "goal": "5", "default_language": "ru"}
    )
    assert response.status_code == 422
    assert 'id="default_language-error"' in response.get_data(as_text=True)
    assert _reload(db, campaign).default_language == "en"


# Texts


def test_texts_of_the_default_language_render(db, as_owner):
    response = as_owner.get("/admin/c/clean-air/texts/en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Clean air now" in page
    assert "for reference" not in page


def test_texts_of_another_language_show_the_default_for_reference(db, as_owner):
    response = as_owner.get("/admin/c/clean-air/texts/ru")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Add the Russian texts" in page
    assert "In English, for reference" in page
    assert "Clean air now" in page
    assert 'lang="ru"' in page


def test_texts_are_saved_and_audited(db, as_owner, campaign):
    response = as_owner.post("/admin/c/clean-air/texts/ru", data={**TEXT_FORM, "submit": "Save"})
    assert response.status_code == 302
    assert response.location.endswith("/admin/c/clean-air/texts/ru")
    campaign = _reload(db, campaign)
    assert campaign.translation("ru").title == TEXT_FORM["title"]
    (entry,) = _audit(db, "campaign.texts")
    assert entry.details["language"] == "ru"
    assert "texts are saved" in as_owner.get(response.location).get_data(as_text=True)


def test_an_outdated_translation_is_marked_until_saved_again(db, as_owner, campaign):
    as_owner.post("/admin/c/clean-air/texts/ru", data={**TEXT_FORM, "submit": "Save"})
    assert "Outdated" not in as_owner.get("/admin/c/clean-air/edit").get_data(as_text=True)
    english = {**TEXT_FORM, "title": "Clean air, now and for good"}
    as_owner.post("/admin/c/clean-air/texts/en", data={**english, "submit": "Save"})

    edit = as_owner.get("/admin/c/clean-air/edit").get_data(as_text=True)
    assert edit.count("Outdated: the default-language text has changed") == 1
    texts = as_owner.get("/admin/c/clean-air/texts/ru").get_data(as_text=True)
    assert "Outdated: the English text has changed" in texts
    assert "Clean air, now and for good" in texts  # the new source, beside the form

    as_owner.post("/admin/c/clean-air/texts/ru", data={**TEXT_FORM, "submit": "Save"})
    assert "Outdated" not in as_owner.get("/admin/c/clean-air/edit").get_data(as_text=True)


def test_preview_renders_the_appeal_without_saving(db, as_owner, campaign):
    data = {**TEXT_FORM, "title": "", "body_markdown": "# Big\n\n*soon* <script>x</script>"}
    response = as_owner.post("/admin/c/clean-air/texts/en", data={**data, "preview": "Preview"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Preview of the appeal" in page
    assert "<h2>Big</h2>" in page
    assert "<em>soon</em>" in page
    assert "<script>x" not in page
    assert "nothing is saved" in page
    assert 'id="title-error"' not in page  # a preview is not judged yet
    assert _reload(db, campaign).translation("en").title == "Clean air now"
    assert _audit(db, "campaign.texts") == []


def test_invalid_texts_are_not_saved(db, as_owner, campaign):
    response = as_owner.post(
        "/admin/c/clean-air/texts/en", data={**TEXT_FORM, "title": " ", "submit": "Save"}
    )
    assert response.status_code == 422
    assert "Enter a title." in response.get_data(as_text=True)
    assert _reload(db, campaign).translation("en").title == "Clean air now"


def test_texts_in_an_unknown_language_are_not_found(db, as_owner):
    assert as_owner.get("/admin/c/clean-air/texts/xx").status_code == 404
    assert as_owner.post("/admin/c/clean-air/texts/xx", data=TEXT_FORM).status_code == 404


# Status


def test_status_page_explains_the_next_step(db, as_owner):
    response = as_owner.get("/admin/c/clean-air/status")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Once open, anyone can sign" in page
    assert "I understand" in page
    assert 'name="to" type="hidden" value="open"' in page


def test_status_needs_the_box_ticked(db, as_owner, campaign):
    response = as_owner.post("/admin/c/clean-air/status", data={"to": "open"})
    assert response.status_code == 422
    assert "Tick the box to confirm." in response.get_data(as_text=True)
    assert _reload(db, campaign).status == CampaignStatus.DRAFT


def test_status_steps_through_to_archived(db, as_owner, campaign):
    for to in ("open", "closed", "archived"):
        response = as_owner.post("/admin/c/clean-air/status", data={"to": to, "understand": "y"})
        assert response.status_code == 302, to
        assert _reload(db, campaign).status == CampaignStatus(to)
    assert [e.details["to"] for e in _audit(db, "campaign.status")] == [
        "open",
        "closed",
        "archived",
    ]
    page = as_owner.get("/admin/c/clean-air/status").get_data(as_text=True)
    assert "that is the last step" in page
    assert 'name="understand"' not in page


def test_a_stale_confirmation_is_refused_with_a_message(db, as_owner, campaign):
    as_owner.post("/admin/c/clean-air/status", data={"to": "open", "understand": "y"})
    # The same confirmation again, from a tab left open: no second step.
    response = as_owner.post("/admin/c/clean-air/status", data={"to": "open", "understand": "y"})
    assert response.status_code == 302
    assert _reload(db, campaign).status == CampaignStatus.OPEN
    page = as_owner.get(response.location).get_data(as_text=True)
    assert "That step is not possible" in page
    assert "Nothing was changed." in page


def test_a_draft_without_default_texts_cannot_open(db, client, owner):
    campaign = make_campaign(
        slug="no-text", status=CampaignStatus.DRAFT, languages=("en",), default_language="ru"
    )
    add_member(campaign, owner, Role.OWNER)
    login(client, owner)
    page = client.get("/admin/c/no-text/status").get_data(as_text=True)
    assert "Write the texts in Russian" in page
    assert 'name="understand"' not in page
    response = client.post("/admin/c/no-text/status", data={"to": "open", "understand": "y"})
    assert response.status_code == 302
    assert _reload(db, campaign).status == CampaignStatus.DRAFT
    assert "before opening" in client.get(response.location).get_data(as_text=True)


# Outcome


def test_outcome_form_has_a_field_per_language_with_texts(db, client, owner):
    campaign = make_campaign(slug="two", languages=("en", "ru"))
    add_member(campaign, owner, Role.OWNER)
    login(client, owner)
    response = client.get("/admin/c/two/outcome")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="text_en"' in page
    assert 'name="text_ru"' in page
    assert "Victory: the demand was met" in page


def test_victory_is_posted_and_shown_in_the_readers_language(db, client, owner):
    campaign = make_campaign(slug="two", languages=("en", "ru"), status=CampaignStatus.CLOSED)
    add_member(campaign, owner, Role.OWNER)
    login(client, owner)
    response = client.post(
        "/admin/c/two/outcome",
        data={
            "kind": "victory",
            "text_en": "The council **agreed**.",
            "text_ru": "Совет **согласился**.",
        },
    )
    assert response.status_code == 302
    campaign = _reload(db, campaign)
    assert campaign.outcome_kind == OutcomeKind.VICTORY
    assert campaign.outcome_at is not None
    assert _audit(db, "campaign.outcome")[0].details == {
        "kind": "victory",
        "languages": ["en", "ru"],
    }

    russian = client.get("/ru/c/two").get_data(as_text=True)
    assert "Совет <strong>согласился</strong>." in russian
    assert "The council" not in russian
    english = client.get("/en/c/two").get_data(as_text=True)
    assert "Victory!" in english
    assert "The council <strong>agreed</strong>." in english


def test_outcome_falls_back_to_the_default_language(db, client, owner):
    campaign = make_campaign(slug="two", languages=("en", "ru"))
    add_member(campaign, owner, Role.OWNER)
    login(client, owner)
    client.post(
        "/admin/c/two/outcome", data={"kind": "outcome", "text_en": "Talks begin.", "text_ru": ""}
    )
    russian = client.get("/ru/c/two").get_data(as_text=True)
    assert 'lang="en" dir="ltr">' in russian
    assert "Talks begin." in russian
    assert "Victory!" not in russian


def test_outcome_needs_the_default_language_text(db, as_owner, campaign):
    response = as_owner.post("/admin/c/clean-air/outcome", data={"kind": "victory", "text_en": ""})
    assert response.status_code == 422
    assert 'id="text_en-error"' in response.get_data(as_text=True)
    assert _reload(db, campaign).outcome_kind is None


def test_outcome_is_removed(db, client, owner):
    campaign = make_campaign(slug="won")
    add_member(campaign, owner, Role.OWNER)
    campaign.outcome_kind = OutcomeKind.VICTORY
    campaign.translation("en").outcome_markdown = "We won."
    login(client, owner)
    assert "We won." in client.get("/admin/c/won/outcome").get_data(as_text=True)
    response = client.post("/admin/c/won/outcome", data={"kind": "none", "text_en": "We won."})
    assert response.status_code == 302
    assert _reload(db, campaign).outcome_kind is None
    assert "We won." not in client.get("/en/c/won").get_data(as_text=True)


# Delete


def test_delete_page_asks_for_the_slug(db, as_owner):
    response = as_owner.get("/admin/c/clean-air/delete")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "cannot be undone" in page
    assert "<strong>clean-air</strong>" in page


def test_delete_refuses_a_wrong_slug(db, as_owner, campaign):
    response = as_owner.post("/admin/c/clean-air/delete", data={"confirm_slug": "clean"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="confirm_slug-error"' in page
    assert "Type clean-air exactly." in page
    assert _reload(db, campaign) is not None


def test_delete_removes_the_campaign_and_returns_to_the_dashboard(db, as_owner, campaign):
    campaign_id = campaign.id
    response = as_owner.post("/admin/c/clean-air/delete", data={"confirm_slug": "clean-air"})
    assert response.status_code == 302
    assert response.location.endswith("/admin/")
    db.session.expire_all()
    assert db.session.get(Campaign, campaign_id) is None
    assert _audit(db, "campaign.delete")[0].details["slug"] == "clean-air"
    page = as_owner.get("/admin/").get_data(as_text=True)
    assert "The campaign “clean-air” is deleted." in page
    assert as_owner.get("/admin/c/clean-air/").status_code == 404


# Who may do what


def test_an_editor_edits_texts_but_not_status_or_deletion(db, client, campaign):
    login(client, _member(db, campaign, Role.EDITOR))
    assert client.get("/admin/c/clean-air/texts/en").status_code == 200
    response = client.post("/admin/c/clean-air/texts/en", data={**TEXT_FORM, "submit": "Save"})
    assert response.status_code == 302
    assert client.get("/admin/c/clean-air/edit").status_code == 200
    assert client.get("/admin/c/clean-air/outcome").status_code == 200
    assert client.get("/admin/c/clean-air/status").status_code == 403
    assert (
        client.post("/admin/c/clean-air/status", data={"to": "open", "understand": "y"}).status_code
        == 403
    )
    assert client.get("/admin/c/clean-air/delete").status_code == 403
    assert (
        client.post("/admin/c/clean-air/delete", data={"confirm_slug": "clean-air"}).status_code
        == 403
    )
    assert _reload(db, campaign).status == CampaignStatus.DRAFT


@pytest.mark.parametrize("path", ["edit", "texts/en", "outcome", "status", "delete"])
def test_a_moderator_may_not_change_the_campaign(db, client, campaign, path):
    login(client, _member(db, campaign, Role.MODERATOR))
    assert client.get(f"/admin/c/clean-air/{path}").status_code == 403


@pytest.mark.parametrize("path", ["", "edit", "texts/en", "outcome", "status", "delete"])
def test_another_campaigns_organizer_finds_nothing(db, client, campaign, path):
    other = make_campaign(slug="theirs")
    stranger = _member(db, other, Role.OWNER)
    login(client, stranger)
    response = client.get(f"/admin/c/clean-air/{path}")
    assert response.status_code == 404
    assert "Clean air now" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["", "edit", "texts/en", "outcome", "status", "delete"])
def test_anonymous_visitors_are_sent_to_login(db, client, campaign, path):
    db.session.commit()
    response = client.get(f"/admin/c/clean-air/{path}")
    assert response.status_code == 302
    assert "/admin/login" in response.location


def test_screens_speak_the_organizers_language(db, client, campaign):
    organizer = make_organizer(language="ru")
    add_member(campaign, organizer, Role.OWNER)
    login(client, organizer)
    response = client.get("/admin/c/clean-air/texts/ru")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="ru"' in page
    assert "Английский" in page  # the reference's language, named in Russian
    for path in ("", "edit", "status", "outcome", "delete"):
        assert client.get(f"/admin/c/clean-air/{path}").status_code == 200, path
