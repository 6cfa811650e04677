"""Stopping a process without dropping its calls: the browsers are sent to another process.

On SIGTERM (a deploy, `docker stop`) gunicorn's master stops listening and each worker stops
accepting, then waits up to `graceful_timeout` for what it is serving to end. A WebSocket never
ends by itself, so without this the worker would hold its calls' sockets until it is killed at the
timeout. `gunicorn.conf.py` calls `hand_over_sockets()` from the worker's SIGTERM handler instead:
every Socket.IO connection of the process is closed at the transport level, which makes the
browser's Socket.IO client reconnect at once, through the proxy, to a process that is still up (a
Socket.IO "disconnect" would not: the client never reconnects after one). The peer connection
between the browsers carries the media and is not touched; the room is rejoined on reconnect.
"""

from __future__ import annotations

from app.extensions import socketio

SWEEP_SECONDS = 0.5


def hand_over_sockets() -> None:
    """Close this process's sockets now and again every SWEEP_SECONDS until it exits (a client can
    still reach it in the second before its worker stops listening). Returns at once."""
    socketio.start_background_task(_close_sockets_until_exit)


def _close_sockets_until_exit() -> None:
    while True:
        close_all_sockets()
        socketio.sleep(SWEEP_SECONDS)


def close_all_sockets() -> int:
    """Close every Socket.IO connection of this process (its disconnect handlers run); how many."""
    engine = socketio.server.eio
    count = len(engine.sockets)
    if count:
        engine.disconnect()
    return count
