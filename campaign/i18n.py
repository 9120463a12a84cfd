"""Which language a request is in: the URL prefix first, then the cookie, then Accept-Language."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import Flask, current_app, g, request

LANGUAGE_COOKIE = "lang"
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}


def site_languages() -> list[str]:
    return current_app.config["LANGUAGES"]


def best_language() -> str:
    """The reader's language for a request whose URL does not carry one."""
    languages = site_languages()
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in languages:
        return cookie
    return request.accept_languages.best_match(languages) or languages[0]


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    lang = getattr(g, "lang", None)
    if lang:
        return lang
    return best_language() if request else current_app.config["BABEL_DEFAULT_LOCALE"]


def text_direction(language: str) -> str:
    return "rtl" if language.split("_")[0] in RTL_LANGUAGES else "ltr"


def language_name(language: str) -> str:
    """A language's name in itself ("Русский"), for the language switcher."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def ui_language_name(code: str) -> str:
    """A language's name in the reader's language ("Russian" in English), for sentences;
    menus of languages use each one's own name (`language_name`)."""
    from flask_babel import get_locale

    try:
        name = Locale.parse(code).get_display_name(str(get_locale() or "en")) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


def negotiated_redirect(target: str):
    """A redirect chosen by the reader's language cookie and Accept-Language: caches must keep
    one per language, not hand one reader's language to everyone."""
    from flask import redirect

    response = redirect(target)
    response.vary.update(("Cookie", "Accept-Language"))
    return response


def init_app(app: Flask) -> None:
    # `dir_of(code)` beside every `lang=` on text in another language than the page's: an
    # English title on an Arabic page must stay left-to-right, and an Arabic one on an English
    # page right-to-left.
    app.jinja_env.globals["dir_of"] = text_direction
    app.jinja_env.globals["ui_language_name"] = ui_language_name

    @app.context_processor
    def _language_context():
        lang = getattr(g, "lang", None) or app.config["BABEL_DEFAULT_LOCALE"]
        return {
            "current_lang": lang,
            "text_direction": text_direction(lang),
            "site_languages": app.config["LANGUAGES"],
            "language_name": language_name,
        }
