"""How long the wait is: how fast a queue moves today, the estimate for a place in line, and the
turn as its status page shows it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from app import scheduling
from app.extensions import db
from app.models import Service, Turn, utcnow
from app.queue.line import ACTIVE_STATUSES, position, queue_clauses, setting

# One service time counts between these bounds, so a clerk who forgot to record an outcome for
# an hour does not make everyone's estimate an hour long.
SHORTEST_SERVICE_MINUTES = 1.0
LONGEST_SERVICE_MINUTES = 60.0


@dataclass(frozen=True)
class QueueLoad:
    """How fast a queue moves today: the average service time and the clerks serving it."""

    average_minutes: float
    measured: bool  # from today's calls; False: the service's slot length, before the first
    clerks: int
    being_called: int


@dataclass(frozen=True)
class WaitEstimate:
    minutes: float
    low: int
    high: int

    @classmethod
    def for_people_ahead(cls, load: QueueLoad, people_ahead: int) -> WaitEstimate:
        """Those ahead, plus half of those being called now, times the average, over the clerks."""
        minutes = (people_ahead + 0.5 * load.being_called) * load.average_minutes / load.clerks
        low = int(minutes * 0.75 // 5 * 5)
        high = max(low + 5, math.ceil(minutes * 1.25 / 5) * 5)
        return cls(minutes=minutes, low=low, high=high)

    def not_before(self, minutes: float) -> WaitEstimate:
        """This estimate, never sooner than `minutes` from now (a no-answer waits for its retry)."""
        low = max(self.low, int(minutes // 5 * 5))
        return WaitEstimate(minutes=max(self.minutes, minutes), low=low, high=max(self.high, low + 5))

    @property
    def text(self) -> str:
        if self.low == 0:
            return _("less than %(high)s minutes", high=self.high)
        return _("between %(low)s and %(high)s minutes", low=self.low, high=self.high)


def queue_load(service: Service, office_id: int, day: dt.date, now: dt.datetime) -> QueueLoad:
    """Today's moving average of service times (called → finished) and the active clerks. Read-only."""
    window = setting("QUEUE_AVERAGE_OVER", 10)
    rows = db.session.execute(
        sa.select(Turn.called_at, Turn.finished_at)
        .where(
            *queue_clauses(service.id, office_id, day),
            Turn.status.in_(("attended", "missed")),
            Turn.called_at.is_not(None),
            Turn.finished_at.is_not(None),
        )
        .order_by(Turn.finished_at.desc())
        .limit(window)
    ).all()
    durations = [
        min(max((finished - called).total_seconds() / 60, SHORTEST_SERVICE_MINUTES), LONGEST_SERVICE_MINUTES)
        for called, finished in rows
    ]
    since = now - dt.timedelta(minutes=setting("QUEUE_ACTIVE_CLERK_MINUTES", 30))
    clerks = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Turn.clerk_id))).where(
            *queue_clauses(service.id, office_id, day),
            Turn.clerk_id.is_not(None),
            sa.or_(Turn.status == "calling", Turn.called_at >= since),
        )
    )
    calling = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Turn)
        .where(*queue_clauses(service.id, office_id, day), Turn.status == "calling")
    )
    return QueueLoad(
        average_minutes=sum(durations) / len(durations) if durations else float(service.slot_minutes),
        measured=bool(durations),
        clerks=max(clerks or 0, 1),
        being_called=calling or 0,
    )


@dataclass(frozen=True)
class TurnView:
    """What the status page shows: the turn, its place in line and the estimate."""

    turn: Turn
    position: int | None
    estimate: WaitEstimate | None
    expired: bool  # a turn of an earlier day that never finished

    @property
    def state(self) -> str:
        return "expired" if self.expired else self.turn.status


def view_turn(turn: Turn, now: dt.datetime | None = None) -> TurnView:
    """The turn as its status page shows it: place in line and wait, or expired. Read-only."""
    now = now or utcnow()
    expired = turn.status in ACTIVE_STATUSES and turn.day < scheduling.today_for(turn.service, now)
    place = None if expired else position(turn)
    estimate = None
    if place is not None:
        load = queue_load(turn.service, turn.office_id, turn.day, now)
        estimate = WaitEstimate.for_people_ahead(load, place - 1)
        if turn.status == "no_answer" and turn.priority_at > now:
            estimate = estimate.not_before((turn.priority_at - now).total_seconds() / 60)
    return TurnView(turn=turn, position=place, estimate=estimate, expired=expired)
