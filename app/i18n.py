"""Language choice: an explicit choice (cookie) wins, then Accept-Language, then Spanish."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel import dates
from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale
from flask_babel import gettext as _

from app.extensions import babel

# Dates and times in the forms people in Puerto Rico read ("9:00 a. m.", not "9:00").
REGIONAL_LOCALES = {"es": "es_PR", "en": "en_US"}


def regional_locale(lang: str) -> str:
    return REGIONAL_LOCALES.get(lang, lang)


def zone_label(timezone: str | None = None) -> str:
    """A time zone as people say it, in the current language: "Puerto Rico time", "hora de Nueva York".

    The one wording of a zone, on the web pages and in the e-mails alike.
    """
    zone = ZoneInfo(timezone or current_app.config["DEFAULT_TIMEZONE"])
    locale = regional_locale(str(get_locale() or "es"))
    return _("%(place)s time", place=dates.get_timezone_location(zone, locale=locale, return_city=True))


def end_sentence(text: str) -> str:
    """A sentence whose last word is an abbreviation ("… 10:00 a. m.") takes no second period."""
    return text[:-1] if text.endswith("..") else text


def supported_language(code: str | None) -> str | None:
    """The code itself when it is one we serve, else None (unknown codes never raise)."""
    if code and code in current_app.config["LANGUAGES"]:
        return code
    return None


def select_locale() -> str:
    if not has_request_context():  # a command or a background job: the installation's language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = supported_language(request.cookies.get(current_app.config["LANGUAGE_COOKIE"]))
    if chosen:
        return chosen
    best = request.accept_languages.best_match(current_app.config["LANGUAGES"])
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["DEFAULT_TIMEZONE"]


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
