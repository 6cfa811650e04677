"""The reports page in Chromium (issue 12): no serious or critical axe violation, with figures and
with a refused range, at phone and desktop size, in Spanish and English; nothing wider than the
screen but the tables that scroll inside their own box."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Agency
from tests.support.browser import open_page, sign_in_staff
from tests.support.clock import WEDNESDAY_10AM
from tests.support.reports import ADMIN, build_report_fixture

pytestmark = [pytest.mark.browser, pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)]
PHONE, DESKTOP = (390, 844), (1280, 900)


@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_reports_page_passes_axe_and_fits_the_screen(app, live_server, browser, axe, locale, viewport):
    with app.app_context():
        build_report_fixture(with_admin=True)
        agency = db.session.scalar(db.select(Agency.id).where(Agency.slug == "prueba"))
    width, height = viewport
    page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    sign_in_staff(page, live_server.url, *ADMIN, app=app)
    base = f"{live_server.url}/admin/agencies/{agency}/reports"
    found, wide = {}, {}
    for name, url in [
        ("chooser", f"{live_server.url}/admin/reports"),
        ("report", base),
        ("refused", f"{base}?start=2031-03-10&end=2031-03-01"),
    ]:
        page.goto(url)
        found[name] = axe(page)
        if page.evaluate("document.documentElement.scrollWidth") > width:
            wide[name] = page.evaluate("document.documentElement.scrollWidth")
    assert page.locator(".usa-error-message").count() == 1
    page.goto(base)
    assert page.locator("svg[role=img]").count() == 5
    assert [e for e in page.errors if "status of 422" not in e] == []
    page.context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert wide == {}
