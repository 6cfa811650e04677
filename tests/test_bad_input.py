"""Bad input never reaches a 500 and never changes stored data (issue #9, items 10 to 12).

Control characters (a NUL byte above all: PostgreSQL refuses it in a string) are refused at the
edge: in a URL variable → 404, in a query value or a form field → 422 with a translated message.
Dates at the ends of the calendar (year 1, year 9999) are refused instead of overflowing.
An unsupported method keeps its Allow header, and the OpenAPI document says what the server takes.

The demo data is seeded once per module on SQLite and once on PostgreSQL; each test books what it
needs on the frozen clock and checks that the refused requests stored nothing.
"""

from __future__ import annotations

import itertools
import shutil

import pytest
import sqlalchemy as sa
from openapi_schema_validator import OAS31Validator, oas31_format_checker

from app.api.openapi import openapi_document
from app.extensions import db
from app.models import Appointment, Service, Staff, Turn
from tests.support.apps import build_app
from tests.support.booking import availability_query, booking_day

IN_PERSON = "renovacion-licencia"  # two offices, licence number, no documents
TURNS = "orientacion-retiro"  # same-day phone turns
ENGLISH = {"Accept-Language": "en"}
emails = (f"citizen{n}@example.com" for n in itertools.count())


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request, tmp_path_factory, demo_database):
    """The app on the demo data, built once per module on SQLite and on PostgreSQL."""
    folder = tmp_path_factory.mktemp(f"bad-input-{request.param}")
    if request.param == "sqlite":
        path = folder / "demo.sqlite3"
        shutil.copyfile(demo_database[0], path)
        app = build_app(folder, f"sqlite:///{path}")
    else:
        from app.demo import seed_demo

        app = build_app(folder, request.getfixturevalue("pg_url"))
        with app.app_context():
            db.drop_all()
            db.create_all()
            seed_demo()
    yield app
    with app.app_context():
        if request.param == "postgresql":
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(demo):
    return demo.test_client()


def api_booking_form(client, service=IN_PERSON, **overrides) -> dict:
    days = client.get(f"/api/v1/services/{service}/availability", query_string=availability_query())
    slot = next(slot for day in days.get_json()["days"] for slot in day["slots"])
    form = {
        "service": service,
        "office": str(slot["office"]),
        "start": slot["start"],
        "name": "Ana Rivera",
        "email": next(emails),
        "phone": "787-555-0100",
        "licence_number": "1234567",
    }
    form.update(overrides)
    return form


@pytest.fixture
def manage_token(client) -> str:
    """A fresh in-person appointment's manage token (booked on the frozen clock)."""
    booked = client.post("/api/v1/appointments", data=api_booking_form(client))
    assert booked.status_code == 201, booked.get_json()
    return booked.get_json()["manage_url"].rsplit("/", 1)[1]


def stored(app) -> dict[str, int]:
    with app.app_context():
        counts = {
            model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Appointment, Turn)
        }
        db.session.rollback()
        return counts


def assert_refused(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    if response.request.path.startswith("/api/"):
        body = response.get_json()
        assert body["error"] == ("not_found" if status == 404 else "validation")


# --- item 10: control characters ---------------------------------------------------------------

PATHS_WITH_CONTROL_CHARACTERS = [
    ("GET", "/agencies/a%00b"),
    ("GET", "/services/a%00b"),
    ("GET", "/services/a%01b"),
    ("GET", "/services/a%7Fb"),
    ("GET", "/language/e%00s"),
    ("GET", "/book/a%00b"),
    ("POST", "/book/a%00b"),
    ("GET", "/book/a%00b/calendar"),
    ("GET", "/book/a%00b/times"),
    ("POST", "/book/a%00b/details"),
    ("GET", "/turns/a%00b"),
    ("POST", "/turns/a%00b"),
    ("GET", "/turns/status/a%00b"),
    ("POST", "/turns/status/a%00b/cancel"),
    ("GET", "/manage/a%00b"),
    ("POST", "/manage/a%00b/cancel"),
    ("GET", "/manage/a%00b/reschedule"),
    ("GET", "/call/a%00b"),
    ("POST", "/call/a%00b/phone-request"),
    ("GET", "/staff/appointments/a%00b"),
    ("GET", "/staff/call/a%00b"),
    ("GET", "/api/v1/services/a%00b/availability"),
    ("GET", "/api/v1/appointments/a%00b"),
    ("DELETE", "/api/v1/appointments/a%00b"),
]


@pytest.mark.parametrize(("method", "path"), PATHS_WITH_CONTROL_CHARACTERS)
def test_a_control_character_in_a_url_variable_is_404(demo, client, method, path):
    before = stored(demo)
    assert_refused(client.open(path, method=method), 404)
    assert stored(demo) == before


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/manage/a%00b", "This link is not valid or has expired."),
        ("/api/v1/appointments/a%00b", "This link is not valid or has expired."),
        ("/call/a%00b", "This link is not valid. Check the latest email"),
        ("/turns/status/a%00b", "This turn link is not valid or has expired."),
        ("/book/a%00b", "There is no service with that name."),
        ("/api/v1/services/a%00b/availability", "There is no service with that name."),
    ],
)
def test_a_refused_link_or_slug_says_what_was_not_found(client, path, message):
    response = client.get(path, headers=ENGLISH)
    assert_refused(response, 404)
    assert message in response.get_data(as_text=True)


QUERIES_WITH_CONTROL_CHARACTERS = [
    "/api/v1/services?agency=a%00b",
    "/api/v1/services?agency=dtop%0A",
    f"/api/v1/services/{IN_PERSON}/availability?office=1%00",
    f"/api/v1/services/{IN_PERSON}/availability?from=2031-03-0%008",
    f"/api/v1/services/{IN_PERSON}/availability?days=1%00",
    f"/api/v1/services/{IN_PERSON}/availability?a%00b=1",
    f"/book/{IN_PERSON}/calendar?month=2031-0%003",
    f"/book/{IN_PERSON}/times?day=a%00b",
    "/call/ice-servers?token=a%00b",
    "/staff/login?lang=%00",
]
# A `next` with control characters is not refused: safe_next sends the visitor home instead
# (tests/test_redirects.py), as issue #9 asks for `next=/%0d%0a…`.


@pytest.mark.parametrize("url", QUERIES_WITH_CONTROL_CHARACTERS)
def test_a_control_character_in_a_query_value_is_422(demo, client, url):
    response = client.get(url, headers=ENGLISH)
    assert_refused(response, 422)
    if url.startswith("/api/"):
        message = response.get_json()["fields"]
        assert list(message.values()) == ["Remove the special characters from this field."]
    else:
        assert "special characters" in response.get_data(as_text=True)


def test_the_refusal_is_translated(client):
    spanish = client.get("/api/v1/services?agency=a%00b").get_json()
    assert spanish["fields"] == {"agency": "Quite los caracteres especiales de este campo."}
    page = client.get(f"/book/{IN_PERSON}/times?day=a%00b").get_data(as_text=True)
    assert "caracteres especiales" in page


def test_a_query_value_without_control_characters_still_answers(client):
    assert client.get("/api/v1/services?agency=dtop").status_code == 200
    assert client.get("/api/v1/services?agency=nope").status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("service", "renovacion\x00-licencia"),
        ("name", "Ana\x00 Rivera"),
        ("name", "Ana\x1b Rivera"),
        ("email", "ana\x00@example.com"),
        ("phone", "787-555-0100\x00"),
        ("licence_number", "123\x004567"),
        ("office", "1\x00"),
        ("start", "2031-03-10T09:00:00\x00-04:00"),
    ],
)
def test_a_control_character_in_an_api_booking_field_is_422_by_field(demo, client, field, value):
    form = api_booking_form(client)
    before = stored(demo)
    response = client.post("/api/v1/appointments", data={**form, field: value})
    assert_refused(response, 422)
    assert field in response.get_json()["fields"]
    assert stored(demo) == before


def choose_office(client) -> dict:
    """The booking pages' first step, with the office of a free slot; returns that slot's API form."""
    form = api_booking_form(client)
    chosen = client.post(f"/book/{IN_PERSON}", data={"office": form["office"]})
    assert chosen.status_code == 302, chosen.get_data(as_text=True)[:500]
    return form


def walk_to_details(client, demo) -> None:
    form = choose_office(client)
    day = form["start"][:10]
    chosen = client.post(f"/book/{IN_PERSON}/times", data={"day": day, "start": form["start"]})
    assert chosen.status_code == 302, chosen.get_data(as_text=True)[:500]


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "Ana\x00 Rivera"), ("email", "ana\x00@example.com"), ("licence_number", "12\x0034567")],
)
def test_a_control_character_in_a_booking_page_field_is_422(demo, client, field, value):
    walk_to_details(client, demo)
    details = {
        "name": "Ana Rivera",
        "email": next(emails),
        "phone": "787-555-0100",
        "licence_number": "1234567",
        "language": "es",
        field: value,
    }
    before = stored(demo)
    response = client.post(f"/book/{IN_PERSON}/details", data=details, headers=ENGLISH)
    assert_refused(response, 422)
    assert "special characters" in response.get_data(as_text=True)
    review = client.post(f"/book/{IN_PERSON}/review", data={"accept": "y"})
    assert review.status_code in (302, 422) and review.status_code != 500
    assert stored(demo) == before


@pytest.mark.parametrize("field", ["name", "reason"])
def test_a_control_character_in_a_turn_is_422(demo, client, field):
    form = {"name": "Ana Rivera", "phone": "787-555-0123", "reason": "Una pregunta", "language": "es"}
    before = stored(demo)
    response = client.post(f"/turns/{TURNS}", data={**form, field: "Ana\x00 Rivera"})
    assert_refused(response, 422)
    assert stored(demo) == before


def test_a_control_character_in_the_sign_in_email_is_422(demo, client):
    response = client.post(
        "/staff/login", data={"email": "clerk\x00@dtop.demo.ventanilla.pr", "password": "x"}, headers=ENGLISH
    )
    assert_refused(response, 422)
    assert "special characters" in response.get_data(as_text=True)
    with demo.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff)) > 0


# --- item 11: dates at the ends of the calendar -------------------------------------------------

FAR_DAYS = ["9999-12-31", "0001-01-01", "1000-06-15", "5000-06-15"]
FAR_MONTHS = ["0001-01", "9999-12", "1000-06", "5000-06"]


@pytest.mark.parametrize("day", FAR_DAYS)
def test_availability_from_a_far_date_is_422_with_a_field_message(client, day):
    response = client.get(
        f"/api/v1/services/{IN_PERSON}/availability", query_string={"from": day}, headers=ENGLISH
    )
    assert_refused(response, 422)
    assert response.get_json()["fields"]["from"] == "Enter a date within 10 years of today."


def test_availability_a_few_years_away_is_simply_empty(client):
    response = client.get(
        f"/api/v1/services/{IN_PERSON}/availability", query_string={"from": "2035-01-05", "days": 3}
    )
    assert response.status_code == 200
    assert all(not day["slots"] for day in response.get_json()["days"])


@pytest.mark.parametrize("month", FAR_MONTHS)
def test_the_booking_calendar_of_a_far_month_is_404(client, month):
    choose_office(client)
    assert_refused(client.get(f"/book/{IN_PERSON}/calendar", query_string={"month": month}), 404)


@pytest.mark.parametrize("day", FAR_DAYS)
def test_the_booking_times_of_a_far_day_are_404(client, day):
    choose_office(client)
    assert_refused(client.get(f"/book/{IN_PERSON}/times", query_string={"day": day}), 404)
    assert_refused(client.post(f"/book/{IN_PERSON}/times", data={"day": day}), 404)


@pytest.mark.parametrize("start", ["9999-12-31T23:00:00-04:00", "0001-01-01T00:00:00+04:00"])
def test_a_start_at_the_ends_of_time_is_refused(demo, client, start):
    day = choose_office(client)["start"][:10]
    before = stored(demo)
    page = client.post(f"/book/{IN_PERSON}/times", data={"day": day, "start": start})
    assert_refused(page, 422)
    api = client.post("/api/v1/appointments", data=api_booking_form(client, start=start))
    assert_refused(api, 422)
    assert "start" in api.get_json()["fields"]
    assert stored(demo) == before


@pytest.mark.parametrize("month", FAR_MONTHS)
def test_the_reschedule_calendar_of_a_far_month_is_404(client, manage_token, month):
    url = f"/manage/{manage_token}/reschedule"
    assert_refused(client.get(url, query_string={"month": month}), 404)


@pytest.mark.parametrize("day", FAR_DAYS)
def test_the_reschedule_times_of_a_far_day_are_404(demo, client, manage_token, day):
    url = f"/manage/{manage_token}/reschedule/times"
    assert_refused(client.get(url, query_string={"day": day}), 404)
    before = stored(demo)
    assert_refused(client.post(url, data={"day": day, "start": f"{day}T09:00:00-04:00"}), 404)
    assert stored(demo) == before


@pytest.mark.parametrize("start", ["9999-12-31T23:00:00-04:00", "0001-01-01T00:00:00+04:00"])
def test_rescheduling_to_the_ends_of_time_is_422(demo, client, manage_token, start):
    url = f"/manage/{manage_token}/reschedule/times"
    response = client.post(url, data={"day": booking_day().isoformat(), "start": start})
    assert_refused(response, 422)


# --- item 12: 405 keeps Allow; the OpenAPI document says what the server accepts ----------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/", {"GET", "HEAD", "OPTIONS"}),
        ("DELETE", "/agencies/dtop", {"GET", "HEAD", "OPTIONS"}),
        ("PUT", "/api/v1/appointments", {"POST", "OPTIONS"}),
    ],
)
def test_an_unsupported_method_is_405_with_its_allow_header(client, method, path, allowed):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert {word.strip() for word in response.headers["Allow"].split(",")} == allowed
    assert response.headers["Content-Type"].startswith(
        "application/json" if path.startswith("/api/") else "text/html"
    )


def parameter_schema(path: str, method: str, name: str) -> dict:
    document = openapi_document()
    for parameter in document["paths"][path][method]["parameters"]:
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter["name"] == name:
            return parameter["schema"]
    raise KeyError(name)


def schema_accepts(schema: dict, value) -> bool:
    root = {**schema, "components": openapi_document()["components"]}
    return OAS31Validator(root, format_checker=oas31_format_checker).is_valid(value)


@pytest.mark.parametrize("office", [0, -1, 100000])
def test_office_ids_the_server_refuses_are_outside_the_documented_range(client, office):
    query = parameter_schema("/services/{slug}/availability", "get", "office")
    form = openapi_document()["components"]["schemas"]["BookingForm"]["properties"]["office"]
    assert not schema_accepts(query, office) and not schema_accepts(form, office)
    refused = client.get(f"/api/v1/services/{IN_PERSON}/availability", query_string={"office": office})
    assert_refused(refused, 422)
    booking = client.post("/api/v1/appointments", data=api_booking_form(client, office=str(office)))
    assert_refused(booking, 422)


@pytest.mark.parametrize("service", ["", "a\x00b", "Renovacion Licencia"])
def test_service_slugs_the_server_refuses_are_outside_the_documented_schema(client, service):
    schema = openapi_document()["components"]["schemas"]["BookingForm"]["properties"]["service"]
    assert not schema_accepts(schema, service)
    booking = client.post("/api/v1/appointments", data={**api_booking_form(client), "service": service})
    assert_refused(booking, 422)
    assert "service" in booking.get_json()["fields"]


def test_every_real_slug_and_office_id_fits_the_documented_schemas(demo):
    document = openapi_document()
    form = document["components"]["schemas"]["BookingForm"]["properties"]
    with demo.app_context():
        for service in db.session.scalars(sa.select(Service)):
            assert schema_accepts(form["service"], service.slug), service.slug
            assert schema_accepts(
                parameter_schema("/services/{slug}/availability", "get", "slug"), service.slug
            )
            for office in service.offices:
                assert schema_accepts(form["office"], office.id)
        db.session.rollback()


def test_the_api_documents_its_refusal_of_control_characters():
    assert not schema_accepts(parameter_schema("/services", "get", "agency"), "a\x00b")
    assert not schema_accepts(parameter_schema("/appointments/{token}", "get", "token"), "a\x00b")
    assert schema_accepts(parameter_schema("/services", "get", "agency"), "dtop")
