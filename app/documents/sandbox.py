"""One way to run code on an untrusted file: a script, by path, in a child process with limits.

The script (`pdf_inspect.py`, `pdf_render.py`) caps its own CPU time and address space before it
reads a byte; this side feeds it the file on stdin, kills it at the wall-clock limit, gives it
none of the app's environment, and lets only so many run at once per app process.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
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
            return ChildRun(stdout, stderr, process.returncode, time.monotonic() - started, timed_out=True)
        return ChildRun(stdout, stderr, process.returncode, time.monotonic() - started)


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
