"""The service pages of the administration in Chromium (issue 11, items 2 and 8): no serious or
critical axe violation on any of them — the list, a new service, a service with its documents, a
document — nor with errors on their fields, with a conflict, or with the impact preview shown, at
phone and desktop size, in Spanish and in English; nothing wider than a phone's screen."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import DocumentRequirement, Service
from tests.support.admin import DTOP_ADMIN, agency_id
from tests.support.booking import book_directly
from tests.support.browser import open_page
from tests.support.clock import WEDNESDAY_10AM
from tests.test_admin_browser import DESKTOP, PHONE, sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)]
VIDEO = "certificaciones-vehiculos"  # two documents, so the move buttons show


def service_pages(app) -> dict[str, str]:
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == VIDEO))
        requirement = db.session.scalar(
            sa.select(DocumentRequirement).where(DocumentRequirement.service_id == service.id)
        )
        service_id, requirement_id = service.id, requirement.id
    dtop = agency_id(app, "dtop")
    return {
        "list": f"/admin/agencies/{dtop}/services",
        "new": f"/admin/agencies/{dtop}/services/new",
        "service": f"/admin/services/{service_id}",
        "new document": f"/admin/services/{service_id}/requirements/new",
        "document": f"/admin/requirements/{requirement_id}",
    }


@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_service_page_passes_axe_and_fits_the_screen(
    app, seeded, live_server, browser, axe, locale, viewport
):
    book_directly(app, VIDEO)  # so that taking the service out of service shows the impact preview
    pages = service_pages(app)
    width, height = viewport
    page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    sign_in(page, app, live_server.url, DTOP_ADMIN, seeded[DTOP_ADMIN])
    found, wide = {}, {}

    def check(name: str) -> None:
        found[name] = axe(page)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            wide[name] = scroll_width

    for name, path in pages.items():
        page.goto(live_server.url + path)
        check(name)
    page.goto(live_server.url + pages["new"])
    page.locator("#slot_minutes").fill("0")
    submit(page)
    check("new service, refused")
    page.goto(live_server.url + pages["new document"])
    submit(page)
    check("new document, refused")
    page.goto(live_server.url + pages["service"])
    page.locator("label[for=active]").click()
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    assert page.locator("[data-impact]").count() == 1
    check("service, impact preview")
    page.goto(live_server.url + pages["service"])
    page.evaluate("document.querySelector('input[name=version]').value = '0'")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    assert page.locator("[data-conflict]").count() == 1
    check("service, conflict")
    # Chromium logs the refused pages' own 422 and 409 as console errors: only others count.
    assert [e for e in page.errors if "status of 422" not in e and "status of 409" not in e] == []
    page.context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert wide == {}


def test_a_document_is_moved_and_removed_with_the_keyboard(app, seeded, live_server, browser):
    pages = service_pages(app)
    page = open_page(
        browser, viewport={"width": PHONE[0], "height": PHONE[1]}, is_mobile=True, has_touch=True
    )
    sign_in(page, app, live_server.url, DTOP_ADMIN, seeded[DTOP_ADMIN])
    page.goto(live_server.url + pages["service"])
    rows = page.locator("#documents ~ table tbody th")
    first = rows.nth(0).inner_text()
    page.get_by_role("button", name=f"Bajar: {first}").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#documents ~ table tbody th").nth(1).inner_text() == first
    page.get_by_role("button", name=f"Quitar: {first}").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Los documentos ya enviados se conservan." in page.locator("main").inner_text()
    assert page.locator("#documents ~ table tbody th").count() == 1
    page.context.close()
