"""Organizers creating and running campaigns (campaign/services/campaign_admin.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from campaign.models import (
    AuditEntry,
    Campaign,
    CampaignStatus,
    CampaignTranslation,
    Membership,
    OutcomeKind,
    Role,
    Signature,
)
from campaign.services import audit
from campaign.services.campaign_admin import (
    CampaignTexts,
    NewCampaign,
    change_status,
    check_slug,
    create_campaign,
    delete_campaign,
    save_texts,
    set_outcome,
    update_settings,
)
from campaign.services.errors import (
    DeletionNotConfirmed,
    InvalidGoal,
    InvalidSlug,
    InvalidTransition,
    MissingDefaultText,
    MissingOutcomeText,
    NoTranslation,
    SlugLocked,
    SlugTaken,
    UnknownLanguage,
)
from tests.factories import add_member, make_campaign, make_organizer, make_signature

TEXTS = CampaignTexts(
    title="  Clean air for Springfield  ",
    target="The Mayor of Springfield",
    summary="Our children breathe the worst air in the state.",
    body_markdown="## Why\n\nBecause **we** breathe it.",
    call_to_action="Add your name",
)


def _new(slug="clean-air", goal=5000, language="en", texts=TEXTS) -> NewCampaign:
    return NewCampaign(slug=slug, goal=goal, default_language=language, texts=texts)


def _entries(db, action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _count(db, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


# check_slug


@pytest.mark.parametrize("slug", ["abc", "clean-air-2025", "a1b", "x" * 80, "2025"])
def test_well_formed_slugs_pass(db, slug):
    assert check_slug(slug) == slug


@pytest.mark.parametrize(
    "slug",
    [
        "ab",
        "x" * 81,
        "Clean-air",
        "clean air",
        "-clean",
        "clean-",
        "clean--air",
        "чистый",
        "a_b",
        "",
    ],
)
def test_malformed_slugs_are_refused(db, slug):
    with pytest.raises(InvalidSlug):
        check_slug(slug)


# create_campaign


def test_create_makes_a_draft_owned_by_its_creator(db):
    organizer = make_organizer()
    campaign = create_campaign(db.session, organizer, _new())
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.goal == 5000
    assert campaign.default_language == "en"
    assert campaign.outcome_kind is None
    assert [t.language for t in campaign.translations] == ["en"]
    assert campaign.translations[0].title == "Clean air for Springfield"  # stripped
    membership = db.session.scalar(select(Membership).where(Membership.campaign_id == campaign.id))
    assert membership.organizer_id == organizer.id
    assert membership.role == Role.OWNER


def test_create_is_audited_with_actor_and_details(db):
    organizer = make_organizer()
    campaign = create_campaign(db.session, organizer, _new(goal=750, language="ru"))
    (entry,) = _entries(db, "campaign.create")
    assert entry.actor_id == organizer.id
    assert entry.actor_email == organizer.email
    assert entry.campaign_id == campaign.id
    assert entry.details == {"slug": "clean-air", "goal": 750, "default_language": "ru"}


def test_create_refuses_a_taken_slug_and_leaves_the_session_usable(db):
    make_campaign(slug="clean-air")
    organizer = make_organizer()
    with pytest.raises(SlugTaken):
        create_campaign(db.session, organizer, _new(slug="clean-air"))
    assert create_campaign(db.session, organizer, _new(slug="clean-air-2")).id
    assert _entries(db, "campaign.create")[0].details["slug"] == "clean-air-2"


def test_create_refuses_a_malformed_slug(db):
    with pytest.raises(InvalidSlug):
        create_campaign(db.session, make_organizer(), _new(slug="Clean Air"))
    assert _count(db, Campaign) == 0


@pytest.mark.parametrize("goal", [0, -5, True])
def test_create_refuses_a_goal_that_is_not_positive(db, goal):
    with pytest.raises(InvalidGoal):
        create_campaign(db.session, make_organizer(), _new(goal=goal))


def test_create_refuses_a_language_the_site_does_not_have(db):
    with pytest.raises(UnknownLanguage):
        create_campaign(db.session, make_organizer(), _new(language="xx"))


# update_settings


def test_a_draft_may_change_its_slug(db):
    campaign = make_campaign(slug="old-name", status=CampaignStatus.DRAFT)
    organizer = make_organizer()
    changes = update_settings(db.session, organizer, campaign, slug="new-name")
    assert campaign.slug == "new-name"
    assert changes == {"slug": ["old-name", "new-name"]}
    (entry,) = _entries(db, "campaign.update")
    assert entry.actor_id == organizer.id
    assert entry.details == {"changes": {"slug": ["old-name", "new-name"]}}


@pytest.mark.parametrize(
    "status", [CampaignStatus.OPEN, CampaignStatus.CLOSED, CampaignStatus.ARCHIVED]
)
def test_a_public_campaign_keeps_its_slug(db, status):
    campaign = make_campaign(slug="out-there", status=status)
    with pytest.raises(SlugLocked):
        update_settings(db.session, make_organizer(), campaign, slug="elsewhere")
    # Passing the unchanged slug along with other settings is fine.
    update_settings(db.session, make_organizer(), campaign, slug="out-there", goal=7)
    assert (campaign.slug, campaign.goal) == ("out-there", 7)


def test_slug_change_refuses_a_taken_or_malformed_slug(db):
    make_campaign(slug="taken")
    campaign = make_campaign(slug="mine", status=CampaignStatus.DRAFT)
    with pytest.raises(SlugTaken):
        update_settings(db.session, make_organizer(), campaign, slug="taken")
    with pytest.raises(InvalidSlug):
        update_settings(db.session, make_organizer(), campaign, slug="No Good")
    assert campaign.slug == "mine"


def test_goal_and_default_language_changes_are_audited(db):
    campaign = make_campaign(goal=100, languages=("en", "ru"))
    update_settings(db.session, make_organizer(), campaign, goal=250, default_language="ru")
    assert (campaign.goal, campaign.default_language) == (250, "ru")
    (entry,) = _entries(db, "campaign.update")
    assert entry.details["changes"] == {"goal": [100, 250], "default_language": ["en", "ru"]}


def test_the_default_language_needs_texts(db):
    campaign = make_campaign(languages=("en",))
    with pytest.raises(NoTranslation):
        update_settings(db.session, make_organizer(), campaign, default_language="ru")
    with pytest.raises(UnknownLanguage):
        update_settings(db.session, make_organizer(), campaign, default_language="xx")


def test_goal_must_stay_positive(db):
    campaign = make_campaign(goal=100)
    with pytest.raises(InvalidGoal):
        update_settings(db.session, make_organizer(), campaign, goal=0)
    assert campaign.goal == 100


def test_no_change_writes_no_audit_entry(db):
    campaign = make_campaign(goal=100)
    assert update_settings(db.session, make_organizer(), campaign, goal=100) == {}
    assert _entries(db, "campaign.update") == []


# save_texts


def test_save_texts_adds_a_language(db):
    campaign = make_campaign(languages=("en",))
    organizer = make_organizer()
    translation = save_texts(db.session, organizer, campaign, "ru", TEXTS)
    assert translation.id is not None
    assert campaign.languages == ["en", "ru"]
    (entry,) = _entries(db, "campaign.texts")
    assert entry.actor_id == organizer.id
    assert entry.campaign_id == campaign.id
    assert entry.details["language"] == "ru"
    assert set(entry.details["fields"]) == {
        "title",
        "target",
        "summary",
        "body_markdown",
        "call_to_action",
    }


def test_save_texts_updates_and_names_the_changed_fields(db):
    campaign = make_campaign(languages=("en",), title="Old", target="Mayor")
    new = CampaignTexts(
        title="New",
        target="Mayor",
        summary=campaign.translation("en").summary,
        body_markdown=campaign.translation("en").body_markdown,
        call_to_action=campaign.translation("en").call_to_action,
    )
    save_texts(db.session, make_organizer(), campaign, "en", new)
    assert campaign.translation("en").title == "New"
    assert _count(db, CampaignTranslation, campaign_id=campaign.id) == 1
    assert _entries(db, "campaign.texts")[0].details == {"language": "en", "fields": ["title"]}


def _texts_of(translation, **changes) -> CampaignTexts:
    fields = ("title", "target", "summary", "body_markdown", "call_to_action")
    return CampaignTexts(**{name: getattr(translation, name) for name in fields} | changes)


def test_a_translation_is_outdated_once_the_default_text_changes(db):
    from datetime import timedelta

    from campaign.services.campaign_admin import is_outdated

    campaign = make_campaign(languages=("en", "ru"))
    organizer = make_organizer()
    english, russian = campaign.translation("en"), campaign.translation("ru")
    russian.texts_changed_at = english.texts_changed_at
    assert not is_outdated(campaign, russian)
    assert not is_outdated(campaign, english)  # the default is never outdated

    english.texts_changed_at -= timedelta(seconds=1)
    save_texts(db.session, organizer, campaign, "en", _texts_of(english, title="New title"))
    assert is_outdated(campaign, russian)

    # Saving the default unchanged, or changing only the outcome, does not touch the others.
    before = english.texts_changed_at
    save_texts(db.session, organizer, campaign, "en", _texts_of(english))
    assert english.texts_changed_at == before

    # The translator saves (here unchanged, after reviewing): up to date again.
    save_texts(db.session, organizer, campaign, "ru", _texts_of(russian))
    assert not is_outdated(campaign, russian)


def test_save_texts_refuses_an_unknown_language(db):
    campaign = make_campaign()
    with pytest.raises(UnknownLanguage):
        save_texts(db.session, make_organizer(), campaign, "xx", TEXTS)


# change_status


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (CampaignStatus.DRAFT, CampaignStatus.OPEN),
        (CampaignStatus.OPEN, CampaignStatus.CLOSED),
        (CampaignStatus.CLOSED, CampaignStatus.ARCHIVED),
    ],
)
def test_status_moves_one_step_forward_and_is_audited(db, start, to):
    campaign = make_campaign(status=start)
    organizer = make_organizer()
    assert change_status(db.session, organizer, campaign, to.value) == to
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status == to
    (entry,) = _entries(db, "campaign.status")
    assert entry.actor_id == organizer.id
    assert entry.campaign_id == campaign.id
    assert entry.details == {"from": start.value, "to": to.value}


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (CampaignStatus.DRAFT, CampaignStatus.CLOSED),  # skipping a step
        (CampaignStatus.DRAFT, CampaignStatus.ARCHIVED),
        (CampaignStatus.OPEN, CampaignStatus.DRAFT),  # backwards
        (CampaignStatus.CLOSED, CampaignStatus.OPEN),
        (CampaignStatus.OPEN, CampaignStatus.OPEN),  # standing still
        (CampaignStatus.ARCHIVED, CampaignStatus.DRAFT),  # past the end
        (CampaignStatus.ARCHIVED, "nonsense"),
    ],
)
def test_other_transitions_are_refused(db, start, to):
    campaign = make_campaign(status=start)
    with pytest.raises(InvalidTransition):
        change_status(db.session, make_organizer(), campaign, to)
    assert campaign.status == start
    assert _entries(db, "campaign.status") == []


def test_a_draft_cannot_open_without_texts_in_its_default_language(db):
    campaign = make_campaign(status=CampaignStatus.DRAFT, languages=("en",), default_language="ru")
    with pytest.raises(MissingDefaultText):
        change_status(db.session, make_organizer(), campaign, CampaignStatus.OPEN)
    assert campaign.status == CampaignStatus.DRAFT


def test_a_confirmation_made_stale_by_someone_else_takes_no_second_step(db):
    campaign = make_campaign(status=CampaignStatus.DRAFT)
    db.session.commit()
    # Another owner opened it meanwhile, behind this session's back.
    db.session.execute(
        text("UPDATE campaigns SET status = 'open' WHERE id = :id"), {"id": campaign.id}
    )
    with pytest.raises(InvalidTransition):
        change_status(db.session, make_organizer(), campaign, CampaignStatus.OPEN)
    assert campaign.status == CampaignStatus.OPEN
    assert _entries(db, "campaign.status") == []


# set_outcome


def test_victory_is_set_with_its_texts_and_audited(db):
    campaign = make_campaign(status=CampaignStatus.CLOSED, languages=("en", "ru"))
    organizer = make_organizer()
    set_outcome(
        db.session, organizer, campaign, OutcomeKind.VICTORY, {"en": " We won! ", "ru": "Победа!"}
    )
    assert campaign.outcome_kind == OutcomeKind.VICTORY
    assert campaign.outcome_at is not None
    assert campaign.translation("en").outcome_markdown == "We won!"
    assert campaign.translation("ru").outcome_markdown == "Победа!"
    (entry,) = _entries(db, "campaign.outcome")
    assert entry.actor_id == organizer.id
    assert entry.details == {"kind": "victory", "languages": ["en", "ru"]}


def test_outcome_date_stays_when_the_wording_changes_and_moves_with_the_kind(db):
    campaign = make_campaign(languages=("en",))
    set_outcome(db.session, make_organizer(), campaign, OutcomeKind.OUTCOME, {"en": "Talks"})
    first = campaign.outcome_at
    set_outcome(db.session, make_organizer(), campaign, OutcomeKind.OUTCOME, {"en": "Talks."})
    assert campaign.outcome_at == first
    set_outcome(db.session, make_organizer(), campaign, OutcomeKind.VICTORY, {"en": "Won"})
    assert campaign.outcome_at >= first
    assert campaign.outcome_kind == OutcomeKind.VICTORY


def test_outcome_is_cleared_everywhere(db):
    campaign = make_campaign(languages=("en", "ru"))
    organizer = make_organizer()
    set_outcome(db.session, organizer, campaign, OutcomeKind.VICTORY, {"en": "Won", "ru": "Да"})
    set_outcome(db.session, organizer, campaign, None, {"en": "ignored"})
    assert campaign.outcome_kind is None
    assert campaign.outcome_at is None
    assert [t.outcome_markdown for t in campaign.translations] == ["", ""]
    (entry,) = _entries(db, "campaign.outcome_removed")
    assert entry.details == {"kind": "victory"}


def test_outcome_needs_the_default_language_text(db):
    campaign = make_campaign(languages=("en", "ru"))
    with pytest.raises(MissingOutcomeText):
        set_outcome(db.session, make_organizer(), campaign, OutcomeKind.VICTORY, {"ru": "Да"})
    with pytest.raises(MissingOutcomeText):
        set_outcome(db.session, make_organizer(), campaign, OutcomeKind.VICTORY, {"en": "  "})
    assert campaign.outcome_kind is None


def test_outcome_text_only_for_languages_with_texts(db):
    campaign = make_campaign(languages=("en",))
    with pytest.raises(NoTranslation):
        set_outcome(
            db.session, make_organizer(), campaign, OutcomeKind.VICTORY, {"en": "a", "ru": "b"}
        )


# delete_campaign


def test_delete_cascades_and_keeps_an_audit_entry_with_the_slug(db):
    campaign = make_campaign(slug="gone", languages=("en", "ru"), title="Going")
    keep = make_campaign(slug="kept")
    owner = make_organizer()
    add_member(campaign, owner, Role.OWNER)
    add_member(keep, owner, Role.OWNER)
    make_signature(campaign, confirmed=True)
    make_signature(campaign)
    make_signature(keep)
    earlier = audit.record(db.session, owner, "campaign.texts", campaign, language="en")
    campaign_id = campaign.id
    db.session.commit()

    delete_campaign(db.session, owner, campaign, " gone ")
    db.session.commit()
    db.session.expire_all()

    assert db.session.get(Campaign, campaign_id) is None
    assert _count(db, CampaignTranslation, campaign_id=campaign_id) == 0
    assert _count(db, Signature, campaign_id=campaign_id) == 0
    assert _count(db, Membership, campaign_id=campaign_id) == 0
    assert _count(db, Signature, campaign_id=keep.id) == 1
    assert _count(db, Membership, campaign_id=keep.id) == 1
    (entry,) = _entries(db, "campaign.delete")
    assert entry.actor_id == owner.id
    assert entry.campaign_id is None
    assert entry.details == {"slug": "gone", "title": "Going", "signatures": 1}
    # The log outlives the campaign: earlier entries stay, detached from it.
    assert db.session.get(AuditEntry, earlier.id).campaign_id is None


def test_delete_needs_the_slug_typed(db):
    campaign = make_campaign(slug="stays")
    with pytest.raises(DeletionNotConfirmed):
        delete_campaign(db.session, make_organizer(), campaign, "stay")
    db.session.commit()
    assert db.session.get(Campaign, campaign.id) is not None
    assert _entries(db, "campaign.delete") == []
