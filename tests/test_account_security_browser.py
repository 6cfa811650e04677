"""The staff password pages in Chromium: a lockout and a reset by link, by keyboard, and an axe scan
of every page (phone and desktop, Spanish and English) with no serious or critical violation."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import OutboxMessage
from tests.support.browser import open_page

CLERK = "clerk@dtop.demo.ventanilla.pr"
NEW_PASSWORD = "lantern-harbour-violet-42"
PHONE, DESKTOP = (390, 844), (1280, 900)


def sign_in(page, base_url: str, password: str) -> None:
    page.goto(f"{base_url}/staff/login")
    page.locator("#email").fill(CLERK)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("#password").press("Enter")


def latest_reset_path(app) -> str:
    with app.app_context():
        body = db.session.scalar(sa.select(OutboxMessage.body_text).order_by(OutboxMessage.id.desc()))
    return re.search(r"/staff/password/reset\?token=[\w-]+", body).group(0)


@pytest.mark.clock(tick=True)
@pytest.mark.parametrize("locale", ["es-PR", "en-US"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_password_pages_pass_axe(app, seeded, live_server, browser, axe, locale, viewport):
    app.config["LOGIN_LOCKOUT_FAILURES"] = 2
    width, height = viewport
    page = open_page(browser, locale=locale, viewport={"width": width, "height": height})
    found = {}
    sign_in(page, live_server.url, seeded[CLERK])
    page.goto(live_server.url + "/staff/password")
    found["change"] = axe(page)
    page.locator("#current_password").fill("not-my-password")
    page.locator("#new_password").fill("aaaaaaaaaaaa")
    page.locator("#confirm_password").fill("aaaaaaaaaaaa")
    with page.expect_navigation():
        page.locator("#confirm_password").press("Enter")
    assert page.locator("#password-error").is_visible()
    found["change, refused"] = axe(page)
    page.context.clear_cookies()  # signed out (on a phone the header's button is in the menu)

    for _attempt in range(2):
        sign_in(page, live_server.url, "wrong-password")
    assert page.locator("#login-error").is_visible()
    found["locked"] = axe(page)

    page.locator(".usa-link", has_text=re.compile("Olvidó|Forgot")).click()
    found["forgot"] = axe(page)
    page.locator("#email").fill(CLERK)
    with page.expect_navigation():
        page.locator("#email").press("Enter")
    found["forgot, sent"] = axe(page)

    page.goto(live_server.url + latest_reset_path(app))
    found["reset"] = axe(page)
    page.locator("#new_password").fill(NEW_PASSWORD)
    page.locator("#confirm_password").fill(NEW_PASSWORD)
    with page.expect_navigation():
        page.locator("#confirm_password").press("Enter")
    sign_in(page, live_server.url, NEW_PASSWORD)
    assert page.url.endswith("/staff/")
    # The refused forms answer 422 and 429 on purpose; anything else in the console is a fault.
    assert [e for e in page.errors if not e.startswith("Failed to load resource")] == []
    page.context.close()
    assert {name: v for name, v in found.items() if v} == {}
