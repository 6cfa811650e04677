"""The USWDS subset the app serves (scripts/vendor-assets.sh, PurgeCSS) draws every page exactly as
the full USWDS stylesheet does: each page is shot in Chromium twice, once as served and once with
the full stylesheet put in its place, and the two pictures must be the same to the pixel."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image, ImageChops

from app.closing import close_appointment
from app.extensions import db
from app.models import Appointment, Staff
from tests.support import booking
from tests.support.browser import open_page

pytestmark = [pytest.mark.browser, pytest.mark.clock(tick=True)]

ROOT = Path(__file__).resolve().parent.parent
FULL_CSS = ROOT / "node_modules/@uswds/uswds/dist/css/uswds.min.css"
CLERK = "clerk@dtop.demo.ventanilla.pr"
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
# Both pictures wait for the fonts and for every image (the documents' pages load lazily).
LOADED = """async () => {
  for (const image of document.images) image.loading = "eager";
  await Promise.all([...document.images].map((image) => image.decode().catch(() => null)));
  await document.fonts.ready;
}"""


@pytest.fixture
def site(app, seeded, live_server):
    """The live site, with one upcoming appointment and one closed as "documents missing"."""
    upcoming = booking.book_directly(app)
    missing = booking.book_directly(app, email="otra@example.com", skip=1)
    with app.test_request_context():
        clerk = db.session.scalar(sa.select(Staff).where(Staff.email == CLERK))
        close_appointment(
            db.session.get(Appointment, missing.appointment.id), clerk, "documents_missing", "Falta el dorso."
        )
    return {
        "url": live_server.url,
        "password": seeded[CLERK],
        "upcoming": f"/manage/{upcoming.manage_token}",
        "missing": f"/manage/{missing.manage_token}",
        "reference": missing.appointment.reference,
    }


def shots(browser, site: dict, path: str, device: dict, prepare=None) -> tuple[Image.Image, Image.Image]:
    """(as served, with the full USWDS stylesheet): full-page screenshots of `path` on `device`."""
    full = FULL_CSS.read_bytes()
    pictures = []
    for whole in (False, True):
        page = open_page(browser, **device)
        if whole:
            page.route(
                "**/vendor/uswds/css/uswds.min.css*",
                lambda route: route.fulfill(status=200, body=full, content_type="text/css"),
            )
        if path.startswith("/staff/"):
            page.goto(site["url"] + "/staff/login")
            page.get_by_label("Correo electrónico").fill(CLERK)
            page.get_by_label("Contraseña").fill(site["password"])
            page.get_by_role("button", name="Iniciar sesión").click()
            page.wait_for_url(site["url"] + "/staff/")
        page.goto(site["url"] + path)
        page.evaluate(LOADED)
        if prepare:
            prepare(page)
        png = page.screenshot(full_page=True, animations="disabled", caret="hide")
        page.context.close()
        pictures.append(Image.open(io.BytesIO(png)).convert("RGB"))
    return pictures[0], pictures[1]


def assert_same(served: Image.Image, whole: Image.Image, label: str, tmp_path: Path) -> None:
    if served.size == whole.size and ImageChops.difference(served, whole).getbbox() is None:
        return
    served.save(tmp_path / "served.png")
    whole.save(tmp_path / "full.png")
    box = ImageChops.difference(served, whole).getbbox() if served.size == whole.size else None
    pytest.fail(
        f"{label}: the subset draws it differently (sizes {served.size}/{whole.size}, box {box}); "
        f"pictures in {tmp_path}"
    )


PAGES = [
    "/",
    "/agencies/dtop",
    "/services/certificaciones-vehiculos",
    "/book/certificacion-individuo",
    "/manage/find",
    "/turns/orientacion-retiro",
    "/staff/login",
    "/no-such-page",
    "upcoming",
    "missing",
    "/staff/",
    "/staff/queue/",
    "staff-appointment",
]


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("where", PAGES)
def test_the_subset_draws_each_page_like_the_full_stylesheet(browser, site, device, where, tmp_path):
    path = {"staff-appointment": f"/staff/appointments/{site['reference']}"}.get(
        where, site.get(where, where)
    )
    served, whole = shots(browser, site, path, device)
    assert_same(served, whole, where, tmp_path)


def test_the_open_phone_menu_and_a_form_with_errors_look_the_same(browser, site, tmp_path):
    def open_menu(page):
        page.get_by_role("button", name="Menú").click()
        page.get_by_role("link", name="English").wait_for()

    assert_same(*shots(browser, site, "/", PHONE, open_menu), "phone menu", tmp_path)

    def submit_empty(page):
        page.get_by_role("button", name="Envíenme los enlaces").click()
        page.locator(".usa-alert--error, .usa-error-message").first.wait_for()

    assert_same(*shots(browser, site, "/manage/find", PHONE, submit_empty), "find, errors", tmp_path)
