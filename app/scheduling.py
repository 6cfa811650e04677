"""When can a service be booked: opening hours, holidays, closures, lead time, horizon, seats.

The calendar arithmetic is pure (`slot_starts`, `closed_reason`, `booking_window`) and works in
the agency's time zone; only `available_days` reads the database, for hours, closures and the
seats already taken. Every datetime that leaves this module is timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import Closure, Office, OpeningHours, Service, SlotUsage, utcnow

UTC = dt.UTC

# The holidays package names Puerto Rico's holidays in English only; these carry the Spanish.
HOLIDAY_NAMES = {
    "New Year's Day": _l("New Year's Day"),
    "Epiphany": _l("Epiphany"),
    "Martin Luther King Jr. Day": _l("Martin Luther King Jr. Day"),
    "George Washington Day, Presidents' Day, and the Day of the Women and Men Heroes of Puerto Rico": _l(
        "Presidents' Day and Day of the Heroes of Puerto Rico"
    ),
    "Emancipation Day": _l("Emancipation Day"),
    "Good Friday": _l("Good Friday"),
    "Memorial Day": _l("Memorial Day"),
    "Juneteenth National Independence Day": _l("Juneteenth"),
    "Independence Day": _l("Independence Day"),
    "Puerto Rico Constitution Day": _l("Puerto Rico Constitution Day"),
    "Labor Day": _l("Labor Day"),
    "Columbus Day": _l("Columbus Day"),
    "Veterans Day": _l("Veterans Day"),
    "Puerto Rican Identity Day": _l("Puerto Rican Identity Day"),
    "Thanksgiving Day": _l("Thanksgiving Day"),
    "Christmas Day": _l("Christmas Day"),
}
OBSERVED_SUFFIX = " (observed)"


@lru_cache(maxsize=32)
def _pr_holidays(year: int) -> dict[dt.date, str]:
    return dict(holidays.country_holidays("PR", years=year))


def holiday_name(day: dt.date) -> str | None:
    """The translated name of the Puerto Rico public holiday on `day`, or None."""
    english = _pr_holidays(day.year).get(day)
    if english is None:
        return None
    names = []
    for part in english.split("; "):
        observed = part.endswith(OBSERVED_SUFFIX)
        base = part.removesuffix(OBSERVED_SUFFIX)
        name = str(HOLIDAY_NAMES.get(base, base))
        names.append(_("%(holiday)s (observed)", holiday=name) if observed else name)
    return "; ".join(names)


def closed_reason(day: dt.date, *, observes_holidays: bool, closures: dict[dt.date, str]) -> str | None:
    """Why the office is closed on `day` (a holiday or a one-off closure), or None if it is not."""
    if day in closures:
        return closures[day] or _("Closed")
    if observes_holidays:
        return holiday_name(day)
    return None


def slot_starts(
    day: dt.date, intervals: list[tuple[dt.time, dt.time]], slot_minutes: int, zone: ZoneInfo
) -> list[dt.datetime]:
    """UTC start times of the slots that fit whole inside the opening intervals of `day`.

    Slots are laid out in local wall-clock time, so 09:00 stays 09:00 across a DST change; a
    wall-clock time that does not exist that day (the spring-forward gap) is skipped.
    """
    step = dt.timedelta(minutes=slot_minutes)
    starts = []
    for opens, closes in sorted(intervals):
        local = dt.datetime.combine(day, opens)
        end_of_interval = dt.datetime.combine(day, closes)
        while local + step <= end_of_interval:
            aware = local.replace(tzinfo=zone)
            if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local:
                starts.append(aware.astimezone(UTC))
            local += step
    return starts


@dataclass(frozen=True)
class BookingWindow:
    earliest: dt.datetime  # UTC: nothing starts before now + lead time
    last_day: dt.date  # local: the horizon

    def allows(self, start: dt.datetime, zone: ZoneInfo) -> bool:
        return start >= self.earliest and start.astimezone(zone).date() <= self.last_day


def booking_window(service: Service, now: dt.datetime, zone: ZoneInfo) -> BookingWindow:
    earliest = now.astimezone(UTC) + dt.timedelta(minutes=service.lead_time_minutes)
    last_day = now.astimezone(zone).date() + dt.timedelta(days=service.horizon_days)
    return BookingWindow(earliest=earliest, last_day=last_day)


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    office_id: int
    capacity: int
    taken: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.taken, 0)


@dataclass
class DayAvailability:
    day: dt.date
    closed_reason: str | None = None
    slots: list[Slot] = field(default_factory=list)

    @property
    def free_slots(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.remaining > 0]

    @property
    def free_seats(self) -> int:
        return sum(slot.remaining for slot in self.slots)


def agency_zone(service: Service) -> ZoneInfo:
    return ZoneInfo(service.agency.timezone)


def today_for(service: Service, now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(agency_zone(service)).date()


CALENDAR_YEARS = 10


def within_calendar(day: dt.date, now: dt.datetime | None = None) -> bool:
    """Whether a day someone asks about is within CALENDAR_YEARS years of this year.

    Anything outside a service's booking window simply has no free slots; this only keeps year 1
    and year 9999 (whose neighbouring days and months do not exist) away from the date arithmetic.
    """
    return abs(day.year - (now or utcnow()).year) <= CALENDAR_YEARS


def available_days(
    service: Service,
    first_day: dt.date,
    days: int,
    *,
    office: Office | None = None,
    now: dt.datetime | None = None,
) -> list[DayAvailability]:
    """Each day from `first_day` (agency-local) for `days` days, with its bookable slots and seats.

    Slots before the lead time or past the horizon are left out; closed days carry the reason.
    """
    now = now or utcnow()
    zone = agency_zone(service)
    window = booking_window(service, now, zone)
    offices = [office] if office is not None else list(service.open_offices)
    office_ids = [o.id for o in offices]
    last_day = first_day + dt.timedelta(days=days - 1)

    hours = hours_by_office(office_ids)
    closures = closures_by_office(service.agency_id, office_ids, first_day, last_day)
    taken = _taken_seats(service.id, office_ids, first_day, last_day, zone)
    step = dt.timedelta(minutes=service.slot_minutes)

    result = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        availability = DayAvailability(day=day)
        reasons = []
        for office_id in office_ids:
            reason = closed_reason(
                day, observes_holidays=service.agency.observes_pr_holidays, closures=closures[office_id]
            )
            if reason:
                reasons.append(reason)
                continue
            for start in slot_starts(
                day, hours[office_id].get(day.weekday(), []), service.slot_minutes, zone
            ):
                if window.allows(start, zone):
                    availability.slots.append(
                        Slot(
                            start=start,
                            end=start + step,
                            office_id=office_id,
                            capacity=service.capacity_per_slot,
                            taken=taken.get((office_id, start), 0),
                        )
                    )
        if reasons and len(reasons) == len(office_ids):
            availability.closed_reason = reasons[0]
        availability.slots.sort(key=lambda slot: (slot.start, slot.office_id))
        result.append(availability)
    return result


def find_slot(
    service: Service, office: Office, start: dt.datetime, now: dt.datetime | None = None
) -> Slot | None:
    """The bookable slot of `office` starting exactly at `start`, or None if there is none."""
    day = start.astimezone(agency_zone(service)).date()
    for slot in available_days(service, day, 1, office=office, now=now)[0].slots:
        if slot.start == start:
            return slot
    return None


def nearest_free_slots(
    service: Service,
    start: dt.datetime,
    *,
    office: Office | None = None,
    count: int = 3,
    now: dt.datetime | None = None,
) -> list[Slot]:
    """The free slots closest in time to `start` (the alternatives offered when it is full)."""
    zone = agency_zone(service)
    first = max(start.astimezone(zone).date() - dt.timedelta(days=3), today_for(service, now))
    days = available_days(service, first, 10, office=office, now=now)
    free = [slot for day in days for slot in day.free_slots if slot.start != start]
    free.sort(key=lambda slot: (abs(slot.start - start), slot.start))
    return free[:count]


def hours_by_office(office_ids: list[int]) -> dict[int, dict[int, list[tuple[dt.time, dt.time]]]]:
    """{office id: {weekday: [(opens, closes), …]}} from the opening hours table."""
    hours: dict[int, dict[int, list]] = {office_id: defaultdict(list) for office_id in office_ids}
    for row in db.session.scalars(sa.select(OpeningHours).where(OpeningHours.office_id.in_(office_ids))):
        hours[row.office_id][row.weekday].append((row.opens_at, row.closes_at))
    return hours


def closures_by_office(agency_id: int, office_ids: list[int], first: dt.date, last: dt.date):
    """{office id: {day: reason}} of the one-off closures between `first` and `last`."""
    closures: dict[int, dict[dt.date, str]] = {office_id: {} for office_id in office_ids}
    rows = db.session.scalars(
        sa.select(Closure).where(
            Closure.agency_id == agency_id,
            Closure.day.between(first, last),
            sa.or_(Closure.office_id.is_(None), Closure.office_id.in_(office_ids)),
        )
    )
    for row in rows:
        targets = office_ids if row.office_id is None else [row.office_id]
        for office_id in targets:
            closures[office_id][row.day] = row.localized("reason")
    return closures


def _taken_seats(
    service_id: int, office_ids: list[int], first: dt.date, last: dt.date, zone: ZoneInfo
) -> dict[tuple[int, dt.datetime], int]:
    """Seats taken per (office, start) in the days, from the per-slot counters (SlotUsage): one row
    per slot that has bookings, however many appointments there are."""
    start = dt.datetime.combine(first, dt.time.min, zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, zone)
    rows = db.session.execute(
        sa.select(SlotUsage.office_id, SlotUsage.start_at, SlotUsage.taken).where(
            SlotUsage.service_id == service_id,
            SlotUsage.office_id.in_(office_ids),
            SlotUsage.start_at >= start,
            SlotUsage.start_at < end,
            SlotUsage.taken > 0,
        )
    )
    return {(office_id, start_at): taken for office_id, start_at, taken in rows}
