"""The opening-hours, closures and month-preview pages in Chromium (issue 11, items 2 and 8): no
serious or critical axe violation, with and without errors and with the impact preview, at phone
and desktop size, in Spanish and in English; nothing wider than a phone's screen; the week is
filled in on a phone and sent with the keyboard (Enter)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.admin import DTOP_ADMIN, agency_id, office_id
from tests.support.booking import book_directly
from tests.support.browser import open_page
from tests.support.clock import WEDNESDAY_10AM
from tests.test_admin_browser import sign_in, submit
from tests.test_admin_hours import IN_PERSON, add_closure, office_of, stored_week

pytestmark = [pytest.mark.browser, pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)]
PHONE, DESKTOP = (390, 844), (1280, 900)


def schedule_pages(app, closure_id: int) -> dict[str, str]:
    bayamon, dtop = office_id(app, "cesco-bayamon"), agency_id(app, "dtop")
    return {
        "hours": f"/admin/offices/{bayamon}/hours",
        "preview": f"/admin/offices/{bayamon}/calendar?month=2031-04",
        "closures": f"/admin/agencies/{dtop}/closures",
        "new closure": f"/admin/agencies/{dtop}/closures/new",
        "delete closure": f"/admin/closures/{closure_id}/delete",
        "offices": f"/admin/agencies/{dtop}/offices",
    }


@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_schedule_pages_pass_axe_and_fit_the_screen(
    app, seeded, live_server, browser, axe, locale, viewport
):
    closure_id = add_closure(app, dt.date(2031, 4, 14), dt.date(2031, 4, 15), "cesco-bayamon")
    booked = book_directly(app, IN_PERSON)  # Monday 10 March, 08:00: shorter Mondays touch it
    width, height = viewport
    page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    sign_in(page, app, live_server.url, DTOP_ADMIN, seeded[DTOP_ADMIN])
    pages = schedule_pages(app, closure_id)
    found, wide = {}, {}

    def check(name: str) -> None:
        found[name] = axe(page)
        if page.evaluate("document.documentElement.scrollWidth") > width:
            wide[name] = page.evaluate("document.documentElement.scrollWidth")

    for name, path in pages.items():
        page.goto(live_server.url + path)
        check(name)
    # With errors on the fields: an interval ending before it starts, a closure without anything.
    page.goto(live_server.url + pages["hours"])
    page.locator("#day0-intervals-0-closes").fill("07:00")
    submit(page)
    assert page.locator("#day0-intervals-0-closes-error").count() == 1
    check("hours, refused")
    page.goto(live_server.url + pages["new closure"])
    submit(page)
    check("new closure, refused")
    page.goto(live_server.url + pages["delete closure"])
    page.evaluate("document.querySelector('input[name=confirm]').value = 'no'")
    submit(page)
    check("delete closure, unconfirmed")
    # The impact preview: shorter Mondays at the booked office, then the choice left unmade.
    page.goto(f"{live_server.url}/admin/offices/{office_id(app, office_of(app, booked))}/hours")
    page.locator("#day0-intervals-0-opens").fill("09:00")
    submit(page)
    assert page.locator("[data-impact]").count() == 1
    check("hours, impact preview")
    page.locator("label[for=impact_action-1]").click()  # USWDS hides the input itself
    submit(page)
    check("hours, impact choice refused")
    assert [e for e in page.errors if "status of 422" not in e and "status of 409" not in e] == []
    page.context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert wide == {}


def test_the_week_is_filled_in_on_a_phone_and_sent_with_the_keyboard(app, seeded, live_server, browser):
    page = open_page(
        browser, viewport={"width": PHONE[0], "height": PHONE[1]}, is_mobile=True, has_touch=True
    )
    sign_in(page, app, live_server.url, DTOP_ADMIN, seeded[DTOP_ADMIN])
    page.goto(f"{live_server.url}/admin/offices/{office_id(app, 'cesco-bayamon')}/hours")
    saturday = page.locator("[data-weekday='5']")
    assert saturday.locator("legend").inner_text().strip() == "Sábado"
    saturday.get_by_label("Abre (Sábado, intervalo 1)").fill("08:00")
    saturday.get_by_label("Cierra (Sábado, intervalo 1)").fill("12:00")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Se guardó el horario." in page.locator("main").inner_text()
    assert stored_week(app)[5] == ["08:00-12:00"]
    page.context.close()
