"""The clerk's agenda: the agency's appointments of one day, with the live state of video calls."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from app.calls import sessions
from app.calls.presence import rooms
from app.extensions import db
from app.models import Agency, Appointment, Service, Staff, utcnow
from app.security import staff_agency_filter


@dataclass
class Agenda:
    day: dt.date
    timezone: str
    appointments: list[Appointment]
    states: dict[int, dict]  # video appointments: the console's call state
    present: set[int]  # video appointments whose citizen is in the waiting room now

    @property
    def waiting_references(self) -> list[str]:
        return [
            appointment.reference
            for appointment in self.appointments
            if appointment.id in self.present
            and self.states.get(appointment.id, {}).get("state") == "waiting"
        ]


def agency_timezone(staff: Staff) -> str:
    """The staff member's agency's zone (the installation's for a superadmin without one)."""
    return staff.agency.timezone if staff.agency else current_app.config["DEFAULT_TIMEZONE"]


def local_today(staff: Staff, now: dt.datetime | None = None) -> dt.date:
    """Today in the staff member's agency's zone."""
    return (now or utcnow()).astimezone(ZoneInfo(agency_timezone(staff))).date()


def console_agencies(staff: Staff) -> list[int]:
    """The agencies whose live waiting rooms the console of `staff` follows: those its list shows
    (their own; every agency for a superadmin). Read-only."""
    return list(db.session.scalars(sa.select(Agency.id).where(staff_agency_filter(staff, Agency.id))))


def todays_agenda(staff: Staff, now: dt.datetime | None = None) -> Agenda:
    """Today's appointments (in the agency's zone) of the agencies `staff` acts for. Read-only."""
    timezone = agency_timezone(staff)
    zone = ZoneInfo(timezone)
    today = (now or utcnow()).astimezone(zone).date()
    appointments = appointments_between(staff, today, today + dt.timedelta(days=1), timezone)
    video = [appointment for appointment in appointments if appointment.service.mode == "video"]
    return Agenda(
        day=today,
        timezone=timezone,
        appointments=list(appointments),
        states={appointment.id: sessions.call_state(appointment) for appointment in video},
        present={appointment.id for appointment in video if rooms.citizen_present(appointment.id)},
    )


@dataclass(frozen=True)
class Filters:
    """What a clerk narrows an agenda to; None is everything."""

    office_id: int | None = None
    service_id: int | None = None
    status: str | None = None


def appointments_between(
    staff: Staff, first: dt.date, end: dt.date, timezone: str, filters: Filters = Filters()
) -> list[Appointment]:
    """Appointments starting on the days [first, end) in `timezone`, of the agencies `staff`
    acts for, narrowed by `filters`, by start time. Read-only."""
    zone = ZoneInfo(timezone)
    query = (
        sa.select(Appointment)
        .join(Service)
        .where(
            Appointment.start_at >= dt.datetime.combine(first, dt.time.min, zone),
            Appointment.start_at < dt.datetime.combine(end, dt.time.min, zone),
            staff_agency_filter(staff, Service.agency_id),
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    if filters.office_id is not None:
        query = query.where(Appointment.office_id == filters.office_id)
    if filters.service_id is not None:
        query = query.where(Appointment.service_id == filters.service_id)
    if filters.status is not None:
        query = query.where(Appointment.status == filters.status)
    return list(db.session.scalars(query))


def by_local_day(
    appointments: list[Appointment], first: dt.date, end: dt.date, timezone: str
) -> list[tuple[dt.date, list[Appointment]]]:
    """Each day of [first, end) with its appointments (already in start order), in `timezone`."""
    zone = ZoneInfo(timezone)
    days = {first + dt.timedelta(days=n): [] for n in range((end - first).days)}
    for appointment in appointments:
        days.setdefault(appointment.start_at.astimezone(zone).date(), []).append(appointment)
    return list(days.items())


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The Monday of `day`'s week and the Monday after."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=7)


MAX_QUERY_CHARS = 100
PHONE_SEPARATORS = re.compile(r"[+().-]")
SEARCH_LIMIT = 50


def folded(text: str | None) -> str:
    """`text` for comparing as people do: accents and case ignored ("José PÉREZ" → "jose perez")."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search(staff: Staff, query: str, limit: int = SEARCH_LIMIT) -> list[Appointment]:
    """Appointments of any date whose reference, citizen name, e-mail or phone contains every word
    of `query`, accents and case ignored (digits alone match phone numbers however written);
    newest first, at most `limit`. Read-only.

    Both databases compare text differently with accents, so the folding happens here: one pass
    over the agency's (id, reference, name, e-mail, phone) rows, then the matches are loaded.
    """
    words = folded(query).split()
    if not words:
        return []
    rows = db.session.execute(
        sa.select(
            Appointment.id,
            Appointment.reference,
            Appointment.citizen_name,
            Appointment.citizen_email,
            Appointment.citizen_phone,
        )
        .join(Service)
        .where(staff_agency_filter(staff, Service.agency_id))
        .order_by(Appointment.start_at.desc(), Appointment.id.desc())
    )
    matches = []
    for row in rows:
        text = folded(" ".join(part or "" for part in row[1:]))
        digits = "".join(c for c in row.citizen_phone or "" if c.isdigit())
        if all(word in text or _phone_part(word) in digits for word in words):
            matches.append(row.id)
            if len(matches) == limit:
                break
    if not matches:
        return []
    found = {a.id: a for a in db.session.scalars(sa.select(Appointment).where(Appointment.id.in_(matches)))}
    return [found[id_] for id_ in matches]


def _phone_part(word: str) -> str:
    """A word typed like part of a phone number ("787-555", "(787)") as its digits; else a string
    no digits contain."""
    digits = PHONE_SEPARATORS.sub("", word)
    return digits if digits.isdigit() else "\0"
