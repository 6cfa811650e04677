"""The report's queries, one per section: each a few GROUP BY aggregates over the range. Read-only."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, CallSession, Service, SurveyResponse, Turn
from app.reports.filters import ReportFilters
from app.reports.measures import (
    floats,
    in_database_percentiles,
    percentile_aggregates,
    percentiles,
    seconds_between,
    utc_hour,
    utc_hour_value,
)


def appointment_clauses(filters: ReportFilters) -> list:
    """The appointments of the agency starting within the range, of the chosen service and office."""
    in_range = [Appointment.start_at >= filters.start, Appointment.start_at < filters.end]
    return in_range + _of_agency(filters, Appointment.service_id, Appointment.office_id)


def _of_agency(filters: ReportFilters, service_id, office_id) -> list:
    """Rows of the agency's services, narrowed to the chosen service and office."""
    clauses = [service_id.in_(sa.select(Service.id).where(Service.agency_id == filters.agency.id))]
    if filters.service_id:
        clauses.append(service_id == filters.service_id)
    if filters.office_id:
        clauses.append(office_id == filters.office_id)
    return clauses


@dataclass(frozen=True)
class AppointmentCounts:
    booked: int
    completed: int
    cancelled_by_citizen: int
    cancelled_by_agency: int
    no_show: int
    upcoming: int  # still booked, checked in or in a call
    outcomes: dict[str, int]


def appointment_counts(filters: ReportFilters) -> AppointmentCounts:
    """Appointments by status (cancellations by who cancelled) and by outcome code. Read-only."""
    rows = db.session.execute(
        sa.select(Appointment.status, Appointment.cancelled_by, Appointment.outcome, sa.func.count())
        .where(*appointment_clauses(filters))
        .group_by(Appointment.status, Appointment.cancelled_by, Appointment.outcome)
    ).all()
    by_status: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for status, cancelled_by, outcome, count in rows:
        by_status[f"cancelled_by_{cancelled_by or 'citizen'}" if status == "cancelled" else status] += count
        if outcome:
            outcomes[outcome] += count
    return AppointmentCounts(
        booked=sum(by_status.values()),
        completed=by_status["completed"],
        cancelled_by_citizen=by_status["cancelled_by_citizen"],
        cancelled_by_agency=by_status["cancelled_by_agency"],
        no_show=by_status["no_show"],
        upcoming=by_status["booked"] + by_status["checked_in"] + by_status["in_call"],
        outcomes=dict(outcomes),
    )


@dataclass(frozen=True)
class CallFigures:
    sessions: int
    admitted: int
    connected: int
    never_connected: int
    technical_failure: int
    audio_only: int
    to_admitted: list[float | None]  # seconds: median, p90
    to_connected: list[float | None]


def call_figures(filters: ReportFilters) -> CallFigures:
    """The video calls of the range's appointments: counts, and how long citizens waited. Read-only."""
    count = sa.func.count
    counts = [
        count(),
        count(CallSession.admitted_at),
        count(CallSession.connected_at),
        count().filter(CallSession.connected_at.is_(None), CallSession.ended_at.is_not(None)),
        count().filter(CallSession.end_reason == "technical_failure"),
        count().filter(CallSession.audio_only.is_(True), CallSession.connected_at.is_not(None)),
    ]
    waits = [
        seconds_between(until, CallSession.waiting_since)
        for until in (CallSession.admitted_at, CallSession.connected_at)
    ]
    query = (
        sa.select(*counts)
        .join(Appointment, Appointment.id == CallSession.appointment_id)
        .where(*appointment_clauses(filters))
    )
    if in_database_percentiles():
        row = db.session.execute(
            query.add_columns(*percentile_aggregates(waits[0]), *percentile_aggregates(waits[1]))
        ).one()
        found, to_admitted, to_connected = row[:6], floats(row[6:8]), floats(row[8:])
    else:
        found = db.session.execute(query).one()
        to_admitted, to_connected = (
            percentiles(query.with_only_columns(wait.label("value")).subquery()) for wait in waits
        )
    return CallFigures(*found, to_admitted=to_admitted, to_connected=to_connected)


@dataclass(frozen=True)
class TurnFigures:
    taken: int
    attended: int
    missed: int
    cancelled: int
    wait: list[float | None]  # minutes from taking the turn to being called: median, p90
    estimated: int  # called turns that had an estimate
    mean_error: float | None  # minutes, actual minus estimated (positive: longer than told)
    mean_absolute_error: float | None


def turn_clauses(filters: ReportFilters) -> list:
    """The same-day turns citizens took (not check-ins of appointments) within the range."""
    taken = [Turn.appointment_id.is_(None), Turn.day >= filters.first, Turn.day <= filters.last]
    return taken + _of_agency(filters, Turn.service_id, Turn.office_id)


def turn_figures(filters: ReportFilters) -> TurnFigures:
    """Turns taken, attended, missed (no answer), the wait and how far the estimate was off. Read-only."""
    count, clauses = sa.func.count, turn_clauses(filters)
    wait = seconds_between(Turn.called_at, Turn.queued_at) / 60.0  # NULL until called
    error = wait - Turn.estimated_wait_minutes  # NULL without an estimate: left out of count and avg
    query = sa.select(
        count(),
        count().filter(Turn.status == "attended"),
        count().filter(Turn.status.in_(("missed", "no_answer"))),
        count().filter(Turn.status == "cancelled"),
        count(error),
        sa.func.avg(error),
        sa.func.avg(sa.func.abs(error)),
    ).where(*clauses)
    if in_database_percentiles():
        row = db.session.execute(query.add_columns(*percentile_aggregates(wait))).one()
        waits = floats(row[7:])
    else:
        row = db.session.execute(query).one()
        waits = percentiles(query.with_only_columns(wait.label("value")).subquery())
    taken, attended, missed, cancelled, estimated, mean_error, mean_absolute = row[:7]
    return TurnFigures(
        taken, attended, missed, cancelled, waits, estimated, *floats([mean_error, mean_absolute])
    )


@dataclass(frozen=True)
class SurveyFigures:
    asked: int  # video appointments that ended attended (status completed): the survey follows the call
    answered: int
    average: float | None
    distribution: dict[int, int]  # rating 1..5 → answers


def survey_figures(filters: ReportFilters) -> SurveyFigures:
    """Response rate over completed video appointments (the survey follows the call), the average
    rating and how ratings spread. Read-only."""
    video = sa.select(Service.id).where(Service.mode == "video")
    rows = db.session.execute(
        sa.select(
            SurveyResponse.rating,
            sa.func.count().filter(Appointment.status == "completed", Appointment.service_id.in_(video)),
            sa.func.count(SurveyResponse.id),
        )
        .select_from(Appointment)
        .outerjoin(SurveyResponse, SurveyResponse.appointment_id == Appointment.id)
        .where(*appointment_clauses(filters))
        .group_by(SurveyResponse.rating)
    ).all()
    distribution = {rating: 0 for rating in range(1, 6)}
    distribution.update({rating: answers for rating, _completed, answers in rows if rating is not None})
    asked = sum(completed for _rating, completed, _answers in rows)
    answered = sum(distribution.values())
    total = sum(rating * count for rating, count in distribution.items())
    return SurveyFigures(asked, answered, total / answered if answered else None, distribution)


def booked_by_local_hour(filters: ReportFilters) -> dict[dt.datetime, int]:
    """{local start of an hour: appointments booked (not cancelled) starting within it}.

    Grouped by UTC hour in SQL (one row per hour that has any), then moved to the agency's zone,
    which is exact for every zone whose offset is whole hours (Puerto Rico's, and the US ones).
    Read-only.
    """
    hour = utc_hour(Appointment.start_at).label("hour")
    rows = db.session.execute(
        sa.select(hour, sa.func.count())
        .where(*appointment_clauses(filters), Appointment.status != "cancelled")
        .group_by(hour)
    ).all()
    counts: Counter[dt.datetime] = Counter()
    for value, count in rows:
        counts[utc_hour_value(value).astimezone(filters.zone).replace(tzinfo=None)] += count
    return dict(counts)
