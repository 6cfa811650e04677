"""Moving an appointment while someone else changes it: the other change wins, and the citizen
gets no "rescheduled" e-mail and no new join link for an appointment that is no longer booked.

The concurrent change (a cancel from another tab, a check-in at the counter) runs in another
thread with its own connection, at the exact moment the race is about: after the reschedule
decided that the appointment may change, before it writes. Threads: the clock ticks.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app import appointments
from app.appointments import TooLate, reschedule_appointment
from app.demo import seed_demo
from app.extensions import db, end_read_transaction
from app.models import Appointment, OutboxMessage, SlotUsage
from tests.support import booking

SERVICE = "certificacion-individuo"  # video, capacity 2, the licence front required
pytestmark = pytest.mark.clock(tick=True)


@pytest.fixture
def any_demo(any_db_app):
    with any_db_app.app_context():
        seed_demo()
    return any_db_app


def book(app) -> tuple[str, str]:
    result = booking.book_directly(app, SERVICE)
    return result.appointment.reference, result.manage_token


def cancel(app, reference: str) -> None:
    with app.test_request_context():
        appointments.cancel_appointment(
            db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        )


def check_in(app, reference: str) -> None:
    """What the counter's check-in does to the appointment row (status only; its turn is not the point)."""
    with app.app_context():
        db.session.execute(
            sa.update(Appointment).where(Appointment.reference == reference).values(status="checked_in")
        )
        db.session.commit()


def in_another_thread(work, *args) -> None:
    """Run `work` in a thread of its own (its own app context, session and connection); wait for it."""
    errors: list[BaseException] = []

    def run():
        try:
            work(*args)
        except BaseException as error:  # noqa: BLE001 - reported in the test's thread
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive() and not errors, errors


def state_of(app, reference: str) -> tuple[Appointment, list[str]]:
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        kinds = db.session.scalars(
            sa.select(OutboxMessage.kind).where(
                OutboxMessage.appointment_id == appointment.id, OutboxMessage.status == "pending"
            )
        ).all()
        db.session.expunge(appointment)
        return appointment, list(kinds)


def reschedule(app, reference: str, token: str, target) -> BaseException | None:
    with app.test_request_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        try:
            reschedule_appointment(appointment, appointment.office, target.start, token)
        except TooLate as error:
            return error
        finally:
            db.session.remove()
    return None


@pytest.mark.parametrize("concurrent_change", [cancel, check_in], ids=["cancel", "check_in"])
def test_a_change_that_lands_just_before_the_reschedule_takes_the_lock_wins(
    any_demo, monkeypatch, concurrent_change
):
    app = any_demo
    reference, token = book(app)
    before, _kinds = state_of(app, reference)
    target = booking.first_free_slot(app, SERVICE, 4)

    racer = threading.current_thread()

    def write_transaction_after_the_other_change():
        # The reschedule has read the appointment and chosen its slot; it ends that read
        # transaction and, before it takes the write lock, the other change commits.
        if threading.current_thread() is racer:
            end_read_transaction()
            in_another_thread(concurrent_change, app, reference)
        return real_write_transaction()

    real_write_transaction = appointments.write_transaction
    monkeypatch.setattr(appointments, "write_transaction", write_transaction_after_the_other_change)

    assert isinstance(reschedule(app, reference, token, target), TooLate)
    after, kinds = state_of(app, reference)
    assert after.status == ("cancelled" if concurrent_change is cancel else "checked_in")
    assert after.start_at == before.start_at
    assert after.join_token_hash == before.join_token_hash  # the join link was not replaced
    assert "rescheduled" not in kinds


@pytest.mark.parametrize("concurrent_change", [cancel, check_in], ids=["cancel", "check_in"])
def test_a_change_that_commits_between_the_check_and_the_update_wins_on_postgresql(
    pg_app, monkeypatch, concurrent_change
):
    """PostgreSQL has no database-wide write lock: the rule must hold in the UPDATE itself.

    (On SQLite the write lock is held from the check to the commit, so this window does not exist.)
    """
    app = pg_app
    with app.app_context():
        seed_demo()
    reference, token = book(app)
    before, _kinds = state_of(app, reference)
    target = booking.first_free_slot(app, SERVICE, 4)
    fired = []

    def other_change_first(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE appointment SET office_id") and not fired:
            fired.append(True)
            in_another_thread(concurrent_change, app, reference)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", other_change_first)
    try:
        assert isinstance(reschedule(app, reference, token, target), TooLate)
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", other_change_first)
    assert fired
    after, kinds = state_of(app, reference)
    assert after.status == ("cancelled" if concurrent_change is cancel else "checked_in")
    assert after.start_at == before.start_at
    assert after.join_token_hash == before.join_token_hash
    assert "rescheduled" not in kinds


# --- Two moves in opposite directions -------------------------------------------------------------

# Widens the window between the two counter changes of one move (the old slot's −1, then the new
# slot's +1) so that two opposite moves always overlap in it: without a lock order they deadlock.
SLOW_COUNTER_GIVE_BACK = [
    """CREATE OR REPLACE FUNCTION test_slow_give_back() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$""",
    """CREATE TRIGGER test_slow_give_back AFTER UPDATE ON slot_usage
FOR EACH ROW WHEN (NEW.taken < OLD.taken) EXECUTE FUNCTION test_slow_give_back()""",
]


def test_two_moves_swapping_slots_at_the_same_instant_both_succeed_on_postgresql(pg_app, monkeypatch):
    app = pg_app
    with app.app_context():
        seed_demo()
        for statement in SLOW_COUNTER_GIVE_BACK:
            db.session.execute(sa.text(statement))
        db.session.commit()
    first = booking.book_directly(app, SERVICE, email="ana@example.com")
    second = booking.book_directly(app, SERVICE, email="luis@example.com", skip=2)
    first_start, second_start = first.appointment.start_at, second.appointment.start_at
    assert first_start != second_start

    both_ready = threading.Barrier(2, timeout=30)
    real_write_transaction = appointments.write_transaction

    def write_transaction_together():
        both_ready.wait()  # both moves have chosen their slot: they write at the same instant
        return real_write_transaction()

    monkeypatch.setattr(appointments, "write_transaction", write_transaction_together)
    answers: dict[str, int] = {}

    def move(booked, start) -> None:
        response = app.test_client().post(
            f"/manage/{booked.manage_token}/reschedule/confirm", data={"start": start.isoformat()}
        )
        answers[booked.appointment.reference] = response.status_code

    threads = [
        threading.Thread(target=in_another_thread, args=(move, first, second_start)),
        threading.Thread(target=in_another_thread, args=(move, second, first_start)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert answers == {first.appointment.reference: 302, second.appointment.reference: 302}
    assert state_of(app, first.appointment.reference)[0].start_at == second_start
    assert state_of(app, second.appointment.reference)[0].start_at == first_start
    with app.app_context():
        counters = dict(
            db.session.execute(
                sa.select(SlotUsage.start_at, SlotUsage.taken).where(
                    SlotUsage.start_at.in_([first_start, second_start])
                )
            ).all()
        )
    assert counters == {first_start: 1, second_start: 1}
