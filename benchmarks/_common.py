"""Helpers shared by the benchmarks: machine facts, percentiles, a throwaway PostgreSQL database.

Not a benchmark itself. Everything here talks only to 127.0.0.1.
"""

from __future__ import annotations

import math
import os
import platform
import shlex
import socket
import statistics
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


# --- what ran, where ----------------------------------------------------------------------------


def command_line() -> str:
    return " ".join(shlex.quote(part) for part in [Path(sys.executable).name, *sys.argv])


def machine_info() -> str:
    import sqlalchemy

    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"nproc {usable} (of {cpus}), Python {platform.python_version()}, "
        f"SQLAlchemy {sqlalchemy.__version__}, {platform.machine()}, load average {load}"
    )


def print_header(description: str) -> None:
    print(f"# {description}\n")
    print(f"command: `{command_line()}`  ")
    print(f"machine: {machine_info()}\n", flush=True)


# --- numbers ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100), linear between the closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "median": statistics.median(ms) if ms else math.nan,
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "min": min(ms, default=math.nan),
        "max": max(ms, default=math.nan),
    }


def fmt(value: float, digits: int = 1) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def markdown_table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """align: one character per column, 'l' or 'r' (default: first left, the rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --- a throwaway PostgreSQL database ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def fresh_postgres_database(admin_url: str = PG_ADMIN_URL):
    """Yield the URL of a new database `ventanilla_bench_<random>`; it is dropped on the way out."""
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"ventanilla_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_version(admin_url: str = PG_ADMIN_URL) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()


# --- process CPU from /proc (Linux) -------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> tuple[float, float]:
    """(own user+system CPU, CPU of its reaped children) of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    # After the ")" field 0 is state (stat field 3): utime=11, stime=12, cutime=13, cstime=14.
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS


def child_pids(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += [int(p) for p in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return children
