"""The proof-of-work widget in a real browser: it solves the site's challenge under the strict CSP,
from the keyboard, and the booking goes through; the page passes an axe scan.

A live server and a browser: the clock ticks, from the fixed instant. The citizen picks a day a few
days ahead (tests/support/booking.py).
"""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, SpentChallenge
from tests.support import booking
from tests.support.browser import TIMEOUT
from tests.support.proof_of_work import turn_on

SERVICE = "renovacion-licencia"  # in person, no documents
pytestmark = [pytest.mark.browser, pytest.mark.clock(tick=True)]


def reach_review(app, page, base_url: str) -> None:
    slot = booking.first_free_slot(app, SERVICE)
    page.goto(f"{base_url}/book/{SERVICE}")
    page.locator(f'label[for="office-{slot.office_id}"]').click()
    page.get_by_role("button", name="Escoja una fecha").click()
    day = booking.local_day(slot.start).isoformat()
    page.goto(f"{base_url}/book/{SERVICE}/times?day={day}")
    page.locator(".site-times label").first.click()
    page.get_by_role("button", name="Continuar").click()
    page.get_by_label("Nombre completo").fill("Ana Rivera")
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Teléfono").fill("787 555 0100")
    page.get_by_label("Número de licencia de conducir").fill("1234567")
    page.get_by_role("button", name="Continuar").click()
    page.get_by_role("heading", level=1, name="Revisar y confirmar").wait_for(timeout=TIMEOUT)


def test_the_widget_solves_the_challenge_from_the_keyboard_and_the_booking_goes_through(
    app, seeded, live_server, page, axe
):
    turn_on(app, difficulty=5000)
    reach_review(app, page, live_server.url)
    page.get_by_label("Soy una persona").wait_for()
    assert axe(page) == []
    page.locator("#accept").focus()  # the widget starts its work once the form has the focus
    page.keyboard.press("Space")
    page.get_by_label("Verificado").wait_for(timeout=30_000)
    assert axe(page) == []
    page.get_by_role("button", name="Reservar la cita").focus()
    page.keyboard.press("Enter")
    # Waits for the next page: the review page's own heading is there until it comes.
    page.get_by_role("heading", level=1, name="Su cita está reservada").wait_for(timeout=TIMEOUT)
    assert page.errors == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SpentChallenge)) == 1


def test_without_a_solution_the_page_answers_with_the_error_next_to_the_widget(
    app, seeded, live_server, page, axe
):
    turn_on(app, difficulty=5000)
    reach_review(app, page, live_server.url)
    page.evaluate("document.querySelector('altcha-widget').remove()")  # a check that never ran
    page.get_by_text("La información es correcta").click()
    page.get_by_role("button", name="Reservar la cita").click()
    assert page.locator("#altcha-error").inner_text().startswith("Complete la verificación")
    check = page.get_by_label("Soy una persona")
    assert check.is_visible()  # a fresh widget, to try again
    assert check.get_attribute("aria-describedby") == "altcha-hint altcha-error"
    assert axe(page) == []
    assert [error for error in page.errors if "422" not in error] == []
