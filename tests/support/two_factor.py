"""Two-factor sign-in in tests: accounts set up with a known secret (the demo's admins and
superadmin are, in `demo_database`), the code their authenticator would show, and the second step
of signing in for a test client, a `requests` session or a browser page."""

from __future__ import annotations

import re

import pyotp
import sqlalchemy as sa

from app.extensions import db
from app.models import Staff, utcnow

KNOWN_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CODE_PAGE = "/staff/login/code"


def enrol(email: str, secret: str = KNOWN_SECRET) -> None:
    """Give the account (in the app context's database) an authenticator with `secret`."""
    staff = db.session.scalar(sa.select(Staff).where(Staff.email == email))
    staff.totp_secret, staff.totp_pending_secret, staff.totp_enabled_at = secret, None, utcnow()
    db.session.commit()


def enrol_required_roles(roles=("admin", "superadmin")) -> None:
    """Every account whose role requires two-factor sign-in, set up with the known secret."""
    for email in db.session.scalars(sa.select(Staff.email).where(Staff.role.in_(roles))):
        enrol(email)


def current_code(app, email: str, secret: str = KNOWN_SECRET) -> str:
    """The code the account's app shows now. The server refuses a time step used before, so the
    account's last one is forgotten first: a test may sign one account in twice in 30 seconds."""
    with app.app_context():
        db.session.execute(sa.update(Staff).where(Staff.email == email).values(totp_last_step=None))
        db.session.commit()
    return pyotp.TOTP(secret).now()


def requests_sign_in(session, url: str, email: str, password: str, app):
    """Sign in with a `requests` session like a browser (the forms' CSRF tokens when asked):
    the password, then the code when the account has two-factor sign-in. The last response."""
    response = session.post(
        f"{url}/staff/login",
        data={"email": email, "password": password, **_csrf(session, f"{url}/staff/login")},
        allow_redirects=False,
        timeout=10,
    )
    if response.status_code == 302 and response.headers["Location"].endswith(CODE_PAGE):
        response = session.post(
            f"{url}{CODE_PAGE}",
            data={"code": current_code(app, email), **_csrf(session, f"{url}{CODE_PAGE}")},
            allow_redirects=False,
            timeout=10,
        )
    return response


def _csrf(session, page_url: str) -> dict[str, str]:
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', session.get(page_url, timeout=10).text
    )
    return {"csrf_token": token.group(1)} if token else {}


def browser_second_step(page, base_url: str, app, email: str) -> None:
    """On the code page after the password: type the current code and sign in."""
    page.wait_for_url(f"{base_url}{CODE_PAGE}")
    page.locator("#code").fill(current_code(app, email))
    with page.expect_navigation():
        page.locator("#code").press("Enter")
