"""Reading campaigns for the public: which one, in which language, who signed lately."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from campaign.models import Campaign, CampaignStatus, CampaignTranslation, Signature
from campaign.services.errors import CampaignNotFound


@dataclass(frozen=True)
class LocalizedCampaign:
    """A campaign with the text a reader of `requested_language` should see."""

    campaign: Campaign
    text: CampaignTranslation
    requested_language: str

    @property
    def is_fallback(self) -> bool:
        """True when the reader's language has no translation and the default is shown."""
        return self.text.language != self.requested_language


def get_public_campaign(session: Session, slug: str) -> Campaign:
    """The campaign with `slug` unless it is a draft. Raises CampaignNotFound."""
    campaign = session.scalar(
        select(Campaign)
        .where(Campaign.slug == slug, Campaign.status != CampaignStatus.DRAFT)
        .options(selectinload(Campaign.translations))
    )
    if campaign is None:
        raise CampaignNotFound(slug)
    return campaign


def localize(campaign: Campaign, language: str) -> LocalizedCampaign:
    """Pick the reader's translation, else the campaign's default language, else any."""
    text = (
        campaign.translation(language)
        or campaign.translation(campaign.default_language)
        or (campaign.translations[0] if campaign.translations else None)
    )
    if text is None:
        raise CampaignNotFound(campaign.slug)
    return LocalizedCampaign(campaign=campaign, text=text, requested_language=language)


def list_public_campaigns(session: Session, language: str) -> list[LocalizedCampaign]:
    """Open campaigns first, then closed ones; archived and drafts are not listed."""
    campaigns = session.scalars(
        select(Campaign)
        .where(Campaign.status.in_([CampaignStatus.OPEN, CampaignStatus.CLOSED]))
        .options(selectinload(Campaign.translations))
        .order_by(Campaign.status.desc(), Campaign.signature_count.desc(), Campaign.id)
    ).all()
    return [localize(c, language) for c in campaigns if c.translations]


def recent_public_signers(session: Session, campaign: Campaign, limit: int = 10) -> list[Signature]:
    """The latest confirmed signers who agreed to be shown."""
    return list(
        session.scalars(
            select(Signature)
            .where(
                Signature.campaign_id == campaign.id,
                Signature.counted(),
                Signature.is_public.is_(True),
            )
            .order_by(Signature.confirmed_at.desc(), Signature.id.desc())
            .limit(limit)
        )
    )


def signatures_by_country(session: Session, campaign: Campaign) -> dict[str, int]:
    """Confirmed signatures per country code, largest first."""
    rows = session.execute(
        select(Signature.country, func.count())
        .where(Signature.campaign_id == campaign.id, Signature.counted())
        .group_by(Signature.country)
        .order_by(func.count().desc(), Signature.country)
    )
    return {country: count for country, count in rows}


def progress_percent(campaign: Campaign) -> int:
    """Progress to the goal in whole percent, capped at 100 for the bar."""
    if campaign.goal <= 0:
        return 0
    return min(100, campaign.signature_count * 100 // campaign.goal)


def paper_signature_count(campaign: Campaign) -> int:
    """Signatures collected on paper and typed in by organizers (services.paper_signatures).

    Public, shown apart from the online count: not in `signature_count`, nor in the progress
    to the goal, since nobody confirmed them by email.
    """
    return campaign.paper_signature_count
