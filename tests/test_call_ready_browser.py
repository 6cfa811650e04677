"""The clerk's call screen before the admission, in two real browsers (issue 13, item 3).

The clerk opens a waiting citizen's call screen first ("ready": camera, connection and socket
prepared), sees live whether the citizen is in the waiting room, and admits from there without
leaving the page: both sides reach `connected` with video decoded. Refusals are shown on the
screen, translated; the screen works with the keyboard and passes axe at phone and desktop size.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.calls import admission
from app.extensions import db
from app.models import Appointment, Staff
from tests.support.browser import (
    TIMEOUT,
    enter_waiting_room,
    log_in,
    open_page,
    sign_in_staff,
    wait_for_media,
)
from tests.support.signaling import ADMIN, CLERK, make_appointment

pytestmark = [pytest.mark.browser, pytest.mark.clock(tick=True)]

PHONE, DESKTOP = (390, 844), (1280, 900)
STANDBY = "() => window.ventanillaCall?.socket?.connected === true"
OFFER_READY = "() => performance.getEntriesByName('call:offer-made').length > 0"


def open_ready_screen(clerk, base_url, reference, password):
    log_in(clerk, base_url, CLERK, password)
    clerk.goto(f"{base_url}/staff/call/{reference}")
    clerk.wait_for_function(STANDBY, timeout=TIMEOUT)


def test_the_clerk_admits_from_the_ready_screen_and_both_see_each_other(app, seeded, live_server, browser):
    reference, token = make_appointment(app)
    citizen = open_page(browser, viewport={"width": 390, "height": 800})
    clerk = open_page(browser, viewport={"width": 1280, "height": 900})
    try:
        open_ready_screen(clerk, live_server.url, reference, seeded[CLERK])
        presence = clerk.locator("#ready-presence")
        assert "todavía no está en la sala de espera" in presence.inner_text()
        clerk.wait_for_function(OFFER_READY, timeout=TIMEOUT)  # prepared, held until the pair completes
        clerk.evaluate("() => { window.__samePage = true; }")

        # Admit before the citizen arrives: refused, said on the screen, focus on the message.
        clerk.get_by_role("button", name="Admitir").click()
        error = clerk.locator("#admit-error")
        error.wait_for(state="visible", timeout=TIMEOUT)
        assert f"{reference} todavía no está en la sala de espera." in error.inner_text()
        assert clerk.evaluate("() => document.activeElement.id") == "admit-error"

        enter_waiting_room(citizen, live_server.url, token)
        clerk.wait_for_function(
            "() => document.getElementById('ready-presence').dataset.present === 'true'", timeout=TIMEOUT
        )
        assert "Ana Rivera está en la sala de espera." in presence.inner_text()

        # With the keyboard: focus the button, Enter.
        clerk.locator("#admit-button").focus()
        clerk.keyboard.press("Enter")
        for page in (citizen, clerk):
            wait_for_media(page)
        assert clerk.locator("#ready").is_hidden()
        assert clerk.evaluate("() => window.__samePage") is True  # admitted without leaving the page
        assert clerk.url == f"{live_server.url}/staff/call/{reference}"
        with app.app_context():
            appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
            assert appointment.status == "in_call" and appointment.clerk.email == CLERK
        # A reload now is the call screen in the call, and the call comes back.
        clerk.reload()
        wait_for_media(clerk)
        assert clerk.locator("#admit-form").count() == 0
        assert citizen.errors == [] and clerk.errors == []
    finally:
        citizen.context.close()
        clerk.context.close()


def test_another_clerk_admitting_first_is_shown_on_the_ready_screen(app, seeded, live_server, browser):
    reference, token = make_appointment(app)
    citizen = open_page(browser)
    clerk = open_page(browser, locale="en-US")
    try:
        enter_waiting_room(citizen, live_server.url, token)
        sign_in_staff(clerk, live_server.url, CLERK, seeded[CLERK])
        clerk.goto(f"{live_server.url}/staff/call/{reference}")
        clerk.wait_for_function(STANDBY, timeout=TIMEOUT)
        clerk.wait_for_function(
            "() => document.getElementById('ready-presence').dataset.present === 'true'", timeout=TIMEOUT
        )
        with app.app_context():
            appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
            admission.admit_waiting(
                appointment, db.session.scalar(sa.select(Staff).where(Staff.email == ADMIN))
            )
        presence = clerk.locator("#ready-presence")
        clerk.wait_for_function(
            "() => document.getElementById('ready-presence').dataset.present === 'false'", timeout=TIMEOUT
        )
        assert "Ana Rivera is no longer waiting" in presence.inner_text()
        clerk.get_by_role("button", name="Admit").click()
        error = clerk.locator("#admit-error")
        error.wait_for(state="visible", timeout=TIMEOUT)
        assert f"Admin DTOP already admitted {reference}." in error.inner_text()
        assert clerk.locator("#ready").is_visible() and clerk.errors == []
    finally:
        citizen.context.close()
        clerk.context.close()


def test_the_call_screen_keeps_the_staff_session_alive_during_a_call(app, seeded, live_server, browser):
    """The page's keep-alive beat, on the page's own (fast-forwarded) clock: a POST with the CSRF
    token every few minutes while the call is on."""
    reference, token = make_appointment(app)
    citizen = open_page(browser)
    clerk = open_page(browser)
    try:
        enter_waiting_room(citizen, live_server.url, token)
        log_in(clerk, live_server.url, CLERK, seeded[CLERK])
        clerk.clock.install()
        clerk.goto(f"{live_server.url}/staff/call/{reference}")
        clerk.wait_for_function(STANDBY, timeout=TIMEOUT)
        seconds = int(clerk.locator("[data-call]").get_attribute("data-keep-alive-seconds"))
        assert seconds == 300  # a third of STAFF_IDLE_MINUTES, at most 5 minutes
        clerk.locator("#admit-button").click()
        clerk.wait_for_function("() => document.getElementById('ready').hidden", timeout=TIMEOUT)
        with clerk.expect_response("**/staff/keep-alive", timeout=TIMEOUT) as beat:
            clerk.clock.run_for(seconds * 1000)
        assert beat.value.status == 200 and beat.value.request.method == "POST"
        assert beat.value.request.headers.get("x-csrftoken")
    finally:
        citizen.context.close()
        clerk.context.close()


@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_ready_screen_passes_axe(app, seeded, live_server, browser, axe, locale, viewport):
    reference, token = make_appointment(app)
    width, height = viewport
    clerk = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    try:
        sign_in_staff(clerk, live_server.url, CLERK, seeded[CLERK])
        clerk.goto(f"{live_server.url}/staff/call/{reference}")
        clerk.wait_for_function(STANDBY, timeout=TIMEOUT)
        clerk.locator("#admit-button").click()  # nobody waiting yet: the error is on the page too
        clerk.locator("#admit-error").wait_for(state="visible", timeout=TIMEOUT)
        assert axe(clerk) == []
        heading = "Ready to admit Ana Rivera" if locale == "en-US" else "Listo para admitir a Ana Rivera"
        assert clerk.get_by_role("heading", name=heading).is_visible()
    finally:
        clerk.context.close()


def test_a_ready_screen_left_open_prepares_its_connection_again_with_fresh_turn_credentials(
    app, seeded, live_server, browser
):
    # TURN credentials minted for 4 s (a TURN server nobody answers on: the call runs on host
    # candidates); the held offer is made again with the fresh ones, and Admit still connects.
    app.config.update(TURN_URLS=["turn:127.0.0.1:9?transport=udp"], TURN_SECRET="s3cret", TURN_TTL_SECONDS=4)
    reference, token = make_appointment(app)
    citizen = open_page(browser)
    clerk = open_page(browser)
    try:
        enter_waiting_room(citizen, live_server.url, token)
        open_ready_screen(clerk, live_server.url, reference, seeded[CLERK])
        clerk.wait_for_function(OFFER_READY, timeout=TIMEOUT)
        clerk.evaluate("() => { window.__firstPc = window.ventanillaCall.pc; }")
        clerk.wait_for_function("() => window.ventanillaCall.pc !== window.__firstPc", timeout=TIMEOUT)
        assert clerk.evaluate("() => window.__firstPc.connectionState") == "closed"
        clerk.wait_for_function(
            "() => document.getElementById('ready-presence').dataset.present === 'true'", timeout=TIMEOUT
        )
        clerk.locator("#admit-button").click()
        for page in (citizen, clerk):
            wait_for_media(page)
        assert citizen.errors == [] and clerk.errors == []
    finally:
        citizen.context.close()
        clerk.context.close()


def test_a_ready_screen_signed_out_meanwhile_offers_a_sign_in_that_comes_back_to_it(
    app, seeded, live_server, browser, clock
):
    """The screen sat open past the idle time: Admit says so and links to the sign-in, which returns
    to the same call screen, ready again."""
    reference, _token = make_appointment(app)
    clerk = open_page(browser)
    try:
        open_ready_screen(clerk, live_server.url, reference, seeded[CLERK])
        sign_in_link = clerk.locator("#admit-sign-in")
        assert sign_in_link.is_hidden()
        clock.advance(minutes=31)  # no request since the screen opened (STAFF_IDLE_MINUTES is 30)
        clerk.get_by_role("button", name="Admitir").click()
        clerk.locator("#admit-error").wait_for(state="visible", timeout=TIMEOUT)
        assert "Inicie sesión de nuevo" in clerk.locator("#admit-error").inner_text()
        sign_in_link.click()
        clerk.get_by_label("Correo electrónico").fill(CLERK)
        clerk.get_by_label("Contraseña").fill(seeded[CLERK])
        clerk.get_by_role("button", name="Iniciar sesión").click()
        clerk.wait_for_url(f"{live_server.url}/staff/call/{reference}")
        clerk.wait_for_function(STANDBY, timeout=TIMEOUT)
        assert clerk.locator("#ready").is_visible() and sign_in_link.is_hidden()
        assert clerk.errors == []
    finally:
        clerk.context.close()
