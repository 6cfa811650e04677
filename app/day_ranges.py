"""A range of days typed into a filter form (the reports, the audit log): two YYYY-MM-DD values,
either of which may be left out, not reversed and at most two years long. Each refusal is a
translated message on its field ("start" or "end"), so the page answers 422 next to the input."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _

MAX_RANGE_DAYS = 731  # two years, a leap day included; both ends count
YEARS = range(1900, 3000)  # keeps year 1 and 9999 (no day around them) away from date arithmetic


def parse_day_range(
    start_text: str | None,
    end_text: str | None,
    errors: dict,
    *,
    default_first: dt.date | None = None,
    default_last: dt.date | None = None,
) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day of the range (both included; a value left out is its default, which
    may be None: open-ended). Adds a message to `errors` under "start" or "end" for each refusal."""
    first = _day(start_text, default_first, "start", errors)
    last = _day(end_text, default_last, "end", errors)
    if first and last and not errors.keys() & {"start", "end"}:
        if last < first:
            errors["end"] = _("The end date must be on or after the start date.")
        elif (last - first).days >= MAX_RANGE_DAYS:
            errors["end"] = _("Choose a range of at most two years.")
    return first, last


def _day(text: str | None, default: dt.date | None, field: str, errors: dict) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return default
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None or day.year not in YEARS:
        errors[field] = _("Enter a date as YYYY-MM-DD, for example 2026-03-31.")
        return None
    return day
