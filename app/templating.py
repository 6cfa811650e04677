"""What every template can use: the current language, localized fields, agency-time formatting."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l

MODE_LABELS = {
    "video": _l("Video call"),
    "in_person": _l("In person"),
    "phone_turn": _l("Same-day phone callback"),
}
AGENCY_KIND_LABELS = {
    "agency": _l("Government agency"),
    "corporation": _l("Public corporation"),
    "municipality": _l("Municipality"),
}
APPOINTMENT_STATUS_LABELS = {
    "booked": _l("Booked"),
    "checked_in": _l("Checked in"),
    "in_call": _l("In call"),
    "completed": _l("Completed"),
    "no_show": _l("Did not attend"),
    "cancelled": _l("Cancelled"),
}
LANGUAGE_NAMES = {"es": "Español", "en": "English"}


def local_datetime(value: dt.datetime, timezone: str | None = None, fmt: str = "medium") -> str:
    """A UTC datetime shown in the agency's time zone (default: the installation's)."""
    zone = ZoneInfo(timezone or current_app.config["DEFAULT_TIMEZONE"])
    local = value.astimezone(zone)
    # flask-babel converts to its own selected zone; hand it a naive local time with that zone cleared.
    return format_datetime(local.replace(tzinfo=None), fmt, rebase=False)


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["local_datetime"] = local_datetime

    @app.context_processor
    def inject_language():
        lang = str(get_locale() or "es")
        others = [code for code in app.config["LANGUAGES"] if code != lang]
        return {
            "lang": lang,
            "other_languages": [(code, LANGUAGE_NAMES[code]) for code in others],
            "mode_labels": MODE_LABELS,
            "agency_kind_labels": AGENCY_KIND_LABELS,
            "appointment_status_labels": APPOINTMENT_STATUS_LABELS,
            "current_path": request.full_path.rstrip("?") if request else "/",
        }
