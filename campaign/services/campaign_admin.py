"""Organizers creating and running campaigns: texts, settings, status, outcome, deletion.

Each function changes the session, writes its audit entry and flushes; the caller commits. Rules
that refuse an action raise the exceptions of services.campaign_errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from flask import current_app
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign.models import (
    Campaign,
    CampaignStatus,
    CampaignTranslation,
    Membership,
    Organizer,
    OutcomeKind,
    Role,
)
from campaign.models.types import utcnow
from campaign.services import audit
from campaign.services.email_domains import parse_domain_list
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

SLUG_MIN_LENGTH = 3
SLUG_MAX_LENGTH = 80
# Lowercase letters and digits in words joined by single hyphens: "clean-air-2025".
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_SLUG_RE = re.compile(SLUG_PATTERN)

# The one step forward from each status; archived is the end.
NEXT_STATUS: dict[CampaignStatus, CampaignStatus] = {
    CampaignStatus.DRAFT: CampaignStatus.OPEN,
    CampaignStatus.OPEN: CampaignStatus.CLOSED,
    CampaignStatus.CLOSED: CampaignStatus.ARCHIVED,
}

TEXT_FIELDS = ("title", "target", "summary", "body_markdown", "call_to_action")


@dataclass(frozen=True)
class CampaignTexts:
    """What readers of one language see."""

    title: str
    target: str
    summary: str
    body_markdown: str
    call_to_action: str

    def cleaned(self) -> CampaignTexts:
        return CampaignTexts(
            **{name: (value or "").strip() for name, value in asdict(self).items()}
        )


@dataclass(frozen=True)
class NewCampaign:
    slug: str
    goal: int
    default_language: str
    texts: CampaignTexts


# --- checks -----------------------------------------------------------------------------------


def site_languages() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def check_slug(slug: str) -> str:
    """The slug if well formed, else InvalidSlug."""
    if not (SLUG_MIN_LENGTH <= len(slug) <= SLUG_MAX_LENGTH) or not _SLUG_RE.match(slug):
        raise InvalidSlug(slug)
    return slug


def _check_slug_free(session: Session, slug: str, campaign: Campaign | None = None) -> None:
    query = select(Campaign.id).where(Campaign.slug == slug)
    if campaign is not None:
        query = query.where(Campaign.id != campaign.id)
    if session.scalar(select(exists(query))):
        raise SlugTaken(slug)


def _flush_claiming_slug(session: Session, slug: str) -> None:
    """Flush; if another request took the slug meanwhile, the unique index says so."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise SlugTaken(slug) from exc


def _check_goal(goal: int) -> int:
    if isinstance(goal, bool) or not isinstance(goal, int) or goal <= 0:
        raise InvalidGoal(goal)
    return goal


def _check_language(language: str) -> str:
    if language not in site_languages():
        raise UnknownLanguage(language)
    return language


def has_default_text(campaign: Campaign) -> bool:
    """Whether the campaign has its texts in its default language (needed to open it)."""
    text = campaign.translation(campaign.default_language)
    return text is not None and bool(text.title.strip()) and bool(text.body_markdown.strip())


def next_status(campaign: Campaign) -> CampaignStatus | None:
    """The status the campaign may move to next, or None once archived."""
    return NEXT_STATUS.get(campaign.status)


# --- creating and editing ---------------------------------------------------------------------


def create_campaign(session: Session, actor: Organizer, data: NewCampaign) -> Campaign:
    """A new draft campaign with its default-language texts; `actor` becomes its owner.

    Raises InvalidSlug, SlugTaken, InvalidGoal, UnknownLanguage.
    """
    slug = check_slug(data.slug.strip())
    goal = _check_goal(data.goal)
    language = _check_language(data.default_language)
    _check_slug_free(session, slug)
    campaign = Campaign(
        slug=slug, goal=goal, default_language=language, status=CampaignStatus.DRAFT
    )
    campaign.translations.append(
        CampaignTranslation(language=language, **asdict(data.texts.cleaned()))
    )
    session.add(campaign)
    _flush_claiming_slug(session, slug)
    session.add(Membership(campaign_id=campaign.id, organizer_id=actor.id, role=Role.OWNER))
    audit.record(
        session, actor, "campaign.create", campaign, slug=slug, goal=goal, default_language=language
    )
    return campaign


def update_settings(
    session: Session,
    actor: Organizer,
    campaign: Campaign,
    *,
    slug: str | None = None,
    goal: int | None = None,
    default_language: str | None = None,
    blocks_disposable_email: bool | None = None,
    blocked_email_domains: str | None = None,
) -> dict[str, list]:
    """Change the slug (drafts only), the goal, the default language or the email domains the
    campaign refuses; None leaves a setting. Blocked domains are stored one per line, cleaned;
    lines that are not domains are dropped (the form refuses them first).

    Returns the changes as {field: [old, new]} (empty when nothing changed, and then nothing is
    audited). Raises InvalidSlug, SlugTaken, SlugLocked, InvalidGoal, UnknownLanguage,
    NoTranslation.
    """
    changes: dict[str, list] = {}
    if slug is not None and slug.strip() != campaign.slug:
        slug = check_slug(slug.strip())
        if campaign.status != CampaignStatus.DRAFT:
            raise SlugLocked(campaign.slug)
        _check_slug_free(session, slug, campaign)
        changes["slug"] = [campaign.slug, slug]
    if goal is not None and goal != campaign.goal:
        changes["goal"] = [campaign.goal, _check_goal(goal)]
    if default_language is not None and default_language != campaign.default_language:
        _check_language(default_language)
        if campaign.translation(default_language) is None:
            raise NoTranslation(default_language)
        changes["default_language"] = [campaign.default_language, default_language]
    if blocks_disposable_email is not None and (
        bool(blocks_disposable_email) != campaign.blocks_disposable_email
    ):
        changes["blocks_disposable_email"] = [
            campaign.blocks_disposable_email,
            bool(blocks_disposable_email),
        ]
    if blocked_email_domains is not None:
        cleaned = "\n".join(parse_domain_list(blocked_email_domains)[0])
        if cleaned != (campaign.blocked_email_domains or ""):
            changes["blocked_email_domains"] = [campaign.blocked_email_domains or "", cleaned]
    if not changes:
        return changes
    for field, (_old, new) in changes.items():
        setattr(campaign, field, new)
    _flush_claiming_slug(session, campaign.slug)
    audit.record(session, actor, "campaign.update", campaign, changes=changes)
    return changes


def save_texts(
    session: Session, actor: Organizer, campaign: Campaign, language: str, texts: CampaignTexts
) -> CampaignTranslation:
    """Add or replace the campaign's texts in `language`. Raises UnknownLanguage."""
    _check_language(language)
    texts = texts.cleaned()
    translation = campaign.translation(language)
    if translation is None:
        translation = CampaignTranslation(language=language, **asdict(texts))
        campaign.translations.append(translation)
        changed = list(TEXT_FIELDS)
    else:
        changed = [
            name for name in TEXT_FIELDS if getattr(translation, name) != getattr(texts, name)
        ]
        for name in changed:
            setattr(translation, name, getattr(texts, name))
    # Saving an outdated translation unchanged says "reviewed, still right": it is current again.
    if changed or is_outdated(campaign, translation):
        translation.texts_changed_at = utcnow()
    session.flush()
    audit.record(session, actor, "campaign.texts", campaign, language=language, fields=changed)
    return translation


def is_outdated(campaign: Campaign, translation: CampaignTranslation | None) -> bool:
    """Whether the default-language text changed after this translation was last saved."""
    if translation is None or translation.language == campaign.default_language:
        return False
    source = campaign.translation(campaign.default_language)
    return source is not None and source.texts_changed_at > translation.texts_changed_at


# --- status -----------------------------------------------------------------------------------


def change_status(
    session: Session, actor: Organizer, campaign: Campaign, to: CampaignStatus | str
) -> CampaignStatus:
    """Move the campaign one step: draft → open → closed → archived.

    `to` is the status the organizer confirmed, so a stale confirmation page (someone else
    moved it meanwhile) is refused rather than taking a second step. Raises InvalidTransition,
    MissingDefaultText.
    """
    current = campaign.status
    try:
        target = CampaignStatus(to)
    except ValueError:
        raise InvalidTransition(current, to) from None
    if NEXT_STATUS.get(current) != target:
        raise InvalidTransition(current, target)
    if target == CampaignStatus.OPEN and not has_default_text(campaign):
        raise MissingDefaultText(campaign.default_language)
    # Conditional on the status we read: of two owners confirming at once, one wins.
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == current)
        .values(status=target, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        session.refresh(campaign)
        raise InvalidTransition(campaign.status, target)
    audit.record(
        session, actor, "campaign.status", campaign, **{"from": current.value, "to": target.value}
    )
    return target


# --- outcome ----------------------------------------------------------------------------------


def set_outcome(
    session: Session,
    actor: Organizer,
    campaign: Campaign,
    kind: OutcomeKind | None,
    texts: Mapping[str, str],
) -> None:
    """Declare a victory or another outcome, with its text per language; None removes it.

    `texts` maps languages the campaign has texts in to the outcome's Markdown. The default
    language's text is required, since every reader can fall back to it. The date is set when
    the outcome is first posted or changes kind, not when its wording is corrected.
    Raises NoTranslation, MissingOutcomeText.
    """
    for language in texts:
        if campaign.translation(language) is None:
            raise NoTranslation(language)
    if kind is None:
        previous = campaign.outcome_kind
        campaign.outcome_kind = None
        campaign.outcome_at = None
        for translation in campaign.translations:
            translation.outcome_markdown = ""
        session.flush()
        audit.record(
            session,
            actor,
            "campaign.outcome_removed",
            campaign,
            kind=previous.value if previous else None,
        )
        return
    kind = OutcomeKind(kind)
    cleaned = {language: (text or "").strip() for language, text in texts.items()}
    if not cleaned.get(campaign.default_language):
        raise MissingOutcomeText(campaign.default_language)
    if campaign.outcome_kind != kind or campaign.outcome_at is None:
        campaign.outcome_at = utcnow()
    campaign.outcome_kind = kind
    for language, text in cleaned.items():
        campaign.translation(language).outcome_markdown = text
    session.flush()
    audit.record(
        session,
        actor,
        "campaign.outcome",
        campaign,
        kind=kind.value,
        languages=sorted(language for language, text in cleaned.items() if text),
    )


# --- deletion ---------------------------------------------------------------------------------


def delete_campaign(
    session: Session, actor: Organizer, campaign: Campaign, typed_slug: str
) -> None:
    """Delete the campaign with its texts, signatures, team and invitations (the database
    cascades). The audit entry keeps the slug: its campaign_id becomes NULL with the campaign.

    Raises DeletionNotConfirmed unless `typed_slug` is the campaign's slug.
    """
    if (typed_slug or "").strip() != campaign.slug:
        raise DeletionNotConfirmed(campaign.slug)
    text = campaign.translation(campaign.default_language)
    audit.record(
        session,
        actor,
        "campaign.delete",
        None,
        slug=campaign.slug,
        title=text.title if text else "",
        signatures=campaign.signature_count,
    )
    session.delete(campaign)
    session.flush()
