"""Scaling out: a citizen on one gunicorn process and their clerk on another still reach each other.

Two production servers (gunicorn + gevent) share one PostgreSQL database and one Redis (the
Socket.IO message queue, which also holds who is in which call room).

The servers are child processes, on the real clock, and they decide whether the join link is open:
so this test runs on the real clock too (`real_clock`) and places the appointment by it. It is "in
call", starting in five minutes: its link opened ten minutes ago (15 minutes before the start)
and an appointment in call never passes its window, so no boundary lies ahead for the length of
the test. Should a test here ever book through the servers, it must take a slot days ahead in the
servers' own availability (`tests.support.booking.availability_query()`: from three days after
today, by the real clock here), never the first free slot from now.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
import redis

from tests.support.apps import build_app
from tests.support.servers import shared_processes
from tests.support.signaling import CLERK, Peer, make_appointment, staff_cookie

pytestmark = pytest.mark.real_clock


@pytest.fixture
def two_servers(pg_url, redis_url, tmp_path):
    queue = redis_url.rsplit("/", 1)[0] + "/14"
    with shared_processes(("a", "b"), pg_url, queue, tmp_path) as (servers, credentials):
        yield list(servers.values()), credentials


@contextmanager
def paired_call(citizen_server, clerk_server, credentials, pg_url, tmp_path):
    """An appointment in call, its citizen on `citizen_server` and its clerk on `clerk_server`,
    paired; both sockets closed afterwards, the servers' logs added to a failed assertion."""
    reference, token = make_appointment(build_app(tmp_path, pg_url), status="in_call", clerk_email=CLERK)
    citizen = Peer(citizen_server.base_url, {"token": token})
    clerk = Peer(
        clerk_server.base_url,
        {"appointment": reference},
        cookie=staff_cookie(clerk_server.base_url, CLERK, credentials[CLERK]),
    )
    try:
        clerk.wait_for("start")
        citizen.wait_for("peer-joined")
        yield citizen, clerk
    except AssertionError as error:
        raise AssertionError(f"{error}{citizen_server.logs()}{clerk_server.logs()}") from error
    finally:
        citizen.close()
        clerk.close()


def test_citizen_and_clerk_on_different_processes_are_paired_and_relayed(two_servers, pg_url, tmp_path):
    (server_a, server_b), credentials = two_servers
    with paired_call(server_a, server_b, credentials, pg_url, tmp_path) as (citizen, clerk):
        assert clerk.call("signal", {"description": {"type": "offer", "sdp": "v=0 from B"}}) == {"ok": True}
        assert citizen.wait_for("signal") == {"description": {"type": "offer", "sdp": "v=0 from B"}}
        assert citizen.call("chat", {"text": "hola desde A"}) == {"ok": True}
        assert clerk.wait_for("chat") == {"from": "citizen", "text": "hola desde A"}


def published(listener, seconds: float) -> bytes:
    """Everything published on the Redis server's channels for `seconds` (pub/sub ignores db numbers)."""
    seen, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=0.1)
        if message and message["type"] == "pmessage":
            seen += message["data"]
    return seen


def test_a_call_whose_two_sides_are_on_one_process_relays_its_signals_without_redis(
    two_servers, pg_url, redis_url, tmp_path
):
    """Both on process A: a signal is delivered there and never published for B to decode; a chat
    message (through the queue, as before) shows the listener hears what is published."""
    (server_a, _server_b), credentials = two_servers
    listener = redis.Redis.from_url(redis_url).pubsub()
    listener.psubscribe("*socketio*")
    try:
        with paired_call(server_a, server_a, credentials, pg_url, tmp_path) as (citizen, clerk):
            published(listener, 0.5)  # what pairing published
            offer = {"description": {"type": "offer", "sdp": "v=0 same process"}}
            assert clerk.call("signal", offer) == {"ok": True}
            assert citizen.wait_for("signal") == offer
            assert citizen.call("chat", {"text": "hola por la cola"}) == {"ok": True}
            assert clerk.wait_for("chat") == {"from": "citizen", "text": "hola por la cola"}
            seen = published(listener, 1.0)
            assert b"hola por la cola" in seen and b"same process" not in seen
    finally:
        listener.close()
