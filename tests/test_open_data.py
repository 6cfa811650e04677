"""Open data (issue 12, item 2): an agency that opted in publishes its monthly figures per service
at /datos/<slug> (HTML and CSV) with no personal data and every count under 5 suppressed."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Agency, CallSession, Service, SurveyResponse
from app.reports import open_data, sections
from app.reports.filters import ReportFilters
from tests.support import reports as reports_fixture
from tests.support.admin import DTOP_ADMIN, agency_id, audit_events, sign_in
from tests.support.browser import open_page
from tests.support.clock import WEDNESDAY_10AM
from tests.support.reports import build_report_fixture
from tests.test_admin import settings_form

pytestmark = pytest.mark.clock(at=WEDNESDAY_10AM)  # Wednesday 5 March 2031: the fixture's month
PERSONAL = ("HYPERLINK", "example.com", "+1787555", "7875550", "Luis", "R-0")


def publishing(app, slug="prueba", flag=True) -> None:
    with app.app_context():
        if db.session.scalar(sa.select(Agency).where(Agency.slug == slug)) is None:
            build_report_fixture()
        db.session.execute(sa.update(Agency).where(Agency.slug == slug).values(publishes_open_data=flag))
        db.session.commit()


def march_row(app, service_slug="prueba-video") -> dict:
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == "prueba"))
        rows = open_data.open_data(agency)
        (row,) = [r for r in rows if r.month == "2031-03" and r.service.slug == service_slug]
        assert len(rows) == 12 * 2 and rows[0].month == "2031-03" and rows[-1].month == "2030-04"
        return row.values


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_figures_of_the_month_with_every_count_under_5_suppressed(request, database):
    app = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    publishing(app)
    assert march_row(app) == {
        "booked": 10,  # the whole local month: Sunday 2 March 23:00 and Wednesday 5 count too
        "completed": "<5",
        "cancelled": "<5",
        "no_show": "<5",
        "calls_connected": "<5",
        "turns_taken": "<5",
        "turns_attended": "<5",
        "survey_answers": "<5",
        "average_rating": "<5",
    }
    turns = march_row(app, "prueba-turnos")
    assert turns["turns_taken"] == 5 and turns["turns_attended"] == "<5" and turns["booked"] == "<5"


def reports_figures(filters) -> dict:
    """What the agency's report says for one month and service (app.reports.sections), unsuppressed."""
    counts, survey = sections.appointment_counts(filters), sections.survey_figures(filters)
    turns = sections.turn_figures(filters)
    return {
        "booked": counts.booked,
        "completed": counts.completed,
        "cancelled": counts.cancelled_by_citizen + counts.cancelled_by_agency,
        "no_show": counts.no_show,
        "calls_connected": sections.call_figures(filters).connected,
        "turns_taken": turns.taken,
        "turns_attended": turns.attended,
        "survey_answers": survey.answered,
        "average_rating": None if survey.average is None else round(survey.average, 1),
    }


def add_activity_around_the_month_change(agency: Agency) -> None:
    """February's last local hour and March's first (UTC−4), and turns on both sides of the change."""
    video, turns = sorted(agency.services, key=lambda service: service.mode != "video")
    office = video.offices[0]
    february = reports_fixture.appointment(video, office, dt.datetime(2031, 3, 1, 3, 30, tzinfo=dt.UTC))
    march = reports_fixture.appointment(
        video, office, dt.datetime(2031, 3, 1, 4, tzinfo=dt.UTC), "completed", "completed"
    )
    for appointment in (february, march, march):  # two calls of one appointment: it reconnected
        db.session.add(CallSession(appointment_id=appointment.id, connected_at=appointment.start_at))
    db.session.add_all([SurveyResponse(appointment_id=february.id, rating=2)])
    reports_fixture.turn(turns, office, dt.date(2031, 2, 28), "attended")
    reports_fixture.turn(turns, office, dt.date(2031, 2, 28), "cancelled")
    reports_fixture.turn(turns, office, dt.date(2030, 4, 1), "attended")  # the oldest month shown
    reports_fixture.turn(turns, office, dt.date(2030, 3, 31), "attended")  # too old: not shown
    db.session.commit()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_every_month_and_service_has_the_reports_figures(request, database):
    app = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    publishing(app)
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == "prueba"))
        add_activity_around_the_month_change(agency)
        months = open_data.last_months(agency)
        grouped = open_data._monthly_figures(agency, months)
        for index, first in enumerate(months):
            last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            for service in agency.services:
                expected = reports_figures(ReportFilters(agency, first, last, service_id=service.id))
                assert grouped[index, service.id] == expected, (first, service.slug)
        video = next(service for service in agency.services if service.mode == "video")
        assert grouped[1, video.id]["calls_connected"] == 1 and grouped[1, video.id]["average_rating"] == 2
        assert grouped[0, video.id]["calls_connected"] == 4  # two in the fixture, two of 1 March


def statements_of_a_view(app, client, url) -> int:
    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_a_view_costs_the_same_few_queries_with_one_service_or_twenty(app, client):
    publishing(app)
    before = statements_of_a_view(app, client, "/datos/prueba")
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == "prueba"))
        for number in range(18):
            db.session.add(
                Service(
                    agency=agency,
                    slug=f"extra-{number}",
                    name_es=f"Extra {number}",
                    name_en="Extra",
                    mode="in_person",
                )
            )
        db.session.commit()
    after = statements_of_a_view(app, client, "/datos/prueba")
    assert before == after <= 8  # the agency, its services, four grouped figures, the page (7 now)
    assert statements_of_a_view(app, client, "/datos/prueba.csv") == after


def test_an_average_needs_5_answers():
    figures = dict.fromkeys(open_data.COLUMNS, 7) | {"average_rating": 4.2}
    assert open_data._suppressed(figures | {"survey_answers": 5})["average_rating"] == 4.2
    assert open_data._suppressed(figures | {"survey_answers": 4})["average_rating"] == "<5"
    assert open_data._suppressed(figures | {"booked": 0})["booked"] == "<5"


@pytest.mark.parametrize("url", ["/datos/prueba", "/datos/prueba.csv", "/datos/nadie", "/datos/nadie.csv"])
def test_an_agency_that_did_not_opt_in_or_does_not_exist_is_a_translated_404(app, client, url):
    publishing(app, flag=False)
    response = client.get(url)
    assert response.status_code == 404
    assert "Esta agencia no publica datos abiertos." in response.get_data(as_text=True)
    page = client.get("/agencies/prueba").get_data(as_text=True)
    assert "/datos/prueba" not in page


def test_the_page_in_spanish_and_english_without_personal_data(app, client):
    publishing(app)
    page = client.get("/datos/prueba").get_data(as_text=True)
    assert "Datos abiertos" in page and "Renovación" in page and "2031-03" in page
    assert "&lt;5" in page and '<td class="text-right">10</td>' in page
    assert not [word for word in PERSONAL if word in page]
    english = client.get("/datos/prueba", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Open data" in english and "Renewal" in english and "Appointments booked" in english
    assert "/datos/prueba" in client.get("/agencies/prueba").get_data(as_text=True)


def test_the_csv_has_a_bom_no_personal_data_and_neutralised_formulas(app, client):
    publishing(app)
    with app.app_context():
        db.session.execute(sa.update(Service).where(Service.slug == "prueba-video").values(name_es="=SUM(1)"))
        db.session.commit()
    response = client.get("/datos/prueba.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "no-store" in response.headers["Cache-Control"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffMes,Servicio,Citas reservadas")
    assert "2031-03,'=SUM(1),10,<5,<5,<5,<5,<5,<5,<5,<5" in text
    assert "2031-03,Orientación,<5,<5,<5,<5,<5,5,<5,<5,<5" in text
    assert not [word for word in PERSONAL if word in text]
    assert len(text.strip().splitlines()) == 1 + 24


def test_the_settings_form_saves_the_flag_and_audits_it(app, client, seeded):
    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    url = f"/admin/agencies/{agency_id(app, 'dtop')}/settings"
    assert 'name="publishes_open_data"' in client.get(url).get_data(as_text=True)
    assert client.get("/datos/dtop").status_code == 404
    assert client.post(url, data=settings_form(app, publishes_open_data="y")).status_code == 302
    (event,) = audit_events(app, "agency.settings_changed")
    assert event.detail["changes"] == {"publishes_open_data": [False, True]}
    assert client.get("/datos/dtop").status_code == 200
    assert client.post(url, data=settings_form(app)).status_code == 302
    assert client.get("/datos/dtop").status_code == 404
    assert audit_events(app, "agency.settings_changed")[-1].detail["changes"] == {
        "publishes_open_data": [True, False]
    }


@pytest.mark.browser
@pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)
@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_the_page_passes_axe_and_fits_the_screen(app, live_server, browser, axe, locale, viewport):
    publishing(app)
    width, height = viewport
    page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    found = {}
    for name in ("agency", "datos"):
        page.goto(f"{live_server.url}/{'agencies' if name == 'agency' else 'datos'}/prueba")
        found[name] = axe(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    page.focus("table caption >> xpath=../..")  # the table scrolls inside its own box, by keyboard too
    assert page.evaluate("document.activeElement.getAttribute('role')") == "region"
    assert page.locator("tbody tr").count() == 24
    assert page.errors == []
    page.context.close()
    assert {name: v for name, v in found.items() if v} == {}
