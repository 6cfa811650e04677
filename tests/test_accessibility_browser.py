"""Keyboard and screen-reader users in Chromium (issue 10, item 15): a failed submit focuses an
error summary and says "Error:" in the title; the live turn page keeps focus; nothing hidden is a
Tab stop, nothing overflows a 320 px screen; every staff page passes axe in both languages."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import queue
from app.calls import sessions
from app.extensions import db
from app.models import Appointment
from tests.support import booking, pdf_factory
from tests.support.browser import open_page
from tests.support.clock import WEDNESDAY_10AM
from tests.support.signaling import make_appointment
from tests.support.turns import SERVICE as TURN_SERVICE
from tests.support.turns import clerk_named, console_url, give_turn, phones, retiro_line

pytestmark = [pytest.mark.browser, pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)]
VIDEO = "certificacion-individuo"
CLERK = "clerk@dtop.demo.ventanilla.pr"
QUEUE_CLERK = "clerk@retiro.demo.ventanilla.pr"
WAIT = 15_000  # ms: generous, never a timing assertion
PHONE, DESKTOP = (390, 844), (1280, 900)


@pytest.fixture
def app(turns_app):
    """conftest's `turns_app`: the app reading the turn strings' pending Spanish too."""
    return turns_app


# --- helpers ------------------------------------------------------------------------------------


def expect_focused_error_summary(page, prefix: str = "Error: ") -> None:
    """The error summary holds focus, lists at least one error, and the title starts with `prefix`."""
    summary = page.locator("[data-error-summary]")
    expect(summary).to_have_count(1)
    page.wait_for_function("document.activeElement?.hasAttribute('data-error-summary')", timeout=WAIT)
    assert summary.locator("li").count() >= 1
    assert page.title().startswith(prefix), page.title()


def submit(page, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def walk_to_details(app, page, base_url: str) -> None:
    page.goto(f"{base_url}/book/{VIDEO}")
    page.get_by_role("button", name="Escoja una fecha").click()
    day = booking.local_day(booking.first_free_slot(app, VIDEO).start)
    to_month = page.locator(f'.site-calendar__nav a[href$="month={day:%Y-%m}"]')
    if to_month.count():
        to_month.click()
    page.locator(f'.site-calendar__free a[href$="day={day.isoformat()}"]').click()
    page.locator(".site-times label").first.click()
    submit(page, "Continuar")


def ended_appointment(app) -> str:
    """A video appointment that ended with an outcome: its join token opens the survey."""
    reference, token = make_appointment(app, starts_in=-dt.timedelta(minutes=30), status="completed")
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        appointment.outcome = "completed"
        db.session.commit()
    return token


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/staff/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("#password").press("Enter")


def label_in_view(page, control_id: str) -> None:
    box = page.locator(f"label[for={control_id}]").bounding_box()
    height = page.viewport_size["height"]
    assert 0 <= box["y"] and box["y"] + box["height"] <= height, box


def tab_stops(page, count: int = 40) -> list[str]:
    """The first `count` elements the Tab key reaches, as tag#id.text."""
    stops = []
    for _tab in range(count):
        page.keyboard.press("Tab")
        stops.append(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return `${e.tagName}#${e.id}.${e.textContent.trim()}`; }"
            )
        )
    return stops


# --- a failed submit focuses the error summary --------------------------------------------------


def test_the_details_and_review_steps_focus_their_error_summary(app, seeded, live_server, phone_page):
    page = phone_page
    walk_to_details(app, page, live_server.url)
    submit(page, "Continuar")  # nothing filled in
    expect_focused_error_summary(page)
    assert page.locator("[data-error-summary] a[href='#name']").count() == 1

    page.get_by_label("Nombre completo").fill("Ana Rivera")
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Teléfono").fill("787 555 0100")
    page.get_by_label("Número de licencia de conducir").fill("1234567")
    page.set_input_files(
        "#doc_licence_front",
        files=[{"name": "licencia.pdf", "mimeType": "application/pdf", "buffer": pdf_factory.one_page()}],
    )
    submit(page, "Continuar")
    expect(page.get_by_role("heading", level=1)).to_have_text("Revisar y confirmar")
    assert not page.title().startswith("Error")

    submit(page, "Reservar la cita")  # the one checkbox left empty
    expect_focused_error_summary(page)
    link = page.locator("[data-error-summary] a[href='#accept']")
    expect(link).to_have_count(1)
    link.click()
    assert page.evaluate("document.activeElement.id") == "accept"
    assert [e for e in page.errors if "status of 422" not in e] == []


def test_the_time_picker_is_checked_by_the_server_not_the_browser_bubble(app, seeded, live_server, page):
    page.goto(f"{live_server.url}/book/{VIDEO}")
    page.get_by_role("button", name="Escoja una fecha").click()
    day = booking.local_day(booking.first_free_slot(app, VIDEO).start)
    page.goto(f"{live_server.url}/book/{VIDEO}/times?day={day.isoformat()}")
    # No radio is marked invalid (nor announced so) before the citizen does anything.
    assert page.locator(".site-times input:invalid").count() == 0
    submit(page, "Continuar")
    expect_focused_error_summary(page)
    assert (
        page.locator("[data-error-summary]").inner_text().count("Escoja una de las horas disponibles.") == 1
    )


@pytest.mark.parametrize(
    "locale, button, prefix", [("es-PR", "Tomar un turno", "Error: "), ("en-US", "Take a turn", "Error: ")]
)
def test_the_take_a_turn_form_focuses_its_error_summary(seeded, live_server, browser, locale, button, prefix):
    page = open_page(browser, locale=locale, viewport={"width": PHONE[0], "height": PHONE[1]})
    page.goto(f"{live_server.url}/turns/{TURN_SERVICE}")
    submit(page, button)
    expect_focused_error_summary(page, prefix)
    page.context.close()


def test_the_turn_cancel_form_puts_its_checkbox_error_in_the_summary(app, seeded, live_server, phone_page):
    with app.test_request_context():
        token = give_turn().token
    phone_page.goto(f"{live_server.url}/turns/status/{token}")
    submit(phone_page, "Cancelar mi turno")
    expect_focused_error_summary(phone_page)
    expect(phone_page.locator("[data-error-summary] a[href='#confirm']")).to_have_count(1)


def test_the_cancel_form_of_the_manage_page_focuses_its_error_summary(seeded, live_server, phone_page):
    booked = booking.book_through_the_api(live_server.url, VIDEO)
    phone_page.goto(booked["manage_url"])
    submit(phone_page, "Cancelar la cita")
    expect_focused_error_summary(phone_page)
    link = phone_page.locator("[data-error-summary] a[href='#confirm']")
    expect(link).to_have_count(1)
    link.press("Enter")  # the summary's link takes the keyboard to the checkbox, in view
    assert phone_page.evaluate("document.activeElement.id") == "confirm"
    label_in_view(phone_page, "confirm")


def test_the_survey_focuses_its_error_summary(app, seeded, live_server, page):
    token = ended_appointment(app)
    page.goto(f"{live_server.url}/call/{token}/survey")
    submit(page, "Enviar mi respuesta")
    expect_focused_error_summary(page)
    expect(page.locator("[data-error-summary] a[href='#rating-1']")).to_have_count(1)


@pytest.mark.parametrize("width, height", [(320, 568), (390, 844), (640, 450)])  # 640: 1280 at 200 %
def test_a_focused_checkbox_on_the_manage_page_is_scrolled_into_view(
    seeded, live_server, browser, width, height
):
    booked = booking.book_through_the_api(live_server.url, VIDEO)
    page = open_page(browser, viewport={"width": width, "height": height})
    page.goto(booked["manage_url"])
    for _tab in range(60):  # the keyboard's way there, from the top
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "confirm":
            break
    label_in_view(page, "confirm")
    page.context.close()


# --- the live turn page keeps focus -------------------------------------------------------------


def test_the_turn_page_keeps_focus_when_the_clerk_calls(app, seeded, live_server, phone_page):
    page = phone_page
    with app.test_request_context():
        token = give_turn().token
    page.goto(f"{live_server.url}/turns/status/{token}")
    page.wait_for_selector('#turn-live[data-live="connected"]', timeout=WAIT)
    page.locator("label[for=confirm]").click()  # ticked, then Tab to the button
    page.locator("#confirm").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Cancelar mi turno"

    with app.test_request_context():
        queue.call_next(retiro_line(), clerk_named(QUEUE_CLERK))
    page.wait_for_selector('#turn-summary [data-state="calling"]', timeout=WAIT)
    page.wait_for_function(
        "document.querySelector('[data-live-part=actions]').dataset.version.startsWith('calling')"
    )
    assert page.evaluate("document.activeElement.textContent.trim()") == "Cancelar mi turno"
    assert page.locator("#confirm").is_checked()
    assert page.errors == []


# --- phone widths -------------------------------------------------------------------------------


def test_the_hidden_breadcrumb_links_are_no_tab_stops_on_a_phone(seeded, live_server, browser):
    page = open_page(browser, viewport={"width": 320, "height": 640})
    page.goto(f"{live_server.url}/turns/{TURN_SERVICE}")
    hidden = page.locator(".usa-breadcrumb__list-item:not(:nth-last-child(2)) a")
    assert hidden.count() >= 1
    stops = tab_stops(page, 8)
    assert not any(stop.endswith(".Servicios") for stop in stops), stops
    assert any("Orientación" in stop for stop in stops), stops  # the visible "back" link stays
    page.context.close()


@pytest.mark.parametrize("width", [320, 390])
def test_the_phone_instead_button_fits_a_narrow_screen(app, seeded, live_server, browser, width):
    _reference, token = make_appointment(app)
    page = open_page(browser, viewport={"width": width, "height": 740}, is_mobile=True, has_touch=True)
    page.goto(f"{live_server.url}/call/{token}")
    page.locator("summary").filter(has_text="No puedo usar una cámara").click()
    button = page.locator("form[action$='/phone-request'] button")
    expect(button).to_have_count(1)
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.context.close()


# --- staff pages pass axe -----------------------------------------------------------------------


def staff_pages(app) -> list[str]:
    """The staff pages, with something on each: a waiting citizen, a call, a line of turns."""
    waiting, _token = make_appointment(app, starts_in=dt.timedelta(minutes=3), clerk_email=None)
    in_call, _token = make_appointment(
        app, starts_in=dt.timedelta(minutes=-2), status="in_call", clerk_email=CLERK
    )
    with app.test_request_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == waiting))
        sessions.mark_waiting(appointment)
    return [
        "/staff/",
        f"/staff/appointments/{in_call}",
        f"/staff/call/{in_call}",
        "/staff/queue/",
        "/staff/queue/check-in",
        "/staff/agenda?view=week",
        "/staff/agenda?status=lost",  # refused filter: the error summary
        "/staff/search?q=ana",
    ]


@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_staff_page_passes_axe(app, seeded, live_server, browser, axe, locale, viewport):
    paths = staff_pages(app)
    with app.test_request_context():
        for phone in phones(2):
            give_turn(phone)
        queue.call_next(retiro_line(), clerk_named(QUEUE_CLERK))
    width, height = viewport
    found = {}
    page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    sign_in(page, live_server.url, CLERK, seeded[CLERK])
    for path in paths:
        page.goto(live_server.url + path)
        found[path] = axe(page)
    page.context.close()

    queue_page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    sign_in(queue_page, live_server.url, QUEUE_CLERK, seeded[QUEUE_CLERK])
    queue_page.goto(live_server.url + console_url(app))
    found["queue console"] = axe(queue_page)
    queue_page.context.close()
    assert {path: v for path, v in found.items() if v} == {}
