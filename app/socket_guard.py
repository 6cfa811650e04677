"""What one Socket.IO client may cost the server, enforced before any event handler runs.

One worker process serves every call, so one misbehaving client must not be able to slow the
others (issue 9, items 1–2; issue 13: another call's relay p99 stays under 50 ms). Two layers per
connection, one per client address, and one per server:

- **Transport.** The raw socket under a WebSocket is read at most `SOCKET_INBOUND_BYTES_PER_SECOND`
  (bursts of `SOCKET_INBOUND_BURST_BYTES`): past that the server simply stops reading, and TCP
  makes the sender wait. Every read first yields to the other greenlets (threads in development):
  the WebSocket library reads in a loop while data is waiting, so a client sending as fast as it
  can would otherwise keep the gevent worker from serving anyone else until gunicorn killed it.
- **Socket.IO packets.** Each packet costs one token of a bucket (`SOCKET_EVENT_RATE` a second,
  bursts of `SOCKET_EVENT_BURST`) before it is even decoded. The burst is the allowance: the first
  packet over it cuts the connection off (a browser never comes near it). An event or
  acknowledgement for a namespace the client has not joined, or a binary packet (the app uses
  none), is refused unread; after `REFUSALS_BEFORE_CUT` of them the connection is cut off too. A
  cut-off connection's socket is not read again (decoding WebSocket frames a flooder keeps sending
  was most of what it cost the worker), and its address may open no new connection for
  `SOCKET_CUT_OFF_SECONDS`.
- **Per address** (an IPv6 client's /64): at most `SOCKET_REFUSED_PER_ADDRESS` connections refused
  by every namespace they asked for (a wrong or expired token, no staff session), then one more a
  second; past that, new connections are answered 429 before Engine.IO or the database sees
  them (so is a barred address). And at most `SOCKET_UNAUTHENTICATED_PER_ADDRESS` connections
  that have joined no namespace yet, each for at most `SOCKET_JOIN_TIMEOUT_SECONDS`.
- **Per server.** A connection refused by every namespace it asked for is closed at once (the
  browser client would close it itself; a hostile one would hold it open), and the server accepts
  at most `SOCKET_MAX_CONNECTIONS` connections in all, which must stay below gunicorn's
  WORKER_CONNECTIONS so that page requests always find a free slot. Namespaces other than the ones
  the app serves, the default one included, are refused at connect
  (`socketio.init_app(namespaces=...)`).

An address barred or refused too often is answered 429 (with Retry-After) before Engine.IO sees
the request; the other refusals at the handshake answer 401. Neither keeps anything. In
production the proxy is the first line (deploy/nginx.conf limits connections and handshakes per
address); these hold without it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

# Socket.IO packet types (protocol 5): the first character of an encoded packet.
CONNECT, DISCONNECT, EVENT, ACK, BINARY_EVENT, BINARY_ACK = "0", "1", "2", "3", "5", "6"

ENGINEIO_PATH = "/socket.io/"  # Flask-SocketIO's default

# Packets for a namespace the client is not in may race a namespace's disconnect (a replaced tab);
# a few are forgiven, a stream of them is not.
REFUSALS_BEFORE_CUT = 10


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

    def __init__(self, sock, bucket: TokenBucket, sleep, event):
        self._sock = sock
        self._bucket = bucket
        self._sleep = sleep
        self._paused = False
        self._cut = False
        self._ended = event  # set by cut(): a paused read returns then

    def recv(self, size: int, *args) -> bytes:
        self._sleep(0)  # let every other connection and request run between two reads
        wait = self._bucket.seconds_until(size)
        if wait:
            self._sleep(wait)  # over budget: stop reading; the client's TCP window fills up
        if self._paused:
            self._ended.wait()
        if self._cut:
            return b""  # end of stream: the WebSocket library stops, the server closes the socket
        data = self._sock.recv(size, *args)
        self._bucket.spend(len(data))
        return data

    def pause(self) -> None:
        """Read nothing more (what arrives waits in the kernel, then in the client's TCP window),
        while what the server still has to say goes out; cut() ends it."""
        self._paused = True

    def cut(self) -> None:
        """End the connection under the WebSocket library's feet. It waits for the client to
        answer its close frame, and a client that never stops sending never does; a shut-down
        socket would still accept and deliver what keeps arriving (Linux), so reads end here."""
        self._cut = True
        self._ended.set()
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


@dataclass
class Address:
    """What the guard remembers of one client address (an IPv6 client's /64)."""

    refused: TokenBucket  # connections refused by every namespace they asked for
    barred_until: float = 0.0  # after a cut-off: no new connection before this (monotonic)

    def wait(self, now: float) -> float:
        """Seconds before it may open a new connection (0: now)."""
        return max(self.barred_until - now, self.refused.seconds_until(1), 0.0)

    def forgotten(self, now: float) -> bool:
        """Nothing left to hold against it: the record can go."""
        return now >= self.barred_until and self.refused.seconds_until(self.refused.burst) == 0


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
        self.cut_off_seconds = config["SOCKET_CUT_OFF_SECONDS"]
        self.refused_per_address = config["SOCKET_REFUSED_PER_ADDRESS"]
        self.clients: dict[str, Client] = {}
        self.addresses: dict[str, Address] = {}
        self._lock = threading.Lock()
        handlers = server.eio.handlers
        self._on_connect = handlers["connect"]
        self._on_message = handlers["message"]
        self._on_disconnect = handlers["disconnect"]
        server.eio.on("connect", self.connect)
        server.eio.on("message", self.message)
        server.eio.on("disconnect", self.disconnect)

    def wrap(self, wsgi_app):
        """WSGI middleware: a new Engine.IO connection from an address that is barred or has been
        refused too often is answered 429 at once; the raw socket of every WebSocket is read
        through a `ThrottledSocket` (gunicorn's and Werkzeug's, which the WebSocket library
        reads), and an upgrade from long-polling is tied to its connection (`sid` in the query),
        so it can be cut off too. Unless SOCKET_WEBSOCKET_COMPRESSION, the client's offer of
        permessage-deflate is dropped before the handshake (simple-websocket accepts it whenever
        it is offered)."""

        def middleware(environ, start_response):
            if environ.get("PATH_INFO", "").startswith(ENGINEIO_PATH):
                wait = self._handshake_wait(environ)
                if wait:  # refused before Engine.IO creates anything for it
                    start_response("429 Too Many Requests", [("Retry-After", str(math.ceil(wait)))])
                    return [b""]
            if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                if not self.compression:
                    environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
                for key in ("gunicorn.socket", "werkzeug.socket"):
                    if key in environ:
                        environ[key] = transport = ThrottledSocket(
                            environ[key],
                            TokenBucket(self.byte_rate, self.byte_burst),
                            self.server.sleep,
                            self.server.eio.create_event(),
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
        """Admit a new connection if the server and the client's address have room for it (its
        standing was checked by the middleware). Nothing here touches the database."""
        address = address_key(environ.get("REMOTE_ADDR") or "?")
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
            if not client.events.take():
                return self._cut_off(eio_sid, client)  # past its burst: no browser gets here
            if not self._may_handle(eio_sid, data):
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
            # Refused everywhere it asked: nothing left for it to do here, and one refusal fewer
            # its address may cost the database.
            self._address(client.address).refused.take()
            self._close(eio_sid)

    def _refuse(self, eio_sid: str, client: Client) -> None:
        client.refused += 1
        if client.refused >= REFUSALS_BEFORE_CUT:
            self._cut_off(eio_sid, client)

    def _cut_off(self, eio_sid: str, client: Client) -> None:
        """Stop reading the connection now, close it, and bar its address for a while."""
        if isinstance(client.transport, ThrottledSocket):
            client.transport.pause()
        self._address(client.address).barred_until = time.monotonic() + self.cut_off_seconds
        self._close(eio_sid)

    def _handshake_wait(self, environ: dict) -> float:
        """Seconds before this request's address may open a new connection (0: now); requests of
        an existing connection (`sid` in the query) always pass."""
        if "sid=" in environ.get("QUERY_STRING", ""):
            return 0.0
        record = self.addresses.get(address_key(environ.get("REMOTE_ADDR") or "?"))
        return 0.0 if record is None else record.wait(time.monotonic())

    def _address(self, address: str) -> Address:
        with self._lock:
            record = self.addresses.get(address)
            if record is None:
                refused = TokenBucket(1.0, self.refused_per_address)
                record = self.addresses[address] = Address(refused)
            return record

    def _close_stale(self) -> None:
        """Close connections that joined no namespace within the join timeout; forget addresses
        that have nothing left against them."""
        now = time.monotonic()
        limit = now - self.join_timeout
        with self._lock:
            stale = [sid for sid, c in self.clients.items() if not c.joined and c.opened < limit]
            for address in [a for a, record in self.addresses.items() if record.forgotten(now)]:
                del self.addresses[address]
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
        try:
            self.server.eio.disconnect(eio_sid)
        finally:
            if isinstance(transport, ThrottledSocket):
                transport.cut()


def address_key(address: str) -> str:
    """The unit the per-address limits count: the address, or an IPv6 address's /64 (one
    subscriber's network: a client holding one holds all of its addresses)."""
    if ":" in address:
        with contextlib.suppress(ValueError):
            return str(ipaddress.IPv6Network((address, 64), strict=False))
    return address


def namespace_of(packet: str) -> str:
    """The namespace of an encoded Socket.IO packet: `<type>[<n>-][/<namespace>,][<id>][<json>]`."""
    rest = packet[1:]
    if rest.startswith("/"):
        return rest.split(",", 1)[0]
    return "/"
