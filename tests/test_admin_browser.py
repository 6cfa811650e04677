"""The administration pages in Chromium (issue 11, items 2 and 8): no serious or critical axe
violation on any of them, with and without errors, at phone and desktop size, in Spanish and in
English; nothing wider than a phone's screen; the settings form can be filled in and sent with
the keyboard alone."""

from __future__ import annotations

import pytest

from tests.support.admin import DTOP_ADMIN, agency_id, office_id
from tests.support.browser import open_page
from tests.support.clock import WEDNESDAY_10AM
from tests.support.two_factor import browser_second_step

pytestmark = [pytest.mark.browser, pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)]
PHONE, DESKTOP = (390, 844), (1280, 900)


def sign_in(page, app, base_url: str, email: str, password: str) -> None:
    """The password, then the code of the admin's authenticator (tests/support/two_factor.py)."""
    page.goto(f"{base_url}/staff/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    browser_second_step(page, base_url, app, email)


def admin_pages(app) -> list[str]:
    dtop = agency_id(app, "dtop")
    return [
        "/admin/",
        f"/admin/agencies/{dtop}/settings",
        f"/admin/agencies/{dtop}/offices",
        f"/admin/agencies/{dtop}/offices/new",
        f"/admin/offices/{office_id(app, 'cesco-bayamon')}",
    ]


def submit(page) -> None:
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_admin_page_passes_axe_and_fits_the_screen(
    app, seeded, live_server, browser, axe, locale, viewport
):
    width, height = viewport
    page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    sign_in(page, app, live_server.url, DTOP_ADMIN, seeded[DTOP_ADMIN])
    found, wide = {}, {}
    for path in admin_pages(app):
        page.goto(live_server.url + path)
        found[path] = axe(page)
        if page.evaluate("document.documentElement.scrollWidth") > width:
            wide[path] = page.evaluate("document.documentElement.scrollWidth")
    # The same pages with errors on their fields, and with a conflict.
    page.goto(live_server.url + admin_pages(app)[3])
    submit(page)
    found["new office, refused"] = axe(page)
    page.goto(live_server.url + admin_pages(app)[1])
    page.locator("#name_es").fill("")
    submit(page)
    found["settings, refused"] = axe(page)
    page.goto(live_server.url + admin_pages(app)[4])
    page.evaluate("document.querySelector('input[name=version]').value = '0'")
    submit(page)
    found["office, conflict"] = axe(page)
    assert page.locator("[data-conflict]").count() == 1
    # Chromium logs the refused pages' own 422 and 409 as console errors: only others count.
    assert [e for e in page.errors if "status of 422" not in e and "status of 409" not in e] == []
    page.context.close()
    assert {path: v for path, v in found.items() if v} == {}
    assert wide == {}


def test_the_settings_form_is_filled_in_and_sent_with_the_keyboard(app, seeded, live_server, browser):
    page = open_page(
        browser, viewport={"width": PHONE[0], "height": PHONE[1]}, is_mobile=True, has_touch=True
    )
    sign_in(page, app, live_server.url, DTOP_ADMIN, seeded[DTOP_ADMIN])
    page.goto(live_server.url + admin_pages(app)[1])
    page.locator("#banner_es").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("Cerrado el viernes por mantenimiento.")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Se guardaron los ajustes de la agencia." in page.locator("main").inner_text()
    page.goto(f"{live_server.url}/agencies/dtop")
    assert (
        page.locator("[data-agency-banner]").inner_text().strip() == "Cerrado el viernes por mantenimiento."
    )
    page.context.close()
