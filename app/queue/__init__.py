"""Same-day turns: take a turn, its place in line and estimated wait, call next, outcomes, check-in.

A queue is the turns of one service at one office on one agency-local day, in order of
`priority_at`, then id: the moment a phone turn was taken, or the start of an in-person
appointment for a visitor who checked in. The rules that must hold under concurrency are the
database's:

- Numbering: (service, day, number) is unique; a new turn inserts with the next number inside a
  savepoint and, if another request took that number meanwhile, tries the next. Numbers are dense,
  so "number > daily capacity" is the capacity rule.
- One turn in line per phone, service and day: `active_phone` holds the phone while the turn is
  waiting, being called or due a retry; (service, day, active_phone) is unique.
- Call next: one conditional UPDATE of the oldest callable turn, `WHERE status = <what we read>`;
  when another clerk got there first it changes no row and we read again.

Statuses: waiting → calling → attended | cancelled, or no_answer (back in line once, after
QUEUE_NO_ANSWER_RETRY_MINUTES) → calling → … → missed on the second no-answer.

Every change to a line ends the same way (`changes.after_change`): the "second in line" SMS goes
to the outbox (`app.notifications`), the change commits, and the live pages hear of it (`live`).

- `errors`: TurnError and the refusals the citizen or clerk may see.
- `hours`: when a phone-turn service gives turns (opening intervals, next opening).
- `line`: which turns make up a queue and its line, in what order; the queues a clerk may serve.
- `estimate`: how fast a queue moves, the wait for a place in line, the status page's view.
- `taking`: whether a service gives turns now, and taking one (race-proof numbering).
- `changes`: what follows every change; the citizen's own changes (cancel, move back).
- `calling`: the clerk's calls: call next, record the outcome.
- `arrivals`: in-person check-in, and the appointment following its turn's outcome.
- `live`: the Socket.IO rooms of /turns and the pushes to them.
"""

from app.queue.arrivals import appointments_to_check_in, check_in
from app.queue.calling import OUTCOMES, call_next, current_calls, record_outcome
from app.queue.changes import can_move_back, cancel_turn, move_back
from app.queue.errors import AlreadyInLine, TurnError, TurnNotActive, TurnsClosed
from app.queue.estimate import QueueLoad, TurnView, WaitEstimate, queue_load, view_turn
from app.queue.hours import Opening, describe_moment, next_opening, openings
from app.queue.line import (
    ACTIVE_STATUSES,
    IN_LINE_STATUSES,
    QUEUE_MODES,
    QueueRef,
    being_called,
    count_in_line,
    in_line,
    position,
    queue_for,
    queues_for_staff,
    setting,
    turn_office,
)
from app.queue.taking import (
    Availability,
    TakenTurn,
    TurnRequest,
    availability,
    take_turn,
    takeable_service,
    turn_code,
    turn_prefix,
)

__all__ = [
    "ACTIVE_STATUSES",
    "IN_LINE_STATUSES",
    "OUTCOMES",
    "QUEUE_MODES",
    "AlreadyInLine",
    "Availability",
    "Opening",
    "QueueLoad",
    "QueueRef",
    "TakenTurn",
    "TurnError",
    "TurnNotActive",
    "TurnRequest",
    "TurnView",
    "TurnsClosed",
    "WaitEstimate",
    "appointments_to_check_in",
    "availability",
    "being_called",
    "call_next",
    "can_move_back",
    "cancel_turn",
    "check_in",
    "count_in_line",
    "current_calls",
    "describe_moment",
    "in_line",
    "move_back",
    "next_opening",
    "openings",
    "position",
    "queue_for",
    "queue_load",
    "queues_for_staff",
    "record_outcome",
    "setting",
    "take_turn",
    "takeable_service",
    "turn_code",
    "turn_office",
    "turn_prefix",
    "view_turn",
]
