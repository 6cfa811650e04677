"""Citizens' link tokens: making them, and what each one opens while it is valid.

Citizens never log in. Each link (join, manage, survey, turn status, result downloads) carries a
256-bit random token, stored only as its SHA-256 hash and scoped to one appointment or turn. The
lookups here are the one rule per link for scope and expiry; a token that is malformed, unknown
or expired finds nothing, and every caller answers that the same way (404).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app

from app import scheduling
from app.extensions import db
from app.models import Appointment, Turn, utcnow

MAX_TOKEN_LENGTH = 100  # a token is 43 characters; anything much longer is not one of ours
# The status link still opens (read-only once the turn is over) for this many days after its day.
STATUS_LINK_DAYS = 2


def new_token() -> tuple[str, str]:
    """A fresh unguessable token for a citizen link and the hash to store in its place."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _plausible(token: str | None) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH


def single_use_link(model, token: str | None, now: dt.datetime | None = None):
    """The row of `model` (a single-use staff link: `token_hash`, `expires_at`, `used_at`) that this
    token opens while unused and unexpired, or None. Read-only."""
    if not _plausible(token):
        return None
    link = db.session.scalar(sa.select(model).where(model.token_hash == hash_token(token)))
    return link if link is not None and link_open(link, now) else None


def link_open(link, now: dt.datetime | None = None) -> bool:
    """Whether a single-use link is still unused and unexpired (read it again after taking the
    write lock: another request may have used it meanwhile)."""
    return link.used_at is None and link.expires_at > (now or utcnow())


def links_still_valid(appointment: Appointment, now: dt.datetime | None = None) -> bool:
    """Links of an appointment keep working until MANAGE_LINK_DAYS_AFTER days after its end."""
    keep = dt.timedelta(days=current_app.config["MANAGE_LINK_DAYS_AFTER"])
    return (now or utcnow()) <= appointment.end_at + keep


def _after_appointment_valid(appointment: Appointment | None, now: dt.datetime | None) -> Appointment | None:
    if appointment is None:
        return None
    return appointment if links_still_valid(appointment, now) else None


def appointment_by_manage_token(token: str | None, now: dt.datetime | None = None) -> Appointment | None:
    """The appointment of this manage link (view, cancel, move, results), while the link is valid."""
    if not _plausible(token):
        return None
    appointment = db.session.scalar(
        sa.select(Appointment).where(Appointment.manage_token_hash == hash_token(token))
    )
    return _after_appointment_valid(appointment, now)


def appointment_by_join_token(token: str | None) -> Appointment | None:
    """The video appointment of this join link (the e-mailed one or the manage page's); when it
    may be used is `calls.join_window`'s rule."""
    if not _plausible(token):
        return None
    digest = hash_token(token)
    return db.session.scalar(
        sa.select(Appointment).where(
            sa.or_(Appointment.join_token_hash == digest, Appointment.page_join_token_hash == digest)
        )
    )


def appointment_for_survey(token: str | None, now: dt.datetime | None = None) -> Appointment | None:
    """The appointment whose join link opens the after-call survey, as long as its manage link would."""
    return _after_appointment_valid(appointment_by_join_token(token), now)


def turn_by_status_token(token: str | None, now: dt.datetime | None = None) -> Turn | None:
    """The turn of this status link, until STATUS_LINK_DAYS after the turn's day."""
    if not _plausible(token):
        return None
    turn = db.session.scalar(sa.select(Turn).where(Turn.status_token_hash == hash_token(token)))
    if turn is None:
        return None
    if scheduling.today_for(turn.service, now or utcnow()) > turn.day + dt.timedelta(days=STATUS_LINK_DAYS):
        return None
    return turn
