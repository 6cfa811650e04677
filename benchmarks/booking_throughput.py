"""How many bookings per second the production server takes, and at what latency.

    .venv/bin/python benchmarks/booking_throughput.py [--levels 1 8 32] [--bookings 200]
        [--no-document-levels 1 32] [--rounds 1] [--level-seconds 120] [--processes 1]
        [--compare DIR] [--json FILE]

Starts the real production server, `gunicorn -c gunicorn.conf.py wsgi:app` (gevent workers,
WEB_CONCURRENCY=`--processes`, VENTANILLA_ENV=production), on a free port of 127.0.0.1 against a
fresh PostgreSQL database (`ventanilla_bench_<random>`, migrated with `flask db upgrade`, seeded
with `flask seed-demo`, dropped at the end). Rate limits are off (RATELIMIT_ENABLED=false): the API
allows 20 bookings an hour per address. So are the proof of work (PROOF_OF_WORK=false: its server
side is one SHA-256 and one insert). The daily caps per e-mail domain and phone stay at their
defaults: like real citizens, every booking has its own phone number, and its address is at a
domain the domain cap does not count (BOOKING_CAP_EXEMPT_DOMAINS=example.com, as for the consumer
providers). Before, every booking came from one phone and one domain with the caps raised to
1,000,000: concurrent bookings then raced for the same next numbered place, and each one re-read
all the places already taken, which made a booking's CPU grow with the concurrency (a measurement
artefact: no real phone books hundreds of times a day).

`--compare DIR` measures the code in DIR (another checkout, e.g. the main branch, with its own
.venv and compiled translations) as "before" beside this one as "after": both servers run at once,
each on its own database with the same settings, and every level is run against one, then the
other, so both see the same machine.

Then, for each concurrency level C, C threads (one requests.Session each) POST /api/v1/appointments
until `--bookings` are done or `--level-seconds` have passed:

- `video`: `certificacion-individuo`, multipart with a valid one-page PDF (tests/pdf_factory), so
  each booking also has its PDF checked by one of the worker's pooled checker processes;
- `in person`: `renovacion-licencia`, which asks for no document (separates PDF cost from booking).

Every booking has its own e-mail address and its own slot: slots are taken round-robin from the
availability endpoint (read once at the start), so the seat rule rarely refuses (409) one; the
services' capacity_per_slot is raised when the slots of the window could not hold every booking.
Prints per level: bookings/s, latency median/p95/p99, statuses, the CPU each booking cost in the
gunicorn workers, in their PDF inspector children, in the PostgreSQL backends and in this client
(all on the same cores), the most connections the server held open (and how many were idle inside
a transaction), and the latency of a GET /healthz sent every 0.2 s meanwhile. `--json FILE` writes
one object per row of that table.

The e-mails themselves are not sent during the run (production sends them from `flask send-due`,
another process): the CPU of a booking is the request's, queueing its messages included.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import io
import itertools
import json
import logging
import math
import os
import pstats
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks._common import (  # noqa: E402
    child_pids,
    fmt,
    free_port,
    fresh_postgres_database,
    markdown_table,
    percentile,
    postgres_version,
    print_header,
    process_cpu_seconds,
)
from tests import pdf_factory  # noqa: E402

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 30
REQUEST_TIMEOUT = 60
WARMUP_BOOKINGS = 3
SLOT_MARGIN = dt.timedelta(hours=3)  # skip slots this close to now: the lead time may catch up

SERVICES = {
    "video": dict(slug="certificacion-individuo", days=30, document=True),
    "in person": dict(slug="renovacion-licencia", days=45, document=False),
}

# Settings that would point a child process at shared services or change its shape.
_SCRUB = (
    "SECRET_KEY",
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "REDIS_URL",
    "SOCKETIO_MESSAGE_QUEUE",
    "SOCKETIO_ASYNC_MODE",
    "RATELIMIT_STORAGE_URI",
    "PORT",
    "BIND",
    "WEB_CONCURRENCY",
    "INSTANCE_DIR",
    "UPLOAD_DIR",
    "OUTBOX_DIR",
    "FLASK_APP",
    "GUNICORN_CMD_ARGS",
    "GUNICORN_CONTROL_SOCKET",
    "PUBLIC_BASE_URL",
    "VENTANILLA_ENV",
    "RATELIMIT_ENABLED",
    "PROOF_OF_WORK",
    "BOOKING_DAILY_CAP_PER_DOMAIN",
    "BOOKING_DAILY_CAP_PER_PHONE",
    "BOOKING_CAP_EXEMPT_DOMAINS",
)


# --- the server ---------------------------------------------------------------------------------


def production_env(tmp: Path, port: int, database_url: str, processes: int = 1) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    instance = tmp / "instance"
    env.update(
        VENTANILLA_ENV="production",
        SECRET_KEY="benchmark-secret-key-" + uuid.uuid4().hex,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SESSION_COOKIE_SECURE="false",
        RATELIMIT_ENABLED="false",
        PROOF_OF_WORK="false",
        # Every booking has its own phone number and an address at a consumer domain, as real
        # citizens do, so the daily caps stay at their defaults and are measured too.
        BOOKING_CAP_EXEMPT_DOMAINS="example.com",
        INSTANCE_DIR=str(instance),
        UPLOAD_DIR=str(instance / "uploads"),
        OUTBOX_DIR=str(instance / "outbox"),
        DATABASE_URL=database_url,
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=str(processes),
        GUNICORN_GRACEFUL_TIMEOUT="3",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    return env


def run(
    args: list[str], env: dict[str, str], timeout: float = 120, root: Path = ROOT
) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class Server:
    def __init__(self, env: dict[str, str], tmp: Path, port: int, root: Path = ROOT, processes: int = 1):
        self.base_url = f"http://127.0.0.1:{port}"
        self.processes = processes
        self.stdout_path, self.stderr_path = tmp / "server.stdout", tmp / "server.stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(root / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=root,
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )  # its own group: workers go with it

    def logs(self) -> str:
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return f"\n--- server exit code: {self.proc.poll()}\n--- stderr (tail):\n{text[-4000:]}"

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited before it was healthy{self.logs()}")
            try:
                if requests.get(f"{self.base_url}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or too slow on a busy machine
                pass
            time.sleep(0.2)
        raise SystemExit(f"/healthz not healthy after {STARTUP_SECONDS}s{self.logs()}")

    def exceptions(self) -> Counter:
        """The last line of each traceback in the server's log (what the 500s were), counted."""
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        found = Counter()
        for line in text.splitlines():
            if re.match(r"^[\w.]+(Error|Exception|Timeout)\b.*?:", line):
                found[line.strip()[:160]] += 1
        return found

    def worker_pids(self) -> list[int]:
        deadline = time.monotonic() + STARTUP_SECONDS
        while len(workers := child_pids(self.proc.pid)) < self.processes and time.monotonic() < deadline:
            time.sleep(0.2)  # the second worker may still be starting
        if len(workers) != self.processes:
            raise SystemExit(f"expected {self.processes} gunicorn workers, found {workers}{self.logs()}")
        return workers

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass


# --- CPU and connections, read from outside the server ------------------------------------------


def postgres_backends(database: str) -> dict[int, float]:
    """{pid: CPU seconds} of the PostgreSQL backends connected to `database`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if cmdline.startswith(b"postgres: ") and f" {database} ".encode() in cmdline:
                found[int(entry.name)] = process_cpu_seconds(int(entry.name))[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


@dataclass
class CpuSnapshot:
    worker: float
    children: float
    postgres: dict[int, float]
    client: float

    @classmethod
    def take(cls, worker_pids: list[int], database: str) -> CpuSnapshot:
        own = children = 0.0
        for worker_pid in worker_pids:
            worker, reaped = process_cpu_seconds(worker_pid)
            own, children = own + worker, children + reaped
            # The PDF checkers live on between bookings (a pool): reaped ones are in `reaped`, live
            # ones are added here; one reaped between two snapshots counts once (its total minus
            # its share already in the first snapshot).
            for pid in child_pids(worker_pid):
                try:
                    children += process_cpu_seconds(pid)[0]
                except (FileNotFoundError, ProcessLookupError):
                    continue
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(own, children, postgres_backends(database), usage.ru_utime + usage.ru_stime)

    def since(self, before: CpuSnapshot) -> dict[str, float]:
        postgres = sum(cpu - before.postgres.get(pid, 0.0) for pid, cpu in self.postgres.items())
        return {
            "worker": self.worker - before.worker,
            "pdf": self.children - before.children,
            "postgres": postgres,
            "client": self.client - before.client,
        }


class ConnectionSampler:
    """Samples pg_stat_activity while a level runs: connections open, and idle in a transaction."""

    def __init__(self, admin_engine, database: str, every: float = 0.25):
        self.engine, self.database, self.every = admin_engine, database, every
        self.max_open = self.max_idle_in_transaction = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        query = sa.text(
            "SELECT count(*), count(*) FILTER (WHERE state = 'idle in transaction') "
            "FROM pg_stat_activity WHERE datname = :db"
        )
        with self.engine.connect() as connection:
            while not self._stop.wait(self.every):
                total, idle_in_tx = connection.execute(query, {"db": self.database}).one()
                self.max_open = max(self.max_open, total)
                self.max_idle_in_transaction = max(self.max_idle_in_transaction, idle_in_tx)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


class HealthProbe:
    """GET /healthz (one `SELECT 1`) every `every` seconds while a level runs: what a cheap request
    that needs a database connection waits for while the bookings hold the pool."""

    def __init__(self, base_url: str, every: float = 0.2):
        self.url, self.every = f"{base_url}/healthz", every
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with requests.Session() as session:
            while not self._stop.wait(self.every):
                started = time.perf_counter()
                try:
                    session.get(self.url, timeout=REQUEST_TIMEOUT)
                except requests.RequestException:
                    continue
                self.latencies.append(time.perf_counter() - started)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=REQUEST_TIMEOUT + 5)


# --- the load -----------------------------------------------------------------------------------


def free_slots(base_url: str, slug: str, days: int) -> list[dict]:
    response = requests.get(
        f"{base_url}/api/v1/services/{slug}/availability", params={"days": days}, timeout=30
    )
    response.raise_for_status()
    soon = dt.datetime.now(dt.UTC) + SLOT_MARGIN
    return [
        slot
        for day in response.json()["days"]
        for slot in day["slots"]
        if dt.datetime.fromisoformat(slot["start"]) > soon
    ]


class SlotCycle:
    """Hands out slots round-robin, shared by every level of one service."""

    def __init__(self, slots: list[dict]):
        self._cycle = itertools.cycle(slots)
        self._lock = threading.Lock()

    def next(self) -> dict:
        with self._lock:
            return next(self._cycle)


@dataclass
class LevelResult:
    side: str
    variant: str
    clients: int
    processes: int
    wall: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)
    max_connections: int = 0
    max_idle_in_transaction: int = 0
    probe_latencies: list[float] = field(default_factory=list)
    other_examples: list[str] = field(default_factory=list)


PHONES = itertools.count()  # one number per booking of the whole run (the cap is 3 a day per number)


def booking_form(variant: str, slot: dict, tag: str) -> dict[str, str]:
    number = next(PHONES)
    return {
        "service": SERVICES[variant]["slug"],
        "office": str(slot["office"]),
        "start": slot["start"],
        "name": "Ciudadana de Prueba",
        "email": f"bench-{tag}@example.com",
        "phone": f"787-{200 + number // 10_000:03d}-{number % 10_000:04d}",
        "licence_number": "1234567",
        "language": "es",
    }


def booking_request(
    session: requests.Session, base_url: str, variant: str, slot: dict, pdf: bytes, tag: str
) -> tuple[float, int | str, str]:
    data = booking_form(variant, slot, tag)
    files = (
        {"licence_front": ("licencia.pdf", pdf, "application/pdf")} if SERVICES[variant]["document"] else None
    )
    started = time.perf_counter()
    try:
        response = session.post(
            f"{base_url}/api/v1/appointments", data=data, files=files, timeout=REQUEST_TIMEOUT
        )
    except requests.RequestException as error:
        return time.perf_counter() - started, "error", repr(error)[:200]
    return time.perf_counter() - started, response.status_code, response.text[:200]


def run_level(
    base_url: str,
    variant: str,
    clients: int,
    bookings: int,
    seconds: float,
    slots: SlotCycle,
    pdf: bytes,
    worker_pids: list[int],
    database: str,
    admin_engine,
    side: str = "",
) -> LevelResult:
    counter = itertools.count()
    results: list[tuple[float, int | str, str]] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    run_id = uuid.uuid4().hex[:8]
    deadline_box: list[float] = []

    def client() -> None:
        with requests.Session() as session:
            start_gate.wait(timeout=30)
            while True:
                index = next(counter)
                if index >= bookings or time.monotonic() > deadline_box[0]:
                    return
                outcome = booking_request(session, base_url, variant, slots.next(), pdf, f"{run_id}-{index}")
                with lock:
                    results.append(outcome)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    before = CpuSnapshot.take(worker_pids, database)
    with ConnectionSampler(admin_engine, database) as sampler, HealthProbe(base_url) as probe:
        deadline_box.append(time.monotonic() + seconds)
        started = time.perf_counter()
        start_gate.wait(timeout=30)
        # Bounded: every request has its own timeout and no new one starts after the deadline.
        give_up = time.monotonic() + seconds + REQUEST_TIMEOUT + 10
        for thread in threads:
            thread.join(timeout=max(0.0, give_up - time.monotonic()))
        wall = time.perf_counter() - started
    after = CpuSnapshot.take(worker_pids, database)

    result = LevelResult(
        side=side,
        variant=variant,
        clients=clients,
        processes=len(worker_pids),
        wall=wall,
        cpu=after.since(before),
        max_connections=sampler.max_open,
        max_idle_in_transaction=sampler.max_idle_in_transaction,
        probe_latencies=probe.latencies,
    )
    for latency, status, body in results:
        result.latencies.append(latency)
        result.statuses[status] += 1
        if status not in (201, 409) and len(result.other_examples) < 3:
            result.other_examples.append(f"{status}: {body.strip()}")
    return result


def raise_capacity(database_url: str, needs: dict[str, int], slot_counts: dict[str, int]) -> list[str]:
    """Raise capacity_per_slot where round-robin would put more bookings in a slot than it seats."""
    notes = []
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            for slug, total in needs.items():
                capacity = connection.execute(
                    sa.text("SELECT capacity_per_slot FROM service WHERE slug = :s"), {"s": slug}
                ).scalar_one()
                per_slot = math.ceil(total / slot_counts[slug])
                if per_slot > capacity:
                    new = per_slot + 1
                    connection.execute(
                        sa.text("UPDATE service SET capacity_per_slot = :c WHERE slug = :s"),
                        {"c": new, "s": slug},
                    )
                    notes.append(
                        f"`{slug}`: {total} bookings over {slot_counts[slug]} slots × {capacity} "
                        f"seats: capacity_per_slot raised to {new}"
                    )
                else:
                    notes.append(
                        f"`{slug}`: {total} bookings over {slot_counts[slug]} slots × {capacity} "
                        f"seats: demo capacity kept"
                    )
    finally:
        engine.dispose()
    return notes


# --- report -------------------------------------------------------------------------------------


def summarise(runs: list[LevelResult]) -> dict:
    """One row of the report (and of --json) from every round of one side, service and level."""
    rates = [r.statuses[201] / r.wall for r in runs]
    latencies = [s * 1000 for r in runs for s in r.latencies]
    statuses = sum((r.statuses for r in runs), Counter())
    done = statuses[201] or 1
    probe = [s * 1000 for r in runs for s in r.probe_latencies]
    first = runs[0]
    return {
        "side": first.side or None,
        "service": first.variant,
        "pdf": SERVICES[first.variant]["document"],
        "processes": first.processes,
        "clients": first.clients,
        "requests": len(latencies),
        "bookings_per_s": statistics.median(rates),
        "bookings_per_s_min": min(rates),
        "bookings_per_s_max": max(rates),
        "median_ms": statistics.median(latencies) if latencies else None,
        "p95_ms": percentile(latencies, 95) if latencies else None,
        "p99_ms": percentile(latencies, 99) if latencies else None,
        "status_201": statuses[201],
        "status_409": statuses[409],
        "status_other": sum(n for status, n in statuses.items() if status not in (201, 409)),
        # CPU per successful booking, ms: gunicorn workers, their PDF checkers, PostgreSQL, this driver.
        "cpu_ms_per_booking": {key: sum(r.cpu[key] for r in runs) * 1000 / done for key in first.cpu},
        "max_db_connections": max(r.max_connections for r in runs),
        "max_idle_in_transaction": max(r.max_idle_in_transaction for r in runs),
        "healthz_median_ms": statistics.median(probe) if probe else None,
        "healthz_p99_ms": percentile(probe, 99) if probe else None,
        "healthz_probes": len(probe),
    }


def summaries(results: list[LevelResult]) -> list[dict]:
    groups: dict[tuple[str, str, int], list[LevelResult]] = {}
    for result in results:
        groups.setdefault((result.variant, result.clients, result.side), []).append(result)
    return [summarise(runs) for runs in groups.values()]


def table(rows: list[dict], rounds: int) -> str:
    lines = []
    for row in rows:
        cpu = row["cpu_ms_per_booking"]
        rate = fmt(row["bookings_per_s"])
        if rounds > 1:
            rate += f" ({fmt(row['bookings_per_s_min'])}–{fmt(row['bookings_per_s_max'])})"
        lines.append(
            [
                *([row["side"]] if row["side"] else []),
                f"{row['service']}{' + PDF' if row['pdf'] else ''}",
                row["processes"],
                row["clients"],
                row["requests"],
                rate,
                *(
                    fmt(row[key] if row[key] is not None else math.nan, 0)
                    for key in ("median_ms", "p95_ms", "p99_ms")
                ),
                f"{row['status_201']}/{row['status_409']}/{row['status_other']}",
                " / ".join(fmt(cpu[part], 1) for part in ("worker", "pdf", "postgres", "client")),
                f"{row['max_db_connections']} ({row['max_idle_in_transaction']})",
                f"{fmt(row['healthz_median_ms'] if row['healthz_median_ms'] is not None else math.nan, 0)} / "
                f"{fmt(row['healthz_p99_ms'] if row['healthz_p99_ms'] is not None else math.nan, 0)} "
                f"({row['healthz_probes']})",
            ]
        )
    header = [
        *(["code"] if rows and rows[0]["side"] else []),
        "service",
        "processes",
        "clients",
        "requests",
        "bookings/s" + (" median (min–max)" if rounds > 1 else ""),
        "median ms",
        "p95 ms",
        "p99 ms",
        "201/409/other",
        "CPU ms per booking: workers / PDF children / PostgreSQL / driver",
        "max DB conns (idle in tx)",
        "/healthz meanwhile: median / p99 ms (n)",
    ]
    return markdown_table(header, lines, align="l" * (len(header) - 11) + "r" * 11)


@dataclass
class Side:
    """One server under test: the code in `root`, on its own database."""

    name: str
    root: Path
    database_url: str
    tmp: Path
    server: Server | None = None
    worker_pids: list[int] = field(default_factory=list)
    cycles: dict[str, SlotCycle] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return self.database_url.rsplit("/", 1)[1]


def start_side(side: Side, processes: int, needs: dict[str, int], pdf: bytes, notes: list[str]) -> None:
    """Migrate, seed, start gunicorn, raise capacity where needed, warm up: ready to measure."""
    port = free_port()
    env = production_env(side.tmp, port, side.database_url, processes)
    flask = str(side.root / ".venv" / "bin" / "flask")
    run([flask, "--app", "wsgi", "db", "upgrade"], env, root=side.root)
    run([flask, "--app", "wsgi", "seed-demo"], env, root=side.root)  # prints passwords: not shown
    side.server = Server(env, side.tmp, port, root=side.root, processes=processes)
    side.server.wait_healthy()
    side.worker_pids = side.server.worker_pids()
    slots = {
        variant: free_slots(side.server.base_url, spec["slug"], spec["days"])
        for variant, spec in SERVICES.items()
    }
    counts = {SERVICES[v]["slug"]: len(found) for v, found in slots.items()}
    label = f"{side.name}: " if side.name else ""
    notes += [label + note for note in raise_capacity(side.database_url, needs, counts)]
    side.cycles = {variant: SlotCycle(found) for variant, found in slots.items()}
    # Warm-up: each worker's pool, SQLAlchemy's statement cache, template compilation.
    with requests.Session() as session:
        for variant in SERVICES:
            for n in range(WARMUP_BOOKINGS * processes):
                _latency, status, body = booking_request(
                    session,
                    side.server.base_url,
                    variant,
                    side.cycles[variant].next(),
                    pdf,
                    f"warmup-{variant.replace(' ', '-')}-{n}",
                )
                if status != 201:
                    raise SystemExit(
                        f"{label}warm-up booking ({variant}) -> {status}: {body}{side.server.logs()}"
                    )


def profile_bookings(count: int, top: int = 25) -> str:
    """cProfile (CPU time) of `count` in-person bookings through the test client, in this process,
    with the production settings on a fresh PostgreSQL database: where a booking's CPU goes, by
    package, and the statements it asks."""
    with (
        tempfile.TemporaryDirectory(prefix="ventanilla-bench-") as tmp_name,
        fresh_postgres_database() as url,
    ):
        env = production_env(Path(tmp_name), free_port(), url)
        run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env)
        run([str(BIN / "flask"), "--app", "wsgi", "seed-demo"], env)
        os.environ.update(env, SOCKETIO_ASYNC_MODE="threading")  # no gevent in this process
        from app import create_app
        from app.extensions import db

        app = create_app()
        client = app.test_client()
        spec = SERVICES["in person"]
        slots = itertools.cycle(free_slots_via(client, spec["slug"], spec["days"]))
        statements = []
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(1))

        def book(tag: str) -> None:
            slot = next(slots)
            data = booking_form("in person", slot, f"profile-{tag}")
            response = client.post("/api/v1/appointments", data=data)
            if response.status_code != 201:
                raise SystemExit(
                    f"profile booking -> {response.status_code}: {response.get_data(as_text=True)}"
                )

        logging.disable(logging.CRITICAL)  # the JSON request log would be part of it otherwise
        for n in range(WARMUP_BOOKINGS):
            book(f"warmup-{n}")
        statements.clear()
        started = time.process_time()
        for n in range(count):
            book(str(n))
        plain = (time.process_time() - started) * 1000 / count
        per_booking = len(statements) / count
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for n in range(count):
            book(f"p{n}")
        profiler.disable()
        with app.app_context():
            db.engine.dispose()
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values()) or 1
    by_package: Counter = Counter()
    for (filename, _line, _name), entry in stats.stats.items():
        if "site-packages/" in filename:
            package = filename.split("site-packages/")[1].split("/")[0]
        elif filename.startswith(str(ROOT)):
            package = str(Path(filename).relative_to(ROOT))
        else:
            package = "Python (standard library, C functions: sockets…)"
        by_package[package] += entry[2]
    lines = [
        f"{count} in-person bookings (POST /api/v1/appointments, test client, production settings, "
        f"PostgreSQL): {plain:.1f} ms of CPU each without the profiler, "
        f"{per_booking:.1f} SQL statements each.",
        "",
        "Own CPU time (cProfile's tottime, CPU clock) by package or file:",
        "",
    ]
    lines += [f"- {share / total * 100:.1f} % {package}" for package, share in by_package.most_common(top)]
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("cumulative").print_stats(rf"{re.escape(str(ROOT))}/app/", top)
    return (
        "\n".join(lines)
        + "\n\nThe app's functions by cumulative CPU:\n\n```\n"
        + out.getvalue().strip()
        + "\n```"
    )


def free_slots_via(client, slug: str, days: int) -> list[dict]:
    response = client.get(f"/api/v1/services/{slug}/availability", query_string={"days": days})
    soon = dt.datetime.now(dt.UTC) + SLOT_MARGIN
    return [
        slot
        for day in response.get_json()["days"]
        for slot in day["slots"]
        if dt.datetime.fromisoformat(slot["start"]) > soon
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--levels",
        type=int,
        nargs="*",
        default=[1, 8, 32],
        help="concurrent clients for the video service with a PDF",
    )
    parser.add_argument(
        "--no-document-levels",
        type=int,
        nargs="*",
        default=[1, 32],
        help="concurrent clients for the in-person service (no document)",
    )
    parser.add_argument("--bookings", type=int, default=200, help="bookings per level")
    parser.add_argument("--level-seconds", type=float, default=120, help="hard time cap per level")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat every level this many times, interleaved"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="gunicorn worker processes (WEB_CONCURRENCY)"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="DIR",
        help="also measure the checkout in DIR, as 'before', level by level",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write one object per row of the table")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead: profile N in-person bookings in this process (cProfile) and print where the CPU goes",
    )
    args = parser.parse_args()
    if args.compare and not (args.compare / ".venv" / "bin" / "gunicorn").exists():
        parser.error(f"--compare {args.compare}: no .venv/bin/gunicorn there (symlink this checkout's .venv)")
    return args


def main() -> None:
    args = parse_args()
    print_header(__doc__.splitlines()[0])
    if args.profile:
        print(profile_bookings(args.profile))
        return
    print(
        f"PostgreSQL {postgres_version()} at 127.0.0.1:5432; "
        f"gunicorn gevent, WEB_CONCURRENCY={args.processes}"
        + (f"; before = {args.compare}, after = {ROOT}" if args.compare else "")
        + "\n",
        flush=True,
    )
    plan = [("video", c) for c in args.levels] + [("in person", c) for c in args.no_document_levels]
    pdf = pdf_factory.one_page()
    needs: dict[str, int] = {}
    for variant, _clients in plan * args.rounds:
        needs[SERVICES[variant]["slug"]] = needs.get(SERVICES[variant]["slug"], 0) + args.bookings
    for variant in SERVICES:
        slug = SERVICES[variant]["slug"]
        needs[slug] = needs.get(slug, 0) + WARMUP_BOOKINGS * args.processes
    results: list[LevelResult] = []
    notes: list[str] = []

    roots = [("before", args.compare.resolve()), ("after", ROOT)] if args.compare else [("", ROOT)]
    with contextlib.ExitStack() as stack:
        sides = []
        for name, root in roots:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ventanilla-bench-")))
            sides.append(Side(name, root, stack.enter_context(fresh_postgres_database()), tmp))
        admin_engine = sa.create_engine(sides[0].database_url.rsplit("/", 1)[0] + "/postgres", pool_size=1)
        try:
            for side in sides:
                start_side(side, args.processes, needs, pdf, notes)
            for round_number in range(args.rounds):
                for variant, clients in plan:
                    for side in sides:  # one level on each server in turn: both see the same machine
                        print(
                            f"round {round_number + 1}/{args.rounds}: {side.name + ', ' if side.name else ''}"
                            f"{variant}, {clients} clients…",
                            file=sys.stderr,
                            flush=True,
                        )
                        results.append(
                            run_level(
                                side.server.base_url,
                                variant,
                                clients,
                                args.bookings,
                                args.level_seconds,
                                side.cycles[variant],
                                pdf,
                                side.worker_pids,
                                side.database,
                                admin_engine,
                                side.name,
                            )
                        )
                        if side.server.proc.poll() is not None:
                            raise SystemExit(f"the server died during the run{side.server.logs()}")
        finally:
            admin_engine.dispose()
            for side in sides:
                if side.server is not None:
                    side.server.stop()
                    for line, count in side.server.exceptions().items():
                        notes.append(f"{side.name + ' ' if side.name else ''}server log: {count} × `{line}`")

    rows = summaries(results)
    print(
        f"{args.bookings} bookings per level (hard cap {args.level_seconds:.0f} s), {args.rounds} round(s); "
        f"latency percentiles over every request of the level{'s rounds' if args.rounds > 1 else ''}; "
        f"CPU per successful booking, measured from /proc.\n"
    )
    print(table(rows, args.rounds))
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nload average at the end: {load}\n")
    for note in notes:
        print(f"- {note}")
    for result in results:
        for example in result.other_examples:
            print(f"- {result.side} {result.variant}, {result.clients} clients, not 201/409: {example}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
