"""One hostile Socket.IO client must not cost the server more than its share (issues 9 and 13).

Raw WebSocket clients (tests/support/raw_sockets.py) do what a browser never would: flood events,
send them for namespaces they never joined, hold refused connections open, open many without
joining anything, try token after token. The limits are small here so a test reaches them
quickly; the handler's own work (and the guard's, and the database's) is counted by wrapping it,
never timed. Other client addresses are other loopback addresses (127.0.0.2…).
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import requests
import sqlalchemy as sa
import websocket

from app import socket_guard, tokens
from app.call.events import CallNamespace
from app.extensions import db
from app.models import Appointment, CallSession
from tests.support.apps import demo_app
from tests.support.raw_sockets import RawSocket
from tests.support.servers import start_live_server
from tests.support.signaling import CLERK, Peer, make_appointment, staff_cookie

pytestmark = pytest.mark.clock(tick=True)

LIMITS = dict(
    SOCKET_EVENT_RATE=1,
    SOCKET_EVENT_BURST=10,
    SOCKET_CUT_OFF_SECONDS=600,
    SOCKET_REFUSED_PER_ADDRESS=20,
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
    """How many `signal` events reached the /call relay."""
    calls = []
    original = CallNamespace.relay_signal

    def counting(self, sid, data):
        calls.append(data)
        return original(self, sid, data)

    monkeypatch.setattr(CallNamespace, "relay_signal", counting)
    return calls


@pytest.fixture
def guarded_packets(monkeypatch):
    """How many Socket.IO packets the guard was handed (decoded from the WebSocket), any client."""
    calls = []
    original = socket_guard.SocketGuard.message

    def counting(self, eio_sid, data):
        calls.append(data)
        return original(self, eio_sid, data)

    monkeypatch.setattr(socket_guard.SocketGuard, "message", counting)
    return calls


@pytest.fixture
def token_lookups(monkeypatch):
    """How many join tokens /call looked up in the database."""
    calls = []
    original = tokens.appointment_by_join_token

    def counting(token):
        calls.append(token)
        return original(token)

    monkeypatch.setattr(tokens, "appointment_by_join_token", counting)
    return calls


CANDIDATE = {"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}}
SIGNAL = '2/call,["signal",' + json.dumps(CANDIDATE) + "]"


def stored_call(app, reference: str) -> tuple:
    """What the database holds about one appointment's call."""
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        sessions = db.session.scalars(
            sa.select(CallSession).where(CallSession.appointment_id == appointment.id)
        ).all()
        return (
            appointment.status,
            appointment.clerk_id,
            [(s.waiting_since, s.admitted_at, s.connected_at, s.ended_at, s.end_reason) for s in sessions],
        )


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


def test_a_flooder_is_cut_off_at_the_first_packet_past_its_burst(guarded, handled_signals):
    app, server = guarded()
    _, token = make_appointment(app)
    raw = RawSocket(server.url)
    assert raw.connect("/call", {"token": token}).startswith("0/call,")
    raw.flood(SIGNAL, 5000)
    assert raw.closed_by_server()
    # The burst (less the connect packet), and what one token a second refilled meanwhile: no
    # window of refusals after it.
    assert len(handled_signals) < LIMITS["SOCKET_EVENT_BURST"] + 5


def test_a_paused_socket_reads_nothing_more_and_ends_when_cut():
    """What a cut-off flooder keeps sending is never read, let alone decoded."""
    reads = []

    class Raw:
        def recv(self, size, *args):
            reads.append(size)
            return b"x" * size

        def shutdown(self, how):
            pass

    transport = socket_guard.ThrottledSocket(
        Raw(), socket_guard.TokenBucket(1e9, 1e9), lambda seconds: None, threading.Event()
    )
    assert transport.recv(10) == b"x" * 10
    transport.pause()
    results = []
    reader = threading.Thread(target=lambda: results.append(transport.recv(4096)))
    reader.start()
    transport.cut()
    reader.join(timeout=10)
    assert results == [b""] and reads == [10]


def test_a_cut_off_address_may_not_connect_again_until_its_bar_ends(guarded):
    app, server = guarded()
    _, token = make_appointment(app)
    raw = RawSocket(server.url)
    assert raw.connect("/call", {"token": token}).startswith("0/call,")
    raw.flood(SIGNAL, 500)
    assert raw.closed_by_server()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        RawSocket(server.url)  # refused before Engine.IO: nothing is read, nothing looked up
    assert refused.value.status_code == 429
    assert 0 < int(refused.value.resp_headers["retry-after"]) <= LIMITS["SOCKET_CUT_OFF_SECONDS"]
    # Another address is not barred with it, and pages are served to everyone.
    other = RawSocket(server.url, source="127.0.0.2")
    assert other.connect("/call", {"token": token}).startswith("0/call,")
    assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200

    app, server = guarded(SOCKET_CUT_OFF_SECONDS=0)  # a bar that has ended
    _, token = make_appointment(app)
    raw = RawSocket(server.url)
    assert raw.connect("/call", {"token": token}).startswith("0/call,")
    raw.flood(SIGNAL, 500)
    assert raw.closed_by_server()
    assert RawSocket(server.url).connect("/call", {"token": token}).startswith("0/call,")


def test_the_flooders_partner_hears_only_that_it_was_lost_and_nothing_stored_changes(guarded, demo_database):
    app, server = guarded()
    password = demo_database[1][CLERK]
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    clerk = Peer(server.url, {"appointment": reference}, cookie=staff_cookie(server.url, CLERK, password))
    try:
        raw = RawSocket(server.url)
        assert raw.connect("/call", {"token": token}).startswith("0/call,")
        clerk.wait_for("start")
        before = stored_call(app, reference)
        raw.flood(SIGNAL, 5000)
        assert raw.closed_by_server()
        assert clerk.wait_for("peer-left") == {"role": "citizen", "reason": "lost"}
        assert stored_call(app, reference) == before
        relayed = [data for name, data in clerk.events if name == "signal"]
        assert relayed and all(data == CANDIDATE for data in relayed)  # the valid ones, within the burst
        assert len(relayed) <= LIMITS["SOCKET_EVENT_BURST"]
        assert set(clerk.names()) <= {"role", "peer-joined", "start", "signal", "peer-left", "waiting-room"}
        assert clerk.client.connected
    finally:
        clerk.close()


def test_a_few_packets_for_a_namespace_just_left_are_forgiven(guarded, handled_signals):
    """A tab's packets can race the server's disconnect of its namespace: fewer than
    REFUSALS_BEFORE_CUT are refused without cutting the connection off."""
    app, server = guarded(SOCKET_EVENT_BURST=50)
    _, token = make_appointment(app)
    raw = RawSocket(server.url)
    assert raw.connect("/call", {"token": token}).startswith("0/call,")
    for _ in range(socket_guard.REFUSALS_BEFORE_CUT - 1):
        raw.send('2["signal",{"candidate":null}]')
    raw.send(SIGNAL)
    raw.send('2/call,1["signal",{"candidate":null}]')  # with an ack id: its answer shows it was handled
    assert raw.next_packet() == '3/call,1[{"ok":true}]'
    assert len(handled_signals) == 2


def test_an_address_refused_again_and_again_is_refused_at_the_handshake(guarded, token_lookups):
    """Connections refused by every namespace (a wrong token) cost a database lookup each: an
    address gets SOCKET_REFUSED_PER_ADDRESS of them, then is refused before anything is looked up."""
    app, server = guarded(SOCKET_REFUSED_PER_ADDRESS=3)
    _, token = make_appointment(app)
    for _ in range(3):
        raw = RawSocket(server.url)
        assert raw.connect("/call", {"token": "not-a-real-token"}).startswith("4/call,")
        assert raw.closed_by_server()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        RawSocket(server.url)
    assert refused.value.status_code == 429
    assert len(token_lookups) == 3
    # A citizen at another address joins as ever.
    citizen = RawSocket(server.url, source="127.0.0.2")
    assert citizen.connect("/call", {"token": token}).startswith("0/call,")
    assert len(token_lookups) == 4


def test_refusals_of_one_ipv6_network_count_together():
    assert socket_guard.address_key("2001:db8:1:2:aaaa::1") == socket_guard.address_key(
        "2001:db8:1:2:bbbb::9"
    )
    assert socket_guard.address_key("2001:db8:1:2::1") != socket_guard.address_key("2001:db8:1:3::1")
    assert socket_guard.address_key("192.0.2.7") == "192.0.2.7"
