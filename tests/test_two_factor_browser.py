"""Two-factor sign-in in Chromium: an admin sets up an authenticator at the first sign-in (the key
typed from the page, the codes made with pyotp as a phone would) and signs in again with a code;
wrong codes lock the account; every page passes axe (phone and desktop, Spanish and English) and
fits a phone's screen."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from app import two_factor
from app.extensions import db
from app.models import Staff
from tests.support.admin import DTOP_ADMIN, DTOP_CLERK
from tests.support.browser import open_page
from tests.support.clock import WEDNESDAY_10AM

pytestmark = [pytest.mark.browser, pytest.mark.clock(at=WEDNESDAY_10AM, tick=True)]
PHONE, DESKTOP = (390, 844), (1280, 900)
REFUSED_STATUSES = re.compile(r"status of (401|403|422|429)")


def remove_authenticator(app, email) -> None:
    with app.app_context():
        two_factor.reset(db.session.scalar(sa.select(Staff).where(Staff.email == email)))


def password_step(page, base_url, email, password) -> None:
    page.goto(f"{base_url}/staff/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("#password").press("Enter")


def send_code(page, code: str) -> None:
    page.locator("#code").fill(code)
    with page.expect_navigation():
        page.locator("#code").press("Enter")


def next_step_code(secret: str) -> str:
    """The code of the next 30-second step, which the server accepts too (clock drift): the
    current one was spent by the step before, and a code is never accepted twice."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def other_errors(page) -> list[str]:
    """Chromium logs a refused page's own status as a console error: only others count."""
    return [error for error in page.errors if not REFUSED_STATUSES.search(error)]


def test_an_admin_sets_up_an_authenticator_then_signs_in_with_its_code(app, seeded, live_server, browser):
    remove_authenticator(app, DTOP_ADMIN)
    page = open_page(browser, viewport={"width": PHONE[0], "height": PHONE[1]}, is_mobile=True)
    base = live_server.url
    password_step(page, base, DTOP_ADMIN, seeded[DTOP_ADMIN])
    assert page.url == f"{base}/staff/two-factor/enrol"
    assert page.locator(".site-qr-code svg[role=img]").is_visible()
    secret = page.locator("#secret").inner_text().replace(" ", "")
    send_code(page, pyotp.TOTP(secret).now())
    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    with page.expect_navigation():
        page.get_by_role("link", name="Ya guardé mis códigos: continuar").click()
    assert page.url == f"{base}/staff/"

    page.context.clear_cookies()
    password_step(page, base, DTOP_ADMIN, seeded[DTOP_ADMIN])
    assert page.url == f"{base}/staff/login/code"
    page.goto(f"{base}/staff/")  # nothing of the console before the code
    assert page.url.startswith(f"{base}/staff/login")
    page.goto(f"{base}/staff/login/code")
    send_code(page, next_step_code(secret))
    assert page.url == f"{base}/staff/"
    assert page.get_by_role("heading", level=1).is_visible()
    assert other_errors(page) == []
    page.context.close()


def test_wrong_codes_lock_the_account(app, seeded, live_server, browser):
    app.config["LOGIN_LOCKOUT_FAILURES"] = 3
    page = open_page(browser, locale="en-US", viewport={"width": DESKTOP[0], "height": DESKTOP[1]})
    base = live_server.url
    password_step(page, base, DTOP_ADMIN, seeded[DTOP_ADMIN])
    for _attempt in range(2):
        send_code(page, "000000")
        assert "not right" in page.locator("#code-error").inner_text()
    send_code(page, "000000")
    assert "locked until" in page.locator("#login-error").inner_text()
    password_step(page, base, DTOP_ADMIN, seeded[DTOP_ADMIN])  # the right password, still locked
    assert "locked until" in page.locator("#login-error").inner_text()
    page.goto(f"{base}/staff/")
    assert page.url.startswith(f"{base}/staff/login")
    assert other_errors(page) == []
    page.context.close()


@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_two_factor_pages_pass_axe_and_fit_the_screen(
    app, seeded, live_server, browser, axe, locale, viewport
):
    remove_authenticator(app, DTOP_ADMIN)
    width, height = viewport
    page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    base, found, wide = live_server.url, {}, {}

    def scan(name: str) -> None:
        found[name] = axe(page)
        if page.evaluate("document.documentElement.scrollWidth") > width:
            wide[name] = page.evaluate("document.documentElement.scrollWidth")

    password_step(page, base, DTOP_ADMIN, seeded[DTOP_ADMIN])
    scan("set-up")
    send_code(page, "000000")
    assert page.locator("#code-error").is_visible()
    scan("set-up, refused")
    secret = page.locator("#secret").inner_text().replace(" ", "")
    send_code(page, pyotp.TOTP(secret).now())
    scan("recovery codes")
    page.goto(f"{base}/staff/two-factor")
    scan("account, on")
    page.locator("#proof-codes").fill("not-my-password")
    with page.expect_navigation():
        page.locator("#proof-codes").press("Enter")
    assert page.locator("#code-error").is_visible()
    scan("account, refused")

    page.context.clear_cookies()
    password_step(page, base, DTOP_ADMIN, seeded[DTOP_ADMIN])
    scan("code")
    send_code(page, "000000")
    scan("code, refused")

    page.context.clear_cookies()
    password_step(page, base, DTOP_CLERK, seeded[DTOP_CLERK])
    page.goto(f"{base}/staff/two-factor")
    scan("account, off")
    assert other_errors(page) == []
    page.context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert wide == {}
