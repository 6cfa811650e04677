"""A citizen takes a turn on a phone, by keyboard, and watches it move live while a clerk calls
turns in another browser; every page passes axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app import queue
from app.extensions import db
from app.models import Turn
from tests.support.clock import WEDNESDAY_10AM
from tests.support.proof_of_work import turn_on
from tests.support.turns import SERVICE, console_url, give_turn, phones

# While the demo line is open; ticking, for the live server and the browsers.
pytestmark = [pytest.mark.browser, pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)]
WAIT = 15_000  # ms: generous, never a timing assertion


@pytest.fixture
def app(turns_app):
    """conftest's `turns_app`: the app reading the turn strings' pending Spanish too."""
    return turns_app


def take_a_turn_by_keyboard(page, base_url: str) -> None:
    page.goto(f"{base_url}/turns/{SERVICE}")
    page.get_by_label("Nombre completo").focus()
    page.keyboard.type("Ana Rivera")
    page.keyboard.press("Tab")
    page.keyboard.type("787 555 0199")
    page.keyboard.press("Tab")
    page.keyboard.type("Quiero orientación sobre mi pensión.")
    page.keyboard.press("Tab")  # the language: Español is already chosen
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Tomar un turno"


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/staff/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(lambda url: "/staff/login" not in url)


def finish_call(clerk, outcome: str = "Atendido") -> None:
    clerk.locator("label.usa-radio__label").get_by_text(outcome, exact=True).click()  # USWDS hides the input
    clerk.get_by_role("button", name="Guardar el resultado").click()


def test_the_status_page_follows_the_clerks_calls_live(
    app, seeded, clock, live_server, browser, phone_page, axe
):
    with app.test_request_context():
        for phone in phones(2):  # two people already in line
            give_turn(phone)
    citizen = phone_page
    take_a_turn_by_keyboard(citizen, live_server.url)
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Su turno R-003")
    expect(citizen.locator("#turn-position")).to_have_attribute("data-position", "3")
    citizen.wait_for_selector('#turn-live[data-live="connected"]', timeout=WAIT)
    assert axe(citizen) == []
    citizen.evaluate("window.notReloaded = true")

    clerk = citizen.context.browser.new_context(
        locale="es-PR", viewport={"width": 1280, "height": 900}
    ).new_page()
    clerk_errors = []
    clerk.on("pageerror", lambda exc: clerk_errors.append(str(exc)))
    sign_in(
        clerk, live_server.url, "clerk@retiro.demo.ventanilla.pr", seeded["clerk@retiro.demo.ventanilla.pr"]
    )
    clerk.goto(live_server.url + console_url(app))
    clerk.wait_for_selector('#queue-live[data-live="connected"]', timeout=WAIT)
    expect(clerk.locator("#line-count")).to_have_text("3")
    assert axe(clerk) == []

    clerk.get_by_role("button", name="Llamar al siguiente").click()
    expect(clerk.locator("[data-calling-turn]")).to_have_attribute("data-calling-turn", "R-001")
    assert axe(clerk) == []
    citizen.wait_for_selector('#turn-position[data-position="2"]', timeout=WAIT)

    finish_call(clerk)
    clerk.get_by_role("button", name="Llamar al siguiente").click()
    citizen.wait_for_selector('#turn-position[data-position="1"]', timeout=WAIT)
    assert "Usted es la próxima persona en la fila." in citizen.locator("#turn-summary").inner_text()

    with app.test_request_context():
        give_turn("787-555-0300")  # someone joins: the clerk's list grows by itself
    expect(clerk.locator("#line-count")).to_have_text("2", timeout=WAIT)

    finish_call(clerk, "No contestó")
    clerk.get_by_role("button", name="Llamar al siguiente").click()
    expect(clerk.locator("[data-calling-turn]")).to_have_attribute("data-calling-turn", "R-003")
    citizen.wait_for_selector('#turn-summary [data-state="calling"]', timeout=WAIT)
    assert "Es su turno" in citizen.locator("#turn-summary").inner_text()
    assert axe(citizen) == []

    finish_call(clerk)
    citizen.wait_for_selector('#turn-summary [data-state="attended"]', timeout=WAIT)
    assert citizen.evaluate("window.notReloaded") is True  # all of it without a reload
    assert citizen.errors == [] and clerk_errors == []
    clerk.context.close()


def test_the_take_page_and_the_check_in_page_pass_axe(app, seeded, clock, live_server, page, phone_page, axe):
    phone_page.goto(f"{live_server.url}/turns/{SERVICE}")
    assert axe(phone_page) == []
    phone_page.get_by_role("button", name="Tomar un turno").click()  # everything missing
    expect(phone_page.get_by_role("heading", name="Corrija lo siguiente, por favor")).to_be_visible()
    assert axe(phone_page) == []
    clock.now = clock.now.replace(hour=23)  # 19:00 in Puerto Rico: closed, with the next opening
    phone_page.goto(f"{live_server.url}/turns/{SERVICE}")
    assert "mañana a las 8:00" in phone_page.locator("#turns-closed").inner_text()
    assert axe(phone_page) == []

    sign_in(page, live_server.url, "clerk@dtop.demo.ventanilla.pr", seeded["clerk@dtop.demo.ventanilla.pr"])
    page.goto(f"{live_server.url}/staff/queue/")
    assert axe(page) == []
    page.get_by_role("link", name="Registrar la llegada de un visitante con cita").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Registrar la llegada de un visitante")
    assert axe(page) == []
    # The refused form is a 422 document, which Chromium logs; nothing else may go wrong.
    assert [e for e in phone_page.errors if "status of 422" not in e] == [] and page.errors == []


def test_a_turn_the_citizen_cancels_while_being_called_leaves_the_clerks_console_live(
    app, seeded, clock, live_server, page, axe
):
    with app.test_request_context():
        first_id = give_turn("787-555-0101").turn.id
        give_turn("787-555-0102")
    sign_in(
        page, live_server.url, "clerk@retiro.demo.ventanilla.pr", seeded["clerk@retiro.demo.ventanilla.pr"]
    )
    page.goto(live_server.url + console_url(app))
    page.get_by_role("button", name="Llamar al siguiente").click()
    expect(page.locator("[data-calling-turn]")).to_have_attribute("data-calling-turn", "R-001")
    page.wait_for_selector('#queue-live[data-live="connected"]', timeout=WAIT)
    page.evaluate("window.notReloaded = true")

    with app.test_request_context():
        # The citizen cancels on the status page while the clerk dials.
        queue.cancel_turn(db.session.get(Turn, first_id))

    expect(page.locator("[data-calling-turn]")).to_have_count(0, timeout=WAIT)
    expect(page.get_by_role("button", name="Llamar al siguiente")).to_be_visible()
    expect(page.locator("#call-ended")).to_have_text(
        "La persona del turno R-001 canceló su turno mientras usted la llamaba.", timeout=WAIT
    )
    assert page.evaluate("window.notReloaded") is True
    assert axe(page) == []
    page.get_by_role("button", name="Llamar al siguiente").click()
    expect(page.locator("[data-calling-turn]")).to_have_attribute("data-calling-turn", "R-002")
    assert page.errors == []


def test_with_proof_of_work_on_the_widget_does_its_check_and_the_turn_is_taken_by_keyboard(
    app, seeded, clock, live_server, phone_page, axe
):
    turn_on(app, difficulty=5000)
    page = phone_page
    page.goto(f"{live_server.url}/turns/{SERVICE}")
    expect(page.get_by_label("Soy una persona")).to_be_visible()
    assert axe(page) == []
    page.get_by_label("Nombre completo").focus()  # the widget starts once the form has the focus
    page.keyboard.type("Ana Rivera")
    page.keyboard.press("Tab")
    page.keyboard.type("787 555 0199")
    page.keyboard.press("Tab")
    page.keyboard.type("Quiero orientación sobre mi pensión.")
    expect(page.get_by_label("Verificado")).to_be_attached(timeout=WAIT * 2)
    page.get_by_role("button", name="Tomar un turno").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Su turno R-001")
    assert page.errors == []
