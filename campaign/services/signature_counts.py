"""The campaign's maintained signature counter: the one function that moves it."""

from __future__ import annotations

from sqlalchemy import case, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from campaign.models import Campaign


def adjust_signature_count(session: Session, campaign: Campaign | int, delta: int) -> None:
    """Add `delta` (negative to subtract) to the campaign's public count.

    Atomic in the database, so concurrent confirmations are never lost; never below zero, should
    the counter ever have drifted. The loaded campaign's value is expired, to be read again.
    """
    if not delta:
        return
    campaign_id = campaign if isinstance(campaign, int) else campaign.id
    counter = Campaign.signature_count
    value = counter + delta if delta > 0 else case((counter >= -delta, counter + delta), else_=0)
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(signature_count=value)
        .execution_options(synchronize_session=False)
    )
    loaded = (
        campaign
        if isinstance(campaign, Campaign)
        else session.identity_map.get(identity_key(Campaign, campaign_id))
    )
    if loaded is not None:
        session.expire(loaded, ["signature_count"])
