"""Socket.IO namespace /turns: live updates of a turn's status page and of the clerk's console.

The server decides the rooms; clients only listen. A status page connects with
`auth={"token": <status token>}` and joins its turn's room and its line's public room; a clerk
connects with the login cookie and `auth={"service": id, "office": id}` and joins that queue's
staff room, if the queue belongs to their agency. Anything else is refused at connect, and no
client event is handled. The room names and the pushes are the domain's (`app.queue.live`); the
pushes carry no personal data: a page that gets `turn-updated` or `queue-updated` reloads its
live parts over HTTP, so the page, with or without JavaScript, is the one source of truth.
"""

from __future__ import annotations

from flask import request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, join_room

from app import queue
from app.extensions import socketio
from app.queue.live import NAMESPACE, line_room, staff_room, turn_room
from app.security import staff_may_act_for
from app.staff_sockets import staff_connections
from app.tokens import turn_by_status_token


class TurnsNamespace(Namespace):
    def on_connect(self, auth=None):
        rooms = rooms_for(auth)
        if not rooms:
            raise ConnectionRefusedError("unauthorized")
        for room in rooms:
            join_room(room)
        if current_user.is_authenticated:
            staff_connections.opened(current_user.id, NAMESPACE, request.sid)

    def on_disconnect(self, reason=None):
        staff_connections.closed(NAMESPACE, request.sid)

    # No other handlers: events a client sends on this namespace are ignored.


def rooms_for(auth) -> list[str]:
    """The rooms this connection may join, from its `auth` payload and login; [] to refuse."""
    if not isinstance(auth, dict):
        return []
    token = auth.get("token")
    if isinstance(token, str) and len(auth) == 1:
        turn = turn_by_status_token(token)
        if turn is None:
            return []
        rooms = [turn_room(turn.id)]
        if turn.status in queue.ACTIVE_STATUSES:
            rooms.append(line_room(turn.service_id, turn.office_id))
        return rooms
    service_id, office_id = auth.get("service"), auth.get("office")
    if (
        set(auth) == {"service", "office"}
        and type(service_id) is int
        and type(office_id) is int
        and current_user.is_authenticated
        and current_user.has_role("clerk")
    ):
        line = queue.queue_for(service_id, office_id)
        if line is not None and staff_may_act_for(current_user, line.service.agency_id):
            return [staff_room(service_id, office_id)]
    return []


def register_turn_events(sio=socketio) -> None:
    """Serve the /turns namespace; call from create_app after socketio.init_app (idempotent)."""
    server = getattr(sio, "server", None)
    if server is not None and NAMESPACE in server.namespace_handlers:
        return
    if server is None and any(h.namespace == NAMESPACE for h in sio.namespace_handlers):
        return
    sio.on_namespace(TurnsNamespace(NAMESPACE))
