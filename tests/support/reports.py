"""A small agency with hand-countable activity for the reports tests (and a second agency whose
activity must never show): two days, Monday 3 and Tuesday 4 March 2031, in Puerto Rico (UTC−4)."""

from __future__ import annotations

import datetime as dt
import itertools

from app.accounts import create_staff
from app.extensions import db
from app.models import (
    Agency,
    Appointment,
    CallSession,
    Office,
    OpeningHours,
    Service,
    SurveyResponse,
    Turn,
)
from tests.support.two_factor import enrol

UTC = dt.UTC
MONDAY, TUESDAY = dt.date(2031, 3, 3), dt.date(2031, 3, 4)
ADMIN = ("admin@prueba.example", "reportes con cifras claras 2031")
_numbers = itertools.count(1)


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2031, 3, day, hour, minute, second, tzinfo=UTC)


def _agency(slug: str) -> tuple[Agency, Service, Service, Office]:
    agency = Agency(slug=slug, name_es=f"Agencia {slug}", name_en=f"Agency {slug}")
    office = Office(agency=agency, slug=f"{slug}-centro", name_es="Centro", name_en="Centre")
    video = Service(
        agency=agency,
        slug=f"{slug}-video",
        name_es="Renovación",
        name_en="Renewal",
        mode="video",
        slot_minutes=30,
        capacity_per_slot=2,
        offices=[office],
    )
    turns = Service(
        agency=agency,
        slug=f"{slug}-turnos",
        name_es="Orientación",
        name_en="Orientation",
        mode="phone_turn",
        offices=[office],
    )
    for weekday in range(5):
        office.hours.append(OpeningHours(weekday=weekday, opens_at=dt.time(8), closes_at=dt.time(12)))
    db.session.add_all([agency, office, video, turns])
    db.session.flush()
    return agency, video, turns, office


def appointment(service, office, start, status="booked", outcome=None, cancelled_by=None, **fields):
    number = next(_numbers)
    row = Appointment(
        reference=f"R-{number:05d}",
        service=service,
        office=office,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
        seat=None if status == "cancelled" else fields.pop("seat", 1),
        status=status,
        outcome=outcome,
        cancelled_by=cancelled_by,
        citizen_name='=HYPERLINK("http://x")',
        citizen_email=f"c{number}@example.com",
        citizen_phone="+17875550100",
        manage_token_hash=f"{number:064d}",
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    return row


def turn(service, office, day, status, queued=None, called=None, estimate=None, appointment_id=None):
    number = next(_numbers)
    row = Turn(
        service=service,
        office_id=office.id,
        day=day,
        number=number,
        code=f"T{number}",
        citizen_name="Luis",
        citizen_phone=f"+1787555{number:04d}",
        status=status,
        status_token_hash=f"t{number:063d}",
        queued_at=queued or utc(day.day, 12),
        priority_at=queued or utc(day.day, 12),
        called_at=called,
        estimated_wait_minutes=estimate,
        appointment_id=appointment_id,
    )
    db.session.add(row)
    return row


def build_report_fixture(with_admin: bool = False) -> int:
    """The activity the tests count by hand (see tests/test_reports.py); returns the agency's id. Commits."""
    agency, video, turns, office = _agency("prueba")
    one = appointment(video, office, utc(3, 13), "completed", "completed")
    two = appointment(video, office, utc(3, 13), "completed", "documents_missing", seat=2)
    three = appointment(video, office, utc(3, 14), "completed", "technical_failure")
    appointment(video, office, utc(4, 13, 30), "no_show", "no_show")
    appointment(video, office, utc(4, 14), "cancelled", cancelled_by="citizen")
    appointment(video, office, utc(4, 15), "cancelled", cancelled_by="agency")
    appointment(video, office, utc(4, 15, 30))
    late = appointment(video, office, utc(5, 0))  # Tuesday 20:00 in Puerto Rico
    appointment(video, office, utc(3, 3))  # Sunday 23:00 in Puerto Rico: outside the range
    appointment(video, office, utc(5, 13), "completed", "completed")  # Wednesday: outside
    db.session.add_all(
        [
            CallSession(
                appointment_id=one.id,
                waiting_since=utc(3, 12, 58),
                admitted_at=utc(3, 13),
                connected_at=utc(3, 13, 0, 30),
                ended_at=utc(3, 13, 20),
                end_reason="completed",
            ),
            CallSession(
                appointment_id=two.id,
                waiting_since=utc(3, 12, 59),
                admitted_at=utc(3, 13, 5),
                connected_at=utc(3, 13, 6, 10),
                audio_only=True,
                ended_at=utc(3, 13, 30),
                end_reason="documents_missing",
            ),
            CallSession(
                appointment_id=three.id,
                waiting_since=utc(3, 13, 59),
                admitted_at=utc(3, 14),
                ended_at=utc(3, 14, 10),
                end_reason="technical_failure",
            ),
            SurveyResponse(appointment_id=one.id, rating=5),
            SurveyResponse(appointment_id=two.id, rating=3),
        ]
    )
    turn(turns, office, MONDAY, "attended", utc(3, 12), utc(3, 12, 10), estimate=5)
    turn(turns, office, MONDAY, "attended", utc(3, 12, 5), utc(3, 12, 35), estimate=40)
    turn(turns, office, MONDAY, "missed", utc(3, 12, 10), utc(3, 12, 30))
    turn(turns, office, MONDAY, "cancelled")
    turn(turns, office, TUESDAY, "no_answer", utc(4, 13), utc(4, 13, 4), estimate=4)
    turn(turns, office, TUESDAY, "attended", utc(4, 13), utc(4, 13, 1), appointment_id=late.id)  # a check-in
    _other, other_video, other_turns, other_office = _agency("otra")
    appointment(other_video, other_office, utc(3, 13), "completed", "completed")
    turn(other_turns, other_office, MONDAY, "attended", utc(3, 12), utc(3, 12, 1))
    db.session.commit()
    if with_admin:
        create_staff(ADMIN[0], "Admin Prueba", ADMIN[1], "admin", "prueba")
        enrol(ADMIN[0])  # admins sign in with a code (tests/support/two_factor.py)
    return agency.id
