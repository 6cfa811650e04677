"""What every template can use: the current language, localized fields, agency-time formatting."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel import dates
from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.citizens import display_phone
from app.i18n import end_sentence, regional_locale, zone_label
from config import LANGUAGE_NAMES

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


def _local(value: dt.datetime, timezone: str | None) -> dt.datetime:
    return value.astimezone(ZoneInfo(timezone or current_app.config["DEFAULT_TIMEZONE"]))


def _locale() -> str:
    return regional_locale(str(get_locale() or "es"))


def local_datetime(value: dt.datetime, timezone: str | None = None, fmt: str = "medium") -> str:
    """A UTC datetime shown in the agency's time zone (default: the installation's)."""
    return dates.format_datetime(_local(value, timezone), fmt, locale=_locale())


def local_time(value: dt.datetime, timezone: str | None = None, fmt: str = "short") -> str:
    return dates.format_time(_local(value, timezone), fmt, locale=_locale())


def local_date(value: dt.datetime | dt.date, timezone: str | None = None, fmt: str = "full") -> str:
    if isinstance(value, dt.datetime):
        value = _local(value, timezone).date()
    return dates.format_date(value, fmt, locale=_locale())


def error_summary_items(
    form=None, anchors: dict | None = None, extra=None, extra_prefix: str = ""
) -> list[tuple[str, str]]:
    """The errors of a refused form, for the error summary at the top of the page: one
    (id of the field its link leads to, message) per field, then one per `extra` item.

    A group of radios leads to its first option (`anchors` names another id where the
    template chose its own). `extra` maps more ids (after `extra_prefix`) to messages; an
    empty id is an error with no field to go to.
    """
    items = []
    for name, messages in (form.errors if form is not None else {}).items():
        field = form[name] if name in form else None
        anchor = (anchors or {}).get(name) or (field.id if field is not None else name)
        if field is not None and field.type == "RadioField" and name not in (anchors or {}):
            anchor = f"{field.id}-0"
        items.append((anchor, messages[0]))
    for anchor, message in (extra or {}).items():
        if message:
            items.append((f"{extra_prefix}{anchor}" if anchor else "", str(message)))
    return items


def init_templating(app: Flask) -> None:
    app.jinja_env.globals["error_summary_items"] = error_summary_items
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["display_phone"] = display_phone
    app.jinja_env.filters["zone_label"] = zone_label
    app.jinja_env.filters["end_sentence"] = end_sentence

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
