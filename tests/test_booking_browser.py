"""A citizen books a CESCO Remoto video call on a phone, in a real browser, uploading a real PDF.

A live server and a browser: the clock ticks, from the fixed instant. The citizen picks a day a few
days ahead (tests/support/booking.py), not the first free one, whose earliest times could reach
their lead time while the browser is on the page.
"""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Appointment
from tests.support import booking, pdf_factory

SERVICE = "certificacion-individuo"
pytestmark = [pytest.mark.browser, pytest.mark.clock(tick=True)]


def day_to_book(app, page):
    """The calendar link of the first day with free times from `booking_day()` on, after moving
    the calendar (which opens on the current month) to that day's month."""
    day = booking.local_day(booking.first_free_slot(app, SERVICE).start)
    to_month = page.locator(f'.site-calendar__nav a[href$="month={day:%Y-%m}"]')
    if to_month.count():
        to_month.click()
    return page.locator(f'.site-calendar__free a[href$="day={day.isoformat()}"]')


def fill_details(page, pdf: bytes, filename: str) -> None:
    page.get_by_label("Nombre completo").fill("Ana Rivera")
    page.get_by_label("Correo electrónico").fill("ana@example.com")
    page.get_by_label("Teléfono").fill("787 555 0100")
    page.get_by_label("Número de licencia de conducir").fill("1234567")
    page.set_input_files(
        "#doc_licence_front", files=[{"name": filename, "mimeType": "application/pdf", "buffer": pdf}]
    )
    page.get_by_role("button", name="Continuar").click()


def check_step(page, axe, heading):
    """The next page has loaded (its heading, waited for: a click returns once navigation starts)."""
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert axe(page) == [], heading
    assert page.errors == []


def test_book_a_video_call_on_a_phone_with_a_pdf(app, seeded, live_server, phone_page, axe):
    page = phone_page
    page.goto(live_server.url + "/services/certificacion-individuo")
    page.get_by_role("link", name="Reservar una cita").click()
    check_step(page, axe, "Certificación de individuo")

    page.get_by_role("button", name="Escoja una fecha").click()
    check_step(page, axe, "Escoja una fecha")

    free_day = day_to_book(app, page)
    label = free_day.locator(".usa-sr-only").inner_text()
    assert re.search(r"\d+ horas? disponibles?", label)
    free_day.click()
    check_step(page, axe, "Escoja una hora")

    page.locator(".site-times label").first.click()
    page.get_by_role("button", name="Continuar").click()
    check_step(page, axe, "Sus datos y documentos")

    fill_details(page, pdf_factory.one_page(), "licencia.pdf")
    check_step(page, axe, "Revisar y confirmar")
    assert "licencia.pdf" in page.content()

    page.get_by_text("La información es correcta").click()
    page.get_by_role("button", name="Reservar la cita").click()
    check_step(page, axe, "Su cita está reservada")
    reference = page.locator(".site-reference").inner_text()
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        assert appointment.reference == reference
        assert appointment.documents[0].original_name == "licencia.pdf"


def test_a_refused_pdf_is_explained_next_to_its_field(app, seeded, live_server, page, axe):
    page.goto(live_server.url + "/book/certificacion-individuo")
    page.get_by_role("button", name="Escoja una fecha").click()
    day_to_book(app, page).click()
    page.locator(".site-times label").first.click()
    page.get_by_role("button", name="Continuar").click()
    fill_details(page, pdf_factory.png_renamed(), "foto.pdf")
    expect(page.locator("#doc_licence_front-error")).to_contain_text("foto.pdf")
    assert axe(page) == []


@pytest.mark.parametrize("zone, shown", [("Europe/Madrid", True), ("America/Puerto_Rico", False)])
def test_a_citizen_abroad_also_sees_the_time_in_their_own_zone(browser, seeded, live_server, zone, shown):
    manage_url = booking.book_through_the_api(live_server.url, SERVICE)["manage_url"]
    context = browser.new_context(locale="es-PR", timezone_id=zone)
    page = context.new_page()
    page.goto(manage_url)
    note = page.locator(".site-own-time")
    assert note.is_visible() == shown
    if shown:
        assert "En su propia zona horaria (Europe/Madrid):" in note.inner_text()
    context.close()
