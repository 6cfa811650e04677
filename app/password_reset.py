"""Password reset by e-mailed single-use link: asking for one (the same answer and the same work
for an unknown address), and using it once within PASSWORD_RESET_MINUTES.

The link carries a 256-bit random token; the database keeps only its hash (as with the citizens'
links in app.tokens). A new link voids the account's earlier unused ones, and setting the password
by any way voids them all.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from app import audit
from app.accounts import normalize_email, set_password
from app.extensions import db, write_transaction
from app.links import public_url
from app.models import PasswordReset, Staff, utcnow
from app.notifications import queue_staff_email, render_staff_email
from app.password_policy import check_password
from app.tokens import link_open, new_token, single_use_link


def request_reset(email: str, language: str) -> None:
    """E-mail a reset link in `language` to the active account with this address, if there is
    one; otherwise nothing. The same queries, the same rendering and a transaction either way,
    and no answer: the caller says the same thing whatever happened. Takes the write lock; commits.
    """
    now = utcnow()
    token, token_hash = new_token()
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    write_transaction()
    staff = db.session.scalar(sa.select(Staff).where(Staff.email == normalize_email(email)))
    rendered = render_staff_email(
        "password_reset",
        language,
        _l("Reset your Ventanilla password"),
        link=public_url(f"/staff/password/reset?token={token}"),
        minutes=minutes,
        name=staff.name if staff is not None else "",
    )
    if staff is not None and staff.active:
        db.session.execute(
            sa.update(PasswordReset)
            .where(PasswordReset.staff_id == staff.id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
        db.session.add(
            PasswordReset(
                staff_id=staff.id,
                token_hash=token_hash,
                created_at=now,
                expires_at=now + dt.timedelta(minutes=minutes),
            )
        )
        queue_staff_email(staff.email, language, "password_reset", rendered, now)
        audit.record("staff.password_reset_requested", actor=staff, agency_id=staff.agency_id)
    db.session.commit()


def reset_by_token(token: str | None, now: dt.datetime | None = None) -> PasswordReset | None:
    """The unused, unexpired reset link of this token (of an active account), or None. Read-only."""
    reset = single_use_link(PasswordReset, token, now)
    return reset if reset is not None and reset.staff.active else None


class ResetLinkUsed(Exception):
    """The reset link was used (or expired) while this request was on its way."""


def reset_password(reset: PasswordReset, new: str) -> Staff:
    """Set the account's password from its reset link (raises PasswordRefused, changing nothing);
    the link and the account's other links are used up, every session ends. Raises ResetLinkUsed
    when another request used it first. Takes the write lock; commits."""
    staff = reset.staff
    check_password(new, email=staff.email, name=staff.name)  # before taking the write lock
    write_transaction()
    db.session.refresh(reset)
    if not link_open(reset):
        db.session.rollback()
        raise ResetLinkUsed()
    set_password(staff, new, "staff.password_reset", actor=staff)
    return staff
