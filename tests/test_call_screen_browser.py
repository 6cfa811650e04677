"""The call screen in two real browsers: the clerk's outcome form, one socket per page, the
citizen's toolbar, leaving, the waiting room, and how the screen fits a phone."""

from __future__ import annotations

import pytest

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEVICES_READY,
    TIMEOUT,
    admit,
    enter_waiting_room,
    open_page,
    wait_for_media,
)
from tests.support.clock import WEDNESDAY_10AM
from tests.support.signaling import CLERK, make_appointment

pytestmark = [pytest.mark.browser, pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)]

SAME_CONNECTION = (  # the connection a test marked before is still the one in use, and connected
    "() => window.ventanillaCall.pc.marked === true"
    " && window.ventanillaCall.pc.connectionState === 'connected'"
)


@pytest.fixture
def citizen(browser):
    page = open_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    yield page
    page.context.close()


@pytest.fixture
def clerk(browser):
    page = open_page(browser, viewport={"width": 1280, "height": 900})
    yield page
    page.context.close()


def start_call(app, seeded, live_server, citizen, clerk):
    reference, token = make_appointment(app)
    enter_waiting_room(citizen, live_server.url, token)
    admit(clerk, live_server.url, reference, CLERK, seeded[CLERK])
    wait_for_media(citizen)
    wait_for_media(clerk)
    return reference, token


def test_an_outcome_error_shows_on_the_call_screen_and_the_call_goes_on(
    app, seeded, live_server, citizen, clerk
):
    """Issue #10, item 1: "documents missing" without a message took the clerk to a page without
    video and froze the citizen's picture."""
    reference, token = start_call(app, seeded, live_server, citizen, clerk)
    clerk.evaluate("() => { window.ventanillaCall.pc.marked = true; }")
    citizen.evaluate("() => { window.ventanillaCall.pc.marked = true; }")
    clerk.locator("label[for=outcome-documents_missing]").click()
    clerk.get_by_role("button", name="Terminar la cita y guardar el resultado").click()

    summary = clerk.get_by_role("alert").filter(has_text="Indíquele al ciudadano qué documentos faltan.")
    summary.first.wait_for(timeout=TIMEOUT)
    assert clerk.url == f"{live_server.url}/staff/call/{reference}"
    assert clerk.evaluate("() => document.activeElement.id") == "outcome-errors"
    assert clerk.locator("#outcome-message").get_attribute("aria-invalid") == "true"
    assert clerk.evaluate(SAME_CONNECTION) and citizen.evaluate(SAME_CONNECTION)

    clerk.locator("#outcome-message").fill("Falta el registro del vehículo.")
    clerk.get_by_role("button", name="Terminar la cita y guardar el resultado").click()
    clerk.wait_for_url(f"{live_server.url}/staff/", timeout=TIMEOUT)
    assert "Se guardó el resultado" in clerk.locator(".usa-alert").first.inner_text()
    citizen.wait_for_url(f"{live_server.url}/call/{token}/survey", timeout=TIMEOUT)
    assert citizen.errors == []
    assert [error for error in clerk.errors if "status of 422" not in error] == []  # the refused form


# Counts the Socket.IO connections a page opens: wraps `io` as the vendor script defines it.
COUNT_SOCKETS = """(() => {
  let real;
  window.socketsOpened = 0;
  Object.defineProperty(window, "io", {
    configurable: true,
    get() { return real && ((...args) => { window.socketsOpened += 1; return real(...args); }); },
    set(value) { real = value; },
  });
})();"""
LOCAL_TRACKS_ENDED = """() => {
  const stream = document.querySelector('video[data-local]').srcObject;
  return !stream || stream.getTracks().every((track) => track.readyState === 'ended');
}"""
CONNECTION_CLOSED = "() => !window.ventanillaCall.pc || window.ventanillaCall.pc.signalingState === 'closed'"


def test_a_double_click_on_enter_opens_one_socket_and_the_call_connects(
    app, seeded, live_server, citizen, clerk
):
    """Issue #10, item 3: two sockets, and the first one's `replaced` handler closed the second."""
    reference, token = make_appointment(app)
    citizen.add_init_script(COUNT_SOCKETS)
    citizen.goto(f"{live_server.url}/call/{token}")
    citizen.wait_for_function(DEVICES_READY, timeout=TIMEOUT)
    citizen.get_by_role("button", name="Entrar a la sala de espera").dblclick()
    citizen.get_by_role("heading", name="Su funcionario le admitirá en breve").wait_for(timeout=TIMEOUT)
    assert citizen.evaluate("() => window.socketsOpened") == 1
    admit(clerk, live_server.url, reference, CLERK, seeded[CLERK])
    wait_for_media(citizen)
    wait_for_media(clerk)
    assert citizen.evaluate("() => window.socketsOpened") == 1
    assert citizen.errors == [] and clerk.errors == []


def test_a_tab_replaced_by_another_stops_its_camera_and_connection_and_says_why(
    app, seeded, live_server, citizen, clerk
):
    """Issue #10, item 3: a replaced tab kept its camera and peer connection running."""
    start_call(app, seeded, live_server, citizen, clerk)
    second = citizen.context.new_page()
    second.goto(citizen.url)  # the call is on: the new tab goes straight back in
    wait_for_media(second)
    citizen.get_by_role(
        "heading", name="Esta llamada está abierta ahora en otra pestaña o dispositivo."
    ).wait_for(timeout=TIMEOUT)
    citizen.wait_for_function(LOCAL_TRACKS_ENDED, timeout=TIMEOUT)
    assert citizen.evaluate(CONNECTION_CLOSED)
    assert not citizen.evaluate("() => window.ventanillaCall.socket.connected")
    wait_for_media(clerk)  # the clerk now talks to the new tab
    assert citizen.errors == []


def test_the_device_check_announces_a_refused_camera(seeded, live_server, playwright):
    """Issue #10, item 15: /call/check was silent when the camera was refused (no live region,
    focus stayed where it was); the join page moves focus to the explanation and says it."""
    arguments = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-ui-for-media-stream"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=arguments)
    try:
        context = browser.new_context(locale="es-PR")
        context.grant_permissions(["microphone"], origin=live_server.url)
        page = context.new_page()
        page.goto(f"{live_server.url}/call/check")
        page.get_by_text("El navegador no tuvo permiso para usarlos.", exact=True).wait_for(timeout=TIMEOUT)
        heading = "No pudimos usar su cámara o su micrófono"
        assert page.evaluate("() => document.activeElement.textContent.trim()") == heading
        live = page.locator("[role=status][data-media-status]")
        assert heading in live.inner_text() and "no tuvo permiso" in live.inner_text()
    finally:
        browser.close()
