"""The test clock itself (tests/support/clock.py and conftest's `clock`): what the suite relies on."""

import datetime as dt
import subprocess
import sys
import time

import pytest
import time_machine

from app.models import utcnow
from tests.support.clock import ENV_VAR, PR, UTC, default_now, local, parse_instant
from tests.support.waiting import poll


def test_every_test_starts_frozen_at_the_default_instant(clock):
    assert clock.now == default_now() and not clock.tick
    assert utcnow() == dt.datetime.now(UTC) == clock.now  # the app reads the same clock
    assert time.time() == clock.now.timestamp()
    time.sleep(0.01)
    assert clock.now == default_now()  # real time passed, the clock did not


def test_it_moves_only_when_told(clock):
    start = clock.now
    clock.advance(minutes=10)
    assert utcnow() == start + dt.timedelta(minutes=10)
    clock.advance(dt.timedelta(days=-1))
    assert clock.now == start + dt.timedelta(days=-1, minutes=10)
    clock.now = local("2031-12-31", "23:59")
    assert clock.now == dt.datetime(2032, 1, 1, 3, 59, tzinfo=UTC) and clock.today() == dt.date(2031, 12, 31)
    with pytest.raises(ValueError):
        clock.move_to(dt.datetime(2031, 1, 1))  # a naive datetime says no instant


@pytest.mark.clock(at=local("2031-03-07", "16:55"))
def test_a_test_pins_its_own_instant(clock):
    assert clock.now == dt.datetime(2031, 3, 7, 20, 55, tzinfo=UTC)
    assert dt.datetime.now(PR).strftime("%A %H:%M") == "Friday 16:55"


@pytest.mark.clock(tick=True)
def test_a_ticking_clock_starts_at_its_instant_and_runs(clock):
    start = default_now()
    assert start <= clock.now < start + dt.timedelta(minutes=1)
    assert poll(lambda: clock.now > start + dt.timedelta(milliseconds=20))
    clock.advance(hours=1)
    assert clock.now >= start + dt.timedelta(hours=1)


@pytest.mark.real_clock
def test_real_clock_leaves_time_alone(clock, tmp_path):
    assert clock is None and not time_machine.escape_hatch.is_travelling()
    (tmp_path / "now").touch()  # the file system stamps files with the real time
    assert abs((tmp_path / "now").stat().st_mtime - time.time()) < 60


def test_child_processes_keep_the_real_clock(clock):
    real = time_machine.escape_hatch.time.time()
    clock.move_to(dt.datetime.fromtimestamp(real, UTC) + dt.timedelta(days=400))
    child = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"], capture_output=True, text=True, check=True
    )
    assert abs(float(child.stdout) - real) < 60  # not the test clock's 400 days ahead


def test_the_environment_variable_sets_the_default_instant(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "2031-12-31T23:59-04:00")
    assert default_now() == dt.datetime(2032, 1, 1, 3, 59, tzinfo=UTC)
    monkeypatch.setenv(ENV_VAR, "2031-03-07T20:55Z")
    assert default_now() == local("2031-03-07", "16:55")
    monkeypatch.setenv(ENV_VAR, "2031-03-07T16:55")
    with pytest.raises(ValueError, match="no UTC offset"):
        default_now()
    with pytest.raises(ValueError):
        parse_instant("next friday")
