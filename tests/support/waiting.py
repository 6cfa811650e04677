"""Waiting for something to happen without fixed sleeps: poll with a deadline.

Deadlines use `time.monotonic()`, which the test clock does not move.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Call `predicate` until it returns something truthy or `timeout` seconds pass; return its last
    value either way, so the caller's own assertion says what went wrong."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
