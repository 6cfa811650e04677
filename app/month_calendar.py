"""The month calendar citizens pick a day from (booking and moving an appointment): weeks of days,
each with its free slots, closed days with their reason. Read-only."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from dataclasses import dataclass

from app import scheduling


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
    previous_month = (month - dt.timedelta(days=1)).replace(day=1)
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    return MonthGrid(
        month=month,
        weeks=weeks,
        previous_month=previous_month if previous_month >= today.replace(day=1) else None,
        next_month=next_month if next_month <= last_bookable else None,
    )
