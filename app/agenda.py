"""The clerk's agenda: the agency's appointments of one day, with the live state of video calls."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from app.calls import sessions
from app.calls.presence import rooms
from app.extensions import db
from app.models import Appointment, Service, Staff, utcnow
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


def todays_agenda(staff: Staff, now: dt.datetime | None = None) -> Agenda:
    """Today's appointments (in the agency's zone) of the agencies `staff` acts for. Read-only."""
    timezone = agency_timezone(staff)
    zone = ZoneInfo(timezone)
    today = (now or utcnow()).astimezone(zone).date()
    start = dt.datetime.combine(today, dt.time.min, zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, zone)
    appointments = db.session.scalars(
        sa.select(Appointment)
        .join(Service)
        .where(
            Appointment.start_at >= start,
            Appointment.start_at < end,
            staff_agency_filter(staff, Service.agency_id),
        )
        .order_by(Appointment.start_at)
    ).all()
    video = [appointment for appointment in appointments if appointment.service.mode == "video"]
    return Agenda(
        day=today,
        timezone=timezone,
        appointments=list(appointments),
        states={appointment.id: sessions.call_state(appointment) for appointment in video},
        present={appointment.id for appointment in video if rooms.citizen_present(appointment.id)},
    )
