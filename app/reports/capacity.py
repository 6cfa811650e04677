"""Seats offered per local day, from the opening hours, closures and holidays that booking uses
(app.scheduling): the capacity side of "demand against capacity"."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import scheduling
from app.extensions import db
from app.models import Office, Service
from app.reports.filters import ReportFilters


def seats_offered(filters: ReportFilters) -> dict[dt.date, int]:
    """{local day: seats the bookable services offered} over the range (today's rules applied to
    every day: hours and capacities as they are now, closures and holidays as recorded). Read-only."""
    services = _scheduled_services(filters)
    office_ids = sorted({o.id for s in services for o in s.offices if o.active})
    if filters.office_id:
        office_ids = [i for i in office_ids if i == filters.office_id]
    hours = scheduling.hours_by_office(office_ids)
    closures = scheduling.closures_by_office(filters.agency.id, office_ids, filters.first, filters.last)
    open_days = {
        office_id: [day for day in filters.days if not _closed(day, filters, closures[office_id])]
        for office_id in office_ids
    }
    offsets = {day: _offsets(day, filters) for day in filters.days}
    slots: dict[tuple, int] = {}  # days alike in hours, slot length and UTC offsets have alike slots
    offered: Counter[dt.date] = Counter()
    for service in services:
        seats: Counter[dt.date] = Counter()
        for office_id in (o.id for o in service.offices if o.id in open_days):
            for day in open_days[office_id]:
                intervals = tuple(hours[office_id].get(day.weekday(), ()))
                key = (intervals, service.slot_minutes, *offsets[day])
                if key not in slots:
                    slots[key] = len(
                        scheduling.slot_starts(day, list(intervals), service.slot_minutes, filters.zone)
                    )
                seats[day] += slots[key] * service.capacity_per_slot
        for day, count in seats.items():
            offered[day] += count if service.daily_capacity is None else min(count, service.daily_capacity)
    return dict(offered)


def _closed(day: dt.date, filters: ReportFilters, closures: dict[dt.date, str]) -> bool:
    return bool(
        scheduling.closed_reason(
            day, observes_holidays=filters.agency.observes_pr_holidays, closures=closures
        )
    )


def _offsets(day: dt.date, filters: ReportFilters) -> tuple:
    """The zone's UTC offsets at the day's two midnights: days alike in these have alike slots."""
    return tuple(
        dt.datetime.combine(d, dt.time.min, filters.zone).utcoffset()
        for d in (day, day + dt.timedelta(days=1))
    )


def _scheduled_services(filters: ReportFilters) -> list[Service]:
    query = (
        sa.select(Service)
        .options(selectinload(Service.offices))
        .where(Service.agency_id == filters.agency.id, Service.mode != "phone_turn", Service.active.is_(True))
    )
    if filters.service_id:
        query = query.where(Service.id == filters.service_id)
    if filters.office_id:
        query = query.where(Service.offices.any(Office.id == filters.office_id))
    return list(db.session.scalars(query))
