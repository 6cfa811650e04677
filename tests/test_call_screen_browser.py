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
    log_in,
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
    citizen.wait_for_function("() => !window.ventanillaCall.socket.connected", timeout=TIMEOUT)
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


# --- The citizen's call screen (issue #10, item 8) --------------------------------------------------

FITS = """() => {
  const inside = (box) => box.left >= 0 && box.top >= 0
    && box.right <= innerWidth && box.bottom <= innerHeight;
  const remote = document.getElementById('remote-video').getBoundingClientRect();
  const local = document.querySelector('.site-call__local').getBoundingClientRect();
  const buttons = [...document.querySelectorAll('.site-call__toolbar button')].filter((b) => !b.hidden);
  return {
    scrolls: document.documentElement.scrollWidth > innerWidth
      || document.documentElement.scrollHeight > innerHeight,
    remoteWidth: remote.width / innerWidth,
    localInside: local.left >= remote.left && local.right <= remote.right && local.top >= remote.top
      && local.bottom <= remote.bottom,
    buttonsInside: buttons.every((b) => inside(b.getBoundingClientRect())),
    buttonsLarge: buttons.every((b) => Math.min(b.offsetWidth, b.offsetHeight) >= 44),
    buttonsLow: buttons.every((b) => b.getBoundingClientRect().top > innerHeight / 2),
    count: buttons.length,
  };
}"""
LABEL_WIDTH = "(id) => document.querySelector(`#${id} .site-call__tool-label`).getBoundingClientRect().width"


def test_the_waiting_room_says_who_the_citizen_waits_for_and_what_to_have_ready(
    app, seeded, live_server, citizen, axe
):
    _, token = make_appointment(app)
    enter_waiting_room(citizen, live_server.url, token)
    waiting = citizen.locator("#waiting")
    citizen.get_by_role("heading", name="Su funcionario le admitirá en breve").wait_for(timeout=TIMEOUT)
    text = waiting.inner_text()
    assert "Departamento de Transportación y Obras Públicas" in text  # who they wait for
    assert "licencia de conducir" in text  # what to have ready
    assert axe(citizen) == []


def test_the_citizen_call_screen_fits_a_phone_in_both_orientations_and_passes_axe(
    app, seeded, live_server, citizen, clerk, axe
):
    start_call(app, seeded, live_server, citizen, clerk)
    for name in ("Silenciar micrófono", "Apagar cámara", "Chat", "Salir de la llamada"):
        assert citizen.get_by_role("button", name=name, exact=True).is_visible(), name
    assert not citizen.locator("#switch-camera").is_visible()  # one camera: nothing to switch to
    assert citizen.locator("#peer-name").inner_text() == "Clerk DTOP"
    citizen.wait_for_function(
        "() => /^\\d+:\\d\\d$/.test(document.getElementById('elapsed').textContent)", timeout=TIMEOUT
    )
    first = citizen.locator("#elapsed").inner_text()
    citizen.wait_for_function(f"() => document.getElementById('elapsed').textContent !== '{first}'")
    citizen.wait_for_function(
        "() => document.getElementById('quality').dataset.quality === 'good'", timeout=TIMEOUT
    )

    portrait = citizen.evaluate(FITS)
    assert portrait == {
        "scrolls": False,
        "remoteWidth": 1,
        "localInside": True,
        "buttonsInside": True,
        "buttonsLarge": True,
        "buttonsLow": True,
        "count": 4,
    }
    assert citizen.evaluate(LABEL_WIDTH, "toggle-mic") <= 1  # the label shows on focus only
    citizen.locator("#toggle-mic").focus()
    assert citizen.evaluate(LABEL_WIDTH, "toggle-mic") > 20
    assert axe(citizen) == []

    citizen.set_viewport_size({"width": 844, "height": 390})
    landscape = citizen.evaluate(FITS)
    assert not landscape["scrolls"] and landscape["buttonsInside"] and landscape["localInside"]
    assert landscape["buttonsLarge"] and landscape["count"] == 4
    assert axe(citizen) == []
    assert citizen.errors == [] and clerk.errors == []


def test_mute_and_camera_buttons_stop_sending_and_say_so(app, seeded, live_server, citizen, clerk):
    start_call(app, seeded, live_server, citizen, clerk)
    mute = citizen.get_by_role("button", name="Silenciar micrófono", exact=True)
    mute.click()
    assert mute.get_attribute("aria-pressed") == "true"
    assert (
        citizen.evaluate(
            "() => window.ventanillaCall.pc.getSenders().find((s) => s.track?.kind === 'audio').track.enabled"
        )
        is False
    )
    camera = citizen.get_by_role("button", name="Apagar cámara", exact=True)
    camera.click()
    assert camera.get_attribute("aria-pressed") == "true"
    assert (
        citizen.evaluate(
            "() => window.ventanillaCall.pc.getSenders().find((s) => s.track?.kind === 'video').track.enabled"
        )
        is False
    )


def test_leaving_asks_first_tells_the_clerk_and_the_citizen_can_come_back(
    app, seeded, live_server, citizen, clerk
):
    start_call(app, seeded, live_server, citizen, clerk)
    citizen.evaluate("() => { window.ventanillaCall.pc.marked = true; }")
    leave = citizen.get_by_role("button", name="Salir de la llamada", exact=True)
    color = leave.evaluate("(b) => getComputedStyle(b).backgroundColor")
    red, green, _ = (int(part) for part in color[color.index("(") + 1 : -1].split(",")[:3])
    assert red > 150 and green < 80  # red

    leave.click()
    dialog = citizen.get_by_role("dialog", name="¿Salir de la llamada?")
    dialog.wait_for()
    dialog.get_by_role("button", name="Seguir en la llamada").click()
    assert not dialog.is_visible() and citizen.evaluate(SAME_CONNECTION)

    leave.click()
    dialog.get_by_role("button", name="Salir", exact=True).click()
    citizen.get_by_role("heading", name="Ha salido de la llamada.").wait_for(timeout=TIMEOUT)
    citizen.wait_for_function(LOCAL_TRACKS_ENDED, timeout=TIMEOUT)
    assert citizen.evaluate(CONNECTION_CLOSED)
    notice = clerk.locator("#peer-left")
    notice.wait_for(state="visible", timeout=TIMEOUT)  # the peer left: the clerk is told
    assert "ciudadano" in notice.inner_text()

    citizen.get_by_role("button", name="Volver a la llamada aquí").click()
    wait_for_media(citizen)
    wait_for_media(clerk)
    assert citizen.errors == [] and clerk.errors == []


def test_chat_goes_both_ways_as_plain_text(app, seeded, live_server, citizen, clerk):
    start_call(app, seeded, live_server, citizen, clerk)
    hostile = '<img src=x onerror="window.pwned = 1">'
    clerk.get_by_label("Mensaje", exact=True).fill(hostile)
    clerk.get_by_role("button", name="Enviar").click()
    chat = citizen.get_by_role("button", name="Chat", exact=True)
    citizen.wait_for_function(
        "() => document.getElementById('chat-unread').hidden === false", timeout=TIMEOUT
    )
    assert "Nuevo mensaje" in citizen.locator("#call-status").inner_text()
    chat.click()
    assert chat.get_attribute("aria-expanded") == "true"
    citizen.locator("#chat-log li", has_text=hostile).wait_for(timeout=TIMEOUT)
    assert citizen.evaluate("() => window.pwned === undefined && !document.querySelector('#chat-log img')")
    citizen.get_by_label("Mensaje", exact=True).fill("Aquí está mi licencia.")
    citizen.get_by_role("button", name="Enviar").click()
    clerk.locator("#chat-log li", has_text="Aquí está mi licencia.").wait_for(timeout=TIMEOUT)
    citizen.get_by_role("button", name="Cerrar el chat").click()
    assert chat.get_attribute("aria-expanded") == "false"


def test_switch_camera_changes_the_camera_the_clerk_sees(app, seeded, live_server, playwright, clerk):
    arguments = [
        "--use-fake-device-for-media-stream=device-count=2"
        if arg == "--use-fake-device-for-media-stream"
        else arg
        for arg in CHROMIUM_ARGS
    ]
    two_cameras = playwright.chromium.launch(executable_path=CHROMIUM, args=arguments)
    try:
        citizen = open_page(
            two_cameras, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        start_call(app, seeded, live_server, citizen, clerk)
        sent = (
            "() => window.ventanillaCall.pc.getSenders().find((s) => s.track?.kind === 'video').track.label"
        )
        before = citizen.evaluate(sent)
        citizen.get_by_role("button", name="Cambiar de cámara").click()
        citizen.wait_for_function(f"() => ({sent})() !== {before!r}", timeout=TIMEOUT)
        assert (
            citizen.evaluate(
                "() => document.querySelector('video[data-local]').srcObject.getVideoTracks()[0].label"
            )
            != before
        )
        wait_for_media(clerk)
        assert citizen.errors == []
    finally:
        two_cameras.close()


QUALITY = """async (samples) => {
  const { createQualityMeter } = await import('/static/js/peer.js');
  const stats = (s) => new Map([
    ['T', { type: 'transport', selectedCandidatePairId: 'P' }],
    ['P', { type: 'candidate-pair', id: 'P', currentRoundTripTime: s.rtt }],
    ['V', { type: 'inbound-rtp', kind: 'video', packetsLost: s.lost, packetsReceived: s.received }],
  ]);
  const meter = createQualityMeter({ getStats: async () => stats(samples.shift()) });
  const readings = [];
  while (samples.length) readings.push(await meter());
  return readings;
}"""


def test_the_connection_quality_is_read_from_round_trip_time_and_recent_packet_loss(live_server, page):
    page.goto(f"{live_server.url}/call/check")
    samples = [
        {"rtt": 0.05, "lost": 0, "received": 1000},
        {"rtt": 0.05, "lost": 5, "received": 2000},  # 0.5 % lost since the last reading
        {"rtt": 0.05, "lost": 205, "received": 3000},  # 17 % lost since the last reading
        {"rtt": 0.5, "lost": 205, "received": 4000},
        {"rtt": 1.2, "lost": 205, "received": 5000},
    ]
    assert page.evaluate(QUALITY, samples) == ["good", "good", "poor", "fair", "poor"]


def test_the_clerk_says_they_are_running_late_and_the_waiting_room_shows_it(
    app, seeded, live_server, citizen, clerk, axe
):
    reference, token = make_appointment(app)
    enter_waiting_room(citizen, live_server.url, token)
    citizen.get_by_role("heading", name="Su funcionario le admitirá en breve").wait_for(timeout=TIMEOUT)
    log_in(clerk, live_server.url, CLERK, seeded[CLERK])
    row = clerk.locator(f'tr[data-reference="{reference}"]')
    row.get_by_label("Voy con retraso").select_option("15")
    row.get_by_role("button", name="Avisar").click()
    clerk.wait_for_url(f"{live_server.url}/staff/")
    notice = citizen.locator("#running-late")
    notice.wait_for(state="visible", timeout=TIMEOUT)
    assert "va unos 15 minutos tarde" in notice.inner_text()
    assert notice.get_attribute("role") == "status"  # announced, politely
    assert axe(citizen) == []
