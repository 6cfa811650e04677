"""The /call signaling relay, with real python-socketio clients against a live server.

Nothing here sleeps for a fixed time: a peer waits for the events it expects, and a check that
something did *not* arrive first makes a round trip on that connection (`Peer.sync`).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio
import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, CallSession
from tests.support.signaling import ADMIN, CLERK, OTHER_AGENCY_CLERK, Peer, make_appointment, staff_cookie
from tests.support.two_factor import requests_sign_in

# A live server and real clients: the clock ticks, from the fixed instant; appointments start a few
# minutes after it (make_appointment), inside their join window.
pytestmark = pytest.mark.clock(tick=True)


@pytest.fixture
def server(app, seeded, live_server):
    peers = []

    class Server:
        url = live_server.url
        credentials = seeded

        def citizen(self, token):
            return self.citizen_with(token)

        def clerk(self, reference, email=CLERK):
            return self.clerk_with(reference, email=email)

        def citizen_with(self, token, **auth):
            peer = Peer(live_server.url, {"token": token, **auth})
            peers.append(peer)
            return peer

        def clerk_with(self, reference, email=CLERK, **auth):
            peer = Peer(
                live_server.url,
                {"appointment": reference, **auth},
                cookie=staff_cookie(live_server.url, email, seeded[email], app),
            )
            peers.append(peer)
            return peer

    yield Server()
    for peer in peers:
        peer.close()


def refused(connect) -> bool:
    try:
        peer = connect()
    except socketio.exceptions.ConnectionError:
        return True
    peer.close()
    return False


def test_citizen_and_clerk_pair_up_and_only_the_clerk_offers_first(app, server):
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    citizen = server.citizen(token)
    assert citizen.wait_for("role") == {"role": "citizen", "polite": True}
    clerk = server.clerk(reference)
    assert clerk.wait_for("role") == {"role": "clerk", "polite": False}
    clerk.wait_for("start")
    citizen.wait_for("peer-joined")
    assert "start" not in citizen.names()


def test_each_side_learns_the_others_name_and_how_long_the_call_has_been_on(app, server):
    """Issue #10, item 8: the citizen's screen shows the clerk's name and the call's elapsed time,
    counted by the server from the admission (a reload or a fast phone clock keeps it right)."""
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        admitted = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=90)
        db.session.add(
            CallSession(appointment_id=appointment.id, admitted_at=admitted, clerk_id=appointment.clerk_id)
        )
        db.session.commit()
    citizen, clerk = server.citizen(token), server.clerk(reference)
    joined = citizen.wait_for("peer-joined")
    assert joined["name"] == "Clerk DTOP" and 90 <= joined["elapsed"] < 90 + 60
    assert clerk.wait_for("peer-joined")["name"] == "Ana Rivera"


def test_relayed_signals_keep_their_order(app, server):
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    citizen, clerk = server.citizen(token), server.clerk(reference)
    clerk.wait_for("start")
    for n in range(60):
        clerk.client.emit(
            "signal",
            {
                "candidate": {
                    "candidate": f"candidate:{n} 1 udp 1 127.0.0.1 {9000 + n} typ host",
                    "sdpMid": "0",
                    "sdpMLineIndex": 0,
                }
            },
            namespace="/call",
        )
    citizen.wait_until(lambda events: len([e for e in events if e[0] == "signal"]) >= 60)
    received = [
        data["candidate"]["candidate"].split()[0] for name, data in citizen.events if name == "signal"
    ]
    assert received == [f"candidate:{n}" for n in range(60)]


@pytest.mark.parametrize("case", ["bogus", "cancelled", "passed", "early", "wrong_type"])
def test_citizens_without_a_valid_open_link_are_refused(app, server, case):
    if case == "bogus":
        token = "not-a-real-token"
    elif case == "wrong_type":
        token = 12345
    else:
        offsets = {
            "cancelled": dt.timedelta(minutes=5),
            "passed": dt.timedelta(hours=-3),
            "early": dt.timedelta(hours=2),
        }
        _, token = make_appointment(
            app, starts_in=offsets[case], status="cancelled" if case == "cancelled" else "booked"
        )
    assert refused(lambda: server.citizen(token))


def test_anonymous_and_unassigned_staff_are_refused(app, server):
    reference, _ = make_appointment(app, status="in_call", clerk_email=CLERK)
    assert refused(lambda: Peer(server.url, {"appointment": reference}))
    assert refused(lambda: server.clerk(reference, email=OTHER_AGENCY_CLERK))
    assert refused(lambda: server.clerk(reference, email=ADMIN))  # same agency, but not the assigned clerk
    assert refused(lambda: Peer(server.url, {"room": "appointment-1"}))


def test_a_citizen_never_receives_anything_of_another_appointment(app, server):
    ref_a, token_a = make_appointment(app, status="in_call", clerk_email=CLERK)
    ref_b, token_b = make_appointment(
        app, status="in_call", clerk_email=ADMIN, email="luis@example.com", starts_in=dt.timedelta(minutes=6)
    )
    citizen_a, citizen_b = server.citizen(token_a), server.citizen(token_b)
    clerk_a, clerk_b = server.clerk(ref_a), server.clerk(ref_b, email=ADMIN)
    clerk_b.wait_for("start")
    clerk_b.call("chat", {"text": "only for B"})
    assert citizen_b.wait_for("chat") == {"from": "clerk", "text": "only for B"}
    citizen_a.sync()  # anything the server sent A before its answer has arrived by now
    clerk_a.sync()
    assert "chat" not in citizen_a.names() and "chat" not in clerk_a.names()


@pytest.mark.parametrize(
    "payload",
    [
        {"description": {"type": "offer", "sdp": "x" * (70 * 1024)}},  # over 64 KB
        {"description": {"type": "bogus", "sdp": ""}},
        {"candidate": {"candidate": 42}},
        {"candidate": {"candidate": "a", "extra": "field"}},
        {"description": {"type": "offer", "sdp": "v=0"}, "candidate": None},
        "a string",
        ["a", "list"],
        None,
    ],
)
def test_malformed_or_oversize_signals_are_dropped_and_the_call_goes_on(app, server, payload):
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    citizen, clerk = server.citizen(token), server.clerk(reference)
    clerk.wait_for("start")
    assert clerk.call("signal", payload) == {"ok": False}
    assert clerk.client.connected and citizen.client.connected
    assert clerk.call("signal", {"candidate": None}) == {"ok": True}
    assert citizen.wait_for("signal") == {"candidate": None}
    assert [name for name in citizen.names() if name == "signal"] == ["signal"]


def test_a_flood_of_messages_is_rate_limited(app, server):
    app.config.update(CALL_SIGNAL_RATE=1, CALL_SIGNAL_BURST=5)
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    _citizen, clerk = server.citizen(token), server.clerk(reference)
    clerk.wait_for("start")
    answers = [clerk.call("chat", {"text": f"m{n}"})["ok"] for n in range(12)]
    assert answers[:5] == [True] * 5 and answers.count(True) <= 6
    assert clerk.client.connected


def test_a_second_tab_of_the_citizen_replaces_the_first(app, server):
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    first = server.citizen(token)
    first.wait_for("role")
    second = server.citizen(token)
    first.wait_for("replaced")
    first.wait_disconnected()
    assert not first.client.connected
    clerk = server.clerk(reference)
    clerk.wait_for("start")
    second.wait_for("peer-joined")


def test_the_waiting_room_reaches_the_agencys_console_only(app, server):
    reference, token = make_appointment(app)
    console = Peer(
        server.url, {"console": True}, cookie=staff_cookie(server.url, CLERK, server.credentials[CLERK])
    )
    other = Peer(
        server.url,
        {"console": True},
        cookie=staff_cookie(server.url, OTHER_AGENCY_CLERK, server.credentials[OTHER_AGENCY_CLERK]),
    )
    try:
        citizen = server.citizen(token)
        update = console.wait_for("waiting-room")
        assert update["reference"] == reference and update["state"] == "waiting" and update["present"]
        other.sync()  # the update went to every console watching before `console` got it
        assert "waiting-room" not in other.names()
        citizen.close()
        console.wait_until(
            lambda events: any(name == "waiting-room" and not data["present"] for name, data in events)
        )
        assert any(name == "waiting-room" and not data["present"] for name, data in console.events)
    finally:
        console.close()
        other.close()


def test_two_clerks_admitting_at_once_get_one_winner(app, server):
    reference, token = make_appointment(app)
    server.citizen(token).wait_for("role")  # the citizen is in the waiting room
    sessions = []
    for email in (CLERK, ADMIN):
        session = requests.Session()
        requests_sign_in(session, server.url, email, server.credentials[email], app)
        sessions.append(session)
    barrier = threading.Barrier(2)

    def admit(session):
        barrier.wait(timeout=10)
        return session.post(
            f"{server.url}/staff/appointments/{reference}/admit", allow_redirects=False, timeout=10
        ).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(admit, sessions))
    assert statuses == [302, 409]
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        assert appointment.status == "in_call" and appointment.clerk_id is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CallSession)) == 1


def test_nobody_is_admitted_who_is_not_in_the_waiting_room(app, server):
    """Issue #10, item 2: a clerk could admit an absent citizen, who then dropped straight into a
    live call on opening the link."""
    reference, token = make_appointment(app)
    clerk = requests.Session()
    clerk.post(f"{server.url}/staff/login", data={"email": CLERK, "password": server.credentials[CLERK]})
    absent = clerk.post(
        f"{server.url}/staff/appointments/{reference}/admit", allow_redirects=False, timeout=10
    )
    assert absent.status_code == 409 and "todavía no está en la sala de espera" in absent.text
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        assert appointment.status == "booked" and appointment.clerk_id is None
    server.citizen(token).wait_for("role")
    present = clerk.post(
        f"{server.url}/staff/appointments/{reference}/admit", allow_redirects=False, timeout=10
    )
    assert present.status_code == 302


def test_ice_servers_need_a_participant_and_mint_expiring_turn_credentials(app, server):
    import base64
    import hashlib
    import hmac

    app.config.update(
        STUN_URLS=["stun:stun.example.pr:3478"],
        TURN_URLS=["turn:turn.example.pr:3478"],
        TURN_SECRET="s3cret",
        TURN_TTL_SECONDS=600,
    )
    _, token = make_appointment(app)
    assert requests.get(f"{server.url}/call/ice-servers", timeout=10).status_code == 403
    assert requests.get(f"{server.url}/call/ice-servers?token=nope", timeout=10).status_code == 403
    servers = requests.get(f"{server.url}/call/ice-servers?token={token}", timeout=10).json()["iceServers"]
    stun, turn = servers
    assert stun == {"urls": ["stun:stun.example.pr:3478"]}
    expiry, user = turn["username"].split(":")
    assert 590 <= int(expiry) - time.time() <= 610 and user.startswith("citizen-")
    expected = base64.b64encode(
        hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()
    ).decode()
    assert turn["credential"] == expected
    # The page learns how long they last, to ask for fresh ones in time (call.js).
    assert requests.get(f"{server.url}/call/ice-servers?token={token}", timeout=10).json()["ttl"] == 600
    app.config.update(TURN_URLS=[], TURN_SECRET=None)
    assert requests.get(f"{server.url}/call/ice-servers?token={token}", timeout=10).json()["ttl"] is None


@pytest.mark.parametrize(
    ("citizen_peer", "clerk_peer", "mode"),
    [
        ("connected", "connected", "keep"),  # a reconnect while the media flows: nothing to do
        ("broken", "connected", "restart"),  # both hold a negotiated connection: ICE restart
        ("broken", "broken", "restart"),
        ("none", "connected", "fresh"),  # the citizen reloaded: a new connection
        ("connected", "none", "fresh"),
        ("bogus", "connected", "fresh"),  # an unknown state counts as none
    ],
)
def test_when_the_pair_completes_again_both_sides_hear_whether_to_keep_their_connection(
    app, server, citizen_peer, clerk_peer, mode
):
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    citizen = server.citizen_with(token, peer=citizen_peer)
    citizen.wait_for("role")
    clerk = server.clerk_with(reference, peer=clerk_peer)
    assert clerk.wait_for("start") == {"mode": mode}
    assert citizen.wait_for("peer-joined")["mode"] == mode
    assert clerk.wait_for("peer-joined")["fresh"] == (mode == "fresh")


def test_the_peer_state_a_page_reports_decides_the_next_pairing(app, server):
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    citizen = server.citizen(token)  # from the waiting room: no connection yet
    citizen.wait_for("role")
    assert citizen.call("peer_state", {"state": "connected"}) == {"ok": True}
    assert citizen.call("peer_state", {"state": "dancing"}) == {"ok": False}
    assert citizen.call("peer_state", None) == {"ok": False}
    clerk = server.clerk_with(reference, peer="connected")  # the clerk's socket came back
    assert clerk.wait_for("start") == {"mode": "keep"}


def test_the_other_side_hears_whether_a_page_left_or_only_lost_its_socket(app, server):
    reference, token = make_appointment(app, status="in_call", clerk_email=CLERK)
    citizen, clerk = server.citizen(token), server.clerk(reference)
    clerk.wait_for("start")
    citizen.client.eio.ws.close()  # the socket drops, no goodbye
    assert clerk.wait_for("peer-left") == {"role": "citizen", "reason": "lost"}
    again = server.citizen(token)
    again.wait_for("peer-joined")
    # The page says goodbye: the Socket.IO DISCONNECT packet a browser's socket.disconnect() sends
    # (this client's own disconnect() may close the transport before that packet is out).
    again.client.eio.send("1/call,")
    clerk.wait_until(lambda events: len([e for e in events if e[0] == "peer-left"]) == 2)
    assert [data for name, data in clerk.events if name == "peer-left"][1] == {
        "role": "citizen",
        "reason": "left",
    }


def test_a_citizen_leaving_updates_the_console_even_if_the_clerks_socket_is_closing(app, seeded, monkeypatch):
    """Issue #10, item 5: at the end of a call, emitting peer-left to a socket that was closing
    raised SocketIsClosedError in on_disconnect and the console never heard the citizen left."""
    from engineio.exceptions import SocketIsClosedError
    from flask import request

    from app.call import events
    from app.calls.presence import Participant, rooms

    _reference, _token = make_appointment(app, status="in_call", clerk_email=CLERK)
    with app.app_context():
        appointment_id = db.session.scalar(sa.select(Appointment.id))
    rooms.join(Participant(sid="clerk-sid", role="clerk", appointment_id=appointment_id, agency_id=1))
    rooms.join(Participant(sid="citizen-sid", role="citizen", appointment_id=appointment_id, agency_id=1))
    told = []
    monkeypatch.setattr(events, "notify_waiting_room", lambda appointment: told.append(appointment.id))
    namespace = events.CallNamespace(events.NAMESPACE)

    def closed(*args, **kwargs):
        raise SocketIsClosedError()

    monkeypatch.setattr(namespace, "emit", closed)
    try:
        with app.test_request_context():
            request.sid = "citizen-sid"
            namespace.on_disconnect()
    finally:
        rooms.leave("clerk-sid")
    assert told == [appointment_id]
