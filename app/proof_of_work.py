"""Proof of work (ALTCHA, self-hosted): the challenges this site signs, and their solutions,
each accepted once.

A browser's widget fetches a challenge (`new_challenge`), spends a moment finding the counter the
challenge hides, and sends the solution with the form; `spend` checks the signature, the expiry
and the work, and records the challenge as spent until it expires, so a solution cannot be sent
twice. Nothing leaves the site: no third party sees the citizen. Off unless PROOF_OF_WORK is on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import altcha
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.extensions import db, write_transaction
from app.models import SpentChallenge, utcnow

ALGORITHM = "SHA-256"
FIELD = "altcha"  # the form field the widget fills
MAX_PAYLOAD_CHARS = 4096  # a genuine solution is well under 1 KB


class ProofOfWorkRefused(Exception):
    """A missing, invalid, expired or already used solution; `message` is translated."""

    status = 422

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def enabled() -> bool:
    """Whether the forms and the API ask for a solution (PROOF_OF_WORK). No database access."""
    return bool(current_app.config.get("PROOF_OF_WORK"))


def _hmac_key() -> str:
    configured = current_app.config.get("PROOF_OF_WORK_HMAC_KEY")
    if configured:
        return configured
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"ventanilla proof of work", hashlib.sha256).hexdigest()


def new_challenge(now: dt.datetime | None = None) -> dict:
    """A signed challenge for the widget: `{"parameters": …, "signature": …}`. No database access.

    The solution is a counter between half of PROOF_OF_WORK_DIFFICULTY and all of it, so every
    challenge costs at least half the work.
    """
    now = now or utcnow()
    difficulty = max(1, int(current_app.config["PROOF_OF_WORK_DIFFICULTY"]))
    counter = difficulty // 2 + secrets.randbelow(difficulty - difficulty // 2 + 1)
    expires = now + dt.timedelta(minutes=current_app.config["PROOF_OF_WORK_EXPIRY_MINUTES"])
    challenge = altcha.create_challenge(
        ALGORITHM, 1, counter=counter, expires_at=int(expires.timestamp()), hmac_secret=_hmac_key()
    )
    return challenge.to_dict()


def spend(payload: str | None, now: dt.datetime | None = None) -> None:
    """Accept a solution once, or raise ProofOfWorkRefused; does nothing while PROOF_OF_WORK is off.

    Takes the write lock and commits the spent challenge in its own transaction (there must be no
    pending writes); challenges past their expiry are forgotten on the way.
    """
    if not enabled():
        return
    if not payload:
        raise ProofOfWorkRefused(
            "proof_of_work_missing",
            _("Complete the check that you are a person (it needs JavaScript), then send the form again."),
        )
    parsed = _verified(payload)
    now = now or utcnow()
    expires = dt.datetime.fromtimestamp(parsed.challenge.parameters.expires_at, dt.UTC)
    write_transaction()
    db.session.execute(sa.delete(SpentChallenge).where(SpentChallenge.expires_at < now))
    try:
        with db.session.begin_nested():
            db.session.add(SpentChallenge(nonce=parsed.challenge.parameters.nonce, expires_at=expires))
    except sa.exc.IntegrityError:
        db.session.commit()  # the clean-up of expired challenges stands
        raise ProofOfWorkRefused(
            "proof_of_work_used", _("This check was already used. Please do it again.")
        ) from None
    db.session.commit()


def _verified(payload: str) -> altcha.Payload:
    invalid = ProofOfWorkRefused("proof_of_work_invalid", _("The check is not valid. Please do it again."))
    if len(payload) > MAX_PAYLOAD_CHARS or not payload.isascii():
        raise invalid
    try:
        result = altcha.verify_solution(payload, _hmac_key())
        parsed = altcha.Payload.from_base64(payload) if result.verified else None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
        raise invalid from None  # the library's parser, given something that is not a payload
    if result.expired:
        raise ProofOfWorkRefused("proof_of_work_expired", _("The check expired. Please do it again."))
    if parsed is None or not isinstance(parsed.challenge.parameters.expires_at, int):
        raise invalid
    nonce = parsed.challenge.parameters.nonce
    if not isinstance(nonce, str) or len(nonce) > 64:
        raise invalid
    return parsed
