"""The report as tables: each one is shown beside its chart and exported as CSV, from the same rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from app.models import APPOINTMENT_OUTCOMES
from app.outcomes import OUTCOME_LABELS
from app.reports import sections
from app.reports.capacity import seats_offered
from app.reports.filters import ReportFilters

WEEKDAYS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
DEFAULT_HOURS = range(8, 17)

TABLES = {
    "appointments": _l("Appointments"),
    "outcomes": _l("Outcomes"),
    "calls": _l("Video calls"),
    "turns": _l("Same-day turns"),
    "survey": _l("Survey"),
    "ratings": _l("Ratings"),
    "hours": _l("Busiest hours of the week"),
    "capacity": _l("Demand and capacity per day"),
}


@dataclass
class Table:
    key: str
    header: list
    rows: list[list] = field(default_factory=list)

    @property
    def title(self):
        return TABLES[self.key]


@dataclass
class Report:
    filters: ReportFilters
    tables: dict[str, Table]


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def appointments_table(filters: ReportFilters) -> list[Table]:
    counts = sections.appointment_counts(filters)
    measure, number = _l("Measure"), _l("Count")
    summary = Table("appointments", [measure, number])
    summary.rows = [
        [_l("Appointments booked"), counts.booked],
        [_l("Completed"), counts.completed],
        [_l("Cancelled by the citizen"), counts.cancelled_by_citizen],
        [_l("Cancelled by the agency"), counts.cancelled_by_agency],
        [_l("Did not attend"), counts.no_show],
        [_l("Not closed yet"), counts.upcoming],
    ]
    outcomes = Table("outcomes", [_l("Outcome"), number])
    outcomes.rows = [[OUTCOME_LABELS[code], counts.outcomes.get(code, 0)] for code in APPOINTMENT_OUTCOMES]
    return [summary, outcomes]


def calls_table(filters: ReportFilters) -> Table:
    calls = sections.call_figures(filters)
    table = Table("calls", [_l("Measure"), _l("Value")])
    table.rows = [
        [_l("Calls (citizens in the waiting room)"), calls.sessions],
        [_l("Admitted by a clerk"), calls.admitted],
        [_l("Connected"), calls.connected],
        [_l("Never connected"), calls.never_connected],
        [_l("Ended by a technical failure"), calls.technical_failure],
        [_l("Audio only (share of connected calls, %)"), _share(calls.audio_only, calls.connected)],
        [_l("Waiting until admitted, median (minutes)"), _minutes(calls.to_admitted[0])],
        [_l("Waiting until admitted, 90th percentile (minutes)"), _minutes(calls.to_admitted[1])],
        [_l("Waiting until connected, median (minutes)"), _minutes(calls.to_connected[0])],
        [_l("Waiting until connected, 90th percentile (minutes)"), _minutes(calls.to_connected[1])],
    ]
    return table


def turns_table(filters: ReportFilters) -> Table:
    turns = sections.turn_figures(filters)
    table = Table("turns", [_l("Measure"), _l("Value")])
    table.rows = [
        [_l("Turns taken"), turns.taken],
        [_l("Attended"), turns.attended],
        [_l("Missed (no answer)"), turns.missed],
        [_l("Cancelled"), turns.cancelled],
        [_l("Wait until called, median (minutes)"), _round(turns.wait[0])],
        [_l("Wait until called, 90th percentile (minutes)"), _round(turns.wait[1])],
        [_l("Called turns with an estimate"), turns.estimated],
        [_l("Estimate error, average (minutes; positive: longer than told)"), _round(turns.mean_error)],
        [_l("Estimate error, average size (minutes)"), _round(turns.mean_absolute_error)],
    ]
    return table


def survey_tables(filters: ReportFilters) -> list[Table]:
    survey = sections.survey_figures(filters)
    summary = Table("survey", [_l("Measure"), _l("Value")])
    summary.rows = [
        [_l("Completed video appointments (asked)"), survey.asked],
        [_l("Answers"), survey.answered],
        [_l("Response rate (%)"), _share(survey.answered, survey.asked)],
        [_l("Average rating (1 to 5)"), None if survey.average is None else round(survey.average, 2)],
    ]
    ratings = Table("ratings", [_l("Rating"), _l("Answers")])
    ratings.rows = [[rating, count] for rating, count in survey.distribution.items()]
    return [summary, ratings]


def demand_tables(filters: ReportFilters) -> list[Table]:
    booked = sections.booked_by_local_hour(filters)
    busy_hours = sorted({start.hour for start in booked}) or list(DEFAULT_HOURS)
    hours = range(min(busy_hours[0], DEFAULT_HOURS[0]), max(busy_hours[-1], DEFAULT_HOURS[-1]) + 1)
    week = [[0] * len(hours) for _ in WEEKDAYS]
    per_day: dict[dt.date, int] = {}
    for start, count in booked.items():
        week[start.weekday()][start.hour - hours[0]] += count
        per_day[start.date()] = per_day.get(start.date(), 0) + count
    heat = Table("hours", [_l("Day"), *(f"{hour:02d}:00" for hour in hours)])
    heat.rows = [[day, *counts] for day, counts in zip(WEEKDAYS, week, strict=True)]
    offered = seats_offered(filters)
    capacity = Table(
        "capacity",
        [_l("Day"), _l("Seats offered"), _l("Seats booked"), _l("Seats booked (share of those offered, %)")],
    )
    capacity.rows = [
        [
            day.isoformat(),
            offered.get(day, 0),
            per_day.get(day, 0),
            _share(per_day.get(day, 0), offered.get(day, 0)),
        ]
        for day in filters.days
    ]
    return [heat, capacity]


SECTIONS = {
    "appointments": appointments_table,
    "outcomes": appointments_table,
    "calls": calls_table,
    "turns": turns_table,
    "survey": survey_tables,
    "ratings": survey_tables,
    "hours": demand_tables,
    "capacity": demand_tables,
}


def _tables_of(key: str, filters: ReportFilters) -> list[Table]:
    made = SECTIONS[key](filters)
    return made if isinstance(made, list) else [made]


def report_table(key: str, filters: ReportFilters) -> Table:
    """One table of the report (for its CSV export): only its own section's queries run. Read-only."""
    return next(table for table in _tables_of(key, filters) if table.key == key)


def build_report(filters: ReportFilters) -> Report:
    """Every table of the report, each section's queries run once. Read-only."""
    tables: dict[str, Table] = {}
    for key in TABLES:
        if key not in tables:
            tables.update({table.key: table for table in _tables_of(key, filters)})
    return Report(filters, tables)
