"""The JSON API /api/v1: catalogue, availability, booking, the manage token, errors, its OpenAPI document.

The clock is frozen (conftest's `clock`); the slots booked come from a fixed day a few days after
its today (`free_slots`), never from "the first free slot from now".
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import validate
from pypdf import PdfWriter

from app.api.openapi import openapi_document
from app.extensions import db
from app.models import Appointment, Closure, Service, utcnow
from tests.support.apps import build_app
from tests.support.booking import availability_query

VIDEO = "certificacion-individuo"  # one remote office, 2 seats a slot, licence number and licence PDF
IN_PERSON = "renovacion-licencia"  # two offices, 4 seats a slot, licence number, no documents
ENGLISH = {"Accept-Language": "en"}


# --- helpers ------------------------------------------------------------------------------------


def pdf(size: tuple[int, int] = (200, 200)) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(*size)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def assert_matches(body, schema: str) -> None:
    """`body` is valid against components/schemas/<schema> of the served OpenAPI document."""
    root = {"$ref": f"#/components/schemas/{schema}", "components": openapi_document()["components"]}
    OAS31Validator(root, format_checker=oas31_format_checker).validate(body)


def availability(client, service=VIDEO, headers=None, **params):
    return client.get(f"/api/v1/services/{service}/availability", query_string=params, headers=headers)


def free_slots(client, service=VIDEO, **params) -> list[dict]:
    """The free slots from `booking_day()` on (or from `from=`), as the API lists them."""
    response = availability(client, service, **availability_query(**params))
    assert response.status_code == 200, response.get_json()
    return [slot for day in response.get_json()["days"] for slot in day["slots"]]


def booking_form(slot: dict, service=VIDEO, **overrides) -> dict:
    form = {
        "service": service,
        "start": slot["start"],
        "name": "Ana Rivera",
        "email": "ana@example.com",
        "phone": "787-555-0100",
        "licence_number": "1234567",
    }
    if service == VIDEO:
        form["licence_front"] = (io.BytesIO(pdf()), "licencia.pdf")
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def book(client, slot, headers=None, **overrides):
    return client.post(
        "/api/v1/appointments",
        data=booking_form(slot, **overrides),
        content_type="multipart/form-data",
        headers=headers,
    )


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def count_appointments(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment))


def stored_files(app) -> list[Path]:
    return [path for path in Path(app.config["UPLOAD_DIR"]).rglob("*") if path.is_file()]


# --- catalogue ----------------------------------------------------------------------------------


def test_agencies_are_listed_with_both_names(client, seeded):
    response = client.get("/api/v1/agencies")
    assert response.status_code == 200
    agencies = {a["slug"]: a for a in response.get_json()["agencies"]}
    assert set(agencies) == {"dtop", "retiro", "cfse"}
    assert agencies["cfse"] == {
        "slug": "cfse",
        "kind": "corporation",
        "timezone": "America/Puerto_Rico",
        "name": {
            "es": "Corporación del Fondo del Seguro del Estado",
            "en": "State Insurance Fund Corporation",
        },
    }
    for agency in agencies.values():
        assert_matches(agency, "Agency")


def test_services_list_modes_offices_and_documents(client, seeded):
    services = {s["slug"]: s for s in client.get("/api/v1/services").get_json()["services"]}
    assert services["orientacion-retiro"]["mode"] == "phone_turn"
    video = services[VIDEO]
    assert (video["agency"], video["mode"], video["slot_minutes"], video["asks_licence_number"]) == (
        "dtop",
        "video",
        20,
        True,
    )
    assert [(o["slug"], o["remote"]) for o in video["offices"]] == [("cesco-remoto", True)]
    assert video["documents"] == [
        {
            "code": "licence_front",
            "required": True,
            "max_pages": 2,
            "label": {
                "es": "Licencia de conducir (frente), en PDF",
                "en": "Driver's licence (front), as PDF",
            },
        }
    ]
    assert [o["address"] is not None for o in services[IN_PERSON]["offices"]] == [True, True]
    for service in services.values():
        assert_matches(service, "Service")


def test_services_of_one_agency_and_an_unknown_agency(client, seeded):
    cfse = client.get("/api/v1/services", query_string={"agency": "cfse"}).get_json()["services"]
    assert [s["slug"] for s in cfse] == ["seguimiento-caso-cfse"]
    unknown = client.get("/api/v1/services", query_string={"agency": "nope"})
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "not_found"


def test_inactive_services_are_not_listed(app, client, seeded):
    with app.app_context():
        db.session.scalar(sa.select(Service).where(Service.slug == VIDEO)).active = False
        db.session.commit()
    slugs = [s["slug"] for s in client.get("/api/v1/services").get_json()["services"]]
    assert VIDEO not in slugs and IN_PERSON in slugs
    assert availability(client).status_code == 404


# --- availability -------------------------------------------------------------------------------


def test_availability_lists_free_slots_with_the_agency_offset(client, seeded):
    response = availability(client)
    body = response.get_json()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert_matches(body, "Availability")
    assert (body["service"], body["timezone"], len(body["days"])) == (VIDEO, "America/Puerto_Rico", 14)
    slots = [slot for day in body["days"] for slot in day["slots"]]
    assert slots, "two weeks of a weekday service always have free slots"
    for day in body["days"]:
        for slot in day["slots"]:
            start, end = dt.datetime.fromisoformat(slot["start"]), dt.datetime.fromisoformat(slot["end"])
            assert slot["start"].endswith("-04:00") and start.date().isoformat() == day["date"]
            assert end - start == dt.timedelta(minutes=20) and slot["remaining"] == 2
            assert dt.time(8) <= start.time() <= dt.time(16, 40)
    assert slots == sorted(slots, key=lambda slot: slot["start"])


def test_availability_from_a_day_for_some_days(client, seeded):
    first = dt.date.fromisoformat(free_slots(client)[0]["start"][:10])
    days = availability(client, **{"from": first.isoformat(), "days": 3}).get_json()["days"]
    assert [d["date"] for d in days] == [(first + dt.timedelta(days=n)).isoformat() for n in range(3)]


def test_a_full_slot_leaves_the_list_and_remaining_counts_down(client, seeded):
    slot = free_slots(client)[0]
    assert book(client, slot, email="a@example.com").status_code == 201
    assert free_slots(client)[0] == {**slot, "remaining": 1}
    assert book(client, slot, email="b@example.com").status_code == 201
    assert slot["start"] not in [s["start"] for s in free_slots(client)]


def test_a_closed_day_says_why_in_the_asked_language(app, client, seeded):
    day = dt.date.fromisoformat(free_slots(client)[0]["start"][:10]) + dt.timedelta(days=1)
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == VIDEO))
        db.session.add(
            Closure(
                agency_id=service.agency_id,
                first_day=day,
                last_day=day,
                reason_es="Inventario",
                reason_en="Stocktaking",
            )
        )
        db.session.commit()
    query = {"from": day.isoformat(), "days": 1}
    assert availability(client, **query).get_json()["days"] == [
        {"date": day.isoformat(), "closed_reason": "Inventario", "slots": []}
    ]
    assert (
        availability(client, headers=ENGLISH, **query).get_json()["days"][0]["closed_reason"] == "Stocktaking"
    )


def test_availability_of_one_office(app, client, seeded):
    offices = {s["slug"]: s for s in client.get("/api/v1/services").get_json()["services"]}[IN_PERSON][
        "offices"
    ]
    both = {slot["office"] for slot in free_slots(client, IN_PERSON)}
    assert both == {office["id"] for office in offices}
    one = {slot["office"] for slot in free_slots(client, IN_PERSON, office=offices[1]["id"])}
    assert one == {offices[1]["id"]}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2031-02-30"}, "from"),
        ({"from": "04/03/2031"}, "from"),
        ({"from": ""}, "from"),
        ({"days": "0"}, "days"),
        ({"days": "63"}, "days"),
        ({"days": "dos"}, "days"),
        ({"days": "-1"}, "days"),
        ({"office": "999999"}, "office"),
        ({"office": "x"}, "office"),
    ],
)
def test_bad_availability_queries_are_refused_by_field(client, seeded, params, field):
    response = availability(client, **params)
    body = response.get_json()
    assert response.status_code == 422 and body["error"] == "validation"
    assert set(body["fields"]) == {field}
    assert_matches(body, "ValidationError")


def test_several_bad_query_values_are_reported_together_in_english(client, seeded):
    body = availability(client, headers=ENGLISH, **{"from": "mañana", "days": "100"}).get_json()
    assert body["fields"] == {
        "from": "Enter a date as YYYY-MM-DD, for example 2031-03-04.",
        "days": "Enter a number of days from 1 to 62.",
    }


@pytest.mark.parametrize("slug", ["no-such-service", "orientacion-retiro"])
def test_unknown_and_phone_turn_services_have_no_availability(client, seeded, slug):
    response = availability(client, slug)
    assert response.status_code == 404 and response.is_json
    assert response.get_json()["error"] == "not_found"
    assert_matches(response.get_json(), "Error")


# --- booking ------------------------------------------------------------------------------------


def test_booking_answers_links_whose_tokens_work(client, seeded):
    slot = free_slots(client)[0]
    response = book(client, slot)
    body = response.get_json()
    assert response.status_code == 201, body
    assert_matches(body, "Booked")
    assert "Set-Cookie" not in response.headers
    assert (body["start"], body["end"], body["status"], body["service"]) == (
        slot["start"],
        slot["end"],
        "booked",
        VIDEO,
    )
    assert re.fullmatch(r"DTOP-[0-9A-Z]{6}", body["reference"])
    assert re.fullmatch(r"http://localhost/call/[\w-]{20,}", body["join_url"])
    assert re.fullmatch(r"http://localhost/manage/[\w-]{20,}", body["manage_url"])

    token = token_of(body["manage_url"])
    found = client.get(f"/api/v1/appointments/{token}")
    assert found.status_code == 200
    assert_matches(found.get_json(), "Appointment")
    assert found.get_json() == {
        "reference": body["reference"],
        "service": VIDEO,
        "office": slot["office"],
        "start": slot["start"],
        "end": slot["end"],
        "status": "booked",
        "changeable": True,
        "documents": [{"requirement": "licence_front", "name": "licencia.pdf", "pages": 1}],
    }
    assert client.get(f"/manage/{token}").status_code == 200


def test_a_start_in_another_offset_names_the_same_slot(client, seeded):
    slot = free_slots(client)[0]
    utc = dt.datetime.fromisoformat(slot["start"]).astimezone(dt.UTC)
    response = book(client, slot, start=utc.isoformat().replace("+00:00", "Z"))
    assert response.status_code == 201 and response.get_json()["start"] == slot["start"]


def test_booking_in_person_needs_an_office_when_there_are_several(app, client, seeded):
    slot = free_slots(client, IN_PERSON)[0]
    missing = book(client, slot, service=IN_PERSON)
    assert missing.status_code == 422 and set(missing.get_json()["fields"]) == {"office"}
    booked = book(client, slot, service=IN_PERSON, office=str(slot["office"]))
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["join_url"] is None and booked.get_json()["office"] == slot["office"]


def test_every_bad_field_is_reported_at_once_and_nothing_is_stored(app, client, seeded):
    slot = free_slots(client)[0]
    response = book(client, slot, email="ana@", phone="12", licence_front=None, licence_number="")
    body = response.get_json()
    assert response.status_code == 422
    assert_matches(body, "ValidationError")
    assert set(body["fields"]) == {"email", "phone", "licence_front", "licence_number"}
    assert count_appointments(app) == 0 and stored_files(app) == []


def test_a_good_pdf_with_a_bad_field_is_not_stored(app, client, seeded):
    response = book(client, free_slots(client)[0], name="A")
    assert response.status_code == 422 and set(response.get_json()["fields"]) == {"name"}
    assert count_appointments(app) == 0 and stored_files(app) == []


def test_a_file_that_is_not_a_pdf_is_refused_by_its_field(app, client, seeded):
    response = book(
        client,
        free_slots(client)[0],
        headers=ENGLISH,
        licence_front=(io.BytesIO(b"GIF89a not a pdf"), "foto.gif"),
    )
    body = response.get_json()
    assert response.status_code == 422 and set(body["fields"]) == {"licence_front"}
    assert "foto.gif" in body["fields"]["licence_front"] and "not a PDF" in body["fields"]["licence_front"]
    assert count_appointments(app) == 0 and stored_files(app) == []


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"service": "no-such-service"}, "service"),
        ({"service": "orientacion-retiro"}, "service"),
        ({"service": None}, "service"),
        ({"start": "2031-03-04T09:00:00"}, "start"),  # no offset
        ({"start": "mañana"}, "start"),
        ({"start": "2031-03-04T09:07:00-04:00"}, "start"),  # not a slot
        ({"language": "fr"}, "language"),
        ({"licence_number": "9" * 31}, "licence_number"),
        ({"office": "999999"}, "office"),
        ({"extra_document": (io.BytesIO(b"%PDF-1.4"), "x.pdf")}, "extra_document"),
    ],
)
def test_each_bad_booking_field_is_named(client, seeded, overrides, field):
    response = book(client, free_slots(client)[0], **overrides)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {field}


def test_the_last_seat_taken_answers_409_with_alternatives(app, client, seeded):
    slot = free_slots(client)[0]
    for email in ("a@example.com", "b@example.com"):
        assert book(client, slot, email=email).status_code == 201
    response = book(client, slot, email="c@example.com")
    body = response.get_json()
    assert response.status_code == 409 and body["error"] == "slot_full"
    assert_matches(body, "SlotFull")
    assert body["alternatives"] and slot["start"] not in [alt["start"] for alt in body["alternatives"]]
    assert all(alt["remaining"] >= 1 and alt["start"].endswith("-04:00") for alt in body["alternatives"])
    assert count_appointments(app) == 2


def test_a_second_booking_with_the_same_email_hits_the_citizen_limit(client, seeded):
    first, second = free_slots(client)[:2]
    assert book(client, first, email="Ana@Example.com").status_code == 201
    response = book(client, second, email="ana@example.com")
    body = response.get_json()
    assert response.status_code == 409 and body["error"] == "citizen_limit"
    assert_matches(body, "CitizenLimit")


def test_a_request_larger_than_the_limit_is_413_json(app, client, seeded):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = book(
        client, free_slots(client)[0], licence_front=(io.BytesIO(b"%PDF-" + b"0" * 8000), "big.pdf")
    )
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    assert_matches(response.get_json(), "Error")
    assert count_appointments(app) == 0


# --- the manage token ---------------------------------------------------------------------------


def test_cancelling_frees_the_seat_and_can_be_repeated(client, seeded):
    slot = free_slots(client)[0]
    tokens = [
        token_of(book(client, slot, email=email).get_json()["manage_url"])
        for email in ("a@example.com", "b@example.com")
    ]
    assert slot["start"] not in [s["start"] for s in free_slots(client)]

    for _attempt in range(2):
        response = client.delete(f"/api/v1/appointments/{tokens[0]}")
        assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
        assert response.get_json()["changeable"] is False
    assert free_slots(client)[0] == {**slot, "remaining": 1}
    assert client.get(f"/api/v1/appointments/{tokens[0]}").get_json()["status"] == "cancelled"
    assert client.get(f"/api/v1/appointments/{tokens[1]}").get_json()["status"] == "booked"


def test_an_appointment_that_has_started_cannot_be_cancelled(app, client, seeded):
    token = token_of(book(client, free_slots(client)[0]).get_json()["manage_url"])
    with app.app_context():
        now = utcnow()
        db.session.execute(
            sa.update(Appointment).values(
                start_at=now - dt.timedelta(minutes=5), end_at=now + dt.timedelta(minutes=15)
            )
        )
        db.session.commit()
    response = client.delete(f"/api/v1/appointments/{token}", headers=ENGLISH)
    assert response.status_code == 409 and response.get_json()["error"] == "too_late"
    assert_matches(response.get_json(), "TooLate")
    assert "can no longer be changed" in response.get_json()["message"]


@pytest.mark.parametrize("method", ["get", "delete"])
@pytest.mark.parametrize("token", ["x" * 43, "short", "y" * 500])
def test_unknown_tokens_are_404_without_a_hint(client, seeded, method, token):
    response = getattr(client, method)(f"/api/v1/appointments/{token}")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_an_expired_manage_link_is_404(app, client, seeded):
    token = token_of(book(client, free_slots(client)[0]).get_json()["manage_url"])
    with app.app_context():
        long_ago = utcnow() - dt.timedelta(days=app.config["MANAGE_LINK_DAYS_AFTER"] + 1)
        db.session.execute(
            sa.update(Appointment).values(start_at=long_ago - dt.timedelta(minutes=20), end_at=long_ago)
        )
        db.session.commit()
    assert client.get(f"/api/v1/appointments/{token}").status_code == 404


def test_unknown_api_paths_and_methods_answer_json(client):
    assert client.get("/api/v1/nothing-here").get_json()["error"] == "not_found"
    wrong = client.put("/api/v1/appointments")
    assert wrong.status_code == 405 and wrong.get_json()["error"] == "method_not_allowed"


# --- language, limits, CSRF ---------------------------------------------------------------------


def test_messages_follow_accept_language(client, seeded):
    spanish = availability(client, "no-such-service").get_json()["message"]
    english = availability(client, "no-such-service", headers=ENGLISH).get_json()["message"]
    assert (spanish, english) == (
        "No existe un servicio con ese nombre.",
        "There is no service with that name.",
    )
    slot = free_slots(client)[0]
    assert (
        book(client, slot, email="x").get_json()["message"].startswith("Parte de la información no es válida")
    )
    body = book(client, slot, email="x", headers=ENGLISH).get_json()
    assert body["fields"]["email"] == "Enter a valid email address, for example nombre@ejemplo.com."


def test_reads_and_writes_are_rate_limited_per_address_with_json_429(tmp_path):
    limited = build_app(
        tmp_path,
        f"sqlite:///{tmp_path / 'limits.sqlite3'}",
        RATELIMIT_ENABLED=True,
        API_READ_RATE_LIMIT="2 per minute",
        API_WRITE_RATE_LIMIT="1 per hour",
    )
    with limited.app_context():
        db.create_all()
    client = limited.test_client()
    assert client.get("/api/v1/agencies").status_code == 200
    assert client.get("/api/v1/services").status_code == 200  # reads share one budget
    refused = client.get("/api/v1/agencies")
    assert refused.status_code == 429 and refused.get_json()["error"] == "rate_limited"
    assert client.post("/api/v1/appointments", data={}).status_code == 422
    assert client.post("/api/v1/appointments", data={}).status_code == 429
    other = client.get("/api/v1/agencies", environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 200


def test_the_api_needs_no_csrf_token(tmp_path):
    protected = build_app(tmp_path, f"sqlite:///{tmp_path / 'csrf.sqlite3'}", WTF_CSRF_ENABLED=True)
    with protected.app_context():
        db.create_all()
    client = protected.test_client()
    assert client.post("/api/v1/appointments", data={"service": "x"}).status_code == 422
    assert client.delete("/api/v1/appointments/nope").status_code == 404


# --- the OpenAPI document -----------------------------------------------------------------------


def test_the_openapi_document_is_valid_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_the_openapi_document_lists_exactly_the_api_routes(app):
    document = openapi_document()
    prefix = document["servers"][0]["url"]
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix + "/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len(prefix) :])
            served |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served == documented


def test_every_operation_documents_its_rate_limit_and_server_errors():
    document = openapi_document()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"429", "500"} <= codes, (path, method)
            assert any(code.startswith("2") for code in codes), (path, method)
