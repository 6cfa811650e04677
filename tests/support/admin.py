"""Administration tests: the demo's agencies and offices by slug, a superadmin, signing in a client."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts import create_staff
from app.extensions import db
from app.models import Agency, AuditEvent, Office
from tests.support.two_factor import CODE_PAGE, current_code, enrol

SUPERADMIN = "super@ventanilla.pr"
SUPERADMIN_PASSWORD = "nube cobre faro tamarindo 2031"
DTOP_ADMIN = "admin@dtop.demo.ventanilla.pr"
DTOP_CLERK = "clerk@dtop.demo.ventanilla.pr"
RETIRO_ADMIN = "admin@retiro.demo.ventanilla.pr"
RETIRO_CLERK = "clerk@retiro.demo.ventanilla.pr"


def add_superadmin(app) -> tuple[str, str]:
    """A superadmin (no agency, two-factor sign-in set up with the known secret) in the app's
    database: (email, password)."""
    with app.app_context():
        create_staff(SUPERADMIN, "Super Admin", SUPERADMIN_PASSWORD, "superadmin", None)
        enrol(SUPERADMIN)
    return SUPERADMIN, SUPERADMIN_PASSWORD


def sign_in(client, email: str, password: str):
    """The password, then (for an account with two-factor sign-in) the code its app shows."""
    response = client.post("/staff/login", data={"email": email, "password": password})
    assert response.status_code == 302, f"{email} could not sign in"
    if response.headers["Location"].endswith(CODE_PAGE):
        response = client.post(CODE_PAGE, data={"code": current_code(client.application, email)})
        assert response.status_code == 302, f"{email} could not pass the second step"
    return response


def agency_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Agency.id).where(Agency.slug == slug))


def office_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Office.id).where(Office.slug == slug))


def audit_events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return events
