"""What one Socket.IO client may cost the server, enforced before any event handler runs.

One worker process serves every call, so one misbehaving client must not be able to slow the
others (issue 9, items 1–2). Two layers, both per connection:

- **Transport.** The raw socket under a WebSocket is read at most `SOCKET_INBOUND_BYTES_PER_SECOND`
  (bursts of `SOCKET_INBOUND_BURST_BYTES`): past that the server simply stops reading, and TCP
  makes the sender wait. Every read first yields to the other greenlets (threads in development):
  the WebSocket library reads in a loop while data is waiting, so a client sending as fast as it
  can would otherwise keep the gevent worker from serving anyone else until gunicorn killed it.
- **Socket.IO packets.** Each packet costs one token of a bucket (`SOCKET_EVENT_RATE` a second,
  bursts of `SOCKET_EVENT_BURST`) before it is even decoded. A packet over budget, an event or
  acknowledgement for a namespace the client has not joined, or a binary packet (the app uses
  none) is refused unread; after `SOCKET_EVENT_BURST` refusals the connection is closed.

And per server: a connection refused by every namespace it asked for is closed at once (the browser
client would close it itself; a hostile one would hold it open); a client address may hold at most
`SOCKET_UNAUTHENTICATED_PER_ADDRESS` connections that have joined no namespace yet, each for at
most `SOCKET_JOIN_TIMEOUT_SECONDS`; and the server accepts at most `SOCKET_MAX_CONNECTIONS`
connections in all, which must stay below gunicorn's WORKER_CONNECTIONS so that page requests always
find a free slot. Namespaces other than the ones the app serves, the default one included, are
refused at connect (`socketio.init_app(namespaces=...)`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

# Socket.IO packet types (protocol 5): the first character of an encoded packet.
CONNECT, DISCONNECT, EVENT, ACK, BINARY_EVENT, BINARY_ACK = "0", "1", "2", "3", "5", "6"


@dataclass
class TokenBucket:
    """`burst` tokens at once, then `rate` a second."""

    rate: float
    burst: float
    tokens: float | None = None  # full until first used
    stamp: float = field(default_factory=time.monotonic)

    def _refill(self) -> None:
        now = time.monotonic()
        if self.tokens is None:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, amount: float = 1.0) -> bool:
        """Spend `amount` tokens if there are that many."""
        self._refill()
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True

    def seconds_until(self, amount: float) -> float:
        """How long until `amount` tokens (at most a full bucket) are available."""
        self._refill()
        return max(0.0, (min(amount, self.burst) - self.tokens) / self.rate)

    def spend(self, amount: float) -> None:
        """Spend `amount` tokens, going into debt if needed (the bytes were already read)."""
        self._refill()
        self.tokens -= amount


class ThrottledSocket:
    """A client's raw socket, read within a byte budget, yielding before every read."""

    def __init__(self, sock, bucket: TokenBucket, sleep):
        self._sock = sock
        self._bucket = bucket
        self._sleep = sleep
        self._cut = False

    def recv(self, size: int, *args) -> bytes:
        self._sleep(0)  # let every other connection and request run between two reads
        wait = self._bucket.seconds_until(size)
        if wait:
            self._sleep(wait)  # over budget: stop reading; the client's TCP window fills up
        if self._cut:
            return b""  # end of stream: the WebSocket library stops, the server closes the socket
        data = self._sock.recv(size, *args)
        self._bucket.spend(len(data))
        return data

    def cut(self) -> None:
        """End the connection under the WebSocket library's feet. It waits for the client to
        answer its close frame, and a client that never stops sending never does; a shut-down
        socket would still accept and deliver what keeps arriving (Linux), so reads end here."""
        self._cut = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def __getattr__(self, name):
        return getattr(self._sock, name)


@dataclass
class Client:
    """One Engine.IO connection, as the guard sees it."""

    address: str
    opened: float
    events: TokenBucket
    refused: int = 0
    joined: bool = False  # has it ever joined one of the app's namespaces?
    transport: ThrottledSocket | None = None  # its WebSocket's raw socket, once it has one


class SocketGuard:
    """The per-connection and per-server limits above, wrapped around a `socketio.Server`'s
    Engine.IO handlers (connect, message, disconnect), so they run before python-socketio decodes
    a packet or Flask-SocketIO builds a request context for it."""

    def __init__(self, server, config):
        self.server = server
        self.byte_rate = config["SOCKET_INBOUND_BYTES_PER_SECOND"]
        self.byte_burst = config["SOCKET_INBOUND_BURST_BYTES"]
        self.event_rate = config["SOCKET_EVENT_RATE"]
        self.event_burst = config["SOCKET_EVENT_BURST"]
        self.per_address = config["SOCKET_UNAUTHENTICATED_PER_ADDRESS"]
        self.join_timeout = config["SOCKET_JOIN_TIMEOUT_SECONDS"]
        self.max_connections = config["SOCKET_MAX_CONNECTIONS"]
        self.compression = config["SOCKET_WEBSOCKET_COMPRESSION"]
        self.clients: dict[str, Client] = {}
        self._lock = threading.Lock()
        handlers = server.eio.handlers
        self._on_connect = handlers["connect"]
        self._on_message = handlers["message"]
        self._on_disconnect = handlers["disconnect"]
        server.eio.on("connect", self.connect)
        server.eio.on("message", self.message)
        server.eio.on("disconnect", self.disconnect)

    def wrap(self, wsgi_app):
        """WSGI middleware: the raw socket of every WebSocket is read through a `ThrottledSocket`
        (gunicorn's and Werkzeug's, which the WebSocket library reads), and an upgrade from
        long-polling is tied to its connection (`sid` in the query), so it can be cut off too.
        Unless SOCKET_WEBSOCKET_COMPRESSION, the client's offer of permessage-deflate is dropped
        before the handshake (simple-websocket accepts it whenever it is offered)."""

        def middleware(environ, start_response):
            if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                if not self.compression:
                    environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
                for key in ("gunicorn.socket", "werkzeug.socket"):
                    if key in environ:
                        environ[key] = transport = ThrottledSocket(
                            environ[key], TokenBucket(self.byte_rate, self.byte_burst), self.server.sleep
                        )
                        client = self.clients.get(
                            parse_qs(environ.get("QUERY_STRING", "")).get("sid", [""])[0]
                        )
                        if client is not None:
                            client.transport = transport
            return wsgi_app(environ, start_response)

        return middleware

    # --- Engine.IO handlers ---------------------------------------------------------------------

    def connect(self, eio_sid: str, environ: dict):
        """Admit a new connection if the server and the client's address have room for it."""
        address = environ.get("REMOTE_ADDR") or "?"
        self._close_stale()
        with self._lock:
            waiting = sum(1 for c in self.clients.values() if c.address == address and not c.joined)
            if len(self.clients) >= self.max_connections or waiting >= self.per_address:
                return False  # Engine.IO answers 401 and keeps nothing
            self.clients[eio_sid] = Client(
                address,
                time.monotonic(),
                TokenBucket(self.event_rate, self.event_burst),
                transport=environ.get("gunicorn.socket") or environ.get("werkzeug.socket"),
            )
        return self._on_connect(eio_sid, environ)

    def message(self, eio_sid: str, data):
        """Charge the packet to its connection, refuse it unread if it may not be handled."""
        client = self.clients.get(eio_sid)
        if client is None:
            return None
        try:
            if not client.events.take() or not self._may_handle(eio_sid, data):
                return self._refuse(eio_sid, client)
            connecting = data[:1] == CONNECT
            self._on_message(eio_sid, data)
            if connecting:
                self._after_connect(eio_sid, client)
        finally:
            self.server.sleep(0)  # one packet at a time: the others get their turn
        return None

    def disconnect(self, eio_sid: str, reason=None):
        with self._lock:
            self.clients.pop(eio_sid, None)
        return self._on_disconnect(eio_sid, reason)

    # --- rules ----------------------------------------------------------------------------------

    def _may_handle(self, eio_sid: str, data) -> bool:
        if not isinstance(data, str) or not data:
            return False  # binary attachments: the app sends and expects none
        kind = data[0]
        if kind in (CONNECT, DISCONNECT):
            return True  # a connect to an unknown namespace is refused by python-socketio
        if kind in (EVENT, ACK):
            return self._joined(eio_sid, namespace_of(data))
        return False  # binary events, CONNECT_ERROR from a client, garbage

    def _joined(self, eio_sid: str, namespace: str) -> bool:
        manager = self.server.manager
        sid = manager.sid_from_eio_sid(eio_sid, namespace)
        return sid is not None and manager.is_connected(sid, namespace)

    def _namespaces_joined(self, eio_sid: str) -> bool:
        return any(self._joined(eio_sid, namespace) for namespace in self.server.namespace_handlers)

    def _after_connect(self, eio_sid: str, client: Client) -> None:
        if self._namespaces_joined(eio_sid):
            client.joined = True
        elif not client.joined:
            self._close(eio_sid)  # refused everywhere it asked: nothing left for it to do here

    def _refuse(self, eio_sid: str, client: Client) -> None:
        client.refused += 1
        if client.refused > self.event_burst:
            self._close(eio_sid)

    def _close_stale(self) -> None:
        """Close connections that joined no namespace within the join timeout."""
        limit = time.monotonic() - self.join_timeout
        with self._lock:
            stale = [sid for sid, c in self.clients.items() if not c.joined and c.opened < limit]
        for eio_sid in stale:
            self._close(eio_sid)

    def _close(self, eio_sid: str) -> None:
        with self._lock:
            client = self.clients.pop(eio_sid, None)
        transport = client.transport if client else None
        self.server.start_background_task(self._disconnect, eio_sid, transport)

    def _disconnect(self, eio_sid: str, transport) -> None:
        """In the background: Engine.IO's close waits until what is queued (the refusal, its CLOSE
        packet) has gone out; then the raw connection ends, whatever the client does."""
        self.server.eio.disconnect(eio_sid)
        if isinstance(transport, ThrottledSocket):
            transport.cut()


def namespace_of(packet: str) -> str:
    """The namespace of an encoded Socket.IO packet: `<type>[<n>-][/<namespace>,][<id>][<json>]`."""
    rest = packet[1:]
    if rest.startswith("/"):
        return rest.split(",", 1)[0]
    return "/"
