"""How long the audit log's pages take on PostgreSQL with a large audit_event table.

    .venv/bin/python benchmarks/audit_log.py                      # 500,000 entries, 5 runs each
    .venv/bin/python benchmarks/audit_log.py --entries 200000 --runs 9

A fresh database (`ventanilla_bench_<random>` on 127.0.0.1, dropped at the end), `create_all()`
(with the append-only trigger), the demo data, one appointment whose reference the search asks
for, then `--entries` audit records written by one INSERT … SELECT over generate_series: spread
over two years, 80 % the DTOP agency's, actions and clerks mixed, about one in ten about an
appointment (ids 1..50,000; the searched one gets a handful of document views). Then, signed in
as the DTOP admin through `app.test_client()`, each page is asked for `--runs` times after a
warm-up: with the indexes of migration 0013, without them (dropped), then with them again
(medians in ms; the first pass also warms the cache, so the last two compare).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app.demo import seed_demo  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Agency, Appointment, Office, Service, Staff  # noqa: E402
from benchmarks._common import (  # noqa: E402
    fmt,
    fresh_postgres_database,
    markdown_table,
    postgres_version,
    print_header,
    summary_ms,
)
from tests.support.apps import build_app  # noqa: E402

ADMIN = "admin@dtop.demo.ventanilla.pr"
ACTIONS = ["staff.login", "document.viewed", "appointment.outcome", "appointment.identity_verified",
           "staff.login_failed", "call.running_late", "agency.settings_changed"]  # fmt: skip

FILL = """
INSERT INTO audit_event (at, actor_staff_id, agency_id, action, object_type, object_id, ip, detail)
SELECT now() - (n % 730) * interval '1 day' - (n % 1440) * interval '1 minute',
       (CAST(:staff AS integer[]))[1 + n % cardinality(CAST(:staff AS integer[]))],
       CASE WHEN n % 5 = 0 THEN CAST(:other AS integer) ELSE CAST(:agency AS integer) END,
       (CAST(:actions AS text[]))[1 + n % cardinality(CAST(:actions AS text[]))],
       CASE WHEN n % 10 = 0 THEN 'appointment' END,
       CASE WHEN n % 10 = 0 THEN 1 + (n / 10) % 50000 END,
       '198.51.100.' || (n % 250),
       CASE WHEN n % 10 = 0 THEN '{"document": 1, "page": 1}'::json ELSE '{}'::json END
FROM generate_series(1, CAST(:entries AS integer)) AS n
"""


DROP_INDEXES = "DROP INDEX ix_audit_event_agency_at; DROP INDEX ix_audit_event_object"
CREATE_INDEXES = (
    "CREATE INDEX ix_audit_event_agency_at ON audit_event (agency_id, at); "
    "CREATE INDEX ix_audit_event_object ON audit_event (object_type, object_id)"
)


def build(app, entries: int) -> dict:
    with app.app_context():
        db.create_all()
        passwords = {email: password for email, _role, password in seed_demo().credentials}
        dtop = db.session.scalar(sa.select(Agency).where(Agency.slug == "dtop"))
        retiro = db.session.scalar(sa.select(Agency).where(Agency.slug == "retiro"))
        staff = list(db.session.scalars(sa.select(Staff.id).where(Staff.agency_id == dtop.id)))
        service = db.session.scalar(sa.select(Service).where(Service.agency_id == dtop.id))
        office = db.session.scalar(sa.select(Office).where(Office.agency_id == dtop.id))
        target = Appointment(
            reference="DTOP-BENCH1", service_id=service.id, office_id=office.id, status="cancelled",
            start_at=dt_now(), end_at=dt_now(), citizen_name="Ana", citizen_email="ana@example.com",
            citizen_phone="+17875550100", manage_token_hash="b" * 64,
        )  # fmt: skip
        db.session.add(target)
        db.session.commit()
        began = time.perf_counter()
        db.session.execute(
            sa.text(FILL),
            {"staff": staff, "agency": dtop.id, "other": retiro.id, "actions": ACTIONS, "entries": entries},
        )
        for minute in range(8):  # the searched appointment's document views
            db.session.execute(
                sa.text(
                    "INSERT INTO audit_event (at, actor_staff_id, agency_id, action, object_type, object_id, "
                    "detail) VALUES (now() - :m * interval '1 hour', :staff, :agency, 'document.viewed', "
                    "'appointment', :id, '{\"page\": 1}')"
                ),
                {"m": minute, "staff": staff[0], "agency": dtop.id, "id": target.id},
            )
        db.session.commit()
        filled = time.perf_counter() - began
        facts = {"password": passwords[ADMIN], "agency": dtop.id, "clerk": staff[0], "fill_seconds": filled}
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE audit_event"))  # as autovacuum would, soon after
    return facts


def dt_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def pages(facts: dict) -> dict[str, str]:
    base = f"/admin/agencies/{facts['agency']}/audit"
    return {
        "newest 50, no filter": base,
        "by reference (who viewed the licence)": f"{base}?reference=DTOP-BENCH1",
        "one clerk, one month": f"{base}?staff={facts['clerk']}&start=2026-01-01&end=2026-01-31",
        "one kind": f"{base}?kind=appointment.identity_verified",
        "page 200": f"{base}?page=200",
        "CSV, one clerk, one week": f"{base}.csv?staff={facts['clerk']}&start=2026-01-01&end=2026-01-07",
    }


def measure(client, urls: dict[str, str], runs: int) -> dict[str, dict]:
    found = {}
    for name, url in urls.items():
        assert client.get(url).status_code == 200, url  # warm-up
        seconds = []
        for _ in range(runs):
            began = time.perf_counter()
            response = client.get(url)
            seconds.append(time.perf_counter() - began)
            assert response.status_code == 200
        found[name] = summary_ms(seconds)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    print_header(f"Audit log pages, PostgreSQL {postgres_version()}, {options.entries:,} entries")
    with fresh_postgres_database() as url, tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp), url, DB_STATEMENT_TIMEOUT_SECONDS=900)  # the fill is one statement
        facts = build(app, options.entries)
        print(f"filled in {facts['fill_seconds']:.1f} s\n")
        client = app.test_client()
        response = client.post("/staff/login", data={"email": ADMIN, "password": facts["password"]})
        assert response.status_code == 302
        urls = pages(facts)
        # With the indexes, without them, with them again: the first pass also warms the cache,
        # so the last two compare.
        first = measure(client, urls, options.runs)
        with app.app_context():
            db.session.execute(sa.text(DROP_INDEXES))
            db.session.commit()
        plain = measure(client, urls, options.runs)
        with app.app_context():
            db.session.execute(sa.text(CREATE_INDEXES))
            db.session.commit()
        indexed = measure(client, urls, options.runs)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    rows = [
        [name, fmt(first[name]["median"]), fmt(plain[name]["median"]), fmt(indexed[name]["median"]),
         fmt(indexed[name]["max"])]
        for name in urls
    ]  # fmt: skip
    header = ["page", "first pass (cold)", "without the 0013 indexes", "with them", "max with them"]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
