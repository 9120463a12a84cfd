"""The words a signer saw beside the sign form's boxes, kept once for everyone who saw them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign.extensions import db
from campaign.models.types import UTCDateTime, utcnow


class ConsentWording(db.Model):
    """One version of the sign form's consent wording in one language, and the boxes ticked.

    Signatures point here instead of each carrying a copy of the same sentences: a national
    campaign's million signatures share a handful of rows (languages × ticked boxes × wording
    versions). Rows hold no personal data and are never changed: new words make a new row, found
    by the digest of their content (see services.privacy.consent_wording_for).
    """

    __tablename__ = "consent_wordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the canonical JSON of `language` and `record`.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(16))
    # {"choices": [{"name": "is_public", "label": "...", "given": true}, ...],
    #  "notice": "...", "privacy_version": "..."}
    record: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def choices(self) -> list[dict]:
        return list(self.record.get("choices", []))

    @property
    def notice(self) -> str:
        return str(self.record.get("notice", ""))

    @property
    def privacy_version(self) -> str:
        return str(self.record.get("privacy_version", ""))

    def __repr__(self) -> str:
        return f"<ConsentWording {self.id} {self.language}>"
