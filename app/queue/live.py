"""Live updates of the turn pages and the clerk's console, over the Socket.IO namespace /turns.

The domain names the rooms and pushes to them; the blueprint's namespace (`app.turns.events`)
decides at connect who joins which. The pushes carry no personal data: a page that gets
`turn-updated` or `queue-updated` reloads its live parts over HTTP.
"""

from __future__ import annotations

import logging

from app.extensions import socketio
from app.models import Turn

logger = logging.getLogger(__name__)

NAMESPACE = "/turns"


def turn_room(turn_id: int) -> str:
    """The room of one turn's status page. No database access."""
    return f"turn:{turn_id}"


def line_room(service_id: int, office_id: int | None) -> str:
    """The public room of one line: the status pages of the turns in it. No database access."""
    return f"line:{service_id}:{office_id}"


def staff_room(service_id: int, office_id: int | None) -> str:
    """The clerks' room of one queue. No database access."""
    return f"staff:{service_id}:{office_id}"


def publish_queue_change(
    service_id: int, office_id: int | None, turn_id: int | None = None, status: str | None = None
) -> None:
    """Tell the line's status pages and clerks that it changed, and the turn's page its status.

    No database access.
    """
    socketio.emit("queue-updated", {}, namespace=NAMESPACE, to=line_room(service_id, office_id))
    socketio.emit("queue-updated", {}, namespace=NAMESPACE, to=staff_room(service_id, office_id))
    if turn_id is not None:
        socketio.emit("turn-updated", {"status": status}, namespace=NAMESPACE, to=turn_room(turn_id))


def publish_turn_change(turn: Turn) -> None:
    """`publish_queue_change` for a committed change to `turn`; never raises. Read-only."""
    try:
        publish_queue_change(turn.service_id, turn.office_id, turn.id, turn.status)
    except Exception:  # the change is committed; live pages catch up on their next refresh
        logger.exception("Turns: could not push the update of turn %s", turn.id)
