"""An agency's staff, administered by its admins: inviting by e-mail, roles, deactivating and
reactivating; and a new agency with its first admin's invitation (the CLI, the superadmin's page).

The rules: only a superadmin makes (or changes) a superadmin; nobody demotes or deactivates
themself; an agency always keeps one active admin. Changes of one agency's staff are serialised by
locking the agency's row, so two admins demoting each other at once cannot leave it without one.
Every change is checked against the version the form was filled in against (409 when someone else
saved in between) and audited with the old and new values; every function here commits.

An invitation is an e-mailed single-use link (app.tokens: only its hash is stored) valid for
STAFF_INVITATION_HOURS; the account is created when the invitee chooses a password under the
password policy. A deactivated account is signed out at once and its open sockets are closed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from app import audit
from app.administration import TIME_ZONES, AdminInputError, StaleVersion
from app.citizens import ContactError, parse_email
from app.extensions import db, write_transaction
from app.links import public_url
from app.models import STAFF_ROLES, Agency, Staff, StaffInvitation, utcnow
from app.notifications import queue_staff_email, render_staff_email
from app.password_policy import check_password
from app.security import hash_password
from app.staff_sockets import staff_connections
from app.tokens import link_open, new_token, single_use_link

ADMIN_ROLES = ("admin", "superadmin")
SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
EMAIL_HAS_ACCOUNT = _l("This e-mail address already belongs to a staff account.")
EMAIL_INVITED = _l("This e-mail address already has a pending invitation.")
INVITATION_GONE = _l("This invitation was already accepted or revoked. Reload the page.")


class StaffChangeRefused(Exception):
    """A change the rules refuse whatever the form said (`status`: 409 or 422); nothing changed."""

    def __init__(self, message, status: int):
        super().__init__(str(message))
        self.message = message
        self.status = status


class InvitationUsed(Exception):
    """The invitation was accepted, revoked or expired while this request was on its way."""


# --- Reading -----------------------------------------------------------------------------------------


def agency_staff(agency: Agency) -> list[Staff]:
    """The agency's staff accounts, active or not, by name (read-only)."""
    query = sa.select(Staff).where(Staff.agency_id == agency.id).order_by(Staff.active.desc(), Staff.name)
    return list(db.session.scalars(query))


def pending_invitations(agency: Agency) -> list[StaffInvitation]:
    """The agency's invitations not yet accepted nor revoked (expired ones included), newest first."""
    query = (
        sa.select(StaffInvitation)
        .where(
            StaffInvitation.agency_id == agency.id,
            StaffInvitation.used_at.is_(None),
            StaffInvitation.revoked_at.is_(None),
        )
        .order_by(StaffInvitation.created_at.desc())
    )
    return list(db.session.scalars(query))


def assignable_roles(actor: Staff) -> tuple[str, ...]:
    """The roles `actor` may give: clerk and admin; superadmin only by a superadmin."""
    return STAFF_ROLES if actor.role == "superadmin" else ("clerk", "admin")


def invitation_by_token(token: str | None, now: dt.datetime | None = None) -> StaffInvitation | None:
    """The open invitation of this link (not accepted, revoked or expired), or None. Read-only."""
    invitation = single_use_link(StaffInvitation, token, now)
    return invitation if invitation is not None and invitation.revoked_at is None else None


# --- Invitations -------------------------------------------------------------------------------------


def invite_staff(agency: Agency, values: dict[str, Any], actor: Staff | None) -> tuple[StaffInvitation, str]:
    """Invite `values["email"]` (already parsed) to the agency's staff with `values["role"]`, e-mail
    the link in `values["language"]` and audit it, in one transaction (commits). Returns the
    invitation and its token. Raises AdminInputError (nothing saved) for a role `actor` may not
    give or an address already used."""
    if actor is not None and values["role"] not in assignable_roles(actor):
        raise AdminInputError({"role": _l("Choose a role from the list.")})
    _lock_agency(agency.id)
    now = utcnow()
    _check_email_free(values["email"], now)
    invitation, token = _add_invitation(agency, values, actor, now)
    db.session.commit()
    return invitation, token


def _add_invitation(agency: Agency, values: dict[str, Any], actor: Staff | None, now: dt.datetime):
    # The address's expired invitations to this agency give way to the new one (no two in the list).
    db.session.execute(
        sa.update(StaffInvitation)
        .where(
            StaffInvitation.agency_id == agency.id,
            StaffInvitation.email == values["email"],
            StaffInvitation.used_at.is_(None),
            StaffInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=now, version=StaffInvitation.version + 1)
    )
    invitation = StaffInvitation(
        agency_id=agency.id,
        email=values["email"],
        name=values.get("name") or "",
        role=values["role"],
        language=values["language"],
        invited_by_id=actor.id if actor is not None else None,
        created_at=now,
    )
    token = _send(invitation, agency, now)
    db.session.add(invitation)
    db.session.flush()
    _audit_invitation(
        "staff.invited", invitation, actor, email=invitation.email, name=invitation.name, role=invitation.role
    )
    return invitation, token


def resend_invitation(invitation: StaffInvitation, version: int, actor: Staff) -> str:
    """Send a fresh link (the earlier one stops working, the expiry starts again) and audit it;
    commits. Raises StaleVersion when the invitation changed since `version`, StaffChangeRefused
    (409) when it was accepted or revoked meanwhile. Returns the new token."""
    _lock_current(invitation, version)
    token = _send(invitation, invitation.agency, utcnow())
    invitation.version += 1
    _audit_invitation("staff.invitation_resent", invitation, actor)
    db.session.commit()
    return token


def revoke_invitation(invitation: StaffInvitation, version: int, actor: Staff) -> None:
    """Revoke the invitation (its link stops working) and audit it; commits. Raises StaleVersion
    or StaffChangeRefused (409) as resend_invitation does."""
    _lock_current(invitation, version)
    invitation.revoked_at = utcnow()
    invitation.version += 1
    _audit_invitation("staff.invitation_revoked", invitation, actor)
    db.session.commit()


def accept_invitation(invitation: StaffInvitation, name: str, password: str) -> Staff:
    """Create the invitee's account with `password` (raises PasswordRefused, changing nothing) and
    use the invitation up; commits. Raises InvitationUsed when another request used it first, and
    StaffChangeRefused (409) when the address got an account meanwhile."""
    check_password(password, email=invitation.email, name=name)  # before taking the write lock
    _lock_agency(invitation.agency_id)
    db.session.refresh(invitation)
    if not link_open(invitation) or invitation.revoked_at is not None:
        db.session.rollback()
        raise InvitationUsed()
    if db.session.scalar(sa.select(Staff.id).where(Staff.email == invitation.email)) is not None:
        db.session.rollback()
        raise StaffChangeRefused(EMAIL_HAS_ACCOUNT, 409)
    staff = Staff(
        email=invitation.email,
        name=name,
        password_hash=hash_password(password),
        role=invitation.role,
        agency_id=invitation.agency_id,
    )
    db.session.add(staff)
    invitation.used_at = utcnow()
    db.session.flush()
    audit.record(
        "staff.joined",
        actor=staff,
        agency_id=staff.agency_id,
        object_type="staff",
        object_id=staff.id,
        changes={"role": [None, staff.role], "active": [None, True]},
        invitation_id=invitation.id,
    )
    db.session.commit()
    return staff


def _send(invitation: StaffInvitation, agency: Agency, now: dt.datetime) -> str:
    """Give the invitation a fresh token and expiry and queue its e-mail (caller's session)."""
    token, invitation.token_hash = new_token()
    hours = current_app.config["STAFF_INVITATION_HOURS"]
    invitation.sent_at, invitation.expires_at = now, now + dt.timedelta(hours=hours)
    rendered = render_staff_email(
        "staff_invitation",
        invitation.language,
        _l("You are invited to Ventanilla"),
        link=invitation_url(token),
        hours=hours,
        name=invitation.name,
        agency_name=agency.localized("name", invitation.language),
        role=invitation.role,
    )
    queue_staff_email(invitation.email, invitation.language, "staff_invitation", rendered, now)
    return token


def invitation_url(token: str) -> str:
    return public_url(f"/staff/invitation?token={token}")


def _check_email_free(email: str, now: dt.datetime) -> None:
    if db.session.scalar(sa.select(Staff.id).where(Staff.email == email)) is not None:
        db.session.rollback()
        raise AdminInputError({"email": EMAIL_HAS_ACCOUNT})
    open_invitation = sa.select(StaffInvitation.id).where(
        StaffInvitation.email == email,
        StaffInvitation.used_at.is_(None),
        StaffInvitation.revoked_at.is_(None),
        StaffInvitation.expires_at > now,
    )
    if db.session.scalar(open_invitation) is not None:
        db.session.rollback()
        raise AdminInputError({"email": EMAIL_INVITED})


def _lock_current(invitation: StaffInvitation, version: int) -> None:
    _lock_agency(invitation.agency_id)
    db.session.refresh(invitation)
    if invitation.version != version:
        db.session.rollback()
        raise StaleVersion()
    if invitation.used_at is not None or invitation.revoked_at is not None:
        db.session.rollback()
        raise StaffChangeRefused(INVITATION_GONE, 409)


def _audit_invitation(action: str, invitation: StaffInvitation, actor: Staff | None, **created) -> None:
    audit.record(
        action,
        actor=actor,
        agency_id=invitation.agency_id,
        object_type="staff_invitation",
        object_id=invitation.id,
        changes={field: [None, value] for field, value in created.items()},
        expires_at=invitation.expires_at.isoformat(),
    )


# --- Roles and deactivation ----------------------------------------------------------------------------


def change_role(staff: Staff, role: str, version: int, actor: Staff) -> None:
    """Give `staff` another role and audit it (commits). Raises AdminInputError for a role `actor`
    may not give, StaffChangeRefused for one's own role (422) or the agency's last admin (409),
    StaleVersion when the account changed since `version`; nothing is saved then."""
    if role not in assignable_roles(actor):
        raise AdminInputError({"role": _l("Choose a role from the list.")})
    _lock_and_check_version(staff, version)
    _check_may_change(staff, actor, _l("You cannot change your own role."))
    if staff.role == role:
        db.session.rollback()
        return
    if staff.role in ADMIN_ROLES and role not in ADMIN_ROLES:
        _keep_an_admin(staff)
    _update(staff, actor, "staff.role_changed", role=[staff.role, role])


def set_active(staff: Staff, active: bool, version: int, actor: Staff) -> None:
    """Deactivate or reactivate `staff` and audit it (commits). Deactivating ends every session of
    the account and closes its open sockets, on every process. Raises StaffChangeRefused for
    oneself (422) or the agency's last admin (409), StaleVersion when the account changed since
    `version`; nothing is saved then."""
    _lock_and_check_version(staff, version)
    _check_may_change(staff, actor, _l("You cannot deactivate your own account."))
    if staff.active == active:
        db.session.rollback()
        return
    if not active and staff.role in ADMIN_ROLES:
        _keep_an_admin(staff)
    extra = {} if active else {"session_version": Staff.session_version + 1}
    action = "staff.reactivated" if active else "staff.deactivated"
    _update(staff, actor, action, active=[not active, active], **extra)
    if not active:
        staff_connections.disconnect_staff(staff.id)


def _check_may_change(staff: Staff, actor: Staff, on_self) -> None:
    """Nobody changes themself; only a superadmin changes a superadmin (the account as stored now)."""
    message = None
    if staff.id == actor.id:
        message = on_self
    elif staff.role == "superadmin" and actor.role != "superadmin":
        message = _l("Only a superadmin can change a superadmin's account.")
    if message is not None:
        db.session.rollback()
        raise StaffChangeRefused(message, 422)


def _lock_and_check_version(staff: Staff, version: int) -> None:
    _lock_agency(staff.agency_id)
    db.session.refresh(staff)
    if staff.version != version:
        db.session.rollback()
        raise StaleVersion()


def _keep_an_admin(staff: Staff) -> None:
    others = sa.select(sa.func.count(Staff.id)).where(
        Staff.agency_id == staff.agency_id,
        Staff.id != staff.id,
        Staff.active.is_(True),
        Staff.role.in_(ADMIN_ROLES),
    )
    if not db.session.scalar(others):
        db.session.rollback()
        raise StaffChangeRefused(_l("The agency must keep at least one active admin."), 409)


def _update(staff: Staff, actor: Staff, action: str, **changes) -> None:
    """Write the changed columns ([old, new] each; other values are SQL expressions, unaudited),
    raise the version, audit and commit."""
    values = {field: value[1] if isinstance(value, list) else value for field, value in changes.items()}
    db.session.execute(
        sa.update(Staff).where(Staff.id == staff.id).values(version=Staff.version + 1, **values)
    )
    audit.record(
        action,
        actor=actor,
        agency_id=staff.agency_id,
        object_type="staff",
        object_id=staff.id,
        changes={field: value for field, value in changes.items() if isinstance(value, list)},
    )
    db.session.commit()
    db.session.refresh(staff)


def _lock_agency(agency_id: int | None) -> None:
    """Take the write lock, and (PostgreSQL) the agency's row: changes to one agency's staff wait
    for each other, so each sees the last one's result."""
    write_transaction()
    if agency_id is not None:
        db.session.execute(sa.select(Agency.id).where(Agency.id == agency_id).with_for_update())


# --- A new agency ------------------------------------------------------------------------------------------


def create_agency(values: dict[str, Any], actor: Staff | None) -> tuple[Agency, StaffInvitation, str]:
    """Create an agency (slug, names, time zone) and invite its first admin (`admin_email`,
    `language`), audited, in one transaction (commits). Raises AdminInputError (nothing saved)
    for a malformed or taken slug, an unknown time zone or an invalid or used e-mail. Returns the
    agency, the invitation and its token (the CLI prints the link)."""
    errors = {}
    if not SLUG_PATTERN.fullmatch(values["slug"] or ""):
        errors["slug"] = _l("Use 1 to 40 lower-case letters, digits and hyphens, not at either end.")
    if values["timezone"] not in TIME_ZONES:
        errors["timezone"] = _l("Choose a time zone from the list.")
    try:
        email = parse_email(values["admin_email"])
    except ContactError as error:
        errors["admin_email"] = error.args[0]
    for field in ("name_es", "name_en"):
        if not (values[field] or "").strip() or len(values[field]) > 200:
            errors[field] = _l("Enter the agency's name (at most 200 characters).")
    if errors:
        raise AdminInputError(errors)
    write_transaction()
    if db.session.scalar(sa.select(Agency.id).where(Agency.slug == values["slug"])) is not None:
        db.session.rollback()
        raise AdminInputError({"slug": _l("Another agency already uses this short name.")})
    now = utcnow()
    try:
        _check_email_free(email, now)
    except AdminInputError as error:
        raise AdminInputError({"admin_email": error.fields["email"]}) from None
    fields = {field: values[field].strip() for field in ("slug", "name_es", "name_en", "timezone")}
    agency = Agency(**fields)
    db.session.add(agency)
    db.session.flush()
    audit.record(
        "agency.created",
        actor=actor,
        agency_id=agency.id,
        object_type="agency",
        object_id=agency.id,
        changes={field: [None, value] for field, value in fields.items()},
    )
    invite = {"email": email, "name": "", "role": "admin", "language": values["language"]}
    invitation, token = _add_invitation(agency, invite, actor, now)
    db.session.commit()
    return agency, invitation, token
