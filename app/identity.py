"""The identity check of a video call: the clerk compares the citizen's face with the licence."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit
from app.closing import ClerkActionError, in_charge, not_yours
from app.extensions import db, write_transaction
from app.models import Appointment, Staff, utcnow


def verify_identity(appointment: Appointment, staff: Staff, now: dt.datetime | None = None) -> bool:
    """Record that `staff` checked the citizen's face against the licence; False if already recorded.

    Only during the call, by the clerk in charge (or an administrator). Takes the write lock; commits.
    """
    now = now or utcnow()
    write_transaction()
    result = db.session.execute(
        sa.update(Appointment)
        .where(
            Appointment.id == appointment.id,
            Appointment.status == "in_call",
            Appointment.identity_verified_at.is_(None),
            in_charge(staff),
        )
        .values(identity_verified_by_id=staff.id, identity_verified_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(appointment)
        if appointment.identity_verified_at is not None:
            return False
        if appointment.status != "in_call":
            raise ClerkActionError(_("The identity can be verified only during the video call."))
        raise not_yours(appointment)
    audit.record_for_appointment("appointment.identity_verified", appointment, staff)
    db.session.commit()
    db.session.refresh(appointment)
    return True
