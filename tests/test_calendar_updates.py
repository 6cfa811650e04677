"""Calendar updates a citizen's calendar app applies: the same UID throughout, METHOD:REQUEST with a
SEQUENCE that grows at every new time, and METHOD:CANCEL with STATUS:CANCELLED when cancelled.

Every .ics is read by two independent parsers: `icalendar` (which the app writes with) and `ical`
(a strict RFC 5545 reader), so a file only one library would accept fails here. Google Calendar,
Outlook and Apple Calendar match an update to the event by UID and apply it when its SEQUENCE is
higher; a CANCEL needs the ORGANIZER and the ATTENDEE of the request (RFC 5546, 3.2.5).
"""

from __future__ import annotations

import base64
import datetime as dt

import icalendar
import pytest
import sqlalchemy as sa
from ical.calendar_stream import IcsCalendarStream
from ical.event import EventStatus

from app.appointments import cancel_appointment, reschedule_appointment
from app.demo import seed_demo
from app.extensions import db
from app.models import Appointment, OutboxMessage
from app.notifications import build_email, rendered
from tests.support import booking


@pytest.fixture
def any_demo(any_db_app):
    with any_db_app.app_context():
        seed_demo()
    return any_db_app


def calendar_of(app, reference: str, kind: str):
    """The .ics of the latest `kind` e-mail of the appointment: (raw bytes, its MIME part)."""
    with app.app_context():
        message = db.session.scalar(
            sa.select(OutboxMessage)
            .join(Appointment, Appointment.id == OutboxMessage.appointment_id)
            .where(Appointment.reference == reference, OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id.desc())
        )
        message = rendered(message)  # as the sender writes it
        (part,) = list(build_email(message, "Ventanilla <citas@example.pr>").iter_attachments())
        return base64.b64decode(message.attachments[0]["content_base64"]), part


def both_parsers(ics: bytes) -> tuple[icalendar.Event, object, object]:
    """(icalendar's VEVENT, ical's Calendar, ical's Event); both must accept the file."""
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    strict = IcsCalendarStream.calendar_from_ics(ics.decode("utf-8"))
    return event, strict, strict.events[0]


def move(app, reference: str, token: str, skip: int) -> None:
    target = booking.first_free_slot(app, booking.LICENCE_SERVICE, skip)
    with app.test_request_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        reschedule_appointment(appointment, appointment.office, target.start, token)


def test_confirmation_reschedules_and_cancellation_update_one_calendar_event(any_demo):
    app = any_demo
    booked = booking.book_directly(app)
    reference, token = booked.appointment.reference, booked.manage_token
    uid = f"{reference}@ventanilla"

    ics, part = calendar_of(app, reference, "confirmation")
    event, strict, strict_event = both_parsers(ics)
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST" and part.get_param("charset").upper() == "UTF-8"
    assert strict.method == "REQUEST" and strict_event.uid == uid and strict_event.sequence == 0
    assert str(event["uid"]) == uid and event.decoded("sequence") == 0
    assert strict_event.organizer is not None
    assert [str(a.uri).lower() for a in strict_event.attendees] == ["mailto:ana@example.com"]
    first_start = strict_event.dtstart

    sequences = [0]
    for skip in (4, 6):
        move(app, reference, token, skip)
        ics, part = calendar_of(app, reference, "rescheduled")
        event, strict, strict_event = both_parsers(ics)
        assert part.get_param("method") == "REQUEST"
        assert strict.method == "REQUEST" and strict_event.uid == uid and str(event["uid"]) == uid
        assert strict_event.sequence > sequences[-1] and event.decoded("sequence") == strict_event.sequence
        assert strict_event.dtstart != first_start
        sequences.append(strict_event.sequence)

    with app.test_request_context():
        cancel_appointment(
            db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        )
    ics, part = calendar_of(app, reference, "cancellation")
    event, strict, strict_event = both_parsers(ics)
    assert part.get_param("method") == "CANCEL" and part.get_param("charset").upper() == "UTF-8"
    assert strict.method == "CANCEL" and str(icalendar.Calendar.from_ical(ics)["method"]) == "CANCEL"
    assert strict_event.uid == uid and strict_event.status == EventStatus.CANCELLED
    assert str(event["status"]) == "CANCELLED"
    assert strict_event.sequence > sequences[-1]
    assert strict_event.organizer is not None and strict_event.attendees
    assert "/manage/" not in ics.decode() and "/call/" not in ics.decode()  # a cancellation has no links


def test_the_organizer_is_the_sending_address_so_clients_accept_updates_from_it(any_demo):
    app = any_demo
    app.config["MAIL_DEFAULT_SENDER"] = "Ventanilla DTOP <citas@dtop.example.pr>"
    booked = booking.book_directly(app)
    ics, _part = calendar_of(app, booked.appointment.reference, "confirmation")
    _event, _strict, strict_event = both_parsers(ics)
    assert str(strict_event.organizer.uri).lower() == "mailto:citas@dtop.example.pr"
    assert strict_event.organizer.common_name == "Ventanilla DTOP"
    assert strict_event.dtstamp.tzinfo is not None and strict_event.dtstart.utcoffset() == dt.timedelta(0)
