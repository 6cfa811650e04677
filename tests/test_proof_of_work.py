"""The proof-of-work check (ALTCHA) on the booking and turn forms and the API's booking POST.

Off in tests unless a test turns it on (tests/support/proof_of_work.py); on by default in
production. The solutions here come from the altcha library's own solver, as a browser's widget
would send them; the browser test is in tests/test_proof_of_work_browser.py.
"""

from __future__ import annotations

import base64
import io
import json
from html import unescape

import altcha
import pytest
import sqlalchemy as sa
from pypdf import PdfWriter

import config
from app.api.openapi import openapi_document
from app.extensions import db
from app.models import Appointment, SpentChallenge, Turn
from tests.support import booking
from tests.support.booking import choose_slot, fill_details
from tests.support.proof_of_work import CHALLENGE_PATH, solve, turn_on

SERVICE = booking.VIDEO_SERVICE
API_SERVICE = "certificacion-individuo"
TURN_SERVICE = "orientacion-retiro"
ENGLISH = {"Accept-Language": "en"}


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def reach_review(client, app, skip: int = 0, email: str = "ana@example.com"):
    choose_slot(client, app, skip=skip)
    assert fill_details(client, email=email).status_code == 302


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def api_book(client, skip: int = 0, headers=None, **overrides):
    slots = booking.free_slots(client.application, API_SERVICE)
    slot = slots[skip]
    form = {
        "service": API_SERVICE,
        "start": slot.start.isoformat(),
        "name": "Ana Rivera",
        "email": overrides.pop("email", "ana@example.com"),
        "phone": "787-555-0100",
        "licence_number": "1234567",
        "licence_front": (io.BytesIO(pdf()), "licencia.pdf"),
        **overrides,
    }
    form = {key: value for key, value in form.items() if value is not None}
    return client.post("/api/v1/appointments", data=form, content_type="multipart/form-data", headers=headers)


# --- settings -----------------------------------------------------------------------------------


def test_the_check_is_on_in_production_and_off_in_tests_and_development():
    assert config.ProductionConfig.PROOF_OF_WORK is True
    assert config.TestingConfig.PROOF_OF_WORK is False
    assert config.DevelopmentConfig.PROOF_OF_WORK is False


def test_the_daily_caps_default_to_fifty_a_domain_and_three_a_phone():
    assert (config.Config.BOOKING_DAILY_CAP_PER_DOMAIN, config.Config.BOOKING_DAILY_CAP_PER_PHONE) == (50, 3)
    assert (
        config.ProductionConfig.BOOKING_DAILY_CAP_PER_DOMAIN,
        config.ProductionConfig.BOOKING_DAILY_CAP_PER_PHONE,
    ) == (50, 3)


def test_off_the_forms_carry_no_widget_and_book_as_before(app, client, seeded):
    reach_review(client, app)
    page = text(client.get(f"/book/{SERVICE}/review"))
    assert "altcha-widget" not in page
    assert client.post(f"/book/{SERVICE}/review", data={"accept": "y"}).status_code == 302


# --- the booking pages --------------------------------------------------------------------------


def test_the_review_page_carries_the_widget_and_says_javascript_is_needed_without_it(app, client, seeded):
    turn_on(app)
    reach_review(client, app)
    page = text(client.get(f"/book/{SERVICE}/review"))
    assert "<altcha-widget" in page and CHALLENGE_PATH in page
    assert "<noscript>" in page and "necesita JavaScript" in page
    assert "/static/vendor/altcha/" in page


def test_the_review_form_refuses_a_booking_without_a_solution(app, client, seeded):
    turn_on(app)
    reach_review(client, app)
    response = client.post(f"/book/{SERVICE}/review", data={"accept": "y"})
    assert response.status_code == 422
    assert "Complete la verificación" in text(response)
    assert count(app, Appointment) == 0


def test_the_review_form_books_with_a_solved_challenge(app, client, seeded):
    turn_on(app)
    reach_review(client, app)
    response = client.post(f"/book/{SERVICE}/review", data={"accept": "y", "altcha": solve(client)})
    assert response.status_code == 302, text(response)
    assert count(app, Appointment) == 1


def test_a_replayed_solution_is_refused(app, client, seeded):
    turn_on(app)
    solution = solve(client)
    reach_review(client, app)
    assert client.post(f"/book/{SERVICE}/review", data={"accept": "y", "altcha": solution}).status_code == 302
    reach_review(client, app, skip=1, email="otra@example.com")
    again = client.post(f"/book/{SERVICE}/review", data={"accept": "y", "altcha": solution})
    assert again.status_code == 422
    assert "ya se usó" in text(again)
    assert count(app, Appointment) == 1


def test_a_solution_is_not_spent_when_the_rest_of_the_form_is_refused(app, client, seeded):
    turn_on(app)
    reach_review(client, app)
    solution = solve(client)
    assert client.post(f"/book/{SERVICE}/review", data={"altcha": solution}).status_code == 422
    assert client.post(f"/book/{SERVICE}/review", data={"accept": "y", "altcha": solution}).status_code == 302


def test_an_expired_solution_is_refused(app, client, seeded, clock):
    turn_on(app)
    solution = solve(client)
    reach_review(client, app)
    clock.advance(minutes=app.config["PROOF_OF_WORK_EXPIRY_MINUTES"] + 1)
    response = client.post(
        f"/book/{SERVICE}/review", data={"accept": "y", "altcha": solution}, headers=ENGLISH
    )
    assert response.status_code == 422
    assert "The check expired" in text(response)


def forged(client) -> list[str]:
    genuine = json.loads(base64.b64decode(solve(client)))
    tampered = json.loads(json.dumps(genuine))
    tampered["challenge"]["parameters"]["cost"] = 0
    wrong = json.loads(json.dumps(genuine))
    wrong["solution"]["counter"] += 1
    unsigned = altcha.create_challenge("SHA-256", 1, counter=1)
    unsigned_payload = altcha.Payload(unsigned, altcha.solve_challenge(unsigned)).to_base64()
    return [
        "x",
        "%%%",
        base64.b64encode(b"[]").decode(),
        base64.b64encode(b'{"challenge": 1, "solution": 2}').decode(),
        base64.b64encode(json.dumps(tampered).encode()).decode(),
        base64.b64encode(json.dumps(wrong).encode()).decode(),
        unsigned_payload,
        "A" * 100_000,
        "\x00",
    ]


def test_forged_or_garbled_solutions_are_a_form_error_never_a_500(app, client, seeded):
    turn_on(app)
    reach_review(client, app)
    for payload in forged(client):
        response = client.post(f"/book/{SERVICE}/review", data={"accept": "y", "altcha": payload})
        assert response.status_code == 422, payload[:40]
        assert "La verificación no es válida" in text(response)
    assert count(app, Appointment) == 0
    assert count(app, SpentChallenge) == 0


# --- the turn form ------------------------------------------------------------------------------

TURN = {"name": "Ana Rivera", "phone": "(787) 555-0100", "reason": "Mi pensión", "language": "es"}


@pytest.fixture
def turn_app(turns_app):
    turn_on(turns_app)
    return turns_app


def test_the_turn_form_refuses_a_turn_without_a_solution(turn_app, seeded):
    client = turn_app.test_client()
    page = text(client.get(f"/turns/{TURN_SERVICE}"))
    assert "<altcha-widget" in page and "necesita JavaScript" in page
    response = client.post(f"/turns/{TURN_SERVICE}", data=TURN)
    assert response.status_code == 422
    assert "Complete la verificación" in text(response)
    assert count(turn_app, Turn) == 0


def test_the_turn_form_gives_a_turn_with_a_solved_challenge_once(turn_app, seeded):
    client = turn_app.test_client()
    solution = solve(client)
    assert client.post(f"/turns/{TURN_SERVICE}", data={**TURN, "altcha": solution}).status_code == 302
    other = {**TURN, "phone": "787-555-0101", "altcha": solution}
    again = client.post(f"/turns/{TURN_SERVICE}", data=other)
    assert again.status_code == 422 and "ya se usó" in text(again)
    assert count(turn_app, Turn) == 1


# --- the API ------------------------------------------------------------------------------------


def test_the_api_refuses_a_booking_without_a_valid_solution(app, client, seeded):
    turn_on(app)
    missing = api_book(client, headers=ENGLISH)
    assert missing.status_code == 422
    body = missing.get_json()
    assert body["error"] == "validation" and "altcha" in body["fields"]
    garbled = api_book(client, altcha="x")
    assert garbled.status_code == 422 and "altcha" in garbled.get_json()["fields"]
    assert count(app, Appointment) == 0


def test_the_api_books_with_a_solution_and_refuses_its_replay(app, client, seeded):
    turn_on(app)
    solution = solve(client)
    assert api_book(client, altcha=solution).status_code == 201
    again = api_book(client, skip=1, email="otra@example.com", altcha=solution)
    assert again.status_code == 422 and "altcha" in again.get_json()["fields"]
    assert count(app, Appointment) == 1


def test_the_challenge_endpoint_and_the_field_are_in_the_openapi_document(client):
    document = openapi_document()
    assert CHALLENGE_PATH.removeprefix("/api/v1") in document["paths"]
    booking_body = document["paths"]["/appointments"]["post"]["requestBody"]["content"]
    schema_name = next(iter(booking_body.values()))["schema"]["$ref"].rsplit("/", 1)[1]
    assert "altcha" in document["components"]["schemas"][schema_name]["properties"]
    challenge = client.get(CHALLENGE_PATH)
    assert challenge.status_code == 200 and challenge.headers["Cache-Control"] == "no-store"
    assert set(challenge.get_json()) == {"parameters", "signature"}
