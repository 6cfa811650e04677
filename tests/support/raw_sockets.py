"""Raw Engine.IO / Socket.IO connections over a WebSocket, for tests that misbehave on purpose.

A well-behaved client (python-socketio) hides what a hostile one can do: send packets for
namespaces it never joined, flood, hold a refused connection open. This one sends exactly the
packets it is told to (Engine.IO 4, Socket.IO 5 text encoding).
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import websocket

TIMEOUT = 10  # seconds: generous, never a timing assertion


class RawSocket:
    def __init__(self, base_url: str, cookie: str | None = None, source: str | None = None):
        """Connect to `base_url` (plain HTTP); from the loopback address `source` (127.0.0.2…) to
        be another client address."""
        url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        headers = [f"Cookie: {cookie}"] if cookie else []
        sock = None
        if source:
            where = urlsplit(base_url)
            sock = socket.create_connection((where.hostname, where.port), TIMEOUT, (source, 0))
        self.ws = websocket.create_connection(url, timeout=TIMEOUT, header=headers, socket=sock)
        opening = self.ws.recv()
        assert opening.startswith("0"), opening  # Engine.IO OPEN

    def send(self, packet: str) -> None:
        """Send one Socket.IO packet (wrapped in an Engine.IO MESSAGE)."""
        self.ws.send("4" + packet)

    def connect(self, namespace: str, auth: dict | None = None) -> str:
        """Ask to join `namespace`; the server's answer packet ("0…" joined, "4…" refused)."""
        prefix = "" if namespace == "/" else f"{namespace},"
        self.send("0" + prefix + (json.dumps(auth) if auth is not None else ""))
        while True:  # events the connect handler emits may come before the answer
            packet = self.next_packet()
            if packet[:1] in ("0", "4"):
                return packet

    def emit(self, namespace: str, event: str, data) -> None:
        prefix = "" if namespace == "/" else f"{namespace},"
        self.send("2" + prefix + json.dumps([event, data]))

    def next_packet(self) -> str:
        """The next Socket.IO packet from the server, answering Engine.IO pings on the way."""
        while True:
            message = self.ws.recv()
            if message == "2":  # Engine.IO PING
                self.ws.send("3")
                continue
            assert message.startswith("4"), message
            return message[1:]

    def closed_by_server(self, timeout: float = TIMEOUT) -> bool:
        """Read until the server closes the connection; False if it is still open after `timeout`."""
        deadline = time.monotonic() + timeout
        self.ws.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                message = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                return True
            if message == "" or message == "1":  # a close frame, or Engine.IO CLOSE
                return True
            if message == "2":
                self.ws.send("3")
        return False

    def flood(self, packet: str, count: int) -> int:
        """Send `packet` up to `count` times as fast as possible; how many went out before the
        server closed the connection."""
        for sent in range(count):
            try:
                self.send(packet)
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                return sent
        return count

    def close(self) -> None:
        self.ws.close()
