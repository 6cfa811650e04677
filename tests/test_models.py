"""The schema protects the data: capacity seats, status values, unique codes, UTC times."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.demo import seed_demo
from app.extensions import db
from app.models import Agency, Appointment, Service, Staff, Turn
from app.security import new_reference
from app.tokens import new_token

PR = ZoneInfo("America/Puerto_Rico")
START = dt.datetime(2031, 3, 4, 9, 0, tzinfo=PR)


def appointment(service, seat=1, start=START, **overrides):
    values = dict(
        reference=new_reference(service.agency.slug),
        service=service,
        office=service.offices[0],
        start_at=start,
        end_at=start + dt.timedelta(minutes=service.slot_minutes),
        seat=seat,
        citizen_name="Ana Rivera",
        citizen_email="ana@example.com",
        citizen_phone="+17875550100",
        manage_token_hash=new_token()[1],
        join_token_hash=new_token()[1],
    )
    values.update(overrides)
    return Appointment(**values)


@pytest.fixture
def service(any_db_app):
    with any_db_app.app_context():
        seed_demo()
        yield db.session.scalar(sa.select(Service).where(Service.slug == "certificacion-individuo"))
        db.session.rollback()


def commit_fails(*rows):
    db.session.add_all(rows)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_two_bookings_cannot_hold_the_same_seat(service):
    db.session.add(appointment(service, seat=1))
    db.session.commit()
    commit_fails(appointment(service, seat=1))
    db.session.add(appointment(service, seat=2))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 2


def test_a_cancelled_booking_gives_its_seat_back(service):
    first = appointment(service, seat=1)
    db.session.add(first)
    db.session.commit()
    first.status, first.seat = "cancelled", None
    db.session.commit()
    db.session.add(appointment(service, seat=1))
    db.session.commit()


@pytest.mark.parametrize(
    "overrides",
    [
        {"status": "cancelled"},  # cancelled but still holding seat 1
        {"seat": None},  # booked without a seat
        {"seat": 0},
        {"status": "lost"},
        {"outcome": "whatever"},
        {"language": "fr"},
        {"end_at": START},
    ],
)
def test_appointment_rows_that_break_a_rule_are_refused(service, overrides):
    commit_fails(appointment(service, **overrides))


def test_reference_codes_are_unique(service):
    db.session.add(appointment(service, reference="DTOP-AAAAAA"))
    db.session.commit()
    commit_fails(appointment(service, seat=2, reference="DTOP-AAAAAA"))


def test_turn_numbers_are_unique_per_service_and_day(any_db_app):
    with any_db_app.app_context():
        seed_demo()
        service = db.session.scalar(sa.select(Service).where(Service.mode == "phone_turn"))
        day = dt.date(2031, 3, 4)

        def turn(number, day=day):
            return Turn(
                service=service,
                day=day,
                number=number,
                code=f"R-{number:03}",
                citizen_name="Luis",
                citizen_phone="+17875550101",
                status_token_hash=new_token()[1],
            )

        db.session.add_all([turn(1), turn(1, day + dt.timedelta(days=1))])
        db.session.commit()
        commit_fails(turn(1))


def test_staff_emails_are_unique_and_roles_checked(any_db_app):
    with any_db_app.app_context():
        seed_demo()
        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == "dtop"))
        commit_fails(
            Staff(email="clerk@dtop.demo.ventanilla.pr", name="Copy", password_hash="x", agency=agency)
        )
        commit_fails(Staff(email="new@x.pr", name="Bad role", password_hash="x", role="root", agency=agency))
        commit_fails(Staff(email="new@x.pr", name="No agency", password_hash="x", role="clerk"))
        db.session.add(Staff(email="root@x.pr", name="Super", password_hash="x", role="superadmin"))
        db.session.commit()


def test_times_are_stored_in_utc_and_come_back_aware(service):
    row = appointment(service)
    db.session.add(row)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Appointment, row.id)
    assert stored.start_at.tzinfo is not None
    assert stored.start_at == START
    assert stored.start_at.utcoffset() == dt.timedelta(0)
    assert stored.start_at.hour == 13  # 09:00 in Puerto Rico (UTC-4)


def test_naive_datetimes_are_refused(service):
    db.session.add(appointment(service, start=dt.datetime(2031, 3, 4, 9, 0)))
    with pytest.raises(sa.exc.StatementError):
        db.session.commit()
    db.session.rollback()


def test_localized_fields_follow_the_locale(app):
    with app.app_context():
        seed_demo()
        service = db.session.scalar(sa.select(Service).where(Service.slug == "notificacion-renovacion"))
        assert service.localized("name", "es") == "Notificación de renovación (Noti)"
        assert service.localized("name", "en") == "Renewal notification (Noti)"
        assert service.localized("name", "fr") == "Notificación de renovación (Noti)"


def test_outbox_messages_are_indexed_by_appointment(app):
    """Every cancel, reschedule and outcome looks up an appointment's messages (issue 10, item 21)."""
    with app.app_context():
        indexes = sa.inspect(db.engine).get_indexes("outbox_message")
    assert any(index["column_names"][:1] == ["appointment_id"] for index in indexes), indexes
