"""An agency's open data (issue 12, item 2): per month (the agency's local months) and service, the
counts of the reports, with nothing about any person and every count under `THRESHOLD` suppressed
(an average too when fewer than `THRESHOLD` answers make it). Published only when the agency opted
in (`Agency.publishes_open_data`).

The figures come from the reports' own queries (app.reports.sections), one month and one service
at a time. Read-only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import Agency, Appointment, CallSession, Service, Turn, utcnow
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
    rows = []
    for first in last_months(agency, now):
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        for service in services:
            filters = ReportFilters(agency, first, last, service_id=service.id)
            rows.append(OpenDataRow(first.strftime("%Y-%m"), service, _suppressed(_figures(filters))))
    return rows


def _figures(filters: ReportFilters) -> dict[str, int | float | None]:
    counts = sections.appointment_counts(filters)
    survey = sections.survey_figures(filters)
    connected = db.session.scalar(
        sa.select(sa.func.count(CallSession.connected_at))
        .join(Appointment, Appointment.id == CallSession.appointment_id)
        .where(*sections.appointment_clauses(filters))
    )
    taken, attended = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Turn.status == "attended")).where(
            *sections.turn_clauses(filters)
        )
    ).one()
    return {
        "booked": counts.booked,
        "completed": counts.completed,
        "cancelled": counts.cancelled_by_citizen + counts.cancelled_by_agency,
        "no_show": counts.no_show,
        "calls_connected": connected,
        "turns_taken": taken,
        "turns_attended": attended,
        "survey_answers": survey.answered,
        "average_rating": None if survey.average is None else round(survey.average, 1),
    }


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
