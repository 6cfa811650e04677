"""Seats taken per slot (SlotUsage) are kept by the database: whatever path books, cancels, moves,
closes or deletes an appointment, the counters equal a count of the appointments holding a seat,
on SQLite and on PostgreSQL (issue 13, item 8: availability reads the counters)."""

from __future__ import annotations

import sqlalchemy as sa

from app import appointments
from app.extensions import db
from app.models import Appointment, Document, OutboxMessage, SlotUsage
from tests.support.booking import book_directly, free_slots

IN_PERSON = "renovacion-licencia"


def seed(app) -> None:
    from app.demo import seed_demo

    with app.app_context():
        seed_demo()


def counters(app) -> dict:
    with app.app_context():
        rows = db.session.execute(
            sa.select(SlotUsage.service_id, SlotUsage.office_id, SlotUsage.start_at, SlotUsage.taken).where(
                SlotUsage.taken > 0
            )
        )
        return {(s, o, start): taken for s, o, start, taken in rows}


def counted(app) -> dict:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Appointment.service_id, Appointment.office_id, Appointment.start_at, sa.func.count())
            .where(Appointment.seat.is_not(None))
            .group_by(Appointment.service_id, Appointment.office_id, Appointment.start_at)
        )
        return {(s, o, start): n for s, o, start, n in rows}


def test_the_counters_follow_every_change_of_a_seat(any_db_app, clock):
    app = any_db_app
    seed(app)
    first = book_directly(app, IN_PERSON, email="ana@example.com")
    second = book_directly(app, IN_PERSON, email="bob@example.com")
    third = book_directly(app, IN_PERSON, email="carla@example.com")
    assert counters(app) == counted(app) and sum(counters(app).values()) == 3

    with app.test_request_context():
        appointments.cancel_appointment(db.session.get(Appointment, first.appointment.id))
    assert counters(app) == counted(app) and sum(counters(app).values()) == 2

    later = free_slots(app, IN_PERSON)[-1]
    with app.test_request_context():
        moving = db.session.get(Appointment, second.appointment.id)
        office = db.session.get(type(moving.office), later.office_id)
        appointments.reschedule_appointment(moving, office, later.start, second.manage_token)
    assert counters(app) == counted(app)
    assert counters(app).get((second.appointment.service_id, later.office_id, later.start)) == 1

    with app.app_context():  # a row deleted outright (never done by the app, but the count holds)
        for model in (OutboxMessage, Document):
            db.session.execute(sa.delete(model).where(model.appointment_id == third.appointment.id))
        db.session.execute(sa.delete(Appointment).where(Appointment.id == third.appointment.id))
        db.session.commit()
    assert counters(app) == counted(app) and sum(counters(app).values()) == 1


def test_availability_reads_the_counters(app, seeded, clock):
    before = {(slot.office_id, slot.start): slot.remaining for slot in free_slots(app, IN_PERSON)}
    booked = book_directly(app, IN_PERSON)
    key = (booked.appointment.office_id, booked.appointment.start_at)
    after = {(slot.office_id, slot.start): slot.remaining for slot in free_slots(app, IN_PERSON)}
    assert after[key] == before[key] - 1
    with app.app_context():  # the counter, not a count of appointments, decides
        db.session.execute(sa.update(SlotUsage).values(taken=0))
        db.session.commit()
    again = {(slot.office_id, slot.start): slot.remaining for slot in free_slots(app, IN_PERSON)}
    assert again[key] == before[key]


def test_the_counters_are_kept_on_a_schema_built_by_the_migrations(migrated_app, clock):
    """A migration that rebuilds `appointment` (SQLite's batch mode copies it into a new table)
    must bring the triggers back: after every migration, a booking still counts."""
    app = migrated_app
    seed(app)
    book_directly(app, IN_PERSON)
    assert counters(app) == counted(app) and sum(counters(app).values()) == 1
