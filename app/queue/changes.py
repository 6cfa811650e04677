"""Changing a line: what follows every change (the SMS to whoever became second in line, the
commit, the live push), and the citizen's own changes (leave the line, move back once).
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import sqlalchemy as sa
from flask_babel import gettext as _

from app import notifications
from app.extensions import after_commit, db, write_transaction
from app.models import Turn, utcnow
from app.queue.errors import TurnError, TurnNotActive
from app.queue.line import ACTIVE_STATUSES, LINE_ORDER, in_line_clauses
from app.queue.live import publish_queue_change, publish_turn_change


def notify_second_in_line(service_id: int, office_id: int | None, day: dt.date, now: dt.datetime) -> None:
    """Queue the "you are second in line" SMS for whoever is second now (once per turn).

    Flushes and adds to the session; the caller commits.
    """
    db.session.flush()
    first_two = db.session.scalars(
        sa.select(Turn).where(*in_line_clauses(service_id, office_id, day)).order_by(*LINE_ORDER).limit(2)
    ).all()
    if len(first_two) == 2:
        notifications.queue_turn_sms(first_two[1], "second", f"turn:{first_two[1].id}:second", now)


def after_change(turn: Turn, now: dt.datetime) -> None:
    """The tail of every change to a line: tell whoever became second, commit, push the live update.

    Commits the caller's change: call it last, from a public function that says so.
    """
    notify_second_in_line(turn.service_id, turn.office_id, turn.day, now)
    db.session.commit()
    db.session.refresh(turn)
    publish_turn_change(turn)


# --- The citizen's own changes ------------------------------------------------------------------


def cancel_turn(turn: Turn, *, now: dt.datetime | None = None) -> None:
    """The citizen leaves the line (idempotent once cancelled).

    Takes the write lock; commits, or rolls back and raises
    TurnNotActive when the turn finished meanwhile.
    """
    now = now or utcnow()
    if turn.status == "cancelled":
        return
    write_transaction()
    if not take_out_of_line(turn, now):
        db.session.rollback()
        raise TurnNotActive()
    after_change(turn, now)


def take_out_of_line(turn: Turn, now: dt.datetime) -> bool:
    """Cancel `turn` if it is still in line (one conditional UPDATE, in the caller's write
    transaction; never commits): False when it was attended, missed or cancelled meanwhile."""
    result = db.session.execute(
        sa.update(Turn)
        .where(Turn.id == turn.id, Turn.status.in_(ACTIVE_STATUSES))
        .values(status="cancelled", active_phone=None, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def lines_changed(turns: list[Turn], now: dt.datetime) -> None:
    """The tail of an agency's change to several turns at once, inside the caller's transaction
    (never commits): whoever is second in each line now is told once, and the lines' live pages
    (and each turn's own) hear of it when the caller commits."""
    for service_id, office_id, day in {(turn.service_id, turn.office_id, turn.day) for turn in turns}:
        notify_second_in_line(service_id, office_id, day, now)
    for turn in turns:
        after_commit(partial(publish_queue_change, turn.service_id, turn.office_id, turn.id, turn.status))


def can_move_back(turn: Turn) -> bool:
    """Whether the citizen may still move this turn back (once, while waiting). No database access."""
    return turn.status == "waiting" and not turn.moved_back


def move_back(turn: Turn, *, now: dt.datetime | None = None) -> None:
    """ "Not available right now": once per turn, the turn goes to the end of the line.

    Takes the write lock; commits, or rolls back and raises
    TurnNotActive when the turn changed meanwhile.
    """
    now = now or utcnow()
    if not can_move_back(turn):
        raise TurnError("move_back_used", _("You can move your turn back only once, while it is waiting."))
    write_transaction()
    last = db.session.scalar(
        sa.select(sa.func.max(Turn.priority_at)).where(
            *in_line_clauses(turn.service_id, turn.office_id, turn.day)
        )
    )
    end_of_line = max(now, last + dt.timedelta(microseconds=1)) if last else now
    result = db.session.execute(
        sa.update(Turn)
        .where(Turn.id == turn.id, Turn.status == "waiting", Turn.moved_back.is_(False))
        .values(moved_back=True, priority_at=end_of_line)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise TurnNotActive()
    after_change(turn, now)
