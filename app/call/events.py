"""Socket.IO namespace /call: the signaling relay between a citizen and a clerk.

The server decides who is in which room; clients never name one. A citizen connects with
`auth={"token": <join token>}`, staff with their login cookie and `auth={"appointment": <reference>}`.
A room holds one citizen and one clerk of the appointment's agency; a second tab of the same
side replaces the first. The clerk is the impolite peer and the only one told to make the first
offer, each time the pair becomes complete (simultaneous first offers can hang Chromium's ICE
gathering: shared/BROWSER-TESTING.md). Relayed messages keep their order because handlers run one
at a time per connection (`async_handlers=False`).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

from flask import current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, disconnect

from app import tokens
from app.call import sessions
from app.extensions import db, socketio
from app.models import Appointment
from app.security import staff_may_act_for

NAMESPACE = "/call"
MAX_MESSAGE_BYTES = 64 * 1024
MAX_CHAT_CHARS = 1000
DESCRIPTION_TYPES = ("offer", "answer", "rollback", "pranswer")


def room_for(appointment_id: int) -> str:
    return f"appointment-{appointment_id}"


def staff_room(agency_id: int) -> str:
    return f"agency-staff-{agency_id}"


@dataclass
class Participant:
    sid: str
    role: str  # "citizen" | "clerk"
    appointment_id: int
    agency_id: int
    tokens: float | None = None  # a full bucket until the first message
    refilled: float = field(default_factory=time.monotonic)

    def allow(self, rate: float, burst: int) -> bool:
        """Token bucket: `burst` messages at once, then `rate` a second."""
        now = time.monotonic()
        if self.tokens is None:
            self.tokens = float(burst)
        self.tokens = min(burst, self.tokens + (now - self.refilled) * rate)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class MemoryDirectory:
    """Room membership for a single process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rooms: dict[int, dict[str, str]] = {}

    def claim(self, appointment_id: int, role: str, sid: str) -> str | None:
        with self._lock:
            room = self._rooms.setdefault(appointment_id, {})
            previous = room.get(role)
            room[role] = sid
            return previous

    def release(self, appointment_id: int, role: str, sid: str) -> None:
        with self._lock:
            room = self._rooms.get(appointment_id, {})
            if room.get(role) == sid:
                del room[role]
            if not room:
                self._rooms.pop(appointment_id, None)

    def members(self, appointment_id: int) -> dict[str, str]:
        return dict(self._rooms.get(appointment_id, {}))


class RedisDirectory:
    """Room membership shared by several processes (with SOCKETIO_MESSAGE_QUEUE), so a citizen
    on one process and their clerk on another still find each other."""

    TTL_SECONDS = 24 * 3600  # a process that died never releases; its entries fade out
    # Release only if the slot still holds this sid: a newer tab may have claimed it meanwhile.
    RELEASE = (
        "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end"
    )

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._release = self._redis.register_script(self.RELEASE)

    @staticmethod
    def _key(appointment_id: int) -> str:
        return f"ventanilla:call:{appointment_id}"

    def claim(self, appointment_id: int, role: str, sid: str) -> str | None:
        key = self._key(appointment_id)
        pipe = self._redis.pipeline()
        pipe.hget(key, role).hset(key, role, sid).expire(key, self.TTL_SECONDS)
        previous = pipe.execute()[0]
        return previous if previous != sid else None

    def release(self, appointment_id: int, role: str, sid: str) -> None:
        self._release(keys=[self._key(appointment_id)], args=[role, sid])

    def members(self, appointment_id: int) -> dict[str, str]:
        return self._redis.hgetall(self._key(appointment_id))


class Rooms:
    """Who is connected to which appointment: this process's sockets, and a directory of rooms."""

    def __init__(self):
        self.by_sid: dict[str, Participant] = {}  # the sockets connected to this process
        self.directory: MemoryDirectory | RedisDirectory = MemoryDirectory()

    def use(self, directory) -> None:
        self.directory = directory

    def join(self, participant: Participant) -> str | None:
        """Add; returns the sid this one replaces (a second tab of the same side), if any."""
        self.by_sid[participant.sid] = participant
        replaced = self.directory.claim(participant.appointment_id, participant.role, participant.sid)
        if replaced:
            self.by_sid.pop(replaced, None)
        return replaced

    def leave(self, sid: str) -> Participant | None:
        participant = self.by_sid.pop(sid, None)
        if participant is not None:
            self.directory.release(participant.appointment_id, participant.role, sid)
        return participant

    def other(self, participant: Participant) -> str | None:
        role = "clerk" if participant.role == "citizen" else "citizen"
        return self.directory.members(participant.appointment_id).get(role)

    def present(self, appointment_id: int) -> dict[str, str]:
        return self.directory.members(appointment_id)


rooms = Rooms()


class CallNamespace(Namespace):
    def on_connect(self, auth=None):
        auth = auth if isinstance(auth, dict) else {}
        if auth.get("console") is True:
            return self._watch_waiting_room()
        participant = self._authenticate(auth)
        # Every later event of this connection rebuilds a request context from this environ;
        # without the cookie it no longer decodes the signed session each time (~23 % of the
        # relay's CPU in benchmarks/signaling.py). Nothing after connect needs the login.
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
        """The clerk console: live waiting-room updates for the clerk's agency, no media."""
        if not current_user.is_authenticated or current_user.agency_id is None:
            raise ConnectionRefusedError("not_allowed")
        self.enter_room(request.sid, staff_room(current_user.agency_id))

    def _authenticate(self, auth: dict) -> Participant:
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
            if (
                appointment is not None
                and appointment.service.mode == "video"
                and staff_may_act_for(current_user, appointment.service.agency_id)
                and appointment.status == "in_call"
                and appointment.clerk_id == current_user.id
            ):
                return Participant(
                    sid=request.sid,
                    role="clerk",
                    appointment_id=appointment.id,
                    agency_id=appointment.service.agency_id,
                )
        raise ConnectionRefusedError("not_allowed")

    def _pair_if_complete(self, appointment: Appointment) -> None:
        present = rooms.present(appointment.id)
        if "citizen" in present and "clerk" in present:
            # Both start a fresh connection; only the clerk offers first.
            self.emit("peer-joined", {"fresh": True}, room=present["citizen"])
            self.emit("peer-joined", {"fresh": True}, room=present["clerk"])
            self.emit("start", {}, room=present["clerk"])

    def on_disconnect(self, reason=None):
        participant = rooms.leave(request.sid)
        if participant is None:
            return
        other = rooms.other(participant)
        if other:
            self.emit("peer-left", {"role": participant.role}, room=other)
        if participant.role == "citizen":
            appointment = db.session.get(Appointment, participant.appointment_id)
            if appointment is not None:
                notify_waiting_room(appointment)

    def on_signal(self, data=None):
        participant = self._checked_sender(data)
        if participant is None or not valid_signal(data):
            return {"ok": False}
        other = rooms.other(participant)
        if other:
            self.emit("signal", data, room=other)
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
        """The clerk's browser reports the peer connection is up: recorded for the call record."""
        participant = self._checked_sender(data or {})
        if participant is not None and participant.role == "clerk":
            sessions.mark_connected(db.session.get(Appointment, participant.appointment_id))
        return {"ok": participant is not None}

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


def notify_waiting_room(appointment: Appointment) -> None:
    """Push the appointment's live state to the clerks of its agency watching the console."""
    state = sessions.call_state(appointment)
    state["present"] = "citizen" in rooms.present(appointment.id)
    socketio.emit(
        "waiting-room",
        {"reference": appointment.reference, **state},
        namespace=NAMESPACE,
        to=staff_room(appointment.service.agency_id),
    )


def tell_citizen_admitted(appointment: Appointment) -> None:
    socketio.emit("admitted", {}, namespace=NAMESPACE, to=room_for(appointment.id))
    notify_waiting_room(appointment)


def end_call(appointment: Appointment) -> None:
    """The clerk recorded an outcome: both browsers leave the call and the console updates."""
    socketio.emit(
        "call-ended", {"outcome": appointment.outcome}, namespace=NAMESPACE, to=room_for(appointment.id)
    )
    notify_waiting_room(appointment)


def init_call_events(app) -> None:
    """Register the namespace once (later `socketio.init_app` calls re-register it themselves),
    and share room membership through Redis when several processes share a message queue."""
    if not any(handler.namespace == NAMESPACE for handler in socketio.namespace_handlers):
        socketio.on_namespace(CallNamespace(NAMESPACE))
    queue = app.config.get("SOCKETIO_MESSAGE_QUEUE") or ""
    rooms.use(RedisDirectory(queue) if queue.startswith(("redis://", "rediss://")) else MemoryDirectory())
