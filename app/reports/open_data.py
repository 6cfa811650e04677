"""An agency's open data (issue 12, item 2): per month (the agency's local months) and service, the
counts of the reports, with nothing about any person and every count under `THRESHOLD` suppressed
(an average too when fewer than `THRESHOLD` answers make it). Published only when the agency opted
in (`Agency.publishes_open_data`).

The figures come from the reports' own clauses (app.reports.sections: which appointments and turns
an agency's range holds), grouped by service and local month in four queries for the whole year, so
a view costs the same with one service or twenty. Read-only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import Agency, Appointment, CallSession, Service, SurveyResponse, Turn, utcnow
from app.reports import sections
from app.reports.filters import ReportFilters

THRESHOLD = 5
MONTHS = 12
SUPPRESSED = "<5"
COLUMNS = {
    "booked": _l("Appointments booked"),
    "completed": _l("Appointments completed"),
    "cancelled": _l("Appointments cancelled"),
    "no_show": _l("Appointments missed (no-show)"),
    "calls_connected": _l("Video calls connected"),
    "turns_taken": _l("Same-day turns taken"),
    "turns_attended": _l("Same-day turns attended"),
    "survey_answers": _l("Survey answers"),
    "average_rating": _l("Average rating (1 to 5)"),
}


@dataclass(frozen=True)
class OpenDataRow:
    month: str  # YYYY-MM, in the agency's time zone
    service: Service
    values: dict[str, int | float | str]  # COLUMNS' keys; suppressed figures are SUPPRESSED


def published_agency(slug: str) -> Agency | None:
    """The agency with `slug` when it publishes open data, else None. Read-only."""
    return db.session.scalar(
        sa.select(Agency).where(Agency.slug == slug, Agency.publishes_open_data.is_(True))
    )


def last_months(agency: Agency, now: dt.datetime | None = None, count: int = MONTHS) -> list[dt.date]:
    """The first days of the last `count` local months, the current one included, newest first."""
    today = (now or utcnow()).astimezone(ZoneInfo(agency.timezone)).date()
    first = today.replace(day=1)
    months = []
    for _ in range(count):
        months.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return months


def open_data(agency: Agency, now: dt.datetime | None = None) -> list[OpenDataRow]:
    """The agency's published rows: each of the last 12 months (newest first) × each service, by
    Spanish name. Read-only."""
    services = list(
        db.session.scalars(
            sa.select(Service).where(Service.agency_id == agency.id).order_by(Service.name_es, Service.id)
        )
    )
    months = last_months(agency, now)
    figures = _monthly_figures(agency, months)
    return [
        OpenDataRow(first.strftime("%Y-%m"), service, _suppressed(figures[index, service.id]))
        for index, first in enumerate(months)
        for service in services
    ]


def _monthly_figures(agency: Agency, months: list[dt.date]) -> dict[tuple[int, int], dict]:
    """{(index in `months`, service id): the figures of COLUMNS} over the whole range of `months`
    (newest first); a month without activity has zeros."""
    whole = ReportFilters(agency, months[-1], _month_end(months[0]))
    month_of_start = _month_index(Appointment.start_at, [ReportFilters(agency, m, m).start for m in months])
    figures: dict[tuple[int, int], dict] = defaultdict(
        lambda: dict.fromkeys(COLUMNS, 0) | {"average_rating": None}
    )
    appointments = sa.select(Appointment.service_id, month_of_start, Appointment.status).where(
        *sections.appointment_clauses(whole)
    )
    for service_id, month, status, count in _grouped(appointments, lambda c: [sa.func.count()], "status"):
        row = figures[month, service_id]
        row["booked"] += count
        if status in ("completed", "cancelled", "no_show"):
            row[status] += count
    calls = appointments.with_only_columns(Appointment.service_id, month_of_start, CallSession.connected_at)
    calls = calls.join(CallSession, CallSession.appointment_id == Appointment.id)
    for service_id, month, connected in _grouped(calls, lambda c: [sa.func.count(c.connected_at)]):
        figures[month, service_id]["calls_connected"] = connected
    survey = appointments.with_only_columns(Appointment.service_id, month_of_start, SurveyResponse.rating)
    survey = survey.join(SurveyResponse, SurveyResponse.appointment_id == Appointment.id)
    ratings = _grouped(survey, lambda c: [sa.func.count(c.rating), sa.func.sum(c.rating)])
    for service_id, month, answers, total in ratings:
        figures[month, service_id].update(survey_answers=answers, average_rating=round(total / answers, 1))
    turns = sa.select(Turn.service_id, _month_index(Turn.day, months), Turn.status).where(
        *sections.turn_clauses(whole)
    )
    for service_id, month, status, count in _grouped(turns, lambda c: [sa.func.count()], "status"):
        figures[month, service_id]["turns_taken"] += count
        if status == "attended":
            figures[month, service_id]["turns_attended"] += count
    return figures


def _month_end(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def _month_index(column, starts: list) -> sa.Label:
    """As the column "month": the index in `starts` (months' first instants or days, newest first)
    of the month `column` falls in. A CASE of bounds, so any time zone's months are exact."""
    return sa.case(*((column >= start, index) for index, start in enumerate(starts))).label("month")


def _grouped(select: sa.Select, aggregates, *more_keys: str) -> list[sa.Row]:
    """Rows of (service_id, month, *more_keys, *aggregates(columns)) over `select` as a subquery,
    so GROUP BY names its columns rather than repeating the month's CASE and its parameters."""
    inner = select.subquery()
    keys = [inner.c.service_id, inner.c.month, *(inner.c[key] for key in more_keys)]
    return db.session.execute(sa.select(*keys, *aggregates(inner.c)).group_by(*keys)).all()


def _suppressed(figures: dict[str, int | float | None]) -> dict[str, int | float | str]:
    """Every count under THRESHOLD, and an average of fewer than THRESHOLD answers, as SUPPRESSED."""
    shown: dict[str, int | float | str] = {
        key: SUPPRESSED if value < THRESHOLD else value
        for key, value in figures.items()
        if key != "average_rating"
    }
    few_answers = figures["survey_answers"] < THRESHOLD or figures["average_rating"] is None
    shown["average_rating"] = SUPPRESSED if few_answers else figures["average_rating"]
    return shown
