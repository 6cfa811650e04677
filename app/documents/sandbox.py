"""One way to run code on an untrusted file: a script, by path, in a child process with limits.

The script (`pdf_inspect.py`, `pdf_render.py`) caps its own CPU time and address space before it
reads a byte; this side feeds it the file on stdin, kills it at the wall-clock limit, gives it
none of the app's environment, and lets only so many run at once per app process.

Two ways: `run_sandboxed` starts one child per file (page images); `run_pooled` keeps a few
children running and sends them one file after another (upload checks, where the ~200 ms start-up
of a child was most of the cost), replacing any that hits a limit or errs (see the pool below).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import logging
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """What one child process may use, and how many run at once per app process."""

    cpu_seconds: int = 5
    memory_bytes: int = 512 * MB  # address space of the child
    wall_seconds: float = 10
    concurrency: int = 4  # children at once per app process; more callers wait their turn

    @classmethod
    def sandbox_settings(cls, config, prefix: str) -> dict[str, int | float]:
        """The four limits from PREFIX_CPU_SECONDS, _MEMORY_MB, _TIMEOUT_SECONDS and _CONCURRENCY,
        each falling back to the class's default."""
        default = cls()
        return {
            "cpu_seconds": int(config.get(f"{prefix}_CPU_SECONDS", default.cpu_seconds)),
            "memory_bytes": int(config.get(f"{prefix}_MEMORY_MB", default.memory_bytes // MB)) * MB,
            "wall_seconds": float(config.get(f"{prefix}_TIMEOUT_SECONDS", default.wall_seconds)),
            "concurrency": int(config.get(f"{prefix}_CONCURRENCY", default.concurrency)),
        }


@dataclass(frozen=True)
class ChildRun:
    """What the child left behind. `timed_out`: it was killed at the wall-clock limit."""

    stdout: bytes
    stderr: bytes
    returncode: int
    seconds: float
    timed_out: bool = False
    pid: int | None = None


def script_command(script: Path, *args: object) -> list[str]:
    """The command that runs `script` by path in isolated mode, with `args` as its arguments."""
    # By path, not as `-m app.documents.…`: -m would first import the `app` package and with it
    # Flask, which more than doubles the start-up (benchmarks/pdf_validation.py). -I keeps PYTHON*
    # variables, user site-packages, the current directory and the script's folder out of sys.path.
    return [sys.executable, "-I", str(script), *(str(arg) for arg in args)]


def run_sandboxed(command: list[str], data: bytes, limits: SandboxLimits, *, task: str) -> ChildRun:
    """Run `command` with `data` on stdin once one of `task`'s slots is free; kill it at the wall clock."""
    with _slot(task, limits.concurrency):
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_child_environment(),
        )
        try:
            stdout, stderr = process.communicate(data, timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            log.warning("%s passed %ss of wall-clock time; killed", task, limits.wall_seconds)
            return ChildRun(
                stdout,
                stderr,
                process.returncode,
                time.monotonic() - started,
                timed_out=True,
                pid=process.pid,
            )
        return ChildRun(stdout, stderr, process.returncode, time.monotonic() - started, pid=process.pid)


def last_json_object(stdout: bytes) -> dict | None:
    """The JSON object on the child's last line of output, or None when there is none."""
    try:
        verdict = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None
    return verdict if isinstance(verdict, dict) else None


_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}


def _slot(task: str, concurrency: int) -> threading.BoundedSemaphore:
    # Made on first use, not at import: by then gevent has patched `threading` (gunicorn may import
    # the app before it patches), so waiting for a slot yields to other requests instead of blocking.
    return _slots.setdefault((task, concurrency), threading.BoundedSemaphore(concurrency))


def _child_environment() -> dict[str, str]:
    # None of the app's secrets (SECRET_KEY, DATABASE_URL…) in a process that parses hostile input.
    return {name: os.environ[name] for name in ("PATH", "LD_LIBRARY_PATH") if name in os.environ}


# --- a pool of long-lived children ---------------------------------------------------------------
#
# Starting a checker costs ~200 ms of CPU (the interpreter, then pypdf and `cryptography`), far more
# than checking a one-page file. So a task may keep up to `size` children running, each answering
# one request after another over its pipes:
#
#     parent → child: one JSON line (the request's parameters and "size": N), then N bytes of data
#     child → parent: one JSON line (the verdict; "retire": true when the child exits after it)
#
# The child applies its own limits (the script's `serve` loop): its address space once at start,
# its CPU time per request. The parent keeps the wall clock: a child that has not answered in time
# is killed. A child that is killed, dies, answers nonsense or asks to retire is replaced at once by
# a fresh one, which starts while the caller carries on; after `recycle_after` requests a child is
# replaced anyway. Waiting is on pipes through `selectors`, which gevent patches, so under the
# gevent worker a check yields to other requests; with threads, only the calling thread waits.


class SandboxBusy(Exception):
    """Every child of a task's pool stayed busy for the whole queue wait: the request is answered
    503 with a retry hint rather than left waiting."""


@dataclass(frozen=True)
class PoolSettings:
    """How many children a task keeps, how many requests each answers, how long a caller waits."""

    size: int = 2
    recycle_after: int = 200
    queue_seconds: float = 10


MAX_REPLY = 64 * 1024  # a verdict is one short JSON line
WRITE_CHUNK = 64 * 1024
MAX_POOLS = 4  # commands with different limits each get a pool; the least recently made goes first


class _Child:
    """One long-lived child: its pipes, its stderr in a temporary file, its requests so far."""

    def __init__(self, command: list[str]):
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=_child_environment(),
        )
        self.requests = 0
        self.stdin_fd = self.process.stdin.fileno()
        self.stdout_fd = self.process.stdout.fileno()
        os.set_blocking(self.stdin_fd, False)
        os.set_blocking(self.stdout_fd, False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, payload: bytes, wall_seconds: float) -> tuple[bytes, bool]:
        """(what the child answered, up to its first newline or its exit; whether time ran out)."""
        deadline = time.monotonic() + wall_seconds
        view, sent, reply = memoryview(payload), 0, bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(self.stdout_fd, selectors.EVENT_READ)
            selector.register(self.stdin_fd, selectors.EVENT_WRITE)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return bytes(reply), True
                for key, _events in selector.select(remaining):
                    if key.fd == self.stdin_fd:
                        try:
                            sent += os.write(self.stdin_fd, view[sent : sent + WRITE_CHUNK])
                        except BlockingIOError:
                            continue
                        except OSError:  # the child is gone: its stdout says how
                            sent = len(view)
                        if sent >= len(view):
                            selector.unregister(self.stdin_fd)
                        continue
                    try:
                        chunk = os.read(self.stdout_fd, MAX_REPLY)
                    except BlockingIOError:
                        continue
                    reply += chunk
                    if not chunk or b"\n" in reply or len(reply) > MAX_REPLY:
                        return bytes(reply), False

    def stop(self, grace: float = 0) -> None:
        """Kill the child (if it still runs after `grace` seconds) and reap it; its stderr stays readable."""
        if grace:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        with contextlib.suppress(OSError):
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a SIGKILLed child that will not die
            log.error("checker %s did not exit after SIGKILL", self.pid)
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()

    def forget(self) -> None:
        """Close this process's copies of the pipes, without touching the child (after a fork)."""
        for pipe in (self.process.stdin, self.process.stdout, self.stderr):
            with contextlib.suppress(OSError):
                pipe.close()

    def stderr_tail(self, limit: int = 2000) -> bytes:
        self.stderr.seek(0, os.SEEK_END)
        self.stderr.seek(max(0, self.stderr.tell() - limit))
        return self.stderr.read()


class ChildPool:
    """Up to `settings.size` children running `command`, started on first use, each belonging to
    the process that started it (a forked process starts its own)."""

    def __init__(self, command: list[str], settings: PoolSettings, task: str):
        self.command, self.settings, self.task = command, settings, task
        self.owner = os.getpid()
        self.closed = False
        self._idle: collections.deque[_Child] = collections.deque()
        # Made now, at first use: by then gevent has patched `threading`, so a caller waiting for a
        # child yields to other requests instead of blocking the worker.
        self._slots = threading.BoundedSemaphore(settings.size)

    def run(self, request: dict, data: bytes, wall_seconds: float) -> ChildRun:
        """Send one request to an idle child; wait at most `queue_seconds` for one (SandboxBusy)."""
        if not self._slots.acquire(timeout=self.settings.queue_seconds):
            log.warning(
                "%s: all %s children busy for %ss", self.task, self.settings.size, self.settings.queue_seconds
            )
            raise SandboxBusy(self.task)
        try:
            return self._run(request, data, wall_seconds)
        finally:
            self._slots.release()

    def _run(self, request: dict, data: bytes, wall_seconds: float) -> ChildRun:
        payload = (json.dumps({**request, "size": len(data)}) + "\n").encode() + data
        started = time.monotonic()
        for attempt in range(2):
            child = self._take()
            try:
                reply, timed_out = child.ask(payload, wall_seconds)
            except BaseException:  # interrupted (a gevent Timeout, a shutdown): the child's state is unknown
                self._replace(child)
                raise
            child.requests += 1
            verdict = last_json_object(reply) if reply.endswith(b"\n") else None
            if not timed_out and verdict is None:
                self._replace(child, grace=2)  # it closed its stdout: let it finish exiting, for its status
                # A reused child that left cleanly without a word had gone before it read this
                # request (it exited between two requests): ask a fresh one, once.
                if attempt == 0 and not reply and child.requests > 1 and child.process.returncode == 0:
                    continue
            elif timed_out:
                log.warning("%s passed %ss of wall-clock time; killed", self.task, wall_seconds)
                self._replace(child)
            break
        seconds = time.monotonic() - started
        if timed_out or verdict is None:
            return ChildRun(
                reply, child.stderr_tail(), child.process.returncode, seconds, timed_out, child.pid
            )
        if verdict.get("retire") or child.requests >= self.settings.recycle_after or not child.alive():
            self._replace(child)
        else:
            self._give_back(child)
        return ChildRun(reply, b"", 0, seconds, pid=child.pid)

    def _take(self) -> _Child:
        # Each caller holding a slot takes an idle child or starts one, and gives one back (itself
        # or its replacement): so there are never more children than slots.
        while True:
            try:
                child = self._idle.popleft()
            except IndexError:
                return _Child(self.command)
            if child.alive():
                return child
            child.stop()  # died while idle: start another

    def _give_back(self, child: _Child) -> None:
        if self.closed:
            child.stop()
        else:
            self._idle.append(child)

    def _replace(self, child: _Child, grace: float = 0) -> None:
        child.stop(grace)
        if self.closed:
            return
        try:
            self._idle.append(_Child(self.command))  # starts now, ready by the next request
        except OSError as error:  # no process to spare right now: the next caller starts one
            log.warning("%s: could not start a replacement child: %s", self.task, error)

    def close(self) -> None:
        """Stop the idle children now, and the busy ones as they come back."""
        self.closed = True
        while self._idle:
            self._idle.popleft().stop()

    def forget(self) -> None:
        self.closed = True
        while self._idle:
            self._idle.popleft().forget()


_pools: dict[tuple, ChildPool] = {}


def run_pooled(
    command: list[str],
    request: dict,
    data: bytes,
    limits: SandboxLimits,
    settings: PoolSettings,
    *,
    task: str,
) -> ChildRun:
    """Send `request` and `data` to one of the children of `task` that run `command` (see above)."""
    key = (task, tuple(command), settings)
    pool = _pools.get(key)
    if pool is not None and pool.owner != os.getpid():  # forked without the hook below: not ours
        _pools.pop(key, None)
        pool.forget()
        pool = None
    if pool is None:
        pool = _pools.setdefault(key, ChildPool(command, settings, task))
        while len(_pools) > MAX_POOLS:
            oldest = _pools.pop(next(iter(_pools), key), None)
            if oldest is not None and oldest is not pool:
                oldest.close()
    return pool.run(request, data, limits.wall_seconds)


def _forget_inherited_pools() -> None:
    # In a forked process (a gunicorn worker), the parent's children are not ours: drop our copies
    # of their pipes without killing them; this process starts its own on its first check.
    while _pools:
        _pools.popitem()[1].forget()


def shutdown_pools() -> None:
    """Stop every child this process started (at exit; children also exit when their stdin closes)."""
    while _pools:
        pool = _pools.popitem()[1]
        if pool.owner == os.getpid():
            pool.close()
        else:
            pool.forget()


os.register_at_fork(after_in_child=_forget_inherited_pools)
atexit.register(shutdown_pools)
