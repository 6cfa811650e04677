"""CESCO Remoto end to end in two real browsers: citizen and clerk see each other peer to peer."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, CallSession
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CONNECTED,
    TIMEOUT,
    log_in,
    open_page,
    wait_for_media,
)
from tests.support.clock import WEDNESDAY_10AM
from tests.support.signaling import CLERK, make_appointment

# A call in office hours (appointments start a few minutes from now and are on the clerk's agenda of
# today); ticking, for the live server and the browsers.
pytestmark = [pytest.mark.browser, pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)]


def test_a_whole_cesco_remoto_call_in_two_browsers(app, seeded, live_server, browser, axe):
    reference, token = make_appointment(app)
    citizen = open_page(browser, viewport={"width": 390, "height": 800}, is_mobile=True, has_touch=True)
    clerk = open_page(browser, viewport={"width": 1280, "height": 900})
    try:
        citizen.goto(f"{live_server.url}/call/{token}")
        enter = citizen.get_by_role("button", name="Entrar a la sala de espera")
        enter.wait_for(state="visible")
        citizen.wait_for_function(
            "() => !document.getElementById('enter-waiting-room').disabled", timeout=TIMEOUT
        )
        assert axe(citizen) == []
        enter.click()
        citizen.get_by_role("heading", name="Su funcionario le admitirá en breve").wait_for(timeout=TIMEOUT)

        log_in(clerk, live_server.url, CLERK, seeded[CLERK])
        clerk.locator("#waiting-alert").wait_for(state="visible", timeout=TIMEOUT)
        assert reference in clerk.locator("#waiting-alert").inner_text()
        assert axe(clerk) == []
        clerk.locator(f'tr[data-reference="{reference}"] .site-admit').click()
        clerk.wait_for_url(f"{live_server.url}/staff/call/{reference}")

        wait_for_media(citizen)
        wait_for_media(clerk)
        assert axe(clerk) == []

        citizen.reload()  # the citizen's browser reloads mid-call: it comes back by itself
        wait_for_media(citizen)
        wait_for_media(clerk)

        clerk.get_by_label("Mensaje", exact=True).fill("Muestre su licencia a la cámara, por favor.")
        clerk.get_by_role("button", name="Enviar").click()
        citizen.get_by_role("button", name="Chat", exact=True).click()
        citizen.locator("#chat-log li", has_text="Muestre su licencia a la cámara, por favor.").wait_for(
            timeout=TIMEOUT
        )

        clerk.get_by_role("button", name="Identidad verificada con la licencia").click()
        clerk.get_by_text("Identidad verificada con la licencia por").wait_for(timeout=TIMEOUT)
        assert clerk.evaluate(CONNECTED)  # the identity check did not interrupt the call

        clerk.locator("label[for=outcome-completed]").click()
        clerk.get_by_role("button", name="Terminar la cita y guardar el resultado").click()
        clerk.wait_for_url(f"{live_server.url}/staff/", timeout=TIMEOUT)
        citizen.wait_for_url(f"{live_server.url}/call/{token}/survey", timeout=TIMEOUT)
        assert axe(citizen) == []
        assert citizen.errors == [] and clerk.errors == []

        with app.app_context():
            appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
            assert appointment.status == "completed" and appointment.outcome == "completed"
            assert appointment.identity_verified_by.email == CLERK
            call = db.session.scalar(
                sa.select(CallSession).where(CallSession.appointment_id == appointment.id)
            )
            assert call.waiting_since and call.admitted_at and call.connected_at and call.ended_at
            assert call.audio_only is False  # the citizen's fake camera sent video
    finally:
        citizen.context.close()
        clerk.context.close()


def test_a_citizen_who_denies_the_camera_is_guided_to_audio_only(app, seeded, live_server, playwright):
    reference, token = make_appointment(app)
    # Without --use-fake-ui-for-media-stream, a permission not granted is denied (BROWSER-TESTING.md).
    arguments = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-ui-for-media-stream"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=arguments)
    try:
        context = browser.new_context(locale="es-PR")
        context.grant_permissions(["microphone"], origin=live_server.url)
        page = context.new_page()
        page.goto(f"{live_server.url}/call/{token}")
        help_text = page.get_by_text("El navegador no tuvo permiso para usarlos.", exact=True)
        help_text.wait_for(timeout=TIMEOUT)
        page.get_by_role("button", name="Continuar solo con audio").click()
        page.get_by_role("heading", name="Su funcionario le admitirá en breve").wait_for(timeout=TIMEOUT)
        assert page.evaluate("() => window.ventanillaCall.socket.connected")
    finally:
        browser.close()


def test_the_stand_alone_device_check_shows_the_camera_and_passes_axe(seeded, live_server, phone_page, axe):
    phone_page.goto(f"{live_server.url}/call/check")
    phone_page.locator("#device-ok").wait_for(state="visible", timeout=TIMEOUT)
    phone_page.wait_for_function(
        "() => document.querySelector('video[data-local]').videoWidth > 0", timeout=TIMEOUT
    )
    assert phone_page.locator("#camera-select option").count() >= 1
    assert axe(phone_page) == []
    assert phone_page.errors == []


def test_a_join_link_opened_too_early_counts_down(app, seeded, live_server, page, axe, clock):
    _, token = make_appointment(app, starts_in=dt.timedelta(hours=2))
    page.clock.install(time=clock.now)  # the countdown compares with the browser's own clock
    page.goto(f"{live_server.url}/call/{token}")
    assert page.get_by_role("heading", level=1).inner_text() == "Su videollamada todavía no ha comenzado"
    countdown = page.locator(".site-countdown")
    countdown.wait_for(state="visible")
    assert countdown.inner_text().startswith("Abre en 1 h 4")
    assert axe(page) == []


def test_the_countdown_follows_the_servers_clock_when_the_phones_runs_fast(
    app, seeded, live_server, page, clock
):
    """Issue #10, item 7: a phone 20 minutes fast reloaded the page every second until it hit the
    rate limit. The link opens 15 minutes from now by the server's clock."""
    _, token = make_appointment(app, starts_in=dt.timedelta(minutes=30))
    page.clock.install(time=clock.now + dt.timedelta(minutes=20))
    page.goto(f"{live_server.url}/call/{token}")
    countdown = page.locator(".site-countdown")
    countdown.wait_for(state="visible")
    assert countdown.inner_text().startswith(("Abre en 14 min", "Abre en 15 min"))


def test_the_admit_button_appears_only_when_the_citizen_arrives(app, seeded, live_server, browser):
    """Issue #10, item 2: the USWDS button style kept the hidden Admit button visible."""
    reference, token = make_appointment(app)
    clerk = open_page(browser, viewport={"width": 1280, "height": 900})
    citizen = open_page(browser, viewport={"width": 390, "height": 800})
    try:
        log_in(clerk, live_server.url, CLERK, seeded[CLERK])
        admit = clerk.locator(f'tr[data-reference="{reference}"] .site-admit')
        assert admit.count() == 1 and not admit.is_visible()
        citizen.goto(f"{live_server.url}/call/{token}")
        citizen.wait_for_function(
            "() => !document.getElementById('enter-waiting-room').disabled", timeout=TIMEOUT
        )
        citizen.get_by_role("button", name="Entrar a la sala de espera").click()
        admit.wait_for(state="visible", timeout=TIMEOUT)  # live, without a reload
    finally:
        clerk.context.close()
        citizen.context.close()


def test_when_the_other_side_leaves_the_page_says_so_and_stops_the_picture(app, seeded, live_server, browser):
    """Issue #10, item 4: the remaining side kept a frozen picture and "connection: good"."""
    reference, token = make_appointment(app)
    citizen = open_page(browser, viewport={"width": 390, "height": 800})
    clerk = open_page(browser, viewport={"width": 1280, "height": 900})
    try:
        citizen.goto(f"{live_server.url}/call/{token}")
        citizen.wait_for_function(
            "() => !document.getElementById('enter-waiting-room').disabled", timeout=TIMEOUT
        )
        citizen.get_by_role("button", name="Entrar a la sala de espera").click()
        log_in(clerk, live_server.url, CLERK, seeded[CLERK])
        admit = clerk.locator(f'tr[data-reference="{reference}"] .site-admit')
        admit.wait_for(state="visible", timeout=TIMEOUT)
        admit.click()
        wait_for_media(citizen)
        clerk.goto(f"{live_server.url}/staff/")  # the clerk leaves the call screen
        notice = citizen.locator("#peer-left")
        notice.wait_for(state="visible", timeout=TIMEOUT)
        assert "funcionario" in notice.inner_text()
        assert citizen.evaluate("() => document.getElementById('remote-video').srcObject === null")
        assert "no está conectada" in citizen.locator("#quality").inner_text()
        assert citizen.errors == []
    finally:
        clerk.context.close()
        citizen.context.close()
