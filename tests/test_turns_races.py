"""The line holds under concurrency: numbers, one turn per phone, and "call next" decided by the database.

SQLite: threads calling the domain functions at once (writers queue up with BEGIN IMMEDIATE).
PostgreSQL: clerks pressing "Call next" at the same moment over HTTP against a live server.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from app import queue
from app.extensions import db
from app.models import Staff, Turn
from tests.support.clock import WEDNESDAY_10AM
from tests.support.servers import start_live_server
from tests.support.turns import CLERK_PASSWORD as PASSWORD
from tests.support.turns import give_turn, make_clerk, phones, retiro_line

# While the demo line is open; ticking, for the threads and the live server.
pytestmark = pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)


@pytest.fixture
def app(turns_app):
    """conftest's `turns_app`: the app reading the turn strings' pending Spanish too."""
    return turns_app


def run_together(count: int, work):
    """Run work(n) for n in range(count) in threads released at the same moment."""
    barrier = threading.Barrier(count)

    def start(n):
        barrier.wait(timeout=60)
        return work(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def in_thread(app, work):
    def run(n):
        with app.test_request_context():
            try:
                return work(n)
            except queue.TurnError as error:
                return error
            finally:
                db.session.remove()

    return run


def test_twenty_citizens_taking_turns_at_once_get_numbers_one_to_twenty(app, seeded, clock):
    numbers = run_together(20, in_thread(app, lambda n: give_turn(phones(20)[n]).turn.number))
    assert sorted(numbers) == list(range(1, 21))


def test_the_same_phone_racing_itself_gets_one_turn(app, seeded, clock):
    results = run_together(8, in_thread(app, lambda n: give_turn("787-555-0100").turn.code))
    assert sorted(r for r in results if isinstance(r, str)) == ["R-001"]
    assert {type(r).__name__ for r in results if not isinstance(r, str)} == {"AlreadyInLine"}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Turn)) == 1


def test_the_last_turns_of_the_day_go_to_exactly_the_capacity(app, seeded, clock):
    with app.app_context():
        retiro_line().service.daily_capacity = 5
        db.session.commit()
    results = run_together(12, in_thread(app, lambda n: give_turn(phones(12)[n]).turn.number))
    assert sorted(r for r in results if isinstance(r, int)) == [1, 2, 3, 4, 5]
    assert {r.code for r in results if not isinstance(r, int)} == {"capacity"}


@pytest.mark.parametrize("clerks", [2, 10])
def test_clerks_pressing_call_next_at_once_each_get_a_different_turn_on_sqlite(app, seeded, clock, clerks):
    with app.test_request_context():
        for phone in phones(clerks + 2):
            give_turn(phone)
        clerk_ids = [make_clerk(f"clerk{n}@retiro.example").id for n in range(clerks)]

    def call(n):
        return queue.call_next(retiro_line(), db.session.get(Staff, clerk_ids[n])).code

    codes = run_together(clerks, in_thread(app, call))
    assert sorted(codes) == [f"R-{n:03d}" for n in range(1, clerks + 1)]  # the oldest, once each
    assert_each_turn_given_once(app, clerks, waiting=2)


def assert_each_turn_given_once(app, calls: int, waiting: int):
    with app.app_context():
        rows = db.session.execute(sa.select(Turn.status, Turn.clerk_id)).all()
        calling = [clerk for status, clerk in rows if status == "calling"]
        assert len(calling) == calls and len(set(calling)) == calls  # one turn per clerk
        assert sum(status == "waiting" for status, _clerk in rows) == waiting


@pytest.fixture
def pg_seeded(pg_app):
    from app.demo import seed_demo

    with pg_app.app_context():
        seed_demo()
    return pg_app


def test_numbers_and_one_turn_per_phone_hold_on_postgresql(pg_seeded):
    numbers = run_together(10, in_thread(pg_seeded, lambda n: give_turn(phones(10)[n]).turn.number))
    assert sorted(numbers) == list(range(1, 11))
    results = run_together(6, in_thread(pg_seeded, lambda n: give_turn("787-555-0999").turn.code))
    assert [r for r in results if isinstance(r, str)] == ["R-011"]
    assert {type(r).__name__ for r in results if not isinstance(r, str)} == {"AlreadyInLine"}


@pytest.fixture
def pg_live_server(pg_seeded):
    server = start_live_server(pg_seeded)
    yield server
    server.stop()


@pytest.mark.parametrize("clerks, turns", [(2, 4), (10, 12), (10, 3)])
def test_clerks_racing_for_call_next_over_http_on_postgresql(pg_app, pg_live_server, clerks, turns):
    with pg_app.test_request_context():
        for phone in phones(turns):
            give_turn(phone)
        for n in range(clerks):
            make_clerk(f"clerk{n}@retiro.example")
        line = retiro_line()
        url = f"{pg_live_server.url}/staff/queue/{line.service.id}/{line.office.id}/call-next"
    sessions = []
    for n in range(clerks):
        session = requests.Session()
        response = session.post(
            f"{pg_live_server.url}/staff/login",
            allow_redirects=False,
            timeout=30,
            data={"email": f"clerk{n}@retiro.example", "password": PASSWORD},
        )
        assert response.status_code == 302, response.text[:300]
        sessions.append(session)

    responses = run_together(clerks, lambda n: sessions[n].post(url, allow_redirects=False, timeout=60))
    assert [r.status_code for r in responses] == [302] * clerks, [r.text[:300] for r in responses]
    assert_each_turn_given_once(pg_app, min(clerks, turns), waiting=max(turns - clerks, 0))
    with pg_app.app_context():
        called = db.session.scalars(sa.select(Turn.number).where(Turn.status == "calling")).all()
        assert sorted(called) == list(range(1, min(clerks, turns) + 1))  # the oldest first
    for session in sessions:
        session.close()
