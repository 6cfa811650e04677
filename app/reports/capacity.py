"""Seats offered per local day, from the opening hours, closures and holidays that booking uses
(app.scheduling): the capacity side of "demand against capacity"."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa

from app import scheduling
from app.extensions import db
from app.models import Office, Service
from app.reports.filters import ReportFilters


def seats_offered(filters: ReportFilters) -> dict[dt.date, int]:
    """{local day: seats the bookable services offered} over the range (today's rules applied to
    every day: hours and capacities as they are now, closures and holidays as recorded). Read-only."""
    offered: Counter[dt.date] = Counter()
    for service in _scheduled_services(filters):
        offices = [o for o in service.offices if o.active and filters.office_id in (None, o.id)]
        office_ids = [o.id for o in offices]
        hours = scheduling.hours_by_office(office_ids)
        closures = scheduling.closures_by_office(service.agency_id, office_ids, filters.first, filters.last)
        slot_counts: dict[tuple, int] = {}
        for day in filters.days:
            seats = 0
            for office_id in office_ids:
                if scheduling.closed_reason(
                    day, observes_holidays=filters.agency.observes_pr_holidays, closures=closures[office_id]
                ):
                    continue
                intervals = tuple(hours[office_id].get(day.weekday(), ()))
                key = (intervals, *_offsets(day, filters))
                if key not in slot_counts:
                    starts = scheduling.slot_starts(day, list(intervals), service.slot_minutes, filters.zone)
                    slot_counts[key] = len(starts)
                seats += slot_counts[key] * service.capacity_per_slot
            if service.daily_capacity is not None:
                seats = min(seats, service.daily_capacity)
            offered[day] += seats
    return dict(offered)


def _offsets(day: dt.date, filters: ReportFilters) -> tuple:
    """The zone's UTC offsets at the day's two midnights: days alike in these have alike slots."""
    return tuple(
        dt.datetime.combine(d, dt.time.min, filters.zone).utcoffset()
        for d in (day, day + dt.timedelta(days=1))
    )


def _scheduled_services(filters: ReportFilters) -> list[Service]:
    query = sa.select(Service).where(
        Service.agency_id == filters.agency.id, Service.mode != "phone_turn", Service.active.is_(True)
    )
    if filters.service_id:
        query = query.where(Service.id == filters.service_id)
    if filters.office_id:
        query = query.where(Service.offices.any(Office.id == filters.office_id))
    return list(db.session.scalars(query))
