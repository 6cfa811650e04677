"""Who is connected to which call: one citizen and one clerk per appointment's room.

Beside each member's socket the directory keeps the state of that browser's peer connection
("connected", "broken": negotiated but not connected, or "none"), so that when the pair completes
again (a socket reconnected, the server restarted) the server can tell both sides whether to keep
their connection, restart ICE on it, or start afresh.

The rooms are the server's: clients never name one. A second tab of the same side replaces the
first. With one process the directory lives in memory; with several processes sharing a
Socket.IO message queue it lives in Redis, so a citizen on one process and their clerk on another
still find each other.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import redis

PEER_STATES = ("connected", "broken", "none")


def room_for(appointment_id: int) -> str:
    """The Socket.IO room of one appointment's call (its citizen and its clerk)."""
    return f"appointment-{appointment_id}"


def staff_room(agency_id: int) -> str:
    """The Socket.IO room of an agency's clerks watching the console."""
    return f"agency-staff-{agency_id}"


@dataclass
class Participant:
    sid: str
    role: str  # "citizen" | "clerk"
    appointment_id: int
    agency_id: int
    peer: str = "none"  # the browser's peer connection: PEER_STATES
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

    def claim(self, appointment_id: int, role: str, sid: str, peer: str = "none") -> str | None:
        with self._lock:
            room = self._rooms.setdefault(appointment_id, {})
            previous = room.get(role)
            room[role] = sid
            room[f"{role}:peer"] = peer
            return previous

    def release(self, appointment_id: int, role: str, sid: str) -> None:
        with self._lock:
            room = self._rooms.get(appointment_id, {})
            if room.get(role) == sid:
                del room[role]
                room.pop(f"{role}:peer", None)
            if not room:
                self._rooms.pop(appointment_id, None)

    def set_peer(self, appointment_id: int, role: str, sid: str, peer: str) -> None:
        with self._lock:
            room = self._rooms.get(appointment_id, {})
            if room.get(role) == sid:
                room[f"{role}:peer"] = peer

    def entries(self, appointment_id: int) -> dict[str, str]:
        return dict(self._rooms.get(appointment_id, {}))


class RedisDirectory:
    """Room membership shared by several processes (with SOCKETIO_MESSAGE_QUEUE)."""

    TTL_SECONDS = 24 * 3600  # a process that died never releases; its entries fade out
    # Release (or update) only if the slot still holds this sid: a newer tab may have claimed it.
    RELEASE = (
        "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then"
        " redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. ':peer') end"
    )
    SET_PEER = (
        "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then"
        " redis.call('HSET', KEYS[1], ARGV[1] .. ':peer', ARGV[3]) end"
    )

    def __init__(self, url: str, prefix: str):
        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._release = self._redis.register_script(self.RELEASE)
        self._set_peer = self._redis.register_script(self.SET_PEER)
        self._prefix = prefix

    @staticmethod
    def key_for(prefix: str, appointment_id: int) -> str:
        """The Redis hash of an appointment's room, under the deployment's REDIS_PREFIX."""
        return f"{prefix}:call:{appointment_id}"

    def _key(self, appointment_id: int) -> str:
        return self.key_for(self._prefix, appointment_id)

    def claim(self, appointment_id: int, role: str, sid: str, peer: str = "none") -> str | None:
        key = self._key(appointment_id)
        pipe = self._redis.pipeline()
        pipe.hget(key, role).hset(key, mapping={role: sid, f"{role}:peer": peer})
        pipe.expire(key, self.TTL_SECONDS)
        previous = pipe.execute()[0]
        return previous if previous != sid else None

    def release(self, appointment_id: int, role: str, sid: str) -> None:
        self._release(keys=[self._key(appointment_id)], args=[role, sid])

    def set_peer(self, appointment_id: int, role: str, sid: str, peer: str) -> None:
        self._set_peer(keys=[self._key(appointment_id)], args=[role, sid, peer])

    def entries(self, appointment_id: int) -> dict[str, str]:
        return self._redis.hgetall(self._key(appointment_id))


class Rooms:
    """Who is connected to which appointment: this process's sockets, and a directory of rooms."""

    def __init__(self):
        self.by_sid: dict[str, Participant] = {}  # the sockets connected to this process
        # A clerk's call screen before the admission ("ready"): sid → appointment id. Not in the
        # room (nothing is relayed to or from it) until it admits over that socket.
        self.standby: dict[str, int] = {}
        self.directory: MemoryDirectory | RedisDirectory = MemoryDirectory()

    def use_message_queue(self, queue_url: str | None, prefix: str) -> None:
        """Share membership through Redis when processes share a Redis message queue, under the
        deployment's REDIS_PREFIX."""
        shared = (queue_url or "").startswith(("redis://", "rediss://"))
        self.directory = RedisDirectory(queue_url, prefix) if shared else MemoryDirectory()

    def join(self, participant: Participant) -> str | None:
        """Add; returns the sid this one replaces (a second tab of the same side), if any."""
        self.by_sid[participant.sid] = participant
        replaced = self.directory.claim(
            participant.appointment_id, participant.role, participant.sid, participant.peer
        )
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
        return self.directory.entries(participant.appointment_id).get(role)

    def present(self, appointment_id: int) -> dict[str, str]:
        """{role: sid} of the members of the appointment's room."""
        return {role: sid for role, sid in self.directory.entries(appointment_id).items() if ":" not in role}

    def peer_states(self, appointment_id: int) -> dict[str, str]:
        """{role: state of that member's peer connection} (PEER_STATES)."""
        entries = self.directory.entries(appointment_id)
        return {role: entries.get(f"{role}:peer", "none") for role in entries if ":" not in role}

    def set_peer(self, participant: Participant, peer: str) -> None:
        """The member's browser reports a new state of its peer connection."""
        participant.peer = peer
        self.directory.set_peer(participant.appointment_id, participant.role, participant.sid, peer)

    def citizen_present(self, appointment_id: int) -> bool:
        return "citizen" in self.present(appointment_id)


rooms = Rooms()
