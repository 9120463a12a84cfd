"""Signatures as organizers see them: the searchable list and the CSV export."""

from __future__ import annotations

import enum
import sqlite3
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, exists, false, func, or_, select
from sqlalchemy.orm import Session

from campaign.models import Campaign, Signature
from campaign.pagination import Page, paginate
from campaign.services.countries import country_names

# The export's safe cells and streamed chunks are shared with the panel's other exports
# (services.csv_export); the names stay importable from here.
from campaign.services.csv_export import FORMULA_STARTS as FORMULA_STARTS
from campaign.services.csv_export import csv_chunks as csv_chunks
from campaign.services.csv_export import iso_utc, neutralize

PER_PAGE = 50
MAX_SEARCH_TERMS = 6
EXPORT_CHUNK = 1000  # rows fetched from the database at a time while exporting


class ConfirmationFilter(enum.StrEnum):
    ALL = "all"
    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class SignatureFilter:
    """What the organizer asked for: words to find, and which signatures."""

    q: str = ""
    status: ConfirmationFilter = ConfirmationFilter.ALL

    @property
    def is_active(self) -> bool:
        return bool(self.q.strip()) or self.status != ConfirmationFilter.ALL

    def as_args(self) -> dict[str, str]:
        """The query arguments that ask for this filter again (defaults left out)."""
        args = {}
        if self.q.strip():
            args["q"] = self.q.strip()
        if self.status != ConfirmationFilter.ALL:
            args["status"] = self.status.value
        return args


# Case-insensitive comparison. PostgreSQL's lower() knows every alphabet; SQLite's knows only
# ASCII, so on SQLite the connection gets Python's str.lower as a SQL function.
_SQLITE_LOWER = "campaign_lower"


def _python_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def folded(session: Session, expression):
    """`expression` in lower case, for comparing and grouping text regardless of case.

    On SQLite the function is given to the session's current connection, so run the query in
    the same transaction as this call (every caller here does).
    """
    if session.get_bind().dialect.name != "sqlite":
        return func.lower(expression)
    connection = session.connection().connection.driver_connection
    if isinstance(connection, sqlite3.Connection):
        connection.create_function(_SQLITE_LOWER, 1, _python_lower, deterministic=True)
    return getattr(func, _SQLITE_LOWER)(expression)


def _like_pattern(term: str) -> str:
    """A LIKE pattern finding `term` anywhere, its own % and _ taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _accentless(text: str) -> str:
    """`text` without case, and without accents on Latin letters ("Åland" as "aland")."""
    return "".join(
        "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if "\u00c0" <= ch <= "\u024f"
        else ch
        for ch in text
    ).casefold()


def matching_countries(term: str, language: str) -> set[str]:
    """Country codes that `term` names: the code itself, or part of the country's name in
    `language` (without regard to case or, in Latin script, accents)."""
    wanted = _accentless(term.strip())
    if not wanted:
        return set()
    names = country_names(language)
    if len(wanted) < 3:
        # "de" is Germany's code, and would be inside too many names to mean anything there.
        codes = {code for code, name in names.items() if _accentless(name).startswith(wanted)}
    else:
        codes = {code for code, name in names.items() if wanted in _accentless(name)}
    if wanted.upper() in names:
        codes.add(wanted.upper())
    return codes


def _matching(session: Session, campaign: Campaign, flt: SignatureFilter, language: str, *what):
    """SELECT `what` FROM the campaign's signatures that match `flt`.

    Every word of the search must be found in the name, the email, the city or the country
    (its code, or its name in `language`), so "anna paris" finds Anna in Paris.
    """
    # Signatures invalidated as fraudulent are listed on the suspicious-activity screen only.
    query = select(*what).where(
        Signature.campaign_id == campaign.id, Signature.invalidated_at.is_(None)
    )
    if flt.status == ConfirmationFilter.CONFIRMED:
        query = query.where(Signature.confirmed_at.is_not(None))
    elif flt.status == ConfirmationFilter.UNCONFIRMED:
        query = query.where(Signature.confirmed_at.is_(None))
    for term in flt.q.split()[:MAX_SEARCH_TERMS]:
        pattern = _like_pattern(term.lower())
        countries = matching_countries(term, language)
        query = query.where(
            or_(
                folded(session, Signature.full_name).like(pattern, escape="\\"),
                folded(session, Signature.email).like(pattern, escape="\\"),
                folded(session, Signature.city).like(pattern, escape="\\"),
                Signature.country.in_(countries) if countries else false(),
            )
        )
    return query


def search_query(
    session: Session, campaign: Campaign, flt: SignatureFilter, language: str
) -> Select:
    """The campaign's signatures matching `flt` (see `_matching`), newest first."""
    return _matching(session, campaign, flt, language, Signature).order_by(
        Signature.created_at.desc(), Signature.id.desc()
    )


def list_signatures(
    session: Session,
    campaign: Campaign,
    flt: SignatureFilter,
    language: str,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[Signature]:
    """One page of the campaign's signatures matching `flt`, newest first."""
    return paginate(session, search_query(session, campaign, flt, language), page, per_page)


def has_signatures(session: Session, campaign: Campaign) -> bool:
    """Whether anyone has signed, confirmed or not."""
    return bool(session.scalar(select(exists().where(Signature.campaign_id == campaign.id))))


# The export.
CSV_COLUMNS = [
    "name",
    "email",
    "country",
    "city",
    "reason",
    "language",
    "public",
    "update_consent",
    "signed_at",
    "confirmed_at",
]


def csv_rows(
    session: Session,
    campaign: Campaign,
    flt: SignatureFilter,
    language: str,
    *,
    chunk: int = EXPORT_CHUNK,
) -> Iterator[list[str]]:
    """The header, then one row per matching signature, oldest first, every cell neutralized.

    Rows come from the database `chunk` at a time (a server-side cursor on PostgreSQL), so
    memory stays the same whether the campaign has a thousand signatures or a million.
    """
    yield list(CSV_COLUMNS)
    query = _matching(
        session,
        campaign,
        flt,
        language,
        Signature.full_name,
        Signature.email,
        Signature.country,
        Signature.city,
        Signature.reason,
        Signature.language,
        Signature.is_public,
        Signature.has_update_consent,
        Signature.created_at,
        Signature.confirmed_at,
    ).order_by(Signature.id)
    result = session.execute(query.execution_options(yield_per=chunk))
    try:
        for name, email, country, city, reason, lang, public, consent, signed, confirmed in result:
            yield [
                neutralize(name or ""),
                neutralize(email or ""),
                neutralize(country or ""),
                neutralize(city or ""),
                neutralize(reason or ""),
                neutralize(lang or ""),
                "yes" if public else "no",
                "yes" if consent else "no",
                iso_utc(signed),
                iso_utc(confirmed),
            ]
    finally:
        result.close()
