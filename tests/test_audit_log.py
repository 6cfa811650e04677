"""The audit log viewer (issue 12, item 3): an agency's admin reads their agency's entries, the
superadmin every agency's and the site's own; filters by staff member, appointment reference,
kind of event and dates (a refused filter is a translated 422); pages of 50 in the agency's time
zone; the old and new values of admin changes; a CSV export (BOM, formulas neutralised), itself
audited; no way to edit or delete an entry. And every action the issue names is audited where it
happens: the staff accounts the CLI creates, the caps it sets, the outcome of a turn's call.

Done when: an admin can show an auditor who viewed a given citizen's licence and when.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import audit, audit_log, queue
from app.extensions import db
from app.models import Agency, Appointment, AuditEvent, Service, Staff
from app.spreadsheets import BOM
from tests.support.admin import (
    DTOP_ADMIN,
    DTOP_CLERK,
    RETIRO_ADMIN,
    add_superadmin,
    agency_id,
    audit_events,
    sign_in,
)
from tests.support.booking import book_directly
from tests.support.clock import PR, WEDNESDAY_10AM
from tests.support.turns import clerk_named, give_turn, retiro_line

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dtop(app, seeded) -> int:
    return agency_id(app, "dtop")


def client_of(app, seeded, email):
    client = app.test_client()
    sign_in(client, email, seeded[email])
    return client


def add_event(action="staff.login", *, at=None, agency="dtop", actor=DTOP_CLERK, **detail) -> int:
    """An audit record written as the app writes them, at `at` (UTC)."""
    staff = db.session.scalar(sa.select(Staff).where(Staff.email == actor)) if actor else None
    agency_row = db.session.scalar(sa.select(Agency).where(Agency.slug == agency)) if agency else None
    event = audit.record(action, actor=staff, agency_id=agency_row.id if agency_row else None, **detail)
    if at is not None:
        event.at = at
    db.session.commit()
    return event.id


def rows_shown(page: str) -> list[str]:
    return re.findall(r'<tr data-action="([^"]+)"', page)


# --- Done when --------------------------------------------------------------------------------------


def test_an_admin_finds_who_viewed_a_citizens_licence_and_when_by_its_reference(app, seeded, dtop, clock):
    booked = book_directly(app)
    other = book_directly(app, email="otra@example.com", skip=1)
    reference = booked.appointment.reference
    with app.app_context():
        (document,) = db.session.get(Appointment, booked.appointment.id).documents
        (other_document,) = db.session.get(Appointment, other.appointment.id).documents
        document_id, other_id = document.id, other_document.id
    clerk = client_of(app, seeded, DTOP_CLERK)
    clock.advance(minutes=7)
    viewed_at = clock.now.astimezone(PR).strftime("%H:%M:%S")
    assert (
        clerk.get(f"/staff/appointments/{reference}/documents/{document_id}/pages/1.png").status_code == 200
    )
    other_page = f"/staff/appointments/{other.appointment.reference}/documents/{other_id}/pages/1.png"
    assert clerk.get(other_page).status_code == 200

    admin = client_of(app, seeded, DTOP_ADMIN)
    response = admin.get(f"/admin/agencies/{dtop}/audit", query_string={"reference": reference.lower()})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert rows_shown(page) == ["document.viewed"]
    assert "Documento visto" in page and "Clerk DTOP" in page and reference in page
    assert "Licencia de conducir (frente), en PDF" in page and "página 1" in page
    assert viewed_at in page  # in the agency's time zone, not UTC
    assert clock.now.strftime("%H:%M:%S") not in page
    assert response.headers["Cache-Control"] == "private, no-store"

    admin.get("/language/en")
    page = admin.get(f"/admin/agencies/{dtop}/audit?reference={reference}").get_data(as_text=True)
    assert "Document viewed" in page and "Driver&#39;s licence (front), as PDF" in page


# --- Scope ------------------------------------------------------------------------------------------


def test_an_admin_sees_only_their_agencys_entries_and_the_superadmin_sees_all(app, seeded, dtop):
    with app.app_context():
        add_event("staff.login", agency="dtop")
        add_event("staff.login_failed", agency="retiro", actor="clerk@retiro.demo.ventanilla.pr")
        add_event("staff.login_failed", agency=None, actor=None)  # an e-mail no account has
    dtop_page = client_of(app, seeded, DTOP_ADMIN).get(
        f"/admin/agencies/{dtop}/audit?kind=staff.login_failed"
    )
    assert rows_shown(dtop_page.get_data(as_text=True)) == []
    retiro = client_of(app, seeded, RETIRO_ADMIN)
    assert retiro.get(f"/admin/agencies/{dtop}/audit").status_code == 404
    assert retiro.get(f"/admin/agencies/{dtop}/audit.csv").status_code == 404
    assert retiro.get("/admin/audit").status_code == 403
    superadmin = app.test_client()
    sign_in(superadmin, *add_superadmin(app))
    site = superadmin.get("/admin/audit?kind=staff.login_failed").get_data(as_text=True)
    assert rows_shown(site) == ["staff.login_failed", "staff.login_failed"]
    assert "(retiro)" in site
    assert superadmin.get(f"/admin/agencies/{dtop}/audit").status_code == 200


def test_no_route_can_change_or_delete_an_entry(app):
    audit_rules = [rule for rule in app.url_map.iter_rules() if "audit" in rule.endpoint]
    assert len(audit_rules) == 4
    assert all(rule.methods <= {"GET", "HEAD", "OPTIONS"} for rule in audit_rules)


def test_a_post_to_the_audit_page_is_refused_and_changes_nothing(app, seeded, dtop):
    admin = client_of(app, seeded, DTOP_ADMIN)
    with app.app_context():
        add_event()
        before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    assert admin.post(f"/admin/agencies/{dtop}/audit", data={"id": "1"}).status_code in (400, 405)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before


# --- Filters ----------------------------------------------------------------------------------------


def test_entries_are_filtered_by_staff_member_kind_and_dates(app, seeded, dtop):
    day = dt.datetime(2026, 11, 10, 15, tzinfo=dt.UTC)
    with app.app_context():
        add_event("staff.login", at=day)
        add_event("staff.login", at=day + dt.timedelta(days=5), actor=DTOP_ADMIN)
        add_event("staff.login_failed", at=day + dt.timedelta(days=5))
        # 23:30 on the 20th in Puerto Rico is the 21st in UTC: the agency's day counts.
        add_event("staff.login", at=dt.datetime(2026, 11, 21, 3, 30, tzinfo=dt.UTC))
        clerk_id = db.session.scalar(sa.select(Staff.id).where(Staff.email == DTOP_CLERK))
    admin = client_of(app, seeded, DTOP_ADMIN)

    def shown(**args) -> list[str]:
        response = admin.get(f"/admin/agencies/{dtop}/audit", query_string=args)
        assert response.status_code == 200, response.get_data(as_text=True)
        return rows_shown(response.get_data(as_text=True))

    assert shown(kind="staff.login_failed") == ["staff.login_failed"]
    assert len(shown(staff=str(clerk_id), start="2026-11-01", end="2026-11-30")) == 3
    assert shown(staff=str(clerk_id), start="2026-11-15", end="2026-11-15") == ["staff.login_failed"]
    assert shown(start="2026-11-20", end="2026-11-20", kind="staff.login") == ["staff.login"]
    assert shown(start="2026-11-21", end="2026-11-21") == []
    assert shown(end="2026-11-10", kind="staff.login") == ["staff.login"]


@pytest.mark.parametrize(
    "args,field,message",
    [
        (
            {"start": "2026-11-20", "end": "2026-11-01"},
            "end",
            "La fecha final debe ser igual o posterior a la inicial.",
        ),
        ({"start": "2023-01-01", "end": "2026-01-02"}, "end", "Escoja un período de dos años como máximo."),
        ({"start": "20-11-2026"}, "start", "Escriba la fecha como AAAA-MM-DD"),
        ({"end": "2026-02-30"}, "end", "Escriba la fecha como AAAA-MM-DD"),
        ({"start": "99999-01-01"}, "start", "Escriba la fecha como AAAA-MM-DD"),
        ({"end": "9999-12-31"}, "end", "Escriba la fecha como AAAA-MM-DD"),
        ({"start": "0001-01-01"}, "start", "Escriba la fecha como AAAA-MM-DD"),
        ({"kind": "staff.deleted_everything"}, "kind", "Elija un tipo de evento de la lista."),
        ({"staff": "abc"}, "staff", "Elija un miembro del personal de la lista."),
        ({"staff": "99999999999999"}, "staff", "Elija un miembro del personal de la lista."),
        ({"reference": "<script>"}, "reference", "Escriba una referencia de letras"),
    ],
    ids=[
        "reversed",
        "over-two-years",
        "malformed",
        "no-such-day",
        "year-too-big",
        "year-9999",
        "year-1",
        "kind",
        "staff",
        "staff-huge",
        "reference",
    ],  # fmt: skip
)
def test_a_refused_filter_is_a_translated_422_on_its_field(app, seeded, dtop, args, field, message):
    admin = client_of(app, seeded, DTOP_ADMIN)
    for path in (f"/admin/agencies/{dtop}/audit", f"/admin/agencies/{dtop}/audit.csv"):
        response = admin.get(path, query_string=args)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert message in page
        assert f'id="audit-{field}-error"' in page and f'href="#audit-{field}"' in page
        assert f'action="/admin/agencies/{dtop}/audit"' in page  # the filters, sent again, show the page
    with app.app_context():
        assert audit_events(app, "audit.exported") == []


def test_another_agencys_clerk_is_not_a_choice(app, seeded, dtop):
    with app.app_context():
        retiro_clerk = db.session.scalar(
            sa.select(Staff.id).where(Staff.email == "clerk@retiro.demo.ventanilla.pr")
        )
    response = client_of(app, seeded, DTOP_ADMIN).get(f"/admin/agencies/{dtop}/audit?staff={retiro_clerk}")
    assert response.status_code == 422


def test_entries_come_in_pages_of_fifty_newest_first(app, seeded, dtop, clock):
    with app.app_context():
        for minute in range(60):
            add_event("call.running_late", at=clock.now - dt.timedelta(minutes=minute), minutes=minute)
    admin = client_of(app, seeded, DTOP_ADMIN)
    first = admin.get(f"/admin/agencies/{dtop}/audit?kind=call.running_late").get_data(as_text=True)
    assert len(rows_shown(first)) == 50 and "60 entradas" in first and "Página 1 de 2" in first
    assert "minutos: 0" in first and "minutos: 59" not in first
    assert "page=2" in first and "kind=call.running_late" in first
    second = admin.get(f"/admin/agencies/{dtop}/audit?kind=call.running_late&page=2").get_data(as_text=True)
    assert len(rows_shown(second)) == 10 and "minutos: 59" in second
    for page in ("abc", "0", "999999999999"):
        response = admin.get(f"/admin/agencies/{dtop}/audit?kind=call.running_late&page={page}")
        assert response.status_code == 200


# --- What an entry says -----------------------------------------------------------------------------


def test_an_admin_change_shows_its_old_and_new_values(app, seeded, dtop):
    from tests.test_admin import settings_form

    admin = client_of(app, seeded, DTOP_ADMIN)
    form = settings_form(app, banner_es="Cerrado el viernes")
    assert admin.post(f"/admin/agencies/{dtop}/settings", data=form).status_code == 302
    page = admin.get(f"/admin/agencies/{dtop}/audit?kind=agency.settings_changed").get_data(as_text=True)
    assert rows_shown(page) == ["agency.settings_changed"]
    assert "Configuración de la agencia cambiada" in page
    assert "Aviso en español: “—” → “Cerrado el viernes”" in page
    assert "Admin DTOP" in page


def test_every_action_the_app_records_has_a_readable_name():
    recorded = set()
    for path in (ROOT / "app").rglob("*.py"):
        source = path.read_text()
        recorded |= set(re.findall(r'(?:record|record_for_appointment)\(\s*"([a-z_]+\.[a-z_.]+)"', source))
        recorded |= set(re.findall(r'set_password\([^)]*"([a-z_]+\.[a-z_.]+)"', source))
    assert recorded >= {"document.viewed", "retention.run", "staff.login", "turn.outcome"}
    assert recorded - set(audit_log.EVENT_NAMES) == set()


def test_a_retention_run_shows_its_counts_in_the_agencys_log(app, seeded, dtop):
    with app.app_context():
        add_event("retention.run", actor=None, documents_deleted=3, appointments_anonymised=2)
    page = client_of(app, seeded, DTOP_ADMIN).get(f"/admin/agencies/{dtop}/audit").get_data(as_text=True)
    assert "Ejecución de la retención" in page
    assert "documentos eliminados: 3" in page and "citas anonimizadas: 2" in page


# --- The CSV export ---------------------------------------------------------------------------------


def test_the_csv_export_opens_in_excel_cannot_run_formulas_and_is_audited(app, seeded, dtop):
    with app.app_context():
        clerk = db.session.scalar(sa.select(Staff).where(Staff.email == DTOP_CLERK))
        clerk.name = '=HYPERLINK("http://evil.example","Peñuelas")'
        db.session.commit()
        add_event("staff.login", at=dt.datetime(2026, 11, 10, 15, tzinfo=dt.UTC))
        add_event("staff.login_failed", at=dt.datetime(2026, 11, 10, 16, tzinfo=dt.UTC))
        clerk_id = clerk.id
    admin = client_of(app, seeded, DTOP_ADMIN)
    response = admin.get(
        f"/admin/agencies/{dtop}/audit.csv?kind=staff.login&start=2026-11-01&staff={clerk_id}"
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="audit-dtop.csv"' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    text = response.get_data(as_text=True)
    assert text.startswith(BOM + "Fecha y hora,Evento,")
    lines = text.removeprefix(BOM).split("\r\n")
    assert len([line for line in lines if line]) == 2  # the header and the one sign-in
    assert lines[1].startswith("2026-11-10 11:00:00,Inició sesión,staff.login,")
    assert "'=HYPERLINK" in lines[1] and "Peñuelas" in lines[1]
    (exported,) = audit_events(app, "audit.exported")
    assert exported.agency_id == dtop and exported.detail == {
        "rows": 1,
        "kind": "staff.login",
        "start": "2026-11-01",
        "staff": str(clerk_id),
    }
    page = admin.get(f"/admin/agencies/{dtop}/audit?kind=staff.login").get_data(as_text=True)
    assert f"/admin/agencies/{dtop}/audit.csv?kind=staff.login" in page


# --- Audited where it happens ----------------------------------------------------------------------


def test_a_staff_account_created_from_the_command_line_is_audited(app, runner):
    with app.app_context():
        db.session.add(Agency(slug="uno", name_es="Uno", name_en="One"))
        db.session.commit()
    result = runner.invoke(
        args=[
            "create-staff",
            "--email",
            "nueva@uno.pr",
            "--name",
            "Nueva Persona",
            "--agency",
            "uno",
            "--role",
            "admin",
            "--password",
            "nube cobre faro tamarindo 2031",
        ]  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    (created,) = audit_events(app, "staff.created")
    assert created.object_type == "staff" and created.agency_id is not None
    assert created.detail["changes"]["role"] == [None, "admin"]


def test_changed_booking_caps_are_audited_with_old_and_new_values(app, seeded, runner):
    result = runner.invoke(args=["set-service-caps", "certificacion-individuo", "--per-phone", "4"])
    assert result.exit_code == 0, result.output
    (changed,) = audit_events(app, "service.caps_changed")
    assert changed.detail["changes"] == {"daily_cap_per_phone": [None, 4]}
    runner.invoke(args=["set-service-caps", "certificacion-individuo", "--per-phone", "4"])
    assert len(audit_events(app, "service.caps_changed")) == 1  # nothing changed, nothing recorded


def test_the_outcome_of_a_turns_call_is_audited(app, seeded, clock):
    with app.test_request_context():
        taken = give_turn()
        clerk = clerk_named()
        turn = queue.call_next(retiro_line(), clerk, now=clock.now)
        assert turn.id == taken.turn.id
        queue.record_outcome(turn, clerk, "attended", now=clock.now)
        service_agency = db.session.get(Service, turn.service_id).agency_id
        clerk_id = clerk.id
    (closed,) = audit_events(app, "turn.outcome")
    assert closed.object_type == "turn" and closed.object_id == taken.turn.id
    assert closed.agency_id == service_agency and closed.detail == {"outcome": "attended"}
    assert closed.actor_staff_id == clerk_id


# --- In Chromium ------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)
@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_the_audit_page_passes_axe_and_fits_the_screen(
    app, seeded, live_server, browser, axe, locale, viewport
):
    from tests.support.browser import open_page
    from tests.test_admin_browser import sign_in as sign_in_page

    booked = book_directly(app)
    with app.app_context():
        appointment = db.session.get(Appointment, booked.appointment.id)
        add_event("document.viewed", object_type="appointment", object_id=appointment.id,
                  document=appointment.documents[0].id, page=1, source="citizen")  # fmt: skip
        add_event("agency.settings_changed", actor=DTOP_ADMIN,
                  changes={"banner_es": ["", "Cerrado el viernes por mantenimiento"]})  # fmt: skip
        for minute in range(55):
            add_event("staff.login", at=dt.datetime(2026, 11, 2, 12, minute, tzinfo=dt.UTC))
    dtop = agency_id(app, "dtop")
    width, height = viewport
    page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    sign_in_page(page, app, live_server.url, DTOP_ADMIN, seeded[DTOP_ADMIN])
    found, wide = {}, {}
    for name, path in {
        "entries": f"/admin/agencies/{dtop}/audit",
        "by reference": f"/admin/agencies/{dtop}/audit?reference={booked.appointment.reference}",
        "refused": f"/admin/agencies/{dtop}/audit?start=2026-11-20&end=2026-11-01&kind=nope",
        "nothing found": f"/admin/agencies/{dtop}/audit?start=2020-01-01&end=2020-01-02",
        "home": "/admin/",
    }.items():
        page.goto(live_server.url + path)
        found[name] = axe(page)
        if page.evaluate("document.documentElement.scrollWidth") > width:
            wide[name] = page.evaluate("document.documentElement.scrollWidth")
    # The filters are sent with the keyboard, and the next page is a link away.
    page.goto(f"{live_server.url}/admin/agencies/{dtop}/audit")
    page.locator("#audit-kind").select_option("staff.login")
    with page.expect_navigation():
        page.locator("#audit-reference").press("Enter")
    assert page.locator("[data-action]").count() == 50
    with page.expect_navigation():
        page.locator(".usa-pagination__next-page").click()
    assert page.locator("[data-action]").count() >= 6
    found["second page"] = axe(page)
    assert [e for e in page.errors if "status of 422" not in e] == []
    page.context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert wide == {}


# --- The queries on both databases -----------------------------------------------------------------


def test_the_queries_find_the_same_entries_on_sqlite_and_postgresql(any_db_app):
    """The pages' queries without the pages: days in the agency's zone, reference, staff, paging."""
    with any_db_app.test_request_context():
        agency = Agency(slug="uno", name_es="Uno", name_en="One", timezone="America/Puerto_Rico")
        other = Agency(slug="dos", name_es="Dos", name_en="Two")
        db.session.add_all([agency, other])
        db.session.flush()
        clerk = Staff(email="c@uno.pr", name="Clerk Uno", password_hash="x", role="clerk", agency=agency)
        db.session.add(clerk)
        db.session.commit()
        late_evening = dt.datetime(2026, 11, 21, 3, 30, tzinfo=dt.UTC)  # 23:30 on the 20th in PR
        for at, agency_id_, actor, detail in [
            (late_evening, agency.id, clerk, {"document": 999, "page": 2}),
            (late_evening + dt.timedelta(days=1), agency.id, None, {}),
            (late_evening, other.id, None, {}),
        ]:
            event = audit.record("document.viewed", actor=actor, agency_id=agency_id_, **detail)
            event.at, event.object_type, event.object_id = at, "appointment", 41
        db.session.commit()

        def found(**args) -> list[int]:
            query = audit_log.parse_query(args, agency, "America/Puerto_Rico")
            return [entry.at.day for entry in audit_log.find_entries(query, page_size=1).entries]

        assert found(start="2026-11-20", end="2026-11-20") == [21]
        assert found(start="2026-11-21") == [22]
        assert found(staff=str(clerk.id)) == [21]
        whole = audit_log.find_entries(audit_log.parse_query({}, agency, "UTC"), page=2, page_size=1)
        assert (whole.page, whole.pages, whole.total) == (2, 2, 2)
        assert whole.entries[0].details == ["Documento 999", "página 2"]
        header, rows = audit_log.export_rows(audit_log.parse_query({}, None, "UTC"), clerk)
        assert len(rows) == 3 and rows[0][0] == "2026-11-22 03:30:00"
        with pytest.raises(audit_log.AuditQueryError) as refused:
            audit_log.parse_query({"start": "2026-12-01", "end": "2026-11-01", "kind": "x"}, agency, "UTC")
        assert set(refused.value.fields) == {"end", "kind"}
