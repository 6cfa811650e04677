"""How long the reports page and its CSV exports take over one year with 200,000 appointments.

    .venv/bin/python benchmarks/reports.py                      # PostgreSQL, 200,000 appointments
    .venv/bin/python benchmarks/reports.py --appointments 50000 --runs 5 --without-start-index

A fresh PostgreSQL database (`ventanilla_bench_<random>` on 127.0.0.1, dropped at the end) gets
the schema (`db.create_all()`), one agency with three offices open Monday to Friday 08:00–16:00,
four booked services (two by video, two in person; 20-minute slots, 3 seats) and one phone-turn
service, then one year (the 365 days before today) of activity written with COPY: the
appointments on random free seats of weekdays (statuses and outcomes in realistic shares, a
tenth cancelled, by the citizen or the agency), a call session for each attended or missed video
appointment (waits of seconds to minutes, some never connected, some audio only), a survey
answer for two in five completed appointments, and 60 same-day turns a weekday. Then ANALYZE.

Timed through `app.test_client()` signed in as the superadmin, after a warm-up: the reports page
for the whole year, for its default last 30 days and for one service over the year, the CSV
export of every table over the year, and the agency's open data page and CSV (12 months);
`--runs` times each (p50/p90). `--without-start-index` drops `ix_appointment_start_at` first, to
see what it is worth.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app import reports  # noqa: E402
from app.accounts import create_staff  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Agency, Office, OpeningHours, Service  # noqa: E402
from benchmarks._common import (  # noqa: E402
    fmt,
    fresh_postgres_database,
    markdown_table,
    percentile,
    postgres_version,
    print_header,
    process_cpu_seconds,
)
from tests.support.admin import sign_in  # noqa: E402
from tests.support.apps import build_app  # noqa: E402
from tests.support.two_factor import enrol  # noqa: E402

ZONE = ZoneInfo("America/Puerto_Rico")
SUPERADMIN = ("bench@ventanilla.pr", "informe anual de prueba 2031")
SERVICES = [("video", 2), ("in_person", 2)]
STATUSES = [  # status, outcome, cancelled_by, weight
    ("completed", "completed", None, 62),
    ("completed", "documents_missing", None, 6),
    ("completed", "needs_in_person", None, 4),
    ("completed", "technical_failure", None, 2),
    ("completed", "phone_fallback", None, 2),
    ("no_show", "no_show", None, 12),
    ("cancelled", None, "citizen", 8),
    ("cancelled", None, "agency", 4),
]
TURNS_A_DAY = 60


def build_agency() -> tuple[int, list[Service], Service]:
    agency = Agency(
        slug="bench", name_es="Agencia de prueba", name_en="Benchmark agency", publishes_open_data=True
    )
    offices = [
        Office(agency=agency, slug=f"oficina-{n}", name_es=f"Oficina {n}", name_en=f"Office {n}")
        for n in range(3)
    ]
    for office in offices:
        for weekday in range(5):
            office.hours.append(OpeningHours(weekday=weekday, opens_at=dt.time(8), closes_at=dt.time(16)))
    booked = [
        Service(
            agency=agency,
            slug=f"{mode}-{n}",
            name_es=f"{mode} {n}",
            name_en=f"{mode} {n}",
            mode=mode,
            slot_minutes=20,
            capacity_per_slot=3,
            offices=offices,
        )
        for mode, count in SERVICES
        for n in range(count)
    ]
    turns = Service(
        agency=agency,
        slug="turnos",
        name_es="Turnos",
        name_en="Turns",
        mode="phone_turn",
        offices=offices[:1],
    )
    db.session.add_all([agency, *offices, *booked, turns])
    db.session.commit()
    return agency.id, booked, turns


def seat_positions(services: list[Service], days: list[dt.date]):
    for day in days:
        if day.weekday() >= 5:
            continue
        for service in services:
            for office in service.offices:
                start = dt.datetime.combine(day, dt.time(8), ZONE)
                for slot in range(24):
                    at = (start + dt.timedelta(minutes=20 * slot)).astimezone(dt.UTC)
                    for seat in range(1, 4):
                        yield service, office.id, at, seat


def copy_rows(connection, table: str, columns: list[str], rows) -> int:
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def generate(app, appointments: int, seed: int) -> dict[str, int]:
    """Write the year of activity with COPY; returns the row counts."""
    rng = random.Random(seed)
    with app.app_context():
        agency_id, services, turn_service = build_agency()
        create_staff(SUPERADMIN[0], "Bench Admin", SUPERADMIN[1], "superadmin", None)
        enrol(SUPERADMIN[0])  # admins sign in with a code
        today = dt.datetime.now(ZONE).date()
        days = [today - dt.timedelta(days=n) for n in range(365, 0, -1)]
        positions = list(seat_positions(services, days))
        chosen = sorted(rng.sample(range(len(positions)), min(appointments, len(positions))))
        weights = [weight for *_, weight in STATUSES]
        raw = db.engine.raw_connection()
        try:
            driver = raw.driver_connection
            driver.execute("SET statement_timeout = 0")  # the app's limit is for requests, not a bulk load
            appointment_rows, call_rows, survey_rows = [], [], []
            for n, index in enumerate(chosen, start=1):
                service, office_id, start, seat = positions[index]
                status, outcome, cancelled_by, _weight = rng.choices(STATUSES, weights)[0]
                cancelled_at = start - dt.timedelta(days=1) if status == "cancelled" else None
                appointment_rows.append(
                    (
                        n,
                        f"B{n:08d}",
                        service.id,
                        office_id,
                        start,
                        start + dt.timedelta(minutes=20),
                        None if status == "cancelled" else seat,
                        status,
                        "Ciudadana",
                        f"c{n}@example.com",
                        "+17875550100",
                        "es",
                        f"{n:064x}",
                        outcome,
                        cancelled_at,
                        cancelled_by,
                        start - dt.timedelta(days=7),
                        start,
                        0,
                    )
                )
                if service.mode == "video" and status != "cancelled":
                    call_rows.append(call_session(rng, n, start, outcome))
                if status == "completed" and rng.random() < 0.4:
                    survey_rows.append((n, rng.choices(range(1, 6), (4, 5, 12, 30, 49))[0], "", start))
            counts = {
                "appointment": copy_rows(
                    driver,
                    "appointment",
                    [
                        "id",
                        "reference",
                        "service_id",
                        "office_id",
                        "start_at",
                        "end_at",
                        "seat",
                        "status",
                        "citizen_name",
                        "citizen_email",
                        "citizen_phone",
                        "language",
                        "manage_token_hash",
                        "outcome",
                        "cancelled_at",
                        "cancelled_by",
                        "created_at",
                        "updated_at",
                        "calendar_sequence",
                    ],
                    appointment_rows,
                ),
                "call_session": copy_rows(
                    driver,
                    "call_session",
                    [
                        "appointment_id",
                        "waiting_since",
                        "admitted_at",
                        "connected_at",
                        "ended_at",
                        "end_reason",
                        "audio_only",
                    ],
                    call_rows,
                ),
                "survey_response": copy_rows(
                    driver,
                    "survey_response",
                    ["appointment_id", "rating", "comment", "created_at"],
                    survey_rows,
                ),
                "turn": copy_rows(
                    driver,
                    "turn",
                    [
                        "service_id",
                        "office_id",
                        "day",
                        "number",
                        "code",
                        "citizen_name",
                        "citizen_phone",
                        "reason",
                        "language",
                        "status",
                        "status_token_hash",
                        "queued_at",
                        "priority_at",
                        "called_at",
                        "finished_at",
                        "moved_back",
                        "no_answer_count",
                        "note",
                        "created_at",
                        "estimated_wait_minutes",
                    ],
                    turn_rows(rng, turn_service, days),
                ),
            }
            driver.execute("SELECT setval('appointment_id_seq', (SELECT max(id) FROM appointment))")
            driver.commit()
            driver.autocommit = True
            driver.execute("ANALYZE")
        finally:
            raw.close()
    return counts


def call_session(rng: random.Random, appointment_id: int, start: dt.datetime, outcome: str | None) -> tuple:
    waiting = start - dt.timedelta(seconds=rng.randint(0, 300))
    if outcome == "no_show":
        return (appointment_id, None, None, None, start + dt.timedelta(minutes=15), "no_show", False)
    admitted = waiting + dt.timedelta(seconds=rng.lognormvariate(5, 0.8))
    connected = (
        None
        if outcome == "technical_failure" and rng.random() < 0.7
        else (admitted + dt.timedelta(seconds=rng.uniform(2, 40)))
    )
    return (
        appointment_id,
        waiting,
        admitted,
        connected,
        admitted + dt.timedelta(minutes=15),
        outcome,
        connected is not None and rng.random() < 0.08,
    )


def turn_rows(rng: random.Random, service: Service, days: list[dt.date]):
    office_id = service.offices[0].id
    for day in days:
        if day.weekday() >= 5:
            continue
        opening = dt.datetime.combine(day, dt.time(8), ZONE).astimezone(dt.UTC)
        for number in range(1, TURNS_A_DAY + 1):
            queued = opening + dt.timedelta(minutes=number * 7)
            status = rng.choices(("attended", "missed", "cancelled"), (85, 10, 5))[0]
            called = None if status == "cancelled" else queued + dt.timedelta(minutes=rng.uniform(2, 45))
            token = f"{day.toordinal():08d}{number:056d}"
            yield (
                service.id,
                office_id,
                day,
                number,
                f"T{number}",
                "Luis",
                f"+1787{day.toordinal() % 1000:03d}{number:04d}",
                "",
                "es",
                status,
                token,
                queued,
                queued,
                called,
                called and called + dt.timedelta(minutes=8),
                False,
                0,
                "",
                queued,
                rng.randint(5, 30),
            )


def database_cpu_seconds(app) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving the benchmark's database (read
    from /proc: the server runs on this machine)."""
    with app.app_context():
        pids = db.session.scalars(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
        db.session.rollback()
    total = 0.0
    for pid in pids:
        try:
            total += process_cpu_seconds(pid)[0]
        except OSError:
            pass
    return total


def timed(app, client, url: str, runs: int) -> tuple[list[float], list[float], int]:
    """Wall seconds and CPU seconds (this process and PostgreSQL's) of each run, and the body size.

    On a shared, loaded machine the CPU time is the steadier figure."""
    client.get(url)  # warm-up
    seconds, cpu = [], []
    for _ in range(runs):
        database_before, own_before = database_cpu_seconds(app), time.process_time()
        began = time.perf_counter()
        response = client.get(url)
        seconds.append(time.perf_counter() - began)
        cpu.append(time.process_time() - own_before + database_cpu_seconds(app) - database_before)
        assert response.status_code == 200, (url, response.status_code)
    return seconds, cpu, len(response.get_data())


def measure(app, agency_id: int, runs: int) -> list[list[str]]:
    client = app.test_client()
    sign_in(client, *SUPERADMIN)
    today = dt.datetime.now(ZONE).date()
    first, last = today - dt.timedelta(days=365), today - dt.timedelta(days=1)
    year = f"start={first.isoformat()}&end={last.isoformat()}"
    with app.app_context():
        service_id = db.session.scalar(sa.select(Service.id).where(Service.slug == "video-0"))
    base = f"/admin/agencies/{agency_id}/reports"
    targets = [
        ("page, the year", f"{base}?{year}"),
        ("page, last 30 days (default)", base),
        ("page, one service, the year", f"{base}?{year}&service={service_id}"),
    ] + [(f"CSV `{table}`, the year", f"{base}/{table}.csv?{year}") for table in reports.TABLES]
    targets += [("open data page (12 months)", "/datos/bench"), ("open data CSV", "/datos/bench.csv")]
    rows = []
    for name, url in targets:
        seconds, cpu, size = timed(app, client, url, runs)
        ms, cpu_ms = [s * 1000 for s in seconds], [s * 1000 for s in cpu]
        rows.append(
            [
                name,
                fmt(percentile(ms, 50)),
                fmt(percentile(ms, 90)),
                fmt(percentile(cpu_ms, 50)),
                f"{size / 1024:.1f} KB",
            ]
        )
        print(f"  {name}: p50 {rows[-1][1]} ms", file=sys.stderr, flush=True)
    return rows


def explain(app, agency_id: int) -> None:
    """EXPLAIN ANALYZE of every statement of one request of the year's page (to stderr)."""
    statements = []

    def keep(_conn, _cursor, statement, parameters, _context, _executemany):
        statements.append((statement, parameters))

    client = app.test_client()
    sign_in(client, *SUPERADMIN)
    today = dt.datetime.now(ZONE).date()
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", keep)
    client.get(f"/admin/agencies/{agency_id}/reports?start={today - dt.timedelta(days=365)}&end={today}")
    sa.event.remove(engine, "before_cursor_execute", keep)
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = driver.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall()
            print("\n" + statement + "\n" + "\n".join(row[0] for row in plan), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appointments", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--without-start-index", action="store_true", help="drop ix_appointment_start_at first"
    )
    parser.add_argument("--explain", action="store_true", help="print the query plans of the year's page")
    args = parser.parse_args()
    print_header(
        f"Reports over one year, {args.appointments:,} appointments, PostgreSQL {postgres_version()}"
    )
    with fresh_postgres_database() as url:
        app = build_app(Path("/tmp"), url, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
        with app.app_context():
            db.create_all()
            if args.without_start_index:
                db.session.execute(sa.text("DROP INDEX ix_appointment_start_at"))
                db.session.commit()
        began = time.perf_counter()
        counts = generate(app, args.appointments, args.seed)
        print(
            f"data: {', '.join(f'{n:,} {table}' for table, n in counts.items())} "
            f"written in {time.perf_counter() - began:.1f} s\n"
        )
        with app.app_context():
            agency_id = db.session.scalar(sa.select(Agency.id).where(Agency.slug == "bench"))
        if args.explain:
            explain(app, agency_id)
        rows = measure(app, agency_id, args.runs)
        with app.app_context():
            db.engine.dispose()
    print(markdown_table(["request", "p50 ms", "p90 ms", "CPU p50 ms (app + PostgreSQL)", "body"], rows))


if __name__ == "__main__":
    main()
