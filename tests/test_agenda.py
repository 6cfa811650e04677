"""The clerk's agenda beyond today (issue 12, item 5): any day or week in the agency's time zone,
filters, and a search across dates with accents and case ignored. The clock is the suite's frozen
Wednesday 2031-03-05 10:00 in Puerto Rico."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment
from tests.support.clock import PR
from tests.support.signaling import OTHER_AGENCY_CLERK, make_appointment


def at(day: str, time: str) -> dt.datetime:
    """A Puerto Rico local time, in UTC."""
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=PR).astimezone(dt.UTC)


def book(
    app, start, *, name="Ana Rivera", email="ana@example.com", slug="certificacion-individuo", status="booked"
):
    """An appointment starting at `start` (straight into the table); its reference."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    reference, _token = make_appointment(app, starts_in=start - now, email=email, slug=slug, status=status)
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        appointment.citizen_name = name
        db.session.commit()
    return reference


@pytest.fixture
def clerk(client, auth):
    auth.login()
    return client


def test_any_day_shows_that_days_appointments_in_the_agencys_zone(app, clerk):
    late = book(app, at("2031-03-06", "23:50"))
    just_after_midnight = book(app, at("2031-03-07", "00:04"), email="b@example.com")
    page = clerk.get("/staff/agenda?day=2031-03-06").get_data(as_text=True)
    assert late in page and just_after_midnight not in page
    assert just_after_midnight in clerk.get("/staff/agenda?day=2031-03-07").get_data(as_text=True)


def test_the_week_view_runs_monday_to_sunday_with_every_day_named(app, clerk):
    monday = book(app, at("2031-03-10", "09:00"))
    sunday_before = book(app, at("2031-03-09", "09:00"), email="b@example.com")
    page = clerk.get("/staff/agenda?day=2031-03-12&view=week").get_data(as_text=True)
    assert monday in page and sunday_before not in page
    assert page.count("<h2>") >= 7


def test_filters_narrow_the_agenda_by_state(app, clerk):
    kept = book(app, at("2031-03-06", "09:00"))
    cancelled = book(app, at("2031-03-06", "09:20"), email="b@example.com", status="cancelled")
    page = clerk.get("/staff/agenda?day=2031-03-06&status=cancelled").get_data(as_text=True)
    assert cancelled in page and kept not in page


@pytest.mark.parametrize(
    "query",
    ["office=999999", "service=abc", "status=lost", "office=1%2000"],
    ids=["office", "service", "status", "junk"],
)
def test_a_filter_not_among_the_choices_is_a_translated_422(clerk, query):
    response = clerk.get(f"/staff/agenda?day=2031-03-06&{query}")
    assert response.status_code == 422
    assert "Elija la oficina, el servicio y el estado de las listas." in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["day=2031-02-30", "day=tomorrow", "day=0001-01-01", "view=year"])
def test_a_bad_day_or_view_is_404(clerk, query):
    assert clerk.get(f"/staff/agenda?{query}").status_code == 404


def test_another_agencys_office_is_not_a_choice(app, clerk):
    with app.app_context():
        other = db.session.scalar(
            sa.text("SELECT o.id FROM office o JOIN agency a ON a.id = o.agency_id WHERE a.slug = 'cfse'")
        )
    assert clerk.get(f"/staff/agenda?day=2031-03-06&office={other}").status_code == 422


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("jose perez", True),
        ("JOSÉ", True),
        ("pérez josé", True),
        ("787 555 0100", True),
        ("(787) 555-0100", True),
        ("PEREZ@EXAMPLE", True),
        ("maria", False),
        ("jose garcia", False),
    ],
)
def test_search_finds_appointments_of_any_date_ignoring_accents_and_case(app, clerk, query, found):
    reference = book(app, at("2031-06-02", "09:00"), name="José Pérez", email="jperez@example.com")
    page = clerk.get("/staff/search", query_string={"q": query}).get_data(as_text=True)
    assert (reference in page) is found


def test_search_by_reference_and_never_across_agencies(app, clerk):
    ours = book(app, at("2031-03-20", "09:00"), name="Ana Ortiz")
    theirs = book(app, at("2031-03-20", "09:00"), name="Ana Ortiz", slug="seguimiento-caso-cfse")
    assert ours in clerk.get("/staff/search", query_string={"q": ours}).get_data(as_text=True)
    page = clerk.get("/staff/search", query_string={"q": "ana ortiz"}).get_data(as_text=True)
    assert ours in page and theirs not in page
    assert "1 cita encontrada." in page


def test_the_other_agencys_clerk_finds_only_theirs(app, client, auth):
    theirs = book(app, at("2031-03-20", "09:00"), name="Ana Ortiz", slug="seguimiento-caso-cfse")
    ours = book(app, at("2031-03-20", "09:00"), name="Ana Ortiz")
    auth.login(OTHER_AGENCY_CLERK)
    page = client.get("/staff/search", query_string={"q": "ortiz"}).get_data(as_text=True)
    assert theirs in page and ours not in page


def test_a_search_too_long_is_a_translated_422(clerk):
    response = clerk.get("/staff/search", query_string={"q": "x" * 101})
    assert response.status_code == 422
    assert "Busque con 100 caracteres como máximo." in response.get_data(as_text=True)


def test_the_agenda_and_search_are_for_staff_only(client):
    for path in ("/staff/agenda", "/staff/search?q=ana"):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
