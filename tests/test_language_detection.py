"""Which of the site's languages a comment is written in
(campaign/services/language_detection.py)."""

from __future__ import annotations

import threading

import pytest

from campaign.services.language_detection import MIN_LETTERS, UNKNOWN, detect_language

SITE = ["en", "ru"]

ENGLISH = [
    "Stop the bombing of civilians now, please help everyone",
    "I signed because my family lives there and they are scared every night.",
    "Thank you all for organising this",
    "Please share this with your friends",
    "Shame on them. Enough is enough.",
]
RUSSIAN = [
    "Остановите бомбардировки мирных жителей немедленно",
    "Я подписал, потому что моя семья живёт там.",
    "Поделитесь с друзьями",
    "Полностью согласен, хорошо сказано",
]
# Languages the site does not offer: none of them may pass for English or Russian.
FOREIGN = {
    "fr": "Bonjour à tous, arrêtez les bombardements des civils maintenant",
    "de": "Halt die Bombardierung der Zivilisten sofort bitte",
    "es": "Detengan los bombardeos contra la población civil ahora mismo",
    "pt": "Parem de bombardear os civis agora por favor",
    "nl": "Stop het bombarderen van burgers nu alstublieft",
    "uk": "Зупиніть бомбардування мирних жителів негайно, будь ласка",
    "ar": "أوقفوا قصف المدنيين في حلب الآن",
}


@pytest.mark.parametrize("text", ENGLISH, ids=range(len(ENGLISH)))
def test_english(text):
    assert detect_language(text, SITE) == "en"


@pytest.mark.parametrize("text", RUSSIAN, ids=range(len(RUSSIAN)))
def test_russian(text):
    assert detect_language(text, SITE) == "ru"


@pytest.mark.parametrize(("code", "text"), FOREIGN.items(), ids=list(FOREIGN))
def test_a_language_the_site_does_not_offer_is_unknown(code, text):
    assert detect_language(text, SITE) == UNKNOWN


@pytest.mark.parametrize(("code", "text"), FOREIGN.items(), ids=list(FOREIGN))
def test_the_same_text_is_found_when_the_site_offers_its_language(code, text):
    assert detect_language(text, [*SITE, code]) == code


def test_answers_only_with_a_site_language():
    # French is closer to English than to Russian; it is still not English.
    text = FOREIGN["fr"]
    assert detect_language(text, ["en", "ru"]) == UNKNOWN
    assert detect_language(text, ["en", "fr"]) == "fr"
    assert detect_language(ENGLISH[0], ["fr", "ru"]) == UNKNOWN


def test_russian_and_ukrainian_are_told_apart_when_both_are_offered():
    assert detect_language(RUSSIAN[1], ["en", "ru", "uk"]) == "ru"
    assert detect_language(FOREIGN["uk"], ["en", "ru", "uk"]) == "uk"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Yes!",
        "Hello there",
        "Да!",
        "Спасибо",
        "OK",
        "👍👍👍",
        "100% +1",
        "a b c d e f g h i j k",
    ],
)
def test_short_text_is_unknown(text):
    assert sum(c.isalpha() for c in text) < MIN_LETTERS
    assert detect_language(text, SITE) == UNKNOWN


@pytest.mark.parametrize(
    "text",
    [
        "12345 67890 !!!! ???? 2026-11-22",
        "https://example.org/1234567890/abcdefghijkl",
        "Ostanovite bombardirovki mirnyh zhitelej",  # transliterated Russian
    ],
)
def test_text_unlike_any_site_language_is_unknown(text):
    assert detect_language(text, SITE) == UNKNOWN


def test_letters_not_characters_decide_what_is_short():
    # Eleven letters padded with digits and spaces is still too short to tell.
    text = "abc def ghij 1234567890 1234567890"
    assert sum(c.isalpha() for c in text) == MIN_LETTERS - 2
    assert detect_language(text, SITE) == UNKNOWN


def test_no_languages_means_unknown():
    assert detect_language(ENGLISH[0], []) == UNKNOWN


def test_regional_codes_are_reduced_to_the_language():
    assert detect_language(ENGLISH[1], ["en-GB", "pt_BR"]) == "en"
    assert detect_language(RUSSIAN[1], ["ru-RU", "en_US"]) == "ru"


def test_a_language_the_model_does_not_know_is_ignored():
    assert detect_language(ENGLISH[1], ["en", "xx"]) == "en"
    assert detect_language(ENGLISH[1], ["xx"]) == UNKNOWN


def test_order_and_repetition_of_languages_do_not_matter():
    text = RUSSIAN[0]
    assert detect_language(text, ["ru", "en"]) == detect_language(text, ["en", "ru", "en"]) == "ru"


def test_the_languages_given_do_not_leak_into_the_next_call():
    # Identifiers are cached per process; one call's languages must not restrict another's.
    assert detect_language(FOREIGN["de"], ["en", "de"]) == "de"
    assert detect_language(FOREIGN["de"], ["en", "ru"]) == UNKNOWN
    assert detect_language(FOREIGN["de"], ["de", "ru"]) == "de"


def test_safe_to_call_from_several_threads():
    results: list[str] = []
    lock = threading.Lock()

    def work(text: str, languages: list[str]) -> None:
        answer = detect_language(text, languages)
        with lock:
            results.append(f"{text[:5]}:{answer}")

    cases = [(ENGLISH[0], SITE), (RUSSIAN[0], SITE), (FOREIGN["fr"], ["fr", "en"])] * 5
    threads = [threading.Thread(target=work, args=case) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == sorted(
        [f"{ENGLISH[0][:5]}:en", f"{RUSSIAN[0][:5]}:ru", f"{FOREIGN['fr'][:5]}:fr"] * 5
    )
