"""Language choice: an explicit choice (cookie) wins, then Accept-Language, then Spanish."""

from __future__ import annotations

from flask import Flask, current_app, request

from app.extensions import babel

# Dates and times in the forms people in Puerto Rico read ("9:00 a. m.", not "9:00").
REGIONAL_LOCALES = {"es": "es_PR", "en": "en_US"}


def regional_locale(lang: str) -> str:
    return REGIONAL_LOCALES.get(lang, lang)


def supported_language(code: str | None) -> str | None:
    """The code itself when it is one we serve, else None (unknown codes never raise)."""
    if code and code in current_app.config["LANGUAGES"]:
        return code
    return None


def select_locale() -> str:
    chosen = supported_language(request.cookies.get(current_app.config["LANGUAGE_COOKIE"]))
    if chosen:
        return chosen
    best = request.accept_languages.best_match(current_app.config["LANGUAGES"])
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["DEFAULT_TIMEZONE"]


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
