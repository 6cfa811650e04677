"""Signing out really ends the session (issue #9, item 5): a copy of the cookie taken before
logging out, or the session of an account that was deactivated, no longer opens the console; the
CSRF token changes at sign-in; production names the cookie with the __Host- prefix."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.extensions import db
from app.models import Staff
from config import ProductionConfig

CLERK = "clerk@dtop.demo.ventanilla.pr"


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_cookie_saved_before_logging_out_no_longer_opens_the_console(app, client, auth):
    auth.login(CLERK)
    assert client.get("/staff/").status_code == 200
    saved = session_cookie(client)
    auth.logout()
    client.set_cookie("session", saved)  # someone copied the cookie while it was valid
    response = client.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_logging_out_ends_the_accounts_other_sessions_too(app, auth, client):
    other = app.test_client()
    auth.login(CLERK)
    other.post("/staff/login", data={"email": CLERK, "password": auth.credentials[CLERK]})
    assert other.get("/staff/").status_code == 200
    auth.logout()
    assert other.get("/staff/").status_code == 302


def test_a_deactivated_account_is_signed_out_at_its_next_request(app, client, auth):
    auth.login(CLERK)
    with app.app_context():
        db.session.scalar(sa.select(Staff).where(Staff.email == CLERK)).active = False
        db.session.commit()
    assert client.get("/staff/").status_code == 302
    assert auth.login(CLERK).status_code == 401  # and cannot sign in again


def test_the_csrf_token_changes_at_sign_in(app, client, auth):
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/staff/login").get_data(as_text=True)
    before = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/staff/login", data={"email": CLERK, "password": auth.credentials[CLERK], "csrf_token": before}
    )
    assert response.status_code == 302
    console = client.get("/staff/").get_data(as_text=True)
    after = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', console).group(1)
    assert after != before
    stale = client.post("/staff/logout", data={"csrf_token": before})
    assert stale.status_code == 400  # the token from before the sign-in no longer works


def test_production_names_the_session_cookie_with_the_host_prefix():
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_NAME.startswith("__Host-")
