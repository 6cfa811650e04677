"""Staff accounts: signing in (one code path for known and unknown e-mails) and creating an account."""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models import STAFF_ROLES, Agency, Staff, utcnow
from app.security import hash_password, verify_password


def normalize_email(email: str) -> str:
    return email.strip().lower()


def authenticate(email: str, password: str) -> Staff | None:
    """The active staff member with this email and password, or None.

    An unknown email still pays for a password check, so neither the answer nor its timing
    tells a script which emails belong to staff. Commits the audit record (and the sign-in time).
    """
    staff = db.session.scalar(sa.select(Staff).where(Staff.email == normalize_email(email)))
    ok = verify_password(staff.password_hash if staff else None, password)
    if not ok or staff is None or not staff.active:
        audit.record("staff.login_failed", actor=staff, agency_id=staff.agency_id if staff else None)
        db.session.commit()
        return None
    staff.last_login_at = utcnow()
    audit.record("staff.login", actor=staff, agency_id=staff.agency_id)
    db.session.commit()
    return staff


class StaffError(ValueError):
    """A staff account could not be created; the message says why."""


def create_staff(email: str, name: str, password: str, role: str, agency_slug: str | None) -> Staff:
    """Create a staff account (used by the CLI and the demo seed). Commits."""
    email = normalize_email(email)
    if role not in STAFF_ROLES:
        raise StaffError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if len(password) < 12:
        raise StaffError("the password must have at least 12 characters")
    if "@" not in email:
        raise StaffError("that is not an email address")
    agency = None
    if agency_slug:
        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == agency_slug))
        if agency is None:
            raise StaffError(f"there is no agency {agency_slug!r}")
    elif role != "superadmin":
        raise StaffError("clerks and admins belong to an agency: pass --agency")
    if db.session.scalar(sa.select(Staff.id).where(Staff.email == email)) is not None:
        raise StaffError(f"{email} already has an account")
    staff = Staff(
        email=email, name=name.strip(), password_hash=hash_password(password), role=role, agency=agency
    )
    db.session.add(staff)
    db.session.commit()
    return staff
