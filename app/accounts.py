"""Staff accounts: signing in (one code path for known and unknown e-mails, the temporary lockout
after repeated wrong passwords or codes, hashes upgraded to the current argon2 parameters, the
second step with a code when two-factor sign-in is due), setting a password, and creating an
account."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from app import audit, two_factor
from app.citizens import ContactError, parse_email
from app.extensions import db
from app.models import STAFF_ROLES, Agency, PasswordReset, Staff, utcnow
from app.password_policy import PasswordRefused, check_password
from app.security import hash_password, password_needs_rehash, verify_password


def normalize_email(email: str) -> str:
    return email.strip().lower()


class AccountLocked(Exception):
    """Too many wrong passwords in a row: the account refuses every sign-in until `until` (UTC).
    `timezone` is the account's agency's, in which the time is told."""

    def __init__(self, until: dt.datetime, timezone: str | None):
        super().__init__("account locked")
        self.until = until
        self.timezone = timezone


def _timezone(staff: Staff) -> str | None:
    return staff.agency.timezone if staff.agency is not None else None


def authenticate(email: str, password: str) -> Staff | None:
    """The active staff member with this email and password, or None.

    An unknown email still pays for a password check, so neither the answer nor its timing
    tells a script which emails belong to staff. After LOGIN_LOCKOUT_FAILURES wrong passwords in
    a row (each within LOGIN_LOCKOUT_MINUTES of the one before) the account is locked for
    LOGIN_LOCKOUT_MINUTES: every attempt then raises AccountLocked, the right password included.
    When a second step is due (app.two_factor.second_step_due) the right password does not sign
    in yet: the caller asks for a code (verify_second_step) or for the authenticator to be set up.
    Commits the audit record (and the sign-in time, the failure count, an upgraded hash).
    """
    now = utcnow()
    staff = db.session.scalar(sa.select(Staff).where(Staff.email == normalize_email(email)))
    if staff is not None and staff.locked_until is not None and staff.locked_until > now:
        verify_password(None, password)  # the same work as any other attempt
        audit.record("staff.login_refused_locked", actor=staff, agency_id=staff.agency_id)
        db.session.commit()
        raise AccountLocked(staff.locked_until, _timezone(staff))
    ok = verify_password(staff.password_hash if staff else None, password)
    if not ok or staff is None or not staff.active:
        audit.record("staff.login_failed", actor=staff, agency_id=staff.agency_id if staff else None)
        if staff is not None:
            _count_failure(staff, now)
        db.session.commit()
        if staff is not None and staff.locked_until is not None and staff.locked_until > now:
            raise AccountLocked(staff.locked_until, _timezone(staff))
        return None
    if password_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    if two_factor.second_step_due(staff):
        # Not signed in yet: the failure count stands, so the password cannot be used to wipe
        # out the wrong codes counted against the account.
        audit.record("staff.login_password_accepted", actor=staff, agency_id=staff.agency_id)
    else:
        _signed_in(staff, now)
    db.session.commit()
    return staff


def _signed_in(staff: Staff, now: dt.datetime, **detail) -> None:
    staff.last_login_at = now
    staff.failed_logins, staff.locked_until = 0, None
    audit.record("staff.login", actor=staff, agency_id=staff.agency_id, **detail)


def sign_in_after_enrolment(staff: Staff) -> None:
    """The account set up its authenticator at sign-in, after the right password (its first code
    was the second step): it is signed in. Commits the audit record and the sign-in time."""
    _signed_in(staff, utcnow(), second_factor="enrolment")
    db.session.commit()


def verify_second_step(staff: Staff, code: str) -> bool:
    """The second step of signing in, after the right password: a code from the account's
    authenticator or a recovery code (app.two_factor.accept_code). A wrong one counts toward the
    lockout like a wrong password; a locked account raises AccountLocked, the right code
    included. Commits the audit record (and the sign-in time or the failure count)."""
    now = utcnow()
    if staff.locked_until is not None and staff.locked_until > now:
        audit.record("staff.login_refused_locked", actor=staff, agency_id=staff.agency_id)
        db.session.commit()
        raise AccountLocked(staff.locked_until, _timezone(staff))
    method = two_factor.accept_code(staff, code)
    if method is None:
        audit.record("staff.two_factor_failed", actor=staff, agency_id=staff.agency_id)
        _count_failure(staff, now)
        db.session.commit()
        if staff.locked_until is not None and staff.locked_until > now:
            raise AccountLocked(staff.locked_until, _timezone(staff))
        return False
    _signed_in(staff, now, second_factor=method)
    db.session.commit()
    return True


def _count_failure(staff: Staff, now: dt.datetime) -> None:
    # Counted in SQL, so concurrent wrong passwords are all counted; a failure long after the
    # previous one starts the count again.
    window = dt.timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    recent = Staff.last_failed_login_at > now - window
    db.session.execute(
        sa.update(Staff)
        .where(Staff.id == staff.id)
        .values(failed_logins=sa.case((recent, Staff.failed_logins + 1), else_=1), last_failed_login_at=now)
    )
    db.session.refresh(staff)
    if staff.failed_logins >= current_app.config["LOGIN_LOCKOUT_FAILURES"]:
        staff.locked_until = now + dt.timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        staff.failed_logins = 0
        audit.record(
            "staff.locked",
            actor=staff,
            agency_id=staff.agency_id,
            object_type="staff",
            object_id=staff.id,
            until=staff.locked_until.isoformat(),
        )


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


class WrongPassword(ValueError):
    """The current password given to change it is not the account's."""


def change_password(staff: Staff, current: str, new: str) -> None:
    """Set a new password for a signed-in member who knows the current one; every session of the
    account ends (the caller signs this browser in again). Raises WrongPassword or PasswordRefused
    and changes nothing. Commits."""
    if not verify_password(staff.password_hash, current):
        audit.record("staff.password_change_failed", actor=staff, agency_id=staff.agency_id)
        db.session.commit()
        raise WrongPassword()
    set_password(staff, new, "staff.password_changed", actor=staff)


def set_password(staff: Staff, new: str, action: str, *, actor: Staff | None = None) -> None:
    """Give the account a new password under the policy (raises PasswordRefused), lift a lockout,
    void its unused reset links, audit `action` and end every session of the account. Commits."""
    check_password(new, email=staff.email, name=staff.name)
    staff.password_hash = hash_password(new)
    staff.failed_logins, staff.locked_until = 0, None
    db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.staff_id == staff.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )
    audit.record(action, actor=actor, agency_id=staff.agency_id, object_type="staff", object_id=staff.id)
    db.session.commit()
    end_sessions(staff)


class StaffError(ValueError):
    """A staff account could not be created; the message (lazily translated) says why."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def create_staff(email: str, name: str, password: str, role: str, agency_slug: str | None) -> Staff:
    """Create a staff account (used by the CLI and the demo seed) and audit it. Commits."""
    if role not in STAFF_ROLES:
        raise StaffError(f"role must be one of {', '.join(STAFF_ROLES)}")
    try:
        email = parse_email(email)
    except ContactError as error:
        raise StaffError(str(error)) from None
    try:
        check_password(password, email=email, name=name)
    except PasswordRefused as error:
        raise StaffError(error.message) from None
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
    db.session.flush()
    audit.record(
        "staff.created",
        agency_id=staff.agency_id,
        object_type="staff",
        object_id=staff.id,
        changes={"email": [None, staff.email], "name": [None, staff.name], "role": [None, role]},
    )
    db.session.commit()
    return staff
