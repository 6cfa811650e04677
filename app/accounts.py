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


def staff_for_session(session_id: str) -> Staff | None:
    """The active account of a login session ("<id>.<session version>"), or None when the account
    is gone, deactivated, or its sessions were ended since (a copied cookie included). Read-only."""
    staff_id, _dot, version = (session_id or "").partition(".")
    if not (staff_id.isdigit() and version.isdigit()) or len(session_id) > 40:
        return None
    staff = db.session.get(Staff, int(staff_id))
    if staff is None or not staff.active or staff.session_version != int(version):
        return None
    return staff


def end_sessions(staff: Staff) -> None:
    """End every session of the account (signing out, a new password, deactivation): each browser
    holding one, or a copy of its cookie, has to sign in again. Commits."""
    db.session.execute(
        sa.update(Staff).where(Staff.id == staff.id).values(session_version=Staff.session_version + 1)
    )
    db.session.commit()


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
