"""Country names for the sign form, in the reader's language, from Babel (CLDR)."""

import unicodedata

import pytest

from campaign.services.countries import country_name, country_names, is_country


def _collation_key(name: str) -> str:
    """How a reader expects names ordered: an accented Latin letter sorts with its base letter.

    Only Latin letters lose their marks: in Russian, "й" is a letter of its own, not "и".
    """
    plain = []
    for ch in name:
        if "\u00c0" <= ch <= "\u024f":
            ch = "".join(
                c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)
            )
        plain.append(ch)
    return "".join(plain).casefold()


@pytest.mark.parametrize(
    ("code", "language", "name"),
    [
        ("DE", "en", "Germany"),
        ("DE", "ru", "Германия"),
        ("FR", "en", "France"),
        ("FR", "ru", "Франция"),
        ("SY", "en", "Syria"),
        ("SY", "ru", "Сирия"),
    ],
)
def test_country_name_in_the_readers_language(code, language, name):
    assert country_name(code, language) == name
    assert country_names(language)[code] == name


def test_unknown_code_is_shown_as_itself():
    assert country_name("QQ", "en") == "QQ"


def test_both_languages_offer_the_same_countries():
    assert country_names("en").keys() == country_names("ru").keys()


def test_a_plausible_number_of_countries():
    # ISO 3166-1 assigns 249 codes; CLDR adds a few (e.g. XK, Kosovo).
    assert 240 <= len(country_names("en")) <= 255


@pytest.mark.parametrize("code", ["EU", "EZ", "UN", "ZZ", "QO", "XA", "XB", "001", "150", "419"])
def test_regions_and_placeholders_are_not_countries(code):
    assert code not in country_names("en")
    assert not is_country(code)


@pytest.mark.parametrize("code", ["AC", "CP", "CQ", "DG", "EA", "IC", "TA"])
def test_reserved_codes_that_are_parts_of_other_countries_are_not_offered(code):
    # CLDR lists these ISO "exceptionally reserved" codes (Ascension, Clipperton, Sark, Diego
    # Garcia, Ceuta & Melilla, Canary Islands, Tristan da Cunha) as territories; they are not
    # ISO 3166-1 countries, and counting e.g. the Canary Islands apart from Spain splits a tally.
    assert code not in country_names("en")


def test_every_code_is_two_uppercase_letters():
    assert all(len(code) == 2 and code.isalpha() and code.isupper() for code in country_names("en"))


def test_every_russian_name_is_in_russian():
    latin = {
        code: name
        for code, name in country_names("ru").items()
        if any("a" <= ch.lower() <= "z" for ch in name)
    }
    assert latin == {}


@pytest.mark.parametrize("code", ["DE", "RU", "SY", "US", "GB", "XK"])
def test_is_country_accepts_real_countries(code):
    assert is_country(code)


def test_is_country_wants_the_code_not_the_name():
    assert not is_country("Germany")
    assert not is_country("de")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_names_are_sorted_by_name(language):
    names = list(country_names(language).values())
    assert names == sorted(names, key=_collation_key)


def test_english_names_in_alphabetical_order_around_accented_ones():
    names = list(country_names("en").values())
    assert names.index("Afghanistan") < names.index("Åland Islands") < names.index("Albania")


def test_russian_list_starts_with_a_and_ends_with_ya():
    names = list(country_names("ru").values())
    assert names[0].startswith("А")
    assert names[-1].startswith("Я")
