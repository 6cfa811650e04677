"""The one reading of a typed range of days, which the reports and the audit log both use."""

from __future__ import annotations

import datetime as dt

import pytest

from app import audit_log, day_ranges
from app.reports import filters

D = dt.date


def parsed(app, start, end, **defaults):
    errors: dict = {}
    with app.test_request_context(headers={"Accept-Language": "en"}):
        days = day_ranges.parse_day_range(start, end, errors, **defaults)
        return days, {field: str(message) for field, message in errors.items()}


def test_both_filters_read_dates_with_the_one_function():
    assert audit_log.parse_day_range is filters.parse_day_range is day_ranges.parse_day_range


@pytest.mark.parametrize(
    "start,end,days",
    [
        ("2031-03-01", "2031-03-31", (D(2031, 3, 1), D(2031, 3, 31))),
        (" 2031-03-01 ", "", (D(2031, 3, 1), None)),
        (None, "2031-03-31", (None, D(2031, 3, 31))),
        ("2029-03-01", "2031-02-28", (D(2029, 3, 1), D(2031, 2, 28))),  # 730 days apart: two years
        ("2031-03-05", "2031-03-05", (D(2031, 3, 5), D(2031, 3, 5))),
    ],
)
def test_a_range_within_two_years_is_read_as_typed(app, start, end, days):
    assert parsed(app, start, end) == (days, {})


def test_a_value_left_out_is_its_default(app):
    defaults = {"default_first": D(2031, 2, 4), "default_last": D(2031, 3, 5)}
    assert parsed(app, "", None, **defaults) == ((D(2031, 2, 4), D(2031, 3, 5)), {})


@pytest.mark.parametrize(
    "start,end,field,message",
    [
        ("2031-03-10", "2031-03-01", "end", "The end date must be on or after the start date."),
        ("2029-01-01", "2031-01-02", "end", "Choose a range of at most two years."),
        ("1/3/2031", "", "start", "Enter a date as YYYY-MM-DD"),
        ("", "2031-02-30", "end", "Enter a date as YYYY-MM-DD"),
        ("0001-01-01", "", "start", "Enter a date as YYYY-MM-DD"),
        ("", "9999-12-31", "end", "Enter a date as YYYY-MM-DD"),
        ("20310301", "", "start", "Enter a date as YYYY-MM-DD"),
    ],
    ids=["reversed", "over-two-years", "malformed", "no-such-day", "year-1", "year-9999", "no-dashes"],
)
def test_a_refused_range_names_its_field_with_a_translated_message(app, start, end, field, message):
    _days, errors = parsed(app, start, end)
    assert list(errors) == [field] and errors[field].startswith(message)
