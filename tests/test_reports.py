"""The reports (issue 12, item 1): every figure against the fixture counted by hand
(tests/support/reports.py), on SQLite and PostgreSQL; the page, its CSV exports, its guards and
bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from app import reports
from app.extensions import db
from app.models import Agency
from tests.support.admin import DTOP_ADMIN, DTOP_CLERK, RETIRO_ADMIN, add_superadmin, agency_id, sign_in
from tests.support.reports import ADMIN, MONDAY, TUESDAY, build_report_fixture

NOW = dt.datetime(2031, 3, 5, 14, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.clock(at=NOW)
RANGE = {"start": MONDAY.isoformat(), "end": TUESDAY.isoformat()}


def report_of(app, build: bool = True, **args) -> dict[str, list[list]]:
    """The fixture agency's report over Monday–Tuesday, as {table: rows} in English (`build`:
    make the fixture first)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        if build:
            build_report_fixture()
        agency = db.session.scalar(db.select(Agency).where(Agency.slug == "prueba"))
        built = reports.build_report(reports.parse_filters(agency, RANGE | args))
        return {
            key: [[str(c) if hasattr(c, "__html__") else c for c in row] for row in table.rows]
            for key, table in built.tables.items()
        }


def column(rows: list[list]) -> dict:
    return {str(row[0]): row[1] for row in rows}


def test_appointments_by_status_cancellation_and_outcome(any_db_app):
    tables = report_of(any_db_app)
    assert column(tables["appointments"]) == {
        "Appointments booked": 8,
        "Completed": 3,
        "Cancelled by the citizen": 1,
        "Cancelled by the agency": 1,
        "Did not attend": 1,
        "Not closed yet": 2,
    }
    assert column(tables["outcomes"]) == {
        "Completed": 1,
        "An in-person visit is needed": 0,
        "Documents are missing": 1,
        "Did not attend": 1,
        "Technical failure": 1,
        "Attended by phone": 0,
    }


def test_video_calls_counts_and_waits_in_minutes(any_db_app):
    calls = list(column(report_of(any_db_app)["calls"]).values())
    # waits until admitted 60, 120, 360 s; until connected 150, 430 s (linear percentiles)
    assert calls == [3, 3, 2, 1, 1, 50.0, 2.0, 5.2, 4.8, 6.7]


def test_same_day_turns_and_the_estimate_error(any_db_app):
    turns = list(column(report_of(any_db_app)["turns"]).values())
    # waits 4, 10, 20, 30 minutes; errors +5, −10, 0 against the estimates
    assert turns == [5, 2, 2, 1, 15.0, 27.0, 3, -1.7, 5.0]


def test_survey_rate_average_and_distribution(any_db_app):
    tables = report_of(any_db_app)
    assert list(column(tables["survey"]).values()) == [3, 2, 66.7, 4.0]
    assert tables["ratings"] == [[1, 0], [2, 0], [3, 1], [4, 0], [5, 1]]


def test_busiest_hours_and_demand_in_the_agency_time_zone(any_db_app):
    tables = report_of(any_db_app)
    hours = {row[0]: row[1:] for row in tables["hours"]}
    assert len(tables["hours"][0]) == 1 + 13  # 08:00 … 20:00
    assert hours["Monday"][1:3] == [2, 1] and sum(hours["Monday"]) == 3
    assert hours["Tuesday"][1] == 1 and hours["Tuesday"][3] == 1 and hours["Tuesday"][12] == 1
    assert sum(sum(row[1:]) for row in tables["hours"]) == 6
    # 08:00–12:00 in 30-minute slots of 2 seats: 16 a day; the phone-turn service offers none
    assert tables["capacity"] == [["2031-03-03", 16, 3, 18.8], ["2031-03-04", 16, 3, 18.8]]


def test_a_service_filter_leaves_out_the_other_services(any_db_app):
    with any_db_app.test_request_context(headers={"Accept-Language": "en"}):
        agency = db.session.get(Agency, build_report_fixture())
        video, phone = (service.id for service in agency.services)
        by_video = reports.build_report(reports.parse_filters(agency, RANGE | {"service": str(video)}))
        by_phone = reports.build_report(reports.parse_filters(agency, RANGE | {"service": str(phone)}))
        assert by_video.tables["appointments"].rows[0][1] == 8 and by_video.tables["turns"].rows[0][1] == 0
        assert by_phone.tables["appointments"].rows[0][1] == 0 and by_phone.tables["turns"].rows[0][1] == 5
        assert [row[1] for row in by_phone.tables["capacity"].rows] == [0, 0]


def test_percentiles_agree_with_the_hand_computed_ones_on_one_row_and_none(any_db_app):
    with any_db_app.test_request_context():
        agency = db.session.get(Agency, build_report_fixture())
        empty = reports.parse_filters(agency, {"start": "2031-01-01", "end": "2031-01-31"})
        built = reports.build_report(empty)
    calls = column(built.tables["calls"].rows)
    assert list(calls.values())[:6] == [0, 0, 0, 0, 0, None]
    assert list(calls.values())[6:] == [None] * 4


# --- Filters and bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,field",
    [
        ({"start": "2031-03-10", "end": "2031-03-01"}, "end"),
        ({"start": "2029-01-01", "end": "2031-01-02"}, "end"),
        ({"start": "03/01/2031"}, "start"),
        ({"end": "2031-02-30"}, "end"),
        ({"start": "0001-01-01"}, "start"),
        ({"service": "999999"}, "service"),
        ({"office": "abc"}, "office"),
    ],
)
def test_bad_filters_name_the_field(app, args, field):
    with app.test_request_context():
        agency = db.session.get(Agency, build_report_fixture())
        with pytest.raises(reports.ReportInputError) as refused:
            reports.parse_filters(agency, args)
    assert set(refused.value.fields) == {field}


def test_the_default_range_is_the_last_30_days_in_the_agency_time_zone(app, clock):
    clock.now = dt.datetime(2031, 3, 5, 2, 0, tzinfo=dt.UTC)  # still 4 March in Puerto Rico
    with app.test_request_context():
        agency = db.session.get(Agency, build_report_fixture())
        filters = reports.parse_filters(agency, {})
    assert (filters.first, filters.last) == (dt.date(2031, 2, 3), dt.date(2031, 3, 4))
    assert filters.start == dt.datetime(2031, 2, 3, 4, 0, tzinfo=dt.UTC)


def test_another_agencys_service_is_refused(app):
    with app.test_request_context():
        agency_id_ = build_report_fixture()
        agency = db.session.get(Agency, agency_id_)
        other = db.session.scalar(db.select(Agency).where(Agency.slug == "otra"))
        other_service = other.services[0].id
        with pytest.raises(reports.ReportInputError):
            reports.parse_filters(agency, {"service": str(other_service)})


# --- The pages and the exports --------------------------------------------------------------------


@pytest.fixture
def admin_client(app):
    with app.app_context():
        build_report_fixture(with_admin=True)
        agency = db.session.scalar(db.select(Agency.id).where(Agency.slug == "prueba"))
    client = app.test_client()
    sign_in(client, *ADMIN)
    return client, agency


def test_the_page_shows_each_chart_beside_its_table_and_an_export_link(admin_client):
    client, agency = admin_client
    page = client.get(
        f"/admin/agencies/{agency}/reports", query_string=RANGE, headers={"Accept-Language": "en"}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("<svg") == 5 and html.count('role="img"') == 5
    for key in reports.TABLES:
        assert f'id="{key}-caption"' in html
        assert f"/admin/agencies/{agency}/reports/{key}.csv?start=2031-03-03&amp;end=2031-03-04" in html
    assert "Cancelled by the agency" in html


def test_the_page_is_in_spanish_by_default(admin_client):
    client, agency = admin_client
    html = client.get(f"/admin/agencies/{agency}/reports", query_string=RANGE).get_data(as_text=True)
    assert "Cancelada por la agencia" in html and "Horas de más demanda" in html


def test_a_csv_export_has_the_bom_crlf_and_the_same_numbers(admin_client):
    client, agency = admin_client
    response = client.get(
        f"/admin/agencies/{agency}/reports/appointments.csv",
        query_string=RANGE,
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert (
        'filename="prueba-appointments-2031-03-03-2031-03-04.csv"' in response.headers["Content-Disposition"]
    )
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeffMeasure,Count\r\nAppointments booked,8\r\n")
    assert "Cancelled by the agency,1\r\n" in body


@pytest.mark.parametrize("table", list(reports.TABLES))
def test_every_table_exports(admin_client, table):
    client, agency = admin_client
    response = client.get(f"/admin/agencies/{agency}/reports/{table}.csv", query_string=RANGE)
    assert response.status_code == 200 and response.get_data(as_text=True).startswith("\ufeff")


def test_exported_text_that_looks_like_a_formula_is_neutralised_and_numbers_stay_numbers(
    admin_client, monkeypatch
):
    from app import outcomes

    client, agency = admin_client
    monkeypatch.setitem(outcomes.OUTCOME_LABELS, "completed", '=HYPERLINK("http://x")')
    exported = client.get(f"/admin/agencies/{agency}/reports/outcomes.csv", query_string=RANGE)
    assert '\r\n"\'=HYPERLINK(""http://x"")",1\r\n' in exported.get_data(as_text=True)
    turns = client.get(
        f"/admin/agencies/{agency}/reports/turns.csv", query_string=RANGE, headers={"Accept-Language": "en"}
    )
    assert ",-1.7\r\n" in turns.get_data(as_text=True)  # a negative error is a number, not a formula


def test_an_unknown_table_is_a_404(admin_client):
    client, agency = admin_client
    assert client.get(f"/admin/agencies/{agency}/reports/secrets.csv").status_code == 404


@pytest.mark.parametrize(
    "query,message",
    [
        ({"start": "2031-03-10", "end": "2031-03-01"}, "The end date must be on or after the start date."),
        ({"start": "2029-01-01", "end": "2031-03-01"}, "Choose a range of at most two years."),
        ({"start": "1/3/2031"}, "Enter a date as YYYY-MM-DD"),
    ],
)
def test_bad_input_is_a_translated_422_on_the_page_and_the_export(admin_client, query, message):
    client, agency = admin_client
    english = {"Accept-Language": "en"}
    page = client.get(f"/admin/agencies/{agency}/reports", query_string=query, headers=english)
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    assert "<svg" not in page.get_data(as_text=True)
    export = client.get(f"/admin/agencies/{agency}/reports/calls.csv", query_string=query, headers=english)
    assert export.status_code == 422 and message in export.get_data(as_text=True)
    spanish = client.get(f"/admin/agencies/{agency}/reports", query_string=query)
    assert spanish.status_code == 422 and message not in spanish.get_data(as_text=True)


def test_a_clerk_gets_403_and_another_agencys_admin_404_on_every_report_url(app, seeded):
    dtop = agency_id(app, "dtop")
    urls = [f"/admin/agencies/{dtop}/reports"] + [
        f"/admin/agencies/{dtop}/reports/{table}.csv" for table in reports.TABLES
    ]
    clerk, other = app.test_client(), app.test_client()
    sign_in(clerk, DTOP_CLERK, seeded[DTOP_CLERK])
    sign_in(other, RETIRO_ADMIN, seeded[RETIRO_ADMIN])
    assert {url: clerk.get(url).status_code for url in urls} == dict.fromkeys(urls, 403)
    assert {url: other.get(url).status_code for url in urls} == dict.fromkeys(urls, 404)


def test_an_admin_goes_straight_to_their_agency_and_the_superadmin_chooses(app, seeded):
    admin, superadmin = app.test_client(), app.test_client()
    sign_in(admin, DTOP_ADMIN, seeded[DTOP_ADMIN])
    sign_in(superadmin, *add_superadmin(app))
    response = admin.get("/admin/reports")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/agencies/{agency_id(app, 'dtop')}/reports")
    chooser = superadmin.get("/admin/reports").get_data(as_text=True)
    assert f"/admin/agencies/{agency_id(app, 'retiro')}/reports" in chooser
    assert superadmin.get(f"/admin/agencies/{agency_id(app, 'retiro')}/reports").status_code == 200


# --- What the reports need is recorded where it happens -------------------------------------------


def test_a_citizens_cancellation_and_the_counters_are_told_apart(app, seeded):
    from app.appointments import cancel_appointment
    from app.closing import cancel_checked_in
    from app.models import Appointment, Staff
    from tests.support.booking import book_directly

    by_citizen, at_counter = book_directly(app), book_directly(app, email="luis@example.com", skip=1)
    with app.test_request_context():
        cancel_appointment(db.session.get(Appointment, by_citizen.appointment.id))
        checked_in = db.session.get(Appointment, at_counter.appointment.id)
        checked_in.status = "checked_in"
        db.session.commit()
        clerk = db.session.scalar(db.select(Staff).where(Staff.email == DTOP_CLERK))
        assert cancel_checked_in(checked_in, clerk, NOW)
        db.session.commit()
        assert db.session.get(Appointment, by_citizen.appointment.id).cancelled_by == "citizen"
        assert db.session.get(Appointment, at_counter.appointment.id).cancelled_by == "agency"


def test_a_turn_keeps_the_wait_it_was_told(app, seeded):
    from tests.support.turns import give_turn

    with app.test_request_context():
        first, second = give_turn("787-555-0101"), give_turn("787-555-0102")
        assert (first.turn.estimated_wait_minutes, second.turn.estimated_wait_minutes) == (0, 15)


@pytest.mark.clock(tick=True)
@pytest.mark.parametrize("payload,audio_only", [({"audio_only": True}, True), ({}, False)])
def test_the_clerks_connected_event_says_whether_the_call_is_audio_only(
    app, seeded, live_server, payload, audio_only
):
    from app.models import Appointment, CallSession
    from tests.support.signaling import CLERK, Peer, make_appointment, staff_cookie

    reference, _token = make_appointment(app, status="in_call", clerk_email=CLERK)
    with app.app_context():
        appointment = db.session.scalar(db.select(Appointment).where(Appointment.reference == reference))
        db.session.add(CallSession(appointment_id=appointment.id, admitted_at=dt.datetime.now(dt.UTC)))
        db.session.commit()
        appointment_id = appointment.id
    clerk = Peer(
        live_server.url,
        {"appointment": reference},
        cookie=staff_cookie(live_server.url, CLERK, seeded[CLERK]),
    )
    try:
        clerk.wait_for("role")
        assert clerk.call("connected", payload) == {"ok": True}
    finally:
        clerk.close()
    with app.app_context():
        session = db.session.scalar(
            db.select(CallSession).where(CallSession.appointment_id == appointment_id)
        )
        assert session.connected_at is not None and session.audio_only is audio_only


def test_seats_offered_leave_out_closures_and_holidays_and_respect_a_daily_cap(app):
    from app.models import Closure

    with app.test_request_context(headers={"Accept-Language": "en"}):
        agency = db.session.get(Agency, build_report_fixture())
        video = agency.services[0]
        video.daily_capacity = 10
        db.session.add(Closure(agency_id=agency.id, office_id=None, first_day=TUESDAY, last_day=TUESDAY))
        db.session.commit()
        week = reports.parse_filters(agency, {"start": "2031-03-03", "end": "2031-03-07"})
        good_friday = reports.parse_filters(agency, {"start": "2031-04-10", "end": "2031-04-11"})
        capacity = reports.report_table("capacity", week).rows
        holiday = reports.report_table("capacity", good_friday).rows
    assert [row[1] for row in capacity] == [10, 0, 10, 10, 10]
    assert [row[1] for row in holiday] == [10, 0]


def test_the_migration_counts_earlier_cancellations_as_the_citizens_unless_the_counter_audited_them(tmp_path):
    from flask_migrate import upgrade

    from tests.support.apps import build_app

    def insert(table: str, **values) -> None:
        names = ", ".join(values)
        db.session.execute(db.text(f"INSERT INTO {table} ({names}) VALUES (:{', :'.join(values)})"), values)

    migrated = build_app(tmp_path, f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    now, later = "2031-03-01 12:00:00", "2031-03-01 12:20:00"
    named = dict(name_es="A", name_en="A")
    with migrated.app_context():
        upgrade(revision="0011")
        insert(
            "agency",
            id=1,
            slug="a",
            kind="agency",
            timezone="America/Puerto_Rico",
            observes_pr_holidays=1,
            created_at=now,
            **named,
        )
        insert("office", id=1, agency_id=1, slug="o", is_remote=0, **named)
        insert(
            "service",
            id=1,
            agency_id=1,
            slug="s",
            description_es="",
            description_en="",
            mode="video",
            slot_minutes=20,
            capacity_per_slot=1,
            lead_time_minutes=0,
            horizon_days=30,
            asks_licence_number=0,
            active=1,
            **named,
        )
        for number, status in [(1, "cancelled"), (2, "cancelled"), (3, "completed")]:
            insert(
                "appointment",
                id=number,
                reference=f"R{number}",
                service_id=1,
                office_id=1,
                start_at=now,
                end_at=later,
                seat=None if status == "cancelled" else 1,
                status=status,
                citizen_name="A",
                citizen_email="a@example.com",
                citizen_phone="+17875550100",
                language="es",
                manage_token_hash=f"t{number}",
                created_at=now,
                updated_at=now,
            )
        insert(
            "audit_event",
            at=now,
            action="appointment.cancelled_at_counter",
            object_type="appointment",
            object_id=2,
            detail="{}",
        )
        db.session.commit()
        upgrade()  # to the head, through 0012_reports
        found = dict(db.session.execute(db.text("SELECT id, cancelled_by FROM appointment")).all())
        db.engine.dispose()
    assert found == {1: "citizen", 2: "agency", 3: None}


def test_only_completed_video_appointments_are_asked_the_survey(any_db_app):
    from app.models import Service
    from tests.support.reports import appointment, utc

    with any_db_app.test_request_context(headers={"Accept-Language": "en"}):
        agency = db.session.get(Agency, build_report_fixture())
        office = agency.offices[0]
        counter = Service(agency=agency, slug="prueba-ventanilla", name_es="V", name_en="V", mode="in_person")
        counter.offices.append(office)
        appointment(counter, office, utc(3, 15), "completed", "completed")
        db.session.commit()
        survey = reports.report_table("survey", reports.parse_filters(agency, RANGE)).rows
    assert [row[1] for row in survey] == [3, 2, 66.7, 4.0]


def test_the_report_still_adds_up_after_retention_anonymises_the_citizens(any_db_app, clock):
    """Retention (issue 12, item 4) deletes documents and blanks names, e-mails, phones and licence
    numbers; the statistics over the same days do not move."""
    from app import retention

    app = any_db_app
    before = report_of(app)
    with app.app_context():
        agency = db.session.scalar(db.select(Agency).where(Agency.slug == "prueba"))
        agency.document_retention_days = agency.personal_data_retention_days = 1
        db.session.commit()
    clock.advance(days=30)
    with app.app_context():
        purged = retention.purge()
    assert purged.appointments_anonymised >= 8
    assert report_of(app, build=False) == before
