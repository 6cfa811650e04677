"""Socket.IO namespace /call: the signaling relay between a citizen and a clerk.

The server decides who is in which room; clients never name one. A citizen connects with
`auth={"token": <join token>}`, staff with their login cookie and `auth={"appointment": <reference>}`.
A room holds one citizen and one clerk of the appointment's agency; a second tab of the same
side replaces the first. The clerk is the impolite peer and the only one told to make the first
offer, each time the pair becomes complete (simultaneous first offers can hang Chromium's ICE
gathering: shared/BROWSER-TESTING.md). Relayed messages keep their order because handlers run one
at a time per connection (`async_handlers=False`). Before the admission, a clerk's call screen
connects on standby (not in the room: it hears the waiting room) and admits over that socket, which
then becomes the call's clerk at once (`on_admit`).

A call outlives its signaling channel: each browser says in its `auth` (and with `peer_state`
events) whether its peer connection is connected, so when the pair completes again after a
reconnect or a server restart, both sides hear the same `mode` — "keep" (both still connected:
nothing to do), "restart" (both have one, not connected: the clerk restarts ICE) or "fresh".
`peer-left` says whether the other side left on purpose ("left") or only lost its socket ("lost").
"""

from __future__ import annotations

import contextlib
import json

from engineio.base_server import BaseServer as EngineServer
from engineio.exceptions import SocketIsClosedError
from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, disconnect

from app import tokens
from app.agenda import console_agencies
from app.calls import admission, sessions
from app.calls.live import NAMESPACE, notify_waiting_room
from app.calls.presence import PEER_STATES, Participant, room_for, rooms, staff_room
from app.extensions import db, socketio
from app.models import Appointment
from app.security import staff_may_act_for
from app.staff_sockets import staff_connections

MAX_MESSAGE_BYTES = 64 * 1024
MAX_CHAT_CHARS = 1000
DESCRIPTION_TYPES = ("offer", "answer", "rollback", "pranswer")


class CallNamespace(Namespace):
    def on_connect(self, auth=None):
        auth = auth if isinstance(auth, dict) else {}
        if auth.get("console") is True:
            return self._watch_waiting_room()
        participant = self._authenticate(auth)
        if participant is not None:  # else a clerk's call screen, ready to admit: on standby
            participant.peer = auth.get("peer") if auth.get("peer") in PEER_STATES else "none"
            self._enter_call(participant)

    def _enter_call(self, participant: Participant) -> None:
        if participant.role == "clerk":
            staff_connections.opened(current_user.id, NAMESPACE, request.sid)
        # Every later event of this connection rebuilds a request context from this environ;
        # without the cookie it no longer decodes the signed session each time (~23 % of the
        # relay's CPU in benchmarks/signaling.py). Nothing after this needs the login.
        request.environ.pop("HTTP_COOKIE", None)
        replaced = rooms.join(participant)
        if replaced:
            self.emit("replaced", {}, room=replaced)
            disconnect(sid=replaced, namespace=NAMESPACE)
        self.enter_room(request.sid, room_for(participant.appointment_id))
        self.emit(
            "role", {"role": participant.role, "polite": participant.role == "citizen"}, room=request.sid
        )
        appointment = db.session.get(Appointment, participant.appointment_id)
        if participant.role == "citizen":
            sessions.mark_waiting(appointment)
            notify_waiting_room(appointment)
        self._pair_if_complete(appointment)

    def _watch_waiting_room(self) -> None:
        """The clerk console: live waiting-room updates for the agencies it lists, no media."""
        agencies = console_agencies(current_user) if current_user.is_authenticated else []
        if not agencies:
            raise ConnectionRefusedError("not_allowed")
        for agency_id in agencies:
            self.enter_room(request.sid, staff_room(agency_id))
        staff_connections.opened(current_user.id, NAMESPACE, request.sid)

    def _authenticate(self, auth: dict) -> Participant | None:
        """The citizen or the clerk of a call; None for a clerk put on standby (`_stand_by`)."""
        token = auth.get("token")
        if isinstance(token, str):
            appointment = tokens.appointment_by_join_token(token)
            if appointment is None or not sessions.join_window(appointment).is_open:
                raise ConnectionRefusedError("invalid_or_closed")
            return Participant(
                sid=request.sid,
                role="citizen",
                appointment_id=appointment.id,
                agency_id=appointment.service.agency_id,
            )
        reference = auth.get("appointment")
        if isinstance(reference, str) and current_user.is_authenticated and len(reference) <= 20:
            appointment = db.session.scalar(db.select(Appointment).where(Appointment.reference == reference))
            if appointment is None:
                raise ConnectionRefusedError("not_allowed")
            if (
                appointment.service.mode == "video"
                and staff_may_act_for(current_user, appointment.service.agency_id)
                and appointment.status == "in_call"
                and appointment.clerk_id == current_user.id
            ):
                return self._clerk_of(appointment)
            if sessions.may_get_ready(appointment, current_user):
                return self._stand_by(appointment)
        raise ConnectionRefusedError("not_allowed")

    @staticmethod
    def _clerk_of(appointment: Appointment) -> Participant:
        return Participant(
            sid=request.sid,
            role="clerk",
            appointment_id=appointment.id,
            agency_id=appointment.service.agency_id,
        )

    def _stand_by(self, appointment: Appointment) -> None:
        """The clerk's call screen before the admission: it hears the waiting room (is the citizen
        there?) and may `admit` over this socket; deactivating the account closes it."""
        rooms.standby[request.sid] = appointment.id
        staff_connections.opened(current_user.id, NAMESPACE, request.sid)
        self.enter_room(request.sid, staff_room(appointment.service.agency_id))
        self.emit("standby", {"present": rooms.citizen_present(appointment.id)}, room=request.sid)

    def on_admit(self, data=None):
        """Admit from the ready call screen, over its open socket: the same rules as the console's
        POST (`admission.admit_waiting`); then this socket is the clerk of the call and the pair
        completes at once. Answers `{"ok": true}` or `{"ok": false, "error", "message"}`."""
        appointment_id = rooms.standby.get(request.sid)
        appointment = db.session.get(Appointment, appointment_id) if appointment_id else None
        if appointment is None:
            return refusal("not_allowed", _("This screen cannot admit anyone. Go back to the console."))
        if not current_user.is_authenticated:
            return refusal("signed_out", _("You were signed out. Sign in again."))
        if not staff_may_act_for(current_user, appointment.service.agency_id):
            return refusal("not_allowed", _("This screen cannot admit anyone. Go back to the console."))
        try:
            admission.admit_waiting(appointment, current_user)
        except admission.CannotAdmit as refused:
            return refusal(refused.code, refused.message)
        rooms.standby.pop(request.sid, None)
        self.leave_room(request.sid, staff_room(appointment.service.agency_id))
        self._enter_call(self._clerk_of(appointment))
        return {"ok": True}

    def _pair_if_complete(self, appointment: Appointment) -> None:
        present = rooms.present(appointment.id)
        if "citizen" in present and "clerk" in present:
            # Only the clerk offers first (or restarts ICE). Each screen shows who is on the other
            # side and the call's time, counted by the server's clock.
            mode = resume_mode(rooms.peer_states(appointment.id))
            elapsed = sessions.elapsed_seconds(appointment)
            clerk_name = appointment.clerk.name if appointment.clerk else ""
            joined = {"fresh": mode == "fresh", "mode": mode, "elapsed": elapsed}
            self.emit("peer-joined", {**joined, "name": clerk_name}, room=present["citizen"])
            self.emit("peer-joined", {**joined, "name": appointment.citizen_name}, room=present["clerk"])
            self.emit("start", {"mode": mode}, room=present["clerk"])

    def on_disconnect(self, reason=None):
        staff_connections.closed(NAMESPACE, request.sid)
        rooms.standby.pop(request.sid, None)
        participant = rooms.leave(request.sid)
        if participant is None:
            return
        if participant.role == "citizen":  # the console first: it must hear of it whatever follows
            appointment = db.session.get(Appointment, participant.appointment_id)
            if appointment is not None:
                notify_waiting_room(appointment)
        other = rooms.other(participant)
        if other:
            # At the end of a call both sides leave at once: the other socket may be closing too.
            # Only a page that said goodbye left; any other close may be a reconnect on its way.
            how = "left" if reason == EngineServer.reason.CLIENT_DISCONNECT else "lost"
            with contextlib.suppress(SocketIsClosedError):
                self.emit("peer-left", {"role": participant.role, "reason": how}, room=other)

    def trigger_event(self, event, *args):
        """`signal` carries every SDP and ICE candidate of a call, so it is relayed here without the
        Flask request context Flask-SocketIO builds for every other event (about 40 % of the
        relay's CPU in benchmarks/signaling.py --profile): the sender's identity and room were
        settled at connect, and relaying needs no request, session or database."""
        if event == "signal" and 1 <= len(args) <= 2:  # (sid, data) or (sid,): no data sent
            return self.relay_signal(args[0], args[1] if len(args) == 2 else None)
        return super().trigger_event(event, *args)

    def relay_signal(self, sid: str, data) -> dict:
        """Pass a sender's `signal` to the other side of its call: only from a participant within
        its rate limit, only a valid signal of at most MAX_MESSAGE_BYTES."""
        participant = rooms.by_sid.get(sid)
        environ = self.socketio.server.get_environ(sid, namespace=self.namespace)
        if participant is None or not environ:
            return {"ok": False}
        config = environ["flask.app"].config
        if not participant.allow(config["CALL_SIGNAL_RATE"], config["CALL_SIGNAL_BURST"]):
            return {"ok": False}
        if not valid_signal(data) or signal_size(data) > MAX_MESSAGE_BYTES:
            return {"ok": False}
        other = rooms.other(participant)
        if other:
            # The other side on this process: delivered here, not published to the message queue
            # for every process to decode (nothing to skip without a queue).
            here = other in rooms.by_sid
            with contextlib.suppress(SocketIsClosedError):
                self.socketio.server.emit(
                    "signal", data, to=other, namespace=self.namespace, ignore_queue=here
                )
        return {"ok": True}

    def on_chat(self, data=None):
        participant = self._checked_sender(data)
        text = data.get("text") if isinstance(data, dict) else None
        if participant is None or not isinstance(text, str) or not text.strip() or len(text) > MAX_CHAT_CHARS:
            return {"ok": False}
        other = rooms.other(participant)
        if other:
            self.emit("chat", {"from": participant.role, "text": text.strip()}, room=other)
        return {"ok": True}

    def on_connected(self, data=None):
        """The clerk's browser reports the peer connection is up, `{"audio_only": true}` when no
        video came from the citizen: recorded for the call record (and the reports)."""
        participant = self._checked_sender(data or {})
        if participant is not None and participant.role == "clerk":
            audio_only = isinstance(data, dict) and data.get("audio_only") is True
            appointment = db.session.get(Appointment, participant.appointment_id)
            sessions.mark_connected(appointment, audio_only=audio_only)
        return {"ok": participant is not None}

    def on_peer_state(self, data=None):
        """The browser's peer connection changed state: kept for the next pairing's `mode`."""
        participant = self._checked_sender(data)
        state = data.get("state") if isinstance(data, dict) else None
        if participant is None or state not in PEER_STATES:
            return {"ok": False}
        rooms.set_peer(participant, state)
        return {"ok": True}

    def _checked_sender(self, data) -> Participant | None:
        """The sender, if it is in a room, within its rate limit, and the payload is small enough."""
        participant = rooms.by_sid.get(request.sid)
        if participant is None:
            return None
        config = current_app.config
        if not participant.allow(config["CALL_SIGNAL_RATE"], config["CALL_SIGNAL_BURST"]):
            return None
        try:
            size = len(json.dumps(data, separators=(",", ":")))
        except (TypeError, ValueError):
            return None
        return participant if size <= MAX_MESSAGE_BYTES else None


def refusal(code: str, message: str) -> dict:
    """An `admit` that did not happen: why (`code`, for the page) and what to tell the clerk."""
    return {"ok": False, "error": code, "message": message}


def signal_size(data: dict) -> int:
    """About the size of a valid signal as JSON, from its strings (valid_signal bounds its keys),
    without encoding it."""
    body = data.get("description") or data.get("candidate") or {}
    return 100 + sum(len(value) for value in body.values() if isinstance(value, str))


def resume_mode(states: dict[str, str]) -> str:
    """What the pair does with its peer connections: "keep", "restart" (ICE) or "fresh"."""
    citizen, clerk = states.get("citizen", "none"), states.get("clerk", "none")
    if citizen == clerk == "connected":
        return "keep"
    if "none" not in (citizen, clerk):
        return "restart"
    return "fresh"


def valid_signal(data) -> bool:
    """`{"description": {"type", "sdp"}}` or `{"candidate": {...} | null}`, nothing else."""
    if not isinstance(data, dict) or len(data) != 1:
        return False
    if "description" in data:
        description = data["description"]
        return (
            isinstance(description, dict)
            and set(description) <= {"type", "sdp"}
            and description.get("type") in DESCRIPTION_TYPES
            and isinstance(description.get("sdp", ""), str)
        )
    if "candidate" in data:
        candidate = data["candidate"]
        if candidate is None:
            return True
        return (
            isinstance(candidate, dict)
            and set(candidate) <= {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}
            and isinstance(candidate.get("candidate"), str)
            and isinstance(candidate.get("sdpMid"), (str, type(None)))
            and isinstance(candidate.get("sdpMLineIndex"), (int, type(None)))
            and isinstance(candidate.get("usernameFragment"), (str, type(None)))
        )
    return False


def init_call_events(app) -> None:
    """Register the namespace once (later `socketio.init_app` calls re-register it themselves),
    and share room membership (and the staff's open sockets) through Redis when several processes share a
    message queue."""
    if not any(handler.namespace == NAMESPACE for handler in socketio.namespace_handlers):
        socketio.on_namespace(CallNamespace(NAMESPACE))
    queue, prefix = app.config.get("SOCKETIO_MESSAGE_QUEUE"), app.config["REDIS_PREFIX"]
    rooms.use_message_queue(queue, prefix)
    staff_connections.use_message_queue(queue, prefix)
