"""An office's opening hours, edited a whole week at a time (issue 11): the rules a week must
follow, and the save — versioned, audited with the old and new intervals, and previewed when it
leaves booked appointments outside the new hours (app.impact).

A week arrives as {weekday (0 = Monday): [interval or None, …]}: the rows as the admin entered
them, blank rows as None, so that a refused row can be pointed at by its place. What the hours
then offer is app.scheduling's to compute, from the rows saved here.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import audit, impact, scheduling
from app.administration import StaleVersion
from app.extensions import db, write_transaction
from app.i18n import regional_locale
from app.models import Appointment, Office, OpeningHours, Service, Staff, Turn, service_office, utcnow
from app.queue.estimate import view_turn

Interval = tuple[dt.time, dt.time]
Week = dict[int, list[Interval | None]]
WEEKDAYS = range(7)
# The audit record names the days in English, whatever the admin's language.
WEEKDAY_KEYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ENDS_BEFORE_IT_STARTS = _l("The closing time must be later than the opening time.")


class HoursRefused(Exception):
    """Rows the rules refuse: {(weekday, row, "opens" or "closes"): message}. Nothing was saved."""

    def __init__(self, problems: dict[tuple[int, int, str], str]):
        super().__init__("; ".join(str(message) for message in problems.values()))
        self.problems = problems


def weekday_names() -> list[str]:
    """Monday to Sunday in the current language, capitalised ("Lunes", "Monday")."""
    names = get_day_names("wide", locale=regional_locale(str(get_locale() or "es")))
    return [names[weekday].capitalize() for weekday in WEEKDAYS]


def office_week(office: Office) -> dict[int, list[Interval]]:
    """The office's opening intervals by weekday, each day's in order (read-only)."""
    hours = scheduling.hours_by_office([office.id])[office.id]
    return {weekday: sorted(hours.get(weekday, [])) for weekday in WEEKDAYS}


def services_at(office: Office) -> list[Service]:
    """The active services the office offers, by name: their slots must fit its hours (read-only)."""
    query = (
        sa.select(Service)
        .join(service_office, service_office.c.service_id == Service.id)
        .where(service_office.c.office_id == office.id, Service.active.is_(True))
        .order_by(Service.name_es)
    )
    return list(db.session.scalars(query))


def check_week(week: Week, services: list[Service]) -> dict[tuple[int, int, str], str]:
    """What is wrong with the rows of `week`, by (weekday, row, field); empty when all is well.

    Each interval must end after it starts, overlap no other interval of its day (one may start
    when another ends), and hold a whole number of slots of every service offered there.
    """
    problems: dict[tuple[int, int, str], str] = {}
    for weekday, rows in week.items():
        kept: list[tuple[int, Interval]] = []
        for row, interval in enumerate(rows):
            if interval is None:
                continue
            problem = _interval_problem(interval, kept, services)
            if problem:
                field, message = problem
                problems[(weekday, row, field)] = message
            else:
                kept.append((row, interval))
    return problems


def _interval_problem(interval: Interval, kept, services) -> tuple[str, str] | None:
    opens, closes = interval
    if closes <= opens:
        return "closes", str(ENDS_BEFORE_IT_STARTS)
    for row, (other_opens, other_closes) in kept:
        if opens < other_closes and other_opens < closes:
            return "opens", _(
                "This interval overlaps interval %(number)d of the same day (%(opens)s–%(closes)s).",
                number=row + 1,
                opens=other_opens.strftime("%H:%M"),
                closes=other_closes.strftime("%H:%M"),
            )
    minutes = _minutes(closes) - _minutes(opens)
    for service in services:
        if minutes % service.slot_minutes:
            return "closes", _(
                "“%(service)s” has %(slot)d-minute slots: this interval of %(minutes)d minutes does not "
                "divide into them. Make it a multiple of %(slot)d minutes.",
                service=service.localized("name"),
                slot=service.slot_minutes,
                minutes=minutes,
            )
    return None


def _minutes(time: dt.time) -> int:
    return time.hour * 60 + time.minute


def save_opening_hours(
    office: Office,
    week: Week,
    version: int,
    actor: Staff,
    decision: impact.Decision | None = None,
) -> bool:
    """Replace the office's opening hours with `week` and audit the old and new intervals of each
    changed day, in one transaction (commits); False when nothing changed (nothing written).

    Raises HoursRefused (nothing saved); StaleVersion when `version` is not the hours' stored
    version (someone saved them since the form was loaded); impact.ChoiceNeeded when booked
    appointments ahead fitted the old hours but not the new ones and `decision` does not cover
    exactly them (nothing saved).
    """
    problems = check_week(week, services_at(office))
    if problems:
        raise HoursRefused(problems)
    new = {weekday: sorted(i for i in week.get(weekday, []) if i is not None) for weekday in WEEKDAYS}
    write_transaction()
    # Compare and raise the version in one UPDATE: of two saves racing from the same form, one wins.
    claimed = db.session.execute(
        sa.update(Office.__table__)
        .where(Office.__table__.c.id == office.id, Office.__table__.c.hours_version == version)
        .values(hours_version=Office.__table__.c.hours_version + 1)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise StaleVersion()
    old = office_week(office)
    changes = {
        WEEKDAY_KEYS[weekday]: [_texts(old[weekday]), _texts(new[weekday])]
        for weekday in WEEKDAYS
        if old[weekday] != new[weekday]
    }
    if not changes:
        db.session.rollback()
        return False
    try:
        impact.settle(no_longer_open(office, old, new), decision, actor, change="office.hours_changed")
    except impact.ChoiceNeeded:
        db.session.rollback()
        raise
    db.session.execute(sa.delete(OpeningHours).where(OpeningHours.office_id == office.id))
    db.session.add_all(
        OpeningHours(office_id=office.id, weekday=weekday, opens_at=opens, closes_at=closes)
        for weekday, intervals in new.items()
        for opens, closes in intervals
    )
    audit.record(
        "office.hours_changed",
        actor=actor,
        agency_id=office.agency_id,
        object_type="office",
        object_id=office.id,
        changes=changes,
    )
    db.session.commit()
    return True


def no_longer_open(
    office: Office,
    old: dict[int, list[Interval]],
    new: dict[int, list[Interval]],
    now: dt.datetime | None = None,
) -> list[Appointment | Turn]:
    """The office's booked appointments ahead that lay inside the `old` hours and do not lie inside
    the `new` ones (an appointment kept after an earlier change is not asked about again), then
    today's turns the new closing time leaves unserved (`_turns_past_closing`). Read-only."""
    zone = ZoneInfo(office.agency.timezone)
    appointments = [
        appointment
        for appointment in impact.booked_ahead(office.agency_id, Appointment.office_id == office.id)
        if _inside(old, appointment, zone) and not _inside(new, appointment, zone)
    ]
    return appointments + _turns_past_closing(office, old, new, zone, now or utcnow())


def _turns_past_closing(
    office: Office,
    old: dict[int, list[Interval]],
    new: dict[int, list[Interval]],
    zone: ZoneInfo,
    now: dt.datetime,
) -> list[Turn]:
    """When the new hours end today (agency time) earlier than the old ones, before the old closing
    time has passed: the turns in line at the office whose estimated call (the status page's
    estimate) falls at or after the new closing — all of them when the office is no longer open
    today. A turn being called now is being served, so it is not listed."""
    local = now.astimezone(zone)
    old_closing, new_closing = _last_closing(old, local), _last_closing(new, local)
    if old_closing is None or local.time() >= old_closing:
        return []
    if new_closing is not None and new_closing >= old_closing:
        return []
    closes = dt.datetime.combine(local.date(), new_closing, zone) if new_closing else now
    return [
        turn
        for turn in impact.in_line_today(office.agency_id, Turn.office_id == office.id, now=now)
        if (estimate := view_turn(turn, now).estimate) is not None
        and now + dt.timedelta(minutes=estimate.minutes) >= closes
    ]


def _last_closing(week: dict[int, list[Interval]], local: dt.datetime) -> dt.time | None:
    return max((closes for _opens, closes in week.get(local.weekday(), [])), default=None)


def _inside(week: dict[int, list[Interval]], appointment: Appointment, zone: ZoneInfo) -> bool:
    start, end = appointment.start_at.astimezone(zone), appointment.end_at.astimezone(zone)
    if start.date() != end.date():
        return False
    return any(
        opens <= start.time() and end.time() <= closes for opens, closes in week.get(start.weekday(), [])
    )


def _texts(intervals: list[Interval]) -> list[str]:
    return [f"{opens:%H:%M}-{closes:%H:%M}" for opens, closes in intervals]
