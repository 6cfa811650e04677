"""Calling turns, the clerk's side: the clerk's current calls, "call next" (decided by the
database when two clerks press at once), and the outcome of a call.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit, notifications, scheduling
from app.closing import settle_checked_in
from app.extensions import db, write_transaction
from app.models import Appointment, Staff, Turn, utcnow
from app.outcomes import TURN_OUTCOME_LABELS
from app.queue.changes import after_change
from app.queue.errors import TurnError, TurnNotActive
from app.queue.line import LINE_ORDER, QueueRef, being_called, queue_clauses, setting

OUTCOMES = tuple(TURN_OUTCOME_LABELS)


def current_calls(queue: QueueRef, clerk: Staff, now: dt.datetime | None = None) -> list[Turn]:
    """The turns of this queue the clerk is calling right now. Read-only."""
    day = scheduling.today_for(queue.service, now or utcnow())
    return [turn for turn in being_called(*queue.key, day) if turn.clerk_id == clerk.id]


def call_next(queue: QueueRef, clerk: Staff, *, now: dt.datetime | None = None) -> Turn | None:
    """Give the clerk the first callable turn of the line, atomically; None when nobody waits.

    Two clerks pressing at once read the same oldest turn; the UPDATE only changes it while it is
    still in the status we read, so one of them gets it and the other reads again.
    Takes the write lock; commits, also when it returns None or
    refuses because the clerk has a call open; rolls back when the line keeps changing under it.
    """
    now = now or utcnow()
    service_id, office_id = queue.key
    day = scheduling.today_for(queue.service, now)
    write_transaction()
    if current_calls(queue, clerk, now):
        db.session.commit()
        raise TurnError(
            "finish_current",
            _("Record the outcome of your current call before calling the next turn."),
            status=409,
        )
    for _attempt in range(100):
        candidate = db.session.execute(
            sa.select(Turn.id, Turn.status)
            .where(
                *queue_clauses(service_id, office_id, day),
                sa.or_(
                    Turn.status == "waiting", sa.and_(Turn.status == "no_answer", Turn.priority_at <= now)
                ),
            )
            .order_by(*LINE_ORDER)
            .limit(1)
        ).first()
        if candidate is None:
            db.session.commit()
            return None
        result = db.session.execute(
            sa.update(Turn)
            .where(Turn.id == candidate.id, Turn.status == candidate.status)
            .values(status="calling", clerk_id=clerk.id, called_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            break
    else:
        db.session.rollback()
        raise TurnError(
            "busy", _("The line is changing quickly. Please press “Call next” again."), status=409
        )
    turn = db.session.get(Turn, candidate.id, populate_existing=True)
    notifications.queue_turn_sms(turn, "called", f"turn:{turn.id}:called:{turn.no_answer_count}", now)
    after_change(turn, now)
    return turn


def record_outcome(
    turn: Turn, clerk: Staff, outcome: str, note: str = "", *, now: dt.datetime | None = None
) -> None:
    """Close a call: attended, cancelled, or no answer (back in line once after a delay, then missed).

    A checked-in visitor's appointment is closed with it (`app.closing`). Takes the write lock;
    commits, or rolls back and raises TurnNotActive when the call ended meanwhile.
    """
    now = now or utcnow()
    if outcome not in OUTCOMES:
        raise TurnError("outcome", _("Choose the outcome of the call."))
    values: dict = {"note": (note or "").strip()[:500] or turn.note, "clerk_id": clerk.id}
    if outcome == "no_answer" and turn.no_answer_count == 0:
        retry = now + dt.timedelta(minutes=setting("QUEUE_NO_ANSWER_RETRY_MINUTES", 10))
        values.update(status="no_answer", no_answer_count=1, priority_at=retry)
    else:
        final = {"attended": "attended", "cancelled": "cancelled", "no_answer": "missed"}[outcome]
        values.update(
            status=final,
            finished_at=now,
            active_phone=None,
            no_answer_count=turn.no_answer_count + (outcome == "no_answer"),
        )
    write_transaction()
    result = db.session.execute(
        sa.update(Turn)
        .where(Turn.id == turn.id, Turn.status == "calling")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise TurnNotActive()
    audit.record(
        "turn.outcome",
        actor=clerk,
        agency_id=turn.service.agency_id,
        object_type="turn",
        object_id=turn.id,
        outcome=outcome,
    )
    if turn.appointment_id is not None:
        # A checked-in visitor's appointment closes exactly as one closed from the clerk's panel.
        settle_checked_in(db.session.get(Appointment, turn.appointment_id), values["status"], clerk, now)
    after_change(turn, now)
