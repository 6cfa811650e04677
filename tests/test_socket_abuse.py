"""One hostile Socket.IO client must not cost the server more than its share (issue 9, items 1–2).

Raw WebSocket clients (tests/support/raw_sockets.py) do what a browser never would: flood events,
send them for namespaces they never joined, hold refused connections open, open many without
joining anything. The limits are small here so a test reaches them quickly; the handler's own
work is counted by wrapping it, never timed.
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import requests
import websocket

from app.call.events import CallNamespace
from tests.support.apps import demo_app
from tests.support.raw_sockets import RawSocket
from tests.support.servers import start_live_server
from tests.support.signaling import CLERK, Peer, make_appointment, staff_cookie

pytestmark = pytest.mark.clock(tick=True)

LIMITS = dict(
    SOCKET_EVENT_RATE=1,
    SOCKET_EVENT_BURST=10,
    SOCKET_UNAUTHENTICATED_PER_ADDRESS=3,
    SOCKET_JOIN_TIMEOUT_SECONDS=60,
    SOCKET_MAX_CONNECTIONS=50,
)


@pytest.fixture
def guarded(tmp_path, demo_database):
    """A live server with small socket limits; yields a function making such a server."""
    servers = []

    def start(**overrides):
        directory = tmp_path / f"app{len(servers)}"
        directory.mkdir()
        app = demo_app(directory, demo_database, **{**LIMITS, **overrides})
        server = start_live_server(app)
        servers.append(server)
        return app, server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def handled_signals(monkeypatch):
    """How many `signal` events reached the /call handler."""
    calls = []
    original = CallNamespace.on_signal

    def counting(self, data=None):
        calls.append(data)
        return original(self, data)

    monkeypatch.setattr(CallNamespace, "on_signal", counting)
    return calls


CANDIDATE = {"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}}


def test_the_default_namespace_is_refused_and_the_connection_closed(guarded):
    app, server = guarded()
    raw = RawSocket(server.url)
    assert raw.connect("/").startswith("4")  # CONNECT_ERROR
    assert raw.closed_by_server()


def test_a_connection_refused_by_call_is_closed_not_left_open(guarded):
    app, server = guarded()
    raw = RawSocket(server.url)
    assert raw.connect("/call", {"token": "not-a-real-token"}).startswith("4/call,")
    assert raw.closed_by_server()


def test_a_citizen_flooding_call_is_cut_off_within_its_budget(guarded, handled_signals):
    app, server = guarded()
    _, token = make_appointment(app)
    raw = RawSocket(server.url)
    assert raw.connect("/call", {"token": token}).startswith("0/call,")
    raw.flood('2/call,["signal",' + json.dumps(CANDIDATE) + "]", 2000)
    assert raw.closed_by_server()
    # The burst, plus what the rate refilled while the flood ran: nowhere near the 2,000 sent.
    assert len(handled_signals) < 100


def test_events_for_a_namespace_never_joined_are_refused_and_the_sender_cut_off(guarded, handled_signals):
    app, server = guarded()
    _, token = make_appointment(app)
    raw = RawSocket(server.url)
    assert raw.connect("/call", {"token": token}).startswith("0/call,")
    raw.flood('2["signal",{}]', 50)  # the default namespace, never joined
    assert raw.closed_by_server()
    assert handled_signals == []


def test_binary_packets_are_refused(guarded, handled_signals):
    app, server = guarded()
    _, token = make_appointment(app)
    raw = RawSocket(server.url)
    assert raw.connect("/call", {"token": token}).startswith("0/call,")
    raw.flood('51-/call,["signal",{"_placeholder":true,"num":0}]', 50)
    assert raw.closed_by_server()
    assert handled_signals == []


def test_a_call_keeps_relaying_while_another_socket_floods(guarded, demo_database):
    app, server = guarded()
    password = demo_database[1][CLERK]
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    _, flooder_token = make_appointment(app, starts_in=dt.timedelta(minutes=10), email="flood@example.com")
    citizen = Peer(server.url, {"token": token})
    clerk = Peer(server.url, {"appointment": reference}, cookie=staff_cookie(server.url, CLERK, password))
    try:
        clerk.wait_for("start")
        raw = RawSocket(server.url)
        assert raw.connect("/call", {"token": flooder_token}).startswith("0/call,")
        flooding = threading.Thread(target=raw.flood, args=('2/call,["signal",{"candidate":null}]', 5000))
        flooding.start()
        clerk.client.emit("signal", CANDIDATE, namespace="/call")
        assert citizen.wait_for("signal") == CANDIDATE
        flooding.join()
        assert raw.closed_by_server()
    finally:
        citizen.close()
        clerk.close()


def test_sockets_that_join_nothing_are_capped_per_address(guarded):
    app, server = guarded()
    _, token = make_appointment(app)
    waiting = [RawSocket(server.url) for _ in range(3)]
    with pytest.raises(websocket.WebSocketBadStatusException):
        RawSocket(server.url)
    # Once one of them joins a namespace it no longer counts, and a new one is let in.
    assert waiting[0].connect("/call", {"token": token}).startswith("0/call,")
    RawSocket(server.url).close()
    # Pages are served meanwhile.
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_sockets_that_join_nothing_in_time_are_closed_when_others_need_room(guarded):
    app, server = guarded(SOCKET_JOIN_TIMEOUT_SECONDS=0)
    idle = RawSocket(server.url)
    RawSocket(server.url)  # its arrival sweeps out the one that waited too long
    assert idle.closed_by_server()


def test_the_server_keeps_room_for_pages_past_its_connection_limit(guarded):
    app, server = guarded(SOCKET_MAX_CONNECTIONS=2, SOCKET_UNAUTHENTICATED_PER_ADDRESS=10)
    first, second = RawSocket(server.url), RawSocket(server.url)
    with pytest.raises(websocket.WebSocketBadStatusException):
        RawSocket(server.url)
    first.close()
    second.close()
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200


@pytest.mark.parametrize("enabled", [False, True])
def test_websocket_compression_is_declined_unless_configured(guarded, enabled):
    """Browsers always offer permessage-deflate; the server accepts it only when asked to."""
    app, server = guarded(SOCKET_WEBSOCKET_COMPRESSION=enabled)
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, timeout=10, header=[offer])
    try:
        accepted = ws.getheaders().get("sec-websocket-extensions", "")
    finally:
        ws.close()
    assert ("permessage-deflate" in accepted) is enabled
