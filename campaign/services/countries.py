"""ISO 3166 countries, named in the reader's language by Babel (CLDR)."""

from __future__ import annotations

import unicodedata
from functools import cache

from babel import Locale

# CLDR territory codes that are not countries a person lives in: groupings, placeholders, and
# parts of other countries (Canary Islands, Ceuta and Melilla, Sark…) that would split a count.
_NOT_COUNTRIES = {
    "EU", "EZ", "UN", "QO", "ZZ", "XA", "XB", "AC", "CP", "CQ", "DG", "EA", "IC", "TA",
}  # fmt: skip


@cache
def country_names(language: str) -> dict[str, str]:
    """Every two-letter country code mapped to its name in `language`, sorted by name."""
    locale = Locale.parse(language)
    fallback = Locale.parse("en").territories
    names = {
        code: locale.territories.get(code) or fallback[code]
        for code in fallback
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }
    return dict(sorted(names.items(), key=lambda item: _sort_key(item[1])))


def _sort_key(name: str) -> str:
    """Accented Latin letters sort with their base letter (Åland with A); Cyrillic й stays й."""
    return "".join(
        "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if "\u00c0" <= ch <= "\u024f"
        else ch
        for ch in name
    ).casefold()


def is_country(code: str) -> bool:
    """True when `code` is a two-letter country code we offer in the sign form."""
    return code in country_names("en")


def country_name(code: str, language: str) -> str:
    """The name of a country in `language`, or the code itself when unknown."""
    return country_names(language).get(code, code)
