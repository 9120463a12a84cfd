"""Which of the site's languages a short text is written in (py3langid)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

UNKNOWN = "unknown"
# Below this many letters, or this confidence, a guess is worse than saying we do not know.
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.8
# The chosen language must also be a plausible answer among all languages the model knows:
# compared only with each other, English always wins over Russian for a French text.
MIN_PLAUSIBILITY = 0.1

_identifier_instance = None
_lock = threading.Lock()


def detect_language(text: str, languages: Iterable[str]) -> str:
    """The language of `text` among `languages`, or "unknown" for short or ambiguous text.

    Also "unknown" when the text is in none of `languages` (a French comment on an English
    and Russian site). Codes the model does not know are ignored.
    """
    if sum(1 for char in text if char.isalpha()) < MIN_LETTERS:
        return UNKNOWN
    candidates = {code.split("-")[0].split("_")[0] for code in languages}
    # The model's probabilities over every language it knows; restricted to the candidates
    # and normalized again, they are what a model restricted to the candidates would say.
    probabilities = {
        language: probability
        for language, probability in _identifier().rank(text)
        if language in candidates
    }
    if not probabilities:
        return UNKNOWN
    language = max(probabilities, key=probabilities.__getitem__)
    best = probabilities[language]
    if best < MIN_PLAUSIBILITY:
        return UNKNOWN
    return language if best / sum(probabilities.values()) >= MIN_CONFIDENCE else UNKNOWN


def warm_up() -> None:
    """Load the model now (a second, ~90 MB), so that no reader's request pays for it: called
    by gunicorn in each worker before it takes requests (deploy/gunicorn.conf.py)."""
    _identifier()


def _identifier():
    # Loading the model takes about a second; do it once per process.
    global _identifier_instance
    with _lock:
        if _identifier_instance is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier_instance = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier_instance
