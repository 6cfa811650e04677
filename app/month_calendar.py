"""Month calendars, read-only: the one citizens pick a day from (booking and moving an appointment:
weeks of days, each with its free slots, closed days with their reason), and the administrators'
preview of an office's month (each day open with its hours and slots, or closed and why).
Both take hours, closures, holidays and slots from app.scheduling."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from app import scheduling
from app.models import Office, Service


@dataclass
class CalendarDay:
    day: dt.date
    in_month: bool
    free_slots: int = 0
    closed_reason: str | None = None
    past: bool = False

    @property
    def bookable(self) -> bool:
        return self.in_month and self.free_slots > 0


@dataclass
class MonthGrid:
    month: dt.date  # the first of the month
    weeks: list[list[CalendarDay]]
    previous_month: dt.date | None
    next_month: dt.date | None

    @property
    def has_free_days(self) -> bool:
        return any(day.bookable for week in self.weeks for day in week)


def month_grid(service, office, month: dt.date, today: dt.date) -> MonthGrid:
    """Monday-first weeks of `month`; days outside the booking window show as not bookable."""
    weeks_of_dates = pycalendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    first, last = weeks_of_dates[0][0], weeks_of_dates[-1][-1]
    last_bookable = today + dt.timedelta(days=service.horizon_days)
    availability = {}
    window_first, window_last = max(first, today), min(last, last_bookable)
    if window_first <= window_last:
        days = (window_last - window_first).days + 1
        for day in scheduling.available_days(service, window_first, days, office=office):
            availability[day.day] = day
    weeks = []
    for week in weeks_of_dates:
        row = []
        for date in week:
            info = availability.get(date)
            row.append(
                CalendarDay(
                    day=date,
                    in_month=date.month == month.month,
                    past=date < today,
                    free_slots=len(info.free_slots) if info else 0,
                    closed_reason=info.closed_reason if info else None,
                )
            )
        weeks.append(row)
    previous_month, next_month = _neighbours(month)
    return MonthGrid(
        month=month,
        weeks=weeks,
        previous_month=previous_month if previous_month >= today.replace(day=1) else None,
        next_month=next_month if next_month <= last_bookable else None,
    )


def _neighbours(month: dt.date) -> tuple[dt.date, dt.date]:
    """The first days of the months before and after `month` (a first of the month)."""
    return (month - dt.timedelta(days=1)).replace(day=1), (month + dt.timedelta(days=32)).replace(day=1)


# --- The administrators' preview of an office's month ----------------------------------------------

OPEN, NO_HOURS = "open", "no_hours"  # with scheduling.CLOSURE and scheduling.HOLIDAY: a day's status


@dataclass
class OfficeDay:
    day: dt.date
    status: str  # OPEN, NO_HOURS, scheduling.CLOSURE or scheduling.HOLIDAY
    reason: str | None = None  # the closure's reason or the holiday's name
    intervals: list[tuple[dt.time, dt.time]] = field(default_factory=list)
    slots: list[tuple[Service, int]] = field(default_factory=list)  # times a day, per service


@dataclass
class OfficeMonth:
    month: dt.date  # the first of the month
    days: list[OfficeDay]
    previous_month: dt.date | None
    next_month: dt.date | None


def office_month(office: Office, services: list[Service], month: dt.date) -> OfficeMonth:
    """Every day of `month` at `office` (agency-local dates), as citizens will be offered it: open
    with its intervals and how many times each of `services` offers, closed by a closure or a
    holiday with the reason, or without opening hours. Lead time, horizon and seats already taken
    are left out: this is what the settings offer, whoever has booked."""
    agency = office.agency
    zone = ZoneInfo(agency.timezone)
    last = month.replace(day=pycalendar.monthrange(month.year, month.month)[1])
    hours = scheduling.hours_by_office([office.id])[office.id]
    closures = scheduling.closures_by_office(agency.id, [office.id], month, last)[office.id]
    days = []
    for number in range(1, last.day + 1):
        day = month.replace(day=number)
        closed = scheduling.why_closed(day, observes_holidays=agency.observes_pr_holidays, closures=closures)
        intervals = sorted(hours.get(day.weekday(), []))
        if closed:
            days.append(OfficeDay(day, closed.kind, closed.reason))
        elif not intervals:
            days.append(OfficeDay(day, NO_HOURS))
        else:
            slots = [
                (service, len(scheduling.slot_starts(day, intervals, service.slot_minutes, zone)))
                for service in services
            ]
            days.append(OfficeDay(day, OPEN, intervals=intervals, slots=slots))
    previous_month, next_month = _neighbours(month)
    return OfficeMonth(
        month=month,
        days=days,
        previous_month=previous_month if scheduling.within_calendar(previous_month) else None,
        next_month=next_month if scheduling.within_calendar(next_month) else None,
    )
