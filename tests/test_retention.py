"""Retention (`flask purge`, app/retention.py): documents, result documents and their page images
go N days after the appointment ends; the citizen's personal data is anonymised M days after;
statistics stay; each run is audited; a second run changes nothing. On SQLite and PostgreSQL.

The world is built row by row at the frozen test clock: appointments and turns that ended before
and after each limit, for an agency on the site's defaults and one with its own settings. Every
citizen has unique markers (name, e-mail, phone, licence number, free text); the test then reads
every text of every table and looks for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import secrets
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app

from app import retention
from app.documents import upload_store
from app.extensions import db
from app.models import (
    Agency,
    Appointment,
    AuditEvent,
    BookingDraft,
    CallSession,
    DailyBookingClaim,
    Document,
    Office,
    OutboxMessage,
    Service,
    Staff,
    SurveyResponse,
    Turn,
    utcnow,
)
from app.notifications import PeriodicJob, start_background_sender

DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
NUMBERS = itertools.count(100)  # fixed width: no phone or address is a substring of another


class World:
    """What the test built: for each citizen marker, whether its documents and its personal data
    must be gone after the purge."""

    def __init__(self):
        self.documents_gone: dict[str, bool] = {}  # storage key -> must be deleted
        self.personal_gone: dict[str, bool] = {}  # marker -> must be anonymised
        self.render_keys: set[str] = set()
        self.saved_emails: dict[int, bool] = {}  # outbox message id -> its .eml must be deleted


def _token() -> str:
    return secrets.token_hex(32)


def _agency(slug: str, **retention_days) -> tuple[Agency, Office, Service]:
    agency = Agency(slug=slug, name_es=slug, name_en=slug, **retention_days)
    office = Office(agency=agency, slug=f"{slug}-remote", name_es="Remota", name_en="Remote", is_remote=True)
    service = Service(
        agency=agency,
        slug=f"{slug}-svc",
        name_es="Servicio",
        name_en="Service",
        mode="video",
        offices=[office],
    )
    db.session.add_all([agency, office, service])
    db.session.flush()
    return agency, office, service


def _appointment(world, service, office, marker, ended_ago, *, status="completed", outcome="completed",
                 documents_gone, personal_gone, seat_number=1, clerk=None):  # fmt: skip
    end = utcnow() - ended_ago
    appointment = Appointment(
        reference=f"R{secrets.token_hex(4).upper()}",
        service_id=service.id,
        office_id=office.id,
        start_at=end - dt.timedelta(minutes=20),
        end_at=end,
        seat=None if status == "cancelled" else seat_number,
        # An appointment whose place among the citizen's was never given back (the per-citizen
        # limit's unique column): anonymising every e-mail to one value must not collide.
        citizen_seat=None if status == "cancelled" else 1,
        status=status,
        outcome=outcome,
        outcome_message=f"Mensaje para {marker}-name",
        citizen_name=f"{marker}-name",
        citizen_email=f"{marker}-mail@example.com",
        citizen_phone=f"+1787555{next(NUMBERS):04d}",
        licence_number=f"{marker}-lic",
        manage_token_hash=_token(),
        join_token_hash=_token(),
        clerk_id=clerk.id if clerk else None,
    )
    db.session.add(appointment)
    db.session.flush()
    address = f"203.0.{next(NUMBERS)}.77"
    world.personal_gone[marker] = personal_gone
    world.personal_gone[appointment.citizen_phone] = personal_gone
    store = upload_store()
    for source, name in (
        ("citizen", f"{marker}-licencia.pdf"),
        ("clerk", f"{marker}-resultado.pdf"),
        ("follow_up", f"{marker}-seguimiento.pdf"),  # sent after a "documents missing" outcome
    ):
        data = b"%PDF-1.4 " + marker.encode() + source.encode()
        key = store.save(data)
        store.save_render(key, 1, 800, b"\x89PNG fake " + key.encode())
        world.render_keys.add(key)
        db.session.add(
            Document(
                appointment_id=appointment.id,
                requirement_code="result" if source == "clerk" else "licence_front",
                source=source,
                original_name=name,
                size_bytes=len(data),
                pages=1,
                sha256=hashlib.sha256(data).hexdigest(),
                storage_key=key,
            )
        )
        world.documents_gone[key] = documents_gone
    if status == "completed":
        db.session.add(
            SurveyResponse(appointment_id=appointment.id, rating=4, comment=f"{marker}-name fue amable")
        )
        db.session.add(
            CallSession(
                appointment_id=appointment.id,
                waiting_since=end - dt.timedelta(minutes=25),
                admitted_at=end - dt.timedelta(minutes=20),
                connected_at=end - dt.timedelta(minutes=19),
                ended_at=end,
                end_reason="completed",
            )
        )
    confirmation = OutboxMessage(
        channel="email",
        recipient=appointment.citizen_email,
        kind="reminder_24h",
        subject=f"Su cita {appointment.reference}",
        body_text="",
        appointment_id=appointment.id,
        send_after=end - dt.timedelta(days=1),
        status="sent",
        sent_at=end - dt.timedelta(days=1),
    )
    db.session.add(confirmation)
    db.session.flush()
    # Without MAIL_SERVER the sender also saved it as an .eml file, with the name and the links.
    outbox_dir = Path(current_app.config["OUTBOX_DIR"])
    outbox_dir.mkdir(parents=True, exist_ok=True)
    (outbox_dir / f"20300101T000000Z-{confirmation.id}-reminder_24h.eml").write_text(f"To: {marker}-mail")
    world.saved_emails[confirmation.id] = personal_gone
    db.session.add_all(
        [
            OutboxMessage(
                channel="email",
                recipient=appointment.citizen_email,
                kind="confirmation",
                subject=f"Su cita {appointment.reference}",
                body_text=f"Hola {marker}-name, https://example.pr/manage/{_token()}",
                appointment_id=appointment.id,
                send_after=end - dt.timedelta(days=3),
                status="sent",
                sent_at=end - dt.timedelta(days=3),
                dedupe_key=f"appt:{appointment.id}:confirmation",
            ),
            OutboxMessage(  # never sent (a dead mail server): it must not linger either
                channel="email",
                recipient=appointment.citizen_email,
                kind="outcome",
                subject=f"Su cita {appointment.reference}",
                body_text=f"Hola {marker}-name",
                appointment_id=appointment.id,
                send_after=end,
                status="pending",
                attempts=3,  # an SMTP refusal names the address in the error
                last_error=f"SMTPRecipientsRefused: {{'{marker}-mail@example.com': (550, b'no')}}",
            ),
            # The citizen's own actions are audited with their address; staff actions too.
            AuditEvent(
                action="document.downloaded_by_citizen",
                agency_id=service.agency_id,
                object_type="appointment",
                object_id=appointment.id,
                ip=address,
                detail={"document": 1},
                at=end,
            ),
        ]
    )
    world.personal_gone[address] = personal_gone
    return appointment


def _turn(world, service, marker, ended_ago, *, status="attended", personal_gone, day_number):
    finished = utcnow() - ended_ago
    phone = f"+1939555{next(NUMBERS):04d}"
    turn = Turn(
        service_id=service.id,
        day=finished.date(),
        number=day_number,
        code=f"T{day_number}",
        citizen_name=f"{marker}-name",
        citizen_phone=phone,
        reason=f"{marker}-name quiere saber",
        note=f"nota sobre {marker}-name",
        status=status,
        status_token_hash=_token(),
        queued_at=finished - dt.timedelta(hours=1),
        priority_at=finished - dt.timedelta(hours=1),
        finished_at=finished if status != "waiting" else None,
        active_phone=phone if status == "waiting" else None,
    )
    db.session.add(turn)
    db.session.flush()
    db.session.add(
        OutboxMessage(
            channel="sms",
            recipient=turn.citizen_phone,
            kind="turn_called",
            subject="",
            body_text=f"{marker}-name, le llamamos",
            turn_id=turn.id,
            send_after=finished,
            status="sent",
            sent_at=finished,
        )
    )
    world.personal_gone[marker] = personal_gone
    world.personal_gone[turn.citizen_phone] = personal_gone
    return turn


def build_world() -> World:
    """Appointments and turns on either side of each limit. Defaults: documents 30 days,
    personal data 365; agency "propia": documents 7 days, personal data 60."""
    world = World()
    _defaults, office, service = _agency("defecto")
    _own, own_office, own_service = _agency(
        "propia", document_retention_days=7, personal_data_retention_days=60
    )
    clerk = Staff(
        email="clerk@defecto.pr", name="Clerk Uno", password_hash="x", role="clerk", agency=_defaults
    )
    db.session.add(clerk)
    db.session.flush()
    a = dict(world=world)
    _appointment(**a, service=service, office=office, marker="alfa", ended_ago=400 * DAY,
                 documents_gone=True, personal_gone=True, seat_number=1, clerk=clerk)  # fmt: skip
    _appointment(**a, service=service, office=office, marker="bravo", ended_ago=366 * DAY, status="no_show",
                 outcome="no_show", documents_gone=True, personal_gone=True, seat_number=2)  # fmt: skip
    _appointment(**a, service=service, office=office, marker="charlie", ended_ago=500 * DAY,
                 status="cancelled", outcome=None, documents_gone=True, personal_gone=True)  # fmt: skip
    _appointment(**a, service=service, office=office, marker="delta", ended_ago=365 * DAY - MINUTE,
                 documents_gone=True, personal_gone=False, seat_number=3)  # fmt: skip
    _appointment(**a, service=service, office=office, marker="echo", ended_ago=30 * DAY + MINUTE,
                 status="no_show", outcome="no_show", documents_gone=True, personal_gone=False)  # fmt: skip
    _appointment(**a, service=service, office=office, marker="foxtrot", ended_ago=30 * DAY - MINUTE,
                 documents_gone=False, personal_gone=False)  # fmt: skip
    _appointment(**a, service=service, office=office, marker="golf", ended_ago=-3 * DAY, status="booked",
                 outcome=None, documents_gone=False, personal_gone=False)  # fmt: skip
    _appointment(**a, service=own_service, office=own_office, marker="hotel", ended_ago=61 * DAY,
                 documents_gone=True, personal_gone=True)  # fmt: skip
    _appointment(**a, service=own_service, office=own_office, marker="india", ended_ago=8 * DAY,
                 outcome="needs_in_person", documents_gone=True, personal_gone=False)  # fmt: skip
    _appointment(**a, service=own_service, office=own_office, marker="juliet", ended_ago=6 * DAY,
                 documents_gone=False, personal_gone=False)  # fmt: skip
    _turn(world, service, "kilo", 400 * DAY, personal_gone=True, day_number=1)
    _turn(world, service, "lima", 370 * DAY, status="waiting", personal_gone=True, day_number=2)
    _turn(world, service, "mike", 300 * DAY, status="no_answer", personal_gone=False, day_number=3)
    _turn(world, own_service, "november", 61 * DAY, personal_gone=True, day_number=1)
    # A booking abandoned half-way: its draft holds what the citizen typed so far.
    db.session.add(
        BookingDraft(
            key_hash=_token(),
            data={"name": "papa-name", "email": "papa-mail@example.com"},
            expires_at=utcnow() - MINUTE,
        )
    )
    world.personal_gone["papa-mail@example.com"] = True
    # The daily booking caps' places hold keyed hashes of phone numbers: a past day's go.
    for day, gone in ((utcnow().date() - 3 * DAY, True), (utcnow().date(), False)):
        key = _token()
        db.session.add(DailyBookingClaim(service_id=service.id, day=day, kind="phone", key=key, place=1))
        world.personal_gone[key] = gone
    db.session.commit()
    return world


# --- What the test reads back -------------------------------------------------------------------


def all_text() -> str:
    """Every value of every row of every table, as one text (JSON columns included)."""
    parts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            parts.append(repr(tuple(row)))
    db.session.commit()
    return "\n".join(parts)


def all_rows_but_audit() -> dict[str, list]:
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name != "audit_event":
            rows[table.name] = sorted(map(repr, db.session.execute(sa.select(table))))
    db.session.commit()
    return rows


def stored_files(app) -> set[str]:
    """Every file under the upload folder, as its path relative to it."""
    root = Path(app.config["UPLOAD_DIR"])
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def statistics() -> dict[str, Counter]:
    """What the reports count: appointments per service, office, status and outcome, and per day;
    call times; survey ratings; turns per status and day; documents and pages per appointment."""
    appointments = db.session.execute(
        sa.select(
            Appointment.service_id,
            Appointment.office_id,
            Appointment.status,
            Appointment.outcome,
            Appointment.start_at,
            Appointment.end_at,
            Appointment.clerk_id,
        )  # fmt: skip
    ).all()
    calls = db.session.execute(
        sa.select(
            CallSession.appointment_id,
            CallSession.waiting_since,
            CallSession.connected_at,
            CallSession.end_reason,
        )  # fmt: skip
    ).all()
    ratings = db.session.scalars(sa.select(SurveyResponse.rating)).all()
    turns = db.session.execute(
        sa.select(Turn.service_id, Turn.day, Turn.status, Turn.queued_at, Turn.finished_at)
    ).all()
    documents = db.session.execute(
        sa.select(Document.appointment_id, Document.source, Document.pages, Document.size_bytes)
    ).all()
    grouped = db.session.execute(
        sa.select(Appointment.status, Appointment.outcome, sa.func.count())
        .group_by(Appointment.status, Appointment.outcome)
    ).all()  # fmt: skip
    db.session.commit()
    return {
        "appointments": Counter(map(tuple, appointments)),
        "per_status_outcome": Counter({(s, o): n for s, o, n in grouped}),
        "calls": Counter(map(tuple, calls)),
        "ratings": Counter(ratings),
        "turns": Counter(map(tuple, turns)),
        "documents": Counter(map(tuple, documents)),
    }


def purge_audits() -> list[AuditEvent]:
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "retention.run").order_by(AuditEvent.id)
    ).all()
    db.session.commit()
    return events


# --- The tests ----------------------------------------------------------------------------------


def test_no_file_and_no_personal_field_survives_past_its_date_and_statistics_still_add_up(any_db_app):
    app = any_db_app
    with app.app_context():
        world = build_world()
        before = statistics()
        files_before = stored_files(app)
        text = all_text()
        for marker in world.personal_gone:
            assert marker in text  # the markers are really there before the purge

        result = app.test_cli_runner().invoke(args=["purge"])
        assert result.exit_code == 0, result.output

        # Files: a document past its date has neither its PDF nor its page images; the others do.
        files = stored_files(app)
        store = upload_store()
        for key, gone in world.documents_gone.items():
            assert store.exists(key) is not gone, key
            assert any(key in path for path in files) is not gone, key
        remaining_keys = {k for k, gone in world.documents_gone.items() if not gone}
        assert {Path(p).name[:32] for p in files} == remaining_keys
        saved = {int(p.name.split("-")[1]) for p in Path(app.config["OUTBOX_DIR"]).glob("*.eml")}
        assert saved == {i for i, gone in world.saved_emails.items() if not gone}
        purged = db.session.scalars(sa.select(Document).where(Document.purged_at.is_not(None))).all()
        assert {d.storage_key for d in purged} == {k for k, gone in world.documents_gone.items() if gone}

        # Personal data: nowhere in the database once past its date, still there before it.
        text = all_text()
        for marker, gone in world.personal_gone.items():
            assert (marker in text) is not gone, marker

        # Statistics: every count, time, outcome and rating the reports read is unchanged.
        assert statistics() == before
        for turn in db.session.scalars(sa.select(Turn).where(Turn.anonymised_at.is_not(None))):
            assert turn.active_phone is None
        db.session.commit()

        # The run is audited with its counts, for the site and for each agency that had work.
        (run, *per_agency) = purge_audits()
        assert run.agency_id is None and run.actor_staff_id is None
        assert run.detail["documents_deleted"] == sum(world.documents_gone.values())
        assert run.detail["appointments_anonymised"] == 4
        assert run.detail["turns_anonymised"] == 3
        agencies = {a.slug: a.id for a in db.session.scalars(sa.select(Agency))}
        assert {e.agency_id: e.detail["appointments_anonymised"] for e in per_agency} == {
            agencies["defecto"]: 3,
            agencies["propia"]: 1,
        }
        assert "Deleted 21 document(s)" in result.output and "anonymised 4 appointment(s), 3 turn(s)" in (
            result.output
        )
        assert files_before > files

        # A second run changes nothing but writes its own audit record, with zero counts.
        rows = all_rows_but_audit()
        files = stored_files(app)
        again = app.test_cli_runner().invoke(args=["purge"])
        assert again.exit_code == 0, again.output
        assert all_rows_but_audit() == rows
        assert stored_files(app) == files
        runs = purge_audits()
        assert len(runs) == 4  # the first run's three and the second run's one
        assert runs[-1].agency_id is None
        assert runs[-1].detail and set(runs[-1].detail.values()) == {0}


def test_a_citizen_can_book_again_with_the_same_e_mail_after_anonymisation(any_db_app):
    """Anonymised appointments give back their place among the citizen's (the unique per-citizen
    column) and share one placeholder e-mail without breaking the constraint."""
    with any_db_app.app_context():
        build_world()
        retention.purge()
        anonymised = db.session.scalars(
            sa.select(Appointment).where(Appointment.anonymised_at.is_not(None))
        ).all()
        assert len(anonymised) == 4
        assert all(a.citizen_seat is None for a in anonymised)
        assert len({a.citizen_email for a in anonymised}) == 1
        assert all(a.licence_number is None for a in anonymised)
        assert all(a.outcome_message in (None, "") for a in anonymised)
        db.session.commit()


def test_two_purges_at_once_share_the_work_and_count_it_once(any_db_app, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)  # many small batches: the two runs interleave
    app = any_db_app
    with app.app_context():
        world = build_world()
        start = threading.Barrier(2)
        reports, errors = [], []

        def run() -> None:
            try:
                with app.app_context():
                    start.wait(timeout=10)
                    reports.append(retention.purge())
            except Exception as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert len(reports) == 2
        assert sum(r.documents_deleted for r in reports) == sum(world.documents_gone.values())
        assert sum(r.appointments_anonymised for r in reports) == 4
        assert sum(r.turns_anonymised for r in reports) == 3
        assert not retention.purge()  # nothing left to do


def test_retention_days_per_agency_fall_back_to_the_settings(app):
    with app.app_context():
        agency = Agency(slug="x", name_es="x", name_en="x")
        assert retention.policy_for(agency) == retention.Policy(document_days=30, personal_data_days=365)
        agency.document_retention_days, agency.personal_data_retention_days = 400, 90
        # Documents hold personal data too: they never outlive the personal data limit.
        assert retention.policy_for(agency) == retention.Policy(document_days=90, personal_data_days=90)
        app.config["RETENTION_DOCUMENT_DAYS"] = 10
        agency.document_retention_days = None
        assert retention.policy_for(agency).document_days == 10


def test_a_zero_or_negative_retention_is_refused_by_the_database(any_db_app):
    with any_db_app.app_context():
        db.session.add(Agency(slug="cero", name_es="c", name_en="c", document_retention_days=0))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_purge_documents_keeps_working_as_documented(app):
    result = app.test_cli_runner().invoke(args=["purge-documents"])
    assert result.exit_code == 0, result.output
    assert "abandoned" in result.output


def test_the_in_app_scheduler_is_off_by_default_and_purges_when_enabled(app):
    from config import ProductionConfig, TestingConfig

    assert TestingConfig.PURGE_INTERVAL_HOURS == 0 and ProductionConfig.PURGE_INTERVAL_HOURS == 0
    assert retention.background_job(app) is None
    app.config["PURGE_INTERVAL_HOURS"] = 6
    job = retention.background_job(app)
    assert job.every_seconds == 6 * 3600
    with app.app_context():
        build_world()
    job.run()  # what the in-app loop calls each interval
    with app.app_context():
        assert len(purge_audits()) == 3


def test_the_in_app_loop_runs_the_purge_beside_the_sender(app):
    """The purge rides on the in-app sender's loop (no thread of its own), which starts with the
    first request when PURGE_INTERVAL_HOURS is set even if the sender itself is off."""
    with app.app_context():
        build_world()
    app.config["PURGE_INTERVAL_HOURS"] = 1
    loop = start_background_sender(app, jobs=[PeriodicJob("purge", 0.05, retention.background_job(app).run)])
    try:
        poll(lambda: db.session.rollback() or purge_audits(), app)
    finally:
        loop.stop()
        loop.task.join(timeout=5)
    with app.app_context():
        assert purge_audits()[0].detail["appointments_anonymised"] == 4


def test_the_first_request_starts_the_loop_when_only_the_purge_is_on(tmp_path):
    from tests.support.apps import build_app

    app = build_app(tmp_path, f"sqlite:///{tmp_path / 'loop.sqlite3'}", PURGE_INTERVAL_HOURS=24)
    assert app.extensions["outbox_sender"] is None
    app.test_client().get("/healthz")
    loop = app.extensions["outbox_sender"]
    try:
        assert loop is not None
        assert [job.name for job in loop.jobs] == ["purge"]
        assert loop.jobs[0].every_seconds == 24 * 3600
    finally:
        loop.stop()


def poll(check, app, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            if check():
                return
        time.sleep(0.05)
    raise AssertionError("the in-app loop did not purge in time")


def test_a_clerk_opens_an_anonymised_appointment_and_its_purged_document_is_gone(app, auth, client):
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == "certificacion-individuo"))
        world = World()
        appointment = _appointment(world, service, service.offices[0], "oscar", 400 * DAY,
                                   documents_gone=True, personal_gone=True)  # fmt: skip
        reference = appointment.reference
        document_id = appointment.documents[0].id
        db.session.commit()
        retention.purge()
    auth.login()
    response = client.get(f"/staff/appointments/{reference}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "oscar" not in page and reference in page
    assert (
        client.get(f"/staff/appointments/{reference}/documents/{document_id}/pages/1.png").status_code == 404
    )


# --- Per-agency settings, on the agency settings page -------------------------------------------------


def _settings_page(app, seeded, **retention):
    from tests.support.admin import DTOP_ADMIN, agency_id, sign_in
    from tests.test_admin import settings_form

    client = app.test_client()
    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    path = f"/admin/agencies/{agency_id(app, 'dtop')}/settings"
    return client, path, settings_form(app, **retention)


def test_an_agency_admin_sets_the_retention_days_and_the_purge_follows_them(app, seeded):
    from tests.support.admin import audit_events

    client, path, form = _settings_page(
        app, seeded, document_retention_days="7", personal_data_retention_days="60"
    )
    page = client.get(path).get_data(as_text=True)
    assert "Días que se guardan los documentos" in page and "30 días" in page and "365 días" in page
    assert client.post(path, data=form).status_code == 302
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == "dtop"))
        assert (agency.document_retention_days, agency.personal_data_retention_days) == (7, 60)
        assert retention.policy_for(agency) == retention.Policy(document_days=7, personal_data_days=60)
        db.session.rollback()
    (change,) = audit_events(app, "agency.settings_changed")
    assert change.detail["changes"]["document_retention_days"] == [None, 7]
    assert change.detail["changes"]["personal_data_retention_days"] == [None, 60]
    # Empty again: back to the site's settings.
    _client, _path, form = _settings_page(
        app, seeded, document_retention_days="", personal_data_retention_days=""
    )
    assert client.post(path, data=form).status_code == 302
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == "dtop"))
        assert (agency.document_retention_days, agency.personal_data_retention_days) == (None, None)


@pytest.mark.parametrize(
    "documents,personal,field,message",
    [
        ("0", "", "document_retention_days", "Escriba un número de días del 1 al 3650."),
        ("", "0", "personal_data_retention_days", "Escriba un número de días del 1 al 3650."),
        ("-5", "", "document_retention_days", "Escriba un número entero de días, o déjelo vacío."),
        ("7.5", "", "document_retention_days", "Escriba un número entero de días, o déjelo vacío."),
        ("siete", "", "document_retention_days", "Escriba un número entero de días, o déjelo vacío."),
        ("", "99999999999", "personal_data_retention_days", "Escriba un número entero de días"),
        ("", "4000", "personal_data_retention_days", "Escriba un número de días del 1 al 3650."),
        (
            "90",
            "60",
            "document_retention_days",
            "guárdelos como máximo lo mismo que los datos personales (60 días)",
        ),
        ("400", "", "document_retention_days", "como máximo lo mismo que los datos personales (365 días)"),
        ("", "20", "document_retention_days", "como máximo lo mismo que los datos personales (20 días)"),
    ],
)
def test_a_refused_retention_is_a_translated_422_and_nothing_changes(
    app, seeded, documents, personal, field, message
):
    client, path, form = _settings_page(
        app, seeded, document_retention_days=documents, personal_data_retention_days=personal
    )
    response = client.post(path, data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}-error"' in page
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == "dtop"))
        assert (agency.document_retention_days, agency.personal_data_retention_days) == (None, None)
        assert agency.version == int(form["version"])
