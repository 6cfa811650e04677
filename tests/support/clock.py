"""The test clock: every test runs at a fixed instant, not at the moment the suite happens to run.

`Clock` wraps time-machine, which moves `datetime.now()`, `date.today()`, `time.time()` and friends
for the whole process (every thread, the app's `app.models.utcnow()` included). It leaves
`time.monotonic()`, `time.perf_counter()` and `time.sleep()` alone, so timeouts and waits keep
real durations. Child processes (gunicorn, the PDF inspector) and real browsers keep the real
clock.

The instant is `DEFAULT_NOW` (a Wednesday, 10:00 in Puerto Rico), or the value of the
environment variable VENTANILLA_TEST_NOW (ISO 8601 with an offset, e.g. `2031-12-31T23:59-04:00`),
which runs the whole suite at another instant. A test that describes a particular moment (a turn
taken while the line is open, a call in office hours) pins its own with `@pytest.mark.clock(at=…)`.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import time_machine

UTC = dt.UTC
PR = ZoneInfo("America/Puerto_Rico")  # UTC−4 all year, no daylight saving time
ENV_VAR = "VENTANILLA_TEST_NOW"
WEDNESDAY_10AM = dt.datetime(2031, 3, 5, 14, 0, tzinfo=UTC)  # 10:00 in Puerto Rico, offices open
DEFAULT_NOW = WEDNESDAY_10AM


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 instant with its offset (`2031-03-07T16:55-04:00`, `…Z`), as aware UTC."""
    instant = dt.datetime.fromisoformat(text.strip())
    if instant.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset: write it like 2031-03-07T16:55-04:00")
    return instant.astimezone(UTC)


def default_now() -> dt.datetime:
    """The instant tests run at unless they pin their own: VENTANILLA_TEST_NOW or DEFAULT_NOW."""
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT_NOW
    try:
        return parse_instant(text)
    except ValueError as error:
        raise ValueError(f"{ENV_VAR}: {error}") from None


def local(day: str, time: str) -> dt.datetime:
    """A Puerto Rico wall-clock moment (`local("2031-03-05", "09:00")`) as aware UTC."""
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=PR).astimezone(UTC)


def _destination(instant: dt.datetime):
    if instant.tzinfo is None:
        raise ValueError(f"the test clock needs an aware datetime, not {instant!r}")
    # time-machine reads a naive datetime as UTC. An aware one would also set the TZ environment
    # variable of the process (and of every child it starts) to its zone: this clock moves time only.
    return instant.astimezone(UTC).replace(tzinfo=None)


class Clock:
    """The process-wide test clock, frozen (`tick=False`) or ticking from its instant (`tick=True`).

    `clock.now` is the current instant (aware UTC); `clock.now = instant` or `clock.move_to(instant)`
    jumps there; `clock.advance(minutes=10)` moves forward (any timedelta keywords, or a timedelta);
    `clock.today()` is the date in Puerto Rico. A ticking clock keeps ticking after a jump.
    """

    def __init__(self, start: dt.datetime, *, tick: bool = False):
        self.start = start.astimezone(UTC)
        self.tick = tick
        self._travel = time_machine.travel(_destination(self.start), tick=tick)
        self._traveller: time_machine.Traveller | None = None

    def __enter__(self) -> Clock:
        self._traveller = self._travel.start()
        return self

    def __exit__(self, *exc) -> None:
        self._travel.stop()
        self._traveller = None

    def __call__(self) -> dt.datetime:
        return self.now

    def __repr__(self) -> str:
        return f"<Clock {'ticking' if self.tick else 'frozen'} at {self.now.isoformat()}>"

    @property
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    @now.setter
    def now(self, instant: dt.datetime) -> None:
        self.move_to(instant)

    def move_to(self, instant: dt.datetime) -> None:
        self._running().move_to(_destination(instant))

    def advance(self, delta: dt.timedelta | None = None, **timedelta_keywords) -> None:
        self._running().shift(delta if delta is not None else dt.timedelta(**timedelta_keywords))

    def today(self, zone: ZoneInfo = PR) -> dt.date:
        return self.now.astimezone(zone).date()

    def _running(self) -> time_machine.Traveller:
        if self._traveller is None:
            raise RuntimeError("the test clock is not running (use it as a context manager)")
        return self._traveller


def stamp(*paths, age: dt.timedelta = dt.timedelta(0)) -> None:
    """Set the files' modification time to `age` before now by the test clock.

    The file system stamps files with the real time, which the test clock does not move: a test
    that compares file ages with the clock (purging old files) stamps the files it writes.
    """
    when = time.time() - age.total_seconds()
    for path in paths:
        os.utime(path, (when, when))
