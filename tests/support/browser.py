"""Chromium for the browser tests: where it is, its flags, and a page that collects its errors.

Real browsers keep the real clock. A test whose page computes with `Date.now()` against a time
the server chose (the join link's countdown) sets the page's clock to the test clock with
`page.clock.install(time=clock.now)` before opening it.
"""

from __future__ import annotations

import os

from tests.support.servers import ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


class PageErrors(list):
    """Console errors and uncaught exceptions seen on a page."""


def open_page(browser, **context_options):
    """A page in a fresh context; `page.errors` collects console errors and uncaught exceptions."""
    context = browser.new_context(**{"locale": "es-PR", **context_options})
    page = context.new_page()
    page.errors = PageErrors()
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


# --- A video call between two pages ---------------------------------------------------------------

TIMEOUT = 20_000  # ms; connection takes ~2 s here, generous under load (shared/BROWSER-TESTING.md)

CONNECTED = (
    "() => window.ventanillaCall && window.ventanillaCall.pc"
    " && window.ventanillaCall.pc.connectionState === 'connected'"
)
VIDEO_DECODED = """async () => {
  const pc = window.ventanillaCall.pc;
  if (!pc) return false;
  let frames = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
  });
  return frames > 0;
}"""
DEVICES_READY = "() => !document.getElementById('enter-waiting-room').disabled"


def wait_for_media(page):
    """The peer connection is up and the other side's picture is decoded and shown."""
    page.wait_for_function(CONNECTED, timeout=TIMEOUT)
    page.wait_for_function(VIDEO_DECODED, timeout=TIMEOUT)
    page.wait_for_function("() => document.getElementById('remote-video').videoWidth > 0", timeout=TIMEOUT)


def sign_in_staff(page, base_url: str, email: str, password: str, app=None) -> None:
    """Sign in through the staff login form, whatever the page's language; with `app`, also the
    second step of an account with two-factor sign-in (tests/support/two_factor.py)."""
    from tests.support.two_factor import CODE_PAGE, browser_second_step

    page.goto(f"{base_url}/staff/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    if app is not None and page.url.endswith(CODE_PAGE):
        browser_second_step(page, base_url, app, email)


def log_in(page, base_url, email, password):
    page.goto(f"{base_url}/staff/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(f"{base_url}/staff/")


def enter_waiting_room(citizen, base_url, token):
    """The citizen opens the join link, waits for the camera, and enters the waiting room."""
    citizen.goto(f"{base_url}/call/{token}")
    citizen.wait_for_function(DEVICES_READY, timeout=TIMEOUT)
    citizen.get_by_role("button", name="Entrar a la sala de espera").click()


def admit(clerk, base_url, reference, email, password):
    """The clerk signs in, admits the waiting citizen and lands on the call screen."""
    log_in(clerk, base_url, email, password)
    button = clerk.locator(f'tr[data-reference="{reference}"] .site-admit')
    button.wait_for(state="visible", timeout=TIMEOUT)
    button.click()
    clerk.wait_for_url(f"{base_url}/staff/call/{reference}")
