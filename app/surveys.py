"""The one-question survey after a call: the rating scale and one answer per appointment.

The database's unique constraint decides, so a double submit stores one answer and refuses the other.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.extensions import db, write_transaction
from app.models import Appointment, SurveyResponse

RATINGS = {
    "1": _l("1 — Very dissatisfied"),
    "2": _l("2 — Dissatisfied"),
    "3": _l("3 — Neither satisfied nor dissatisfied"),
    "4": _l("4 — Satisfied"),
    "5": _l("5 — Very satisfied"),
}
MAX_COMMENT = 1000


def answer_of(appointment: Appointment) -> SurveyResponse | None:
    """The citizen's answer, if they gave one. Read-only."""
    return db.session.scalar(sa.select(SurveyResponse).where(SurveyResponse.appointment_id == appointment.id))


def record_answer(appointment: Appointment, rating: int, comment: str) -> bool:
    """Store the citizen's answer; False when the appointment was already answered.

    Takes the write lock; commits (rolls back a duplicate).
    """
    write_transaction()
    try:
        with db.session.begin_nested():
            db.session.add(
                SurveyResponse(appointment_id=appointment.id, rating=rating, comment=comment[:MAX_COMMENT])
            )
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        return False
    return True
