"""How an appointment ends: one function closes it, whether a clerk does it from the call panel
or from the turn queue (a checked-in visitor): the outcome and the status it leaves, the citizen's
place among their upcoming appointments given back, the call record closed, the audit record,
pending reminders dropped and the outcome e-mail queued.

The identity check and the outcome belong to the clerk who took the appointment (or an
administrator); when nobody has taken it yet — a no-show, or a call by phone instead of video —
the first clerk to act takes it, decided by one UPDATE so that two clerks acting at once get one
winner.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit, notifications
from app.appointments import mark_cancelled
from app.calls.sessions import end_session
from app.extensions import db, write_transaction
from app.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, Staff, utcnow
from app.outcomes import OUTCOME_STATUS, TURN_STATUS_OUTCOME


class ClerkActionError(Exception):
    """An action the appointment's state refuses; `message` is translated, `status` the HTTP code."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.message = message
        self.status = status


def not_yours(appointment: Appointment) -> ClerkActionError:
    name = appointment.clerk.name if appointment.clerk else "?"
    return ClerkActionError(
        _(
            "This appointment is in the hands of %(name)s. Only that clerk or an administrator can do this.",
            name=name,
        )
    )


def in_charge(staff: Staff):
    """SQL condition: `staff` holds the appointment, nobody does yet, or `staff` is an administrator."""
    if staff.has_role("admin"):
        return sa.true()
    return sa.or_(Appointment.clerk_id.is_(None), Appointment.clerk_id == staff.id)


def close_appointment(
    appointment: Appointment, staff: Staff, outcome: str, message: str = "", now: dt.datetime | None = None
) -> None:
    """Close the appointment with `outcome` (see the module docstring). Takes the write lock; commits.

    Raises ClerkActionError when the appointment is cancelled, already closed or another clerk's.
    """
    now = now or utcnow()
    if outcome not in OUTCOME_STATUS:
        raise ValueError(f"unknown outcome {outcome!r}")
    if outcome == "no_show" and now < appointment.start_at:
        raise ClerkActionError(_("An appointment cannot be marked as not attended before it starts."))
    write_transaction()
    if not close_in_transaction(appointment, staff, outcome, message, now):
        db.session.rollback()
        db.session.refresh(appointment)
        if appointment.status == "cancelled":
            raise ClerkActionError(_("This appointment was cancelled."))
        if appointment.outcome or appointment.status not in ACTIVE_APPOINTMENT_STATUSES:
            raise ClerkActionError(_("This appointment already has an outcome."))
        raise not_yours(appointment)
    db.session.commit()


def close_in_transaction(
    appointment: Appointment, staff: Staff, outcome: str, message: str, now: dt.datetime
) -> bool:
    """The closing itself, inside the caller's write transaction; False when the appointment is not
    open or not `staff`'s to close. Adds to the session; the caller commits.

    The slot seat stays held (the time was used); the citizen's place among their upcoming
    appointments is given back, so someone told to come back can book again at once.
    """
    result = db.session.execute(
        sa.update(Appointment)
        .where(
            Appointment.id == appointment.id,
            Appointment.outcome.is_(None),
            Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES),
            in_charge(staff),
        )
        .values(
            outcome=outcome,
            outcome_message=message or None,
            outcome_at=now,
            status=OUTCOME_STATUS[outcome],
            citizen_seat=None,
            clerk_id=sa.func.coalesce(Appointment.clerk_id, staff.id),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(appointment)
    end_session(appointment, outcome, now)
    audit.record_for_appointment("appointment.outcome", appointment, staff, outcome=outcome)
    notifications.cancel_pending(appointment)
    notifications.queue_outcome(appointment)
    return True


def cancel_checked_in(appointment: Appointment, staff: Staff, now: dt.datetime) -> bool:
    """A checked-in visitor whose turn was cancelled: the appointment is cancelled and both its seats
    are freed; False when it was not checked in. Adds to the session; the caller commits."""
    if not mark_cancelled(appointment, "checked_in", now, clerk_id=staff.id, cancelled_by="agency"):
        return False
    audit.record_for_appointment("appointment.cancelled_at_counter", appointment, staff)
    return True


def settle_checked_in(appointment: Appointment, turn_status: str, staff: Staff, now: dt.datetime) -> None:
    """A checked-in visitor's appointment follows its turn's final status (attended, missed,
    cancelled); other statuses change nothing. Adds to the session; the caller commits."""
    if turn_status == "cancelled":
        cancel_checked_in(appointment, staff, now)
    elif turn_status in TURN_STATUS_OUTCOME:
        close_in_transaction(appointment, staff, TURN_STATUS_OUTCOME[turn_status], "", now)
