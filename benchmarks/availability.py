"""How long a 30-day availability calendar takes with many appointments already booked.

    .venv/bin/python benchmarks/availability.py                 # PostgreSQL (a fresh database)
    .venv/bin/python benchmarks/availability.py --sqlite        # SQLite file in a temp dir
    .venv/bin/python benchmarks/availability.py --db both --appointments 10000 --runs 30 --profile

For each database: a fresh one (PostgreSQL: `ventanilla_bench_<random>` on 127.0.0.1, dropped at
the end; SQLite: a file in a temp dir), `db.create_all()`, the demo data, then `--appointments`
appointments for `certificacion-individuo` spread evenly over its bookable slots of the next
`--days` days (seats 1..capacity; when the demo capacity cannot hold them all, capacity_per_slot is
raised and the output says so). Its twin `certificacion-violaciones` (same office, hours, slot length
and, here, capacity) stays empty: it is the baseline, measured in the same loop, run for run, so a
noisy machine moves both alike. Measured after warm-ups:

- `scheduling.available_days(service, today, days)`, each run in its own `test_request_context()`
  (a fresh session: the agency and offices are lazy-loaded inside the timed call, as in a request);
- `GET /api/v1/services/<slug>/availability?days=N` through `app.test_client()`.

SQL statements are counted with a `before_cursor_execute` listener (SQLite's explicit BEGIN, which
app/extensions.py issues, is one of them; the pool's pre-ping is not). Prints a Markdown table and a
breakdown of one call into its parts (medians); `--profile` adds cProfile's top functions;
`--json FILE` writes one object per row of the table.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import math
import pstats
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import jsonify  # noqa: E402

from app import scheduling  # noqa: E402
from app.api import schemas  # noqa: E402
from app.demo import seed_demo  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Appointment, Service  # noqa: E402
from benchmarks._common import (  # noqa: E402
    fmt,
    fresh_postgres_database,
    markdown_table,
    postgres_version,
    print_header,
    summary_ms,
)
from tests.support.apps import build_app  # noqa: E402

SERVICE = "certificacion-individuo"
BASELINE = "certificacion-violaciones"  # the same demo settings, left without appointments
INSERT_BATCH = 2000


class QueryCounter:
    """Counts (and keeps) the SQL statements an engine sends while active."""

    def __init__(self, engine):
        self.active = False
        self.statements: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, _conn, _cursor, statement, _params, _context, _executemany):
        if self.active:
            self.statements.append(statement)

    def __enter__(self):
        self.statements = []
        self.active = True
        return self

    def __exit__(self, *exc):
        self.active = False


def get_service(slug: str = SERVICE) -> Service:
    return db.session.scalar(sa.select(Service).where(Service.slug == slug))


def prepare(app, appointments: int, days: int) -> tuple[list, int, str | None]:
    """Seed the demo; return (bookable slots of the window, capacity used, note about capacity)."""
    with app.app_context():
        db.create_all()
        seed_demo()
    with app.test_request_context():
        service = get_service()
        today = scheduling.today_for(service)
        slots = [
            (slot.office_id, slot.start, slot.end)
            for day in scheduling.available_days(service, today, days)
            for slot in day.slots
        ]
        capacity, note = service.capacity_per_slot, None
        if len(slots) * capacity < appointments:
            # One seat more than the fullest slot needs, so every slot still shows as free: the
            # answer then lists every slot (the largest JSON), as in a busy but still open month.
            capacity = math.ceil(appointments / len(slots)) + 1
            note = (
                f"{len(slots)} bookable slots × {service.capacity_per_slot} seats "
                f"= {len(slots) * service.capacity_per_slot:,} < {appointments:,}: "
                f"capacity_per_slot of `{SERVICE}` (and of the baseline `{BASELINE}`) "
                f"raised to {capacity} for this benchmark"
            )
            service.capacity_per_slot = capacity
            get_service(BASELINE).capacity_per_slot = capacity
            db.session.commit()
    return slots, capacity, note


def insert_appointments(app, slots: list, count: int) -> None:
    """Appointment n takes slot n mod S, seat n // S + 1: the slots fill evenly."""
    with app.app_context():
        service = get_service()
        rows = []
        for n in range(count):
            office_id, start, end = slots[n % len(slots)]
            rows.append(
                dict(
                    reference=f"BENCH-{n:07d}",
                    service_id=service.id,
                    office_id=office_id,
                    start_at=start,
                    end_at=end,
                    seat=n // len(slots) + 1,
                    citizen_seat=1,
                    status="booked",
                    citizen_name="Ciudadana de Prueba",
                    citizen_email=f"c{n}@example.com",
                    citizen_phone="+17875550100",
                    licence_number="1234567",
                    language="es",
                    join_token_hash=hashlib.sha256(f"join-{n}".encode()).hexdigest(),
                    manage_token_hash=hashlib.sha256(f"manage-{n}".encode()).hexdigest(),
                )
            )
            if len(rows) == INSERT_BATCH:
                db.session.execute(sa.insert(Appointment), rows)
                rows = []
        if rows:
            db.session.execute(sa.insert(Appointment), rows)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # Autovacuum would do this within a minute of a bulk load: the planner needs the stats,
            # and each appointment inserted updated its slot's counter row (slot_usage), leaving one
            # dead row version behind, which the counters' read would otherwise wade through (100,000
            # versions for 540 live rows; a real calendar fills over weeks, vacuumed as it goes).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("VACUUM ANALYZE appointment, slot_usage"))


# --- one sample of each measurement -------------------------------------------------------------


def time_function(app, counter: QueryCounter, slug: str, today, days: int):
    with app.test_request_context():
        service = get_service(slug)  # begins the transaction, as the endpoint's lookup does
        with counter:
            started = time.perf_counter()
            calendar = scheduling.available_days(service, today, days)
            elapsed = time.perf_counter() - started
    return elapsed, list(counter.statements), calendar


def time_endpoint(client, counter: QueryCounter, slug: str, days: int):
    url = f"/api/v1/services/{slug}/availability?days={days}"
    with counter:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {url} -> {response.status_code}: {response.get_data(as_text=True)[:500]}")
    return elapsed, list(counter.statements), len(response.get_data())


@contextmanager
def replaced(module, **functions):
    saved = {name: getattr(module, name) for name in functions}
    for name, function in functions.items():
        setattr(module, name, function)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(module, name, function)


# The helpers available_days calls for hours and closures (public since the same-day turns use them).
HOURS = "hours_by_office" if hasattr(scheduling, "hours_by_office") else "_hours_by_office"
CLOSURES = "closures_by_office" if hasattr(scheduling, "closures_by_office") else "_closures"


def time_parts(app, slug: str, today, days: int) -> dict[str, float]:
    """One call taken apart: each database helper alone, the Python around them, the JSON."""
    parts = {}
    hours_of, closures_of = getattr(scheduling, HOURS), getattr(scheduling, CLOSURES)
    with app.test_request_context():
        service = get_service(slug)
        started = time.perf_counter()
        zone = scheduling.agency_zone(service)
        office_ids = [office.id for office in service.offices]
        parts["lazy loads: agency, offices"] = time.perf_counter() - started
        last = today + scheduling.dt.timedelta(days=days - 1)
        results = {}
        for key, name, call in (
            ("hours", f"`{HOURS}` (1 query)", lambda: hours_of(office_ids)),
            (
                "closures",
                f"`{CLOSURES}` (1 query)",
                lambda: closures_of(service.agency_id, office_ids, today, last),
            ),
            (
                "taken",
                "`_taken_seats` (1 query + dict)",
                lambda: scheduling._taken_seats(service.id, office_ids, today, last, zone),
            ),
        ):
            started = time.perf_counter()
            results[key] = call()
            parts[name] = time.perf_counter() - started
        with replaced(
            scheduling,
            **{
                HOURS: lambda *a: results["hours"],
                CLOSURES: lambda *a: results["closures"],
                "_taken_seats": lambda *a: results["taken"],
            },
        ):
            started = time.perf_counter()
            calendar = scheduling.available_days(service, today, days)
            parts["slot loop in Python (no database)"] = time.perf_counter() - started
        started = time.perf_counter()
        body = [schemas.day_json(day, zone) for day in calendar]
        parts["`day_json` for every day (endpoint only)"] = time.perf_counter() - started
        started = time.perf_counter()
        jsonify(service=slug, timezone=service.agency.timezone, days=body)
        parts["`jsonify` (endpoint only)"] = time.perf_counter() - started
    return parts


def profile(app, today, days: int, top: int) -> str:
    out = io.StringIO()
    with app.test_request_context():
        service = get_service()
        profiler = cProfile.Profile()
        profiler.enable()
        scheduling.available_days(service, today, days)
        profiler.disable()
    out.write(
        f"cProfile, one `available_days(service, today, {days})` call, top {top} by own time "
        f"(cProfile roughly doubles the time):\n\n```\n"
    )
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    out.write("```\n\n")
    profiler = cProfile.Profile()
    client = app.test_client()
    profiler.enable()
    client.get(f"/api/v1/services/{SERVICE}/availability?days={days}")
    profiler.disable()
    out.write(
        f"cProfile, one `GET …/availability?days={days}` through the test client, "
        f"top {top} by own time:\n\n```\n"
    )
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    out.write("```\n")
    # pstats prints absolute paths: shorten them so the output can be pasted.
    text = out.getvalue().replace(str(Path(sa.__file__).resolve().parents[1]) + "/", "")
    return text.replace(str(ROOT) + "/", "")


# --- one database -------------------------------------------------------------------------------


def run_database(
    kind: str, url: str, tmp: Path, args
) -> tuple[list[list[str]], list[list[str]], list[str], list[dict]]:
    app = build_app(tmp, url)
    rows, part_rows, notes, records = [], [], [], []
    try:
        slots, capacity, note = prepare(app, args.appointments, args.days)
        if note:
            notes.append(f"{kind}: {note}")
        insert_appointments(app, slots, args.appointments)
        with app.app_context():
            counter = QueryCounter(db.engine)
        with app.test_request_context():
            today = scheduling.today_for(get_service())
        client = app.test_client()
        print(
            f"{kind}: {args.appointments} appointments over {len(slots)} slots (capacity {capacity}); "
            f"{args.warmup} warm-ups + {args.runs} runs…",
            file=sys.stderr,
            flush=True,
        )

        targets = [(SERVICE, args.appointments), (BASELINE, 0)]
        samples = {(slug, what): [] for slug, _n in targets for what in ("function", "endpoint")}
        queries = {key: set() for key in samples}
        parts = {slug: {} for slug, _n in targets}
        for index in range(args.warmup + args.runs):
            for slug, _n in targets:  # interleaved: both services see the same machine
                elapsed, statements, calendar = time_function(app, counter, slug, today, args.days)
                if index >= args.warmup:
                    samples[(slug, "function")].append(elapsed)
                    queries[(slug, "function")].add(len(statements))
                    if slug == SERVICE:
                        function_statements, function_calendar = statements, calendar
                elapsed, statements, size = time_endpoint(client, counter, slug, args.days)
                if index >= args.warmup:
                    samples[(slug, "endpoint")].append(elapsed)
                    queries[(slug, "endpoint")].add(len(statements))
                    for name, seconds in time_parts(app, slug, today, args.days).items():
                        parts[slug].setdefault(name, []).append(seconds)
                    if slug == SERVICE:
                        json_size = size

        for slug, count in targets:
            for what, label in (
                ("function", f"`available_days(…, {args.days})`"),
                ("endpoint", f"`GET …/availability?days={args.days}`"),
            ):
                s = summary_ms(samples[(slug, what)])
                records.append(
                    {
                        "database": kind,
                        "appointments": count,
                        "what": what,
                        "days": args.days,
                        "ms": {key: round(s[key], 2) for key in ("median", "p95", "p99", "min")},
                        "statements": sorted(queries[(slug, what)]),
                    }
                )
                rows.append(
                    [
                        kind,
                        f"{count:,}" + (" (baseline)" if slug == BASELINE else ""),
                        label,
                        fmt(s["median"]),
                        f"{fmt(s['p95'])} / {fmt(s['p99'])}",
                        fmt(s["min"]),
                        "/".join(str(q) for q in sorted(queries[(slug, what)])),
                    ]
                )
        for name in parts[SERVICE]:
            part_rows.append(
                [
                    kind,
                    name,
                    fmt(statistics.median(parts[SERVICE][name]) * 1000, 2),
                    fmt(statistics.median(parts[BASELINE][name]) * 1000, 2),
                ]
            )
        n_slots = sum(len(day.slots) for day in function_calendar)
        n_free = sum(len(day.free_slots) for day in function_calendar)
        notes.append(
            f"{kind}: the calendar has {n_slots} slots ({n_free} with a free seat), "
            f"{json_size / 1024:.0f} KB of JSON; SQL per `available_days` call: "
            + "; ".join(" ".join(s.split())[:60] + "…" for s in function_statements)
        )
        if args.profile:
            notes.append(
                f"{kind}, {args.appointments:,} appointments:\n\n" + profile(app, today, args.days, args.top)
            )
    finally:
        with app.app_context():
            db.engine.dispose()
    return rows, part_rows, notes, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite", "both"), default="postgresql")
    parser.add_argument(
        "--sqlite", action="store_const", const="sqlite", dest="db", help="same as --db sqlite"
    )
    parser.add_argument("--appointments", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="add cProfile's view of one call of each")
    parser.add_argument("--top", type=int, default=15, help="functions shown by --profile")
    parser.add_argument("--json", type=Path, help="also write one object per row of the table")
    args = parser.parse_args()

    print_header(__doc__.splitlines()[0])
    kinds = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    if "postgresql" in kinds:
        print(f"PostgreSQL {postgres_version()} at 127.0.0.1:5432\n", flush=True)
    rows, part_rows, notes, records = [], [], [], []
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="ventanilla-bench-") as tmp:
            if kind == "postgresql":
                with fresh_postgres_database() as url:
                    result = run_database(kind, url, Path(tmp), args)
            else:
                result = run_database(kind, f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", Path(tmp), args)
        rows += result[0]
        part_rows += result[1]
        notes += result[2]
        records += result[3]
    if args.json:
        args.json.write_text(json.dumps(records, indent=2) + "\n")

    print(
        f"{args.runs} timed runs after {args.warmup} warm-ups per row, the loaded service and the "
        f"empty baseline interleaved run by run; ms (p99 of {args.runs} runs ≈ the maximum).\n"
    )
    print(
        markdown_table(
            [
                "database",
                "appointments",
                "what",
                "median ms",
                "p95 / p99 ms",
                "min ms",
                "SQL statements per call",
            ],
            rows,
            align="lrlrrrr",
        )
    )
    print(f"\nWhere one call's time goes (median of {args.runs}, ms; each part timed on its own):\n")
    print(
        markdown_table(
            ["database", "part", f"{args.appointments:,} appointments", "baseline (0)"],
            part_rows,
            align="llrr",
        )
    )
    print()
    for note in notes:
        print(f"- {note}" if "\n" not in note else f"\n{note}")


if __name__ == "__main__":
    main()
