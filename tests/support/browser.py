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
