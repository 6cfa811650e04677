"""The open Socket.IO connections of each staff member (/call and /turns), so that deactivating
an account closes them at once.

Each process remembers its own sockets; a directory of every process's sockets lives in memory
with one process, or in Redis when processes share a Socket.IO message queue. Closing goes through
`socketio.server.disconnect`, which the message queue carries to whichever process holds the
socket. A socket that is not closed this way still cannot come back: the login session it was
opened with has ended (`Staff.session_version`), so a reconnect is refused.
"""

from __future__ import annotations

import threading

import redis

from app.extensions import socketio


class MemoryConnections:
    """The directory for a single process: staff id → {(namespace, sid)}."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sockets: dict[int, set[tuple[str, str]]] = {}

    def add(self, staff_id: int, namespace: str, sid: str) -> None:
        with self._lock:
            self._sockets.setdefault(staff_id, set()).add((namespace, sid))

    def remove(self, staff_id: int, namespace: str, sid: str) -> None:
        with self._lock:
            sockets = self._sockets.get(staff_id, set())
            sockets.discard((namespace, sid))
            if not sockets:
                self._sockets.pop(staff_id, None)

    def take(self, staff_id: int) -> set[tuple[str, str]]:
        with self._lock:
            return self._sockets.pop(staff_id, set())


class RedisConnections:
    """The directory shared by several processes (with SOCKETIO_MESSAGE_QUEUE)."""

    TTL_SECONDS = 24 * 3600  # a process that died never removes its sockets; they fade out

    def __init__(self, url: str, prefix: str):
        self._redis = redis.Redis.from_url(url, decode_responses=True)
        self._prefix = prefix

    def _key(self, staff_id: int) -> str:
        return f"{self._prefix}:staff-sockets:{staff_id}"

    def add(self, staff_id: int, namespace: str, sid: str) -> None:
        key = self._key(staff_id)
        self._redis.pipeline().sadd(key, f"{namespace} {sid}").expire(key, self.TTL_SECONDS).execute()

    def remove(self, staff_id: int, namespace: str, sid: str) -> None:
        self._redis.srem(self._key(staff_id), f"{namespace} {sid}")

    def take(self, staff_id: int) -> set[tuple[str, str]]:
        key = self._key(staff_id)
        members, _deleted = self._redis.pipeline().smembers(key).delete(key).execute()
        return {tuple(member.split(" ", 1)) for member in members}


class StaffConnections:
    def __init__(self):
        self.by_sid: dict[tuple[str, str], int] = {}  # this process's sockets → staff id
        self.directory: MemoryConnections | RedisConnections = MemoryConnections()

    def use_message_queue(self, queue_url: str | None, prefix: str) -> None:
        """Share the directory through Redis when processes share a Redis message queue, under the
        deployment's REDIS_PREFIX."""
        shared = (queue_url or "").startswith(("redis://", "rediss://"))
        self.directory = RedisConnections(queue_url, prefix) if shared else MemoryConnections()

    def opened(self, staff_id: int, namespace: str, sid: str) -> None:
        """A staff member's socket joined `namespace` (call at connect, once accepted)."""
        self.by_sid[(namespace, sid)] = staff_id
        self.directory.add(staff_id, namespace, sid)

    def closed(self, namespace: str, sid: str) -> None:
        """A socket left `namespace` (call at disconnect; nothing for a citizen's)."""
        staff_id = self.by_sid.pop((namespace, sid), None)
        if staff_id is not None:
            self.directory.remove(staff_id, namespace, sid)

    def disconnect_staff(self, staff_id: int) -> int:
        """Close every open socket of the staff member, on every process; how many there were."""
        sockets = self.directory.take(staff_id)
        for namespace, sid in sockets:
            socketio.server.disconnect(sid, namespace=namespace)
        return len(sockets)


staff_connections = StaffConnections()
