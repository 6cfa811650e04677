"""Two-factor sign-in for staff: a TOTP authenticator (RFC 6238, pyotp) set up with a QR code,
each code accepted once, and ten single-use recovery codes; which roles must have it
(TWO_FACTOR_REQUIRED_ROLES).

The secret stays in the database (the authenticator needs it as it is); recovery codes are kept
only as hashes. Counting wrong codes toward the account lockout is app.accounts' job, which
calls `accept_code` at the second step of signing in.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup

from app import audit
from app.extensions import db
from app.models import RecoveryCode, Staff, utcnow
from app.security import REFERENCE_ALPHABET, verify_password
from app.tokens import hash_token

ISSUER = "Ventanilla"
STEP_SECONDS = 30  # what every authenticator app uses
DRIFT_STEPS = 1  # a code of the step before or after is accepted too (clocks drift)
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 10  # 31 symbols: ~49 bits each
MAX_CODE_LENGTH = 40


def required(staff: Staff) -> bool:
    """Whether the account's role must sign in with a second factor."""
    return staff.role in current_app.config["TWO_FACTOR_REQUIRED_ROLES"]


def enrolled(staff: Staff) -> bool:
    return staff.totp_secret is not None


def second_step_due(staff: Staff) -> bool:
    """Whether a right password is only the first step for this account: it has an
    authenticator, or its role requires one (then it sets one up before anything else)."""
    return enrolled(staff) or required(staff)


def missing(staff: Staff) -> bool:
    """The role requires a second factor and the account has none yet."""
    return required(staff) and not enrolled(staff)


# --- Setting up -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str

    def qr_svg(self, title: str) -> Markup:
        """The provisioning URI as an inline SVG QR code (dark on white, whatever the theme)."""
        svg = segno.make(self.uri, error="m").svg_inline(scale=5, border=4, light="#fff", title=title)
        return Markup(svg.replace("<svg ", '<svg role="img" focusable="false" ', 1))

    @property
    def grouped_secret(self) -> str:
        """The secret in groups of four, easier to type into an app by hand."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def start_enrolment(staff: Staff) -> Enrolment:
    """The secret being set up for this account: the one already shown, if the account has not
    confirmed it yet (a QR code scanned before a timeout still works), or a new one. Commits."""
    if staff.totp_pending_secret is None:
        staff.totp_pending_secret = pyotp.random_base32()
        db.session.commit()
    secret = staff.totp_pending_secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=staff.email, issuer_name=ISSUER)
    return Enrolment(secret, uri)


class CodeRefused(ValueError):
    """The code (or password) given is not right, or was used already."""


def confirm_enrolment(staff: Staff, code: str) -> list[str]:
    """Turn two-factor sign-in on with the secret being set up, once the authenticator shows a
    right code for it; returns the new recovery codes (shown once, stored hashed). Raises
    CodeRefused and changes nothing. Commits."""
    secret = staff.totp_pending_secret
    step = _matching_step(secret, code) if secret else None
    if step is None:
        raise CodeRefused()
    staff.totp_secret, staff.totp_pending_secret = secret, None
    staff.totp_enabled_at, staff.totp_last_step = utcnow(), step
    codes = _replace_recovery_codes(staff)
    audit.record("staff.two_factor_enrolled", **_about(staff))
    db.session.commit()
    return codes


# --- Signing in --------------------------------------------------------------------------------------


def accept_code(staff: Staff, code: str) -> str | None:
    """Check a code from the account's authenticator or one of its recovery codes, and use it up:
    "totp" or "recovery" when accepted, None otherwise. A TOTP code of a time step already used
    (or older) is refused, and a recovery code works once, even for two requests at the same
    instant: both are spent with a conditional UPDATE. Adds to the caller's session (the caller
    commits)."""
    code = _normalized(code)
    if not enrolled(staff) or not code:
        return None
    if code.isdigit():
        step = _matching_step(staff.totp_secret, code)
        if step is None:
            return None
        spent = db.session.execute(
            sa.update(Staff)
            .where(Staff.id == staff.id)
            .where(sa.or_(Staff.totp_last_step.is_(None), Staff.totp_last_step < step))
            .values(totp_last_step=step)
        )
        return "totp" if spent.rowcount == 1 else None
    spent = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.staff_id == staff.id, RecoveryCode.code_hash == hash_token(code))
        .where(RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if spent.rowcount != 1:
        return None
    audit.record("staff.two_factor_recovery_code_used", **_about(staff), left=unused_recovery_codes(staff))
    return "recovery"


def unused_recovery_codes(staff: Staff) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.staff_id == staff.id, RecoveryCode.used_at.is_(None))
    )


# --- Changing it afterwards -----------------------------------------------------------------------


def _confirm(staff: Staff, proof: str, action: str) -> None:
    """The signed-in member proves it is them: the current password, or a code. Raises
    CodeRefused (audited) otherwise."""
    if verify_password(staff.password_hash, proof or "") or accept_code(staff, proof or ""):
        return
    audit.record(action, **_about(staff))
    db.session.commit()
    raise CodeRefused()


def disable(staff: Staff, proof: str) -> None:
    """Turn two-factor sign-in off, given the current password or a code (raises CodeRefused and
    changes nothing otherwise); the recovery codes go with it. Commits."""
    _confirm(staff, proof, "staff.two_factor_disable_refused")
    _clear(staff)
    audit.record("staff.two_factor_disabled", **_about(staff))
    db.session.commit()


def regenerate_recovery_codes(staff: Staff, proof: str) -> list[str]:
    """Ten new recovery codes in place of the old ones (used or not), given the current password
    or a code (raises CodeRefused otherwise). Commits."""
    _confirm(staff, proof, "staff.two_factor_regenerate_refused")
    codes = _replace_recovery_codes(staff)
    audit.record("staff.two_factor_recovery_codes_regenerated", **_about(staff))
    db.session.commit()
    return codes


def reset(staff: Staff) -> None:
    """Remove the account's authenticator and recovery codes (`flask reset-two-factor`, for a
    lost phone): a role that requires them sets them up again at the next sign-in. Commits; the
    caller ends the account's sessions."""
    _clear(staff)
    audit.record("staff.two_factor_reset", **_about(staff, actor=None))
    db.session.commit()


# --- Helpers ---------------------------------------------------------------------------------------


def _normalized(code: str | None) -> str:
    if not isinstance(code, str) or len(code) > MAX_CODE_LENGTH:
        return ""
    return "".join(c for c in code.upper() if c not in " -\t")


def _current_step(now: dt.datetime | None = None) -> int:
    return int((now or utcnow()).timestamp()) // STEP_SECONDS


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now, or one before or after) whose code this is, or None."""
    code = _normalized(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp, now = pyotp.TOTP(secret), _current_step()
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _new_recovery_code() -> str:
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return f"{body[:5]}-{body[5:]}"


def _replace_recovery_codes(staff: Staff) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(staff_id=staff.id, code_hash=hash_token(_normalized(c))) for c in codes)
    return codes


def _clear(staff: Staff) -> None:
    staff.totp_secret = staff.totp_pending_secret = None
    staff.totp_enabled_at = staff.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))


def _about(staff: Staff, actor: Staff | None | bool = True) -> dict:
    actor = staff if actor is True else actor
    return {"actor": actor, "agency_id": staff.agency_id, "object_type": "staff", "object_id": staff.id}
