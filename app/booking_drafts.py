"""Bookings in progress, kept on the server: the browser holds only a random key.

A draft holds what the citizen chose and typed (service, office, time, contact details, staged
upload tokens) and, once booked, the appointment and its two links until the confirmation page has
shown them once. The key is stored only as its hash; a draft untouched for BOOKING_DRAFT_MINUTES
is treated as gone, and `purge_expired_drafts` (run by `flask purge-documents` and whenever a
new draft starts) deletes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.extensions import db, write_transaction
from app.models import BookingDraft, utcnow
from app.tokens import MAX_TOKEN_LENGTH, hash_token, new_token

LINK_KEYS = ("join_token", "manage_token")


def _lifetime() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["BOOKING_DRAFT_MINUTES"])


def _live_draft(key: str | None, now: dt.datetime) -> BookingDraft | None:
    if not isinstance(key, str) or not 0 < len(key) <= MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        sa.select(BookingDraft).where(BookingDraft.key_hash == hash_token(key), BookingDraft.expires_at > now)
    )


def load_draft(key: str | None, *, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The data of the live draft with this key, or None (unknown, malformed or expired). Read-only."""
    draft = _live_draft(key, now or utcnow())
    return dict(draft.data) if draft is not None else None


def save_draft(key: str | None, data: dict[str, Any], *, now: dt.datetime | None = None) -> str:
    """Store `data` as the draft `key` and keep it alive; returns its key, a new one when `key` finds
    no live draft. Takes the write lock and commits (pending writes of the caller are refused)."""
    now = now or utcnow()
    write_transaction()
    draft = _live_draft(key, now)
    if draft is None:
        _delete_expired(now)
        key, key_hash = new_token()
        draft = BookingDraft(key_hash=key_hash)
        db.session.add(draft)
    draft.data = dict(data)
    draft.expires_at = now + _lifetime()
    db.session.commit()
    return key


def take_confirmation(key: str | None, *, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The draft's confirmation (`{"appointment_id", "join_token", "manage_token"}`), its links only
    the first time: they are erased from the draft as they are handed over. None when there is no
    confirmation. Takes the write lock and commits."""
    now = now or utcnow()
    write_transaction()
    draft = _live_draft(key, now)
    confirmation = dict(draft.data.get("confirmation") or {}) if draft is not None else {}
    if not confirmation:
        db.session.rollback()
        return None
    draft.data = {**draft.data, "confirmation": {k: v for k, v in confirmation.items() if k not in LINK_KEYS}}
    db.session.commit()
    return confirmation


def purge_expired_drafts(*, now: dt.datetime | None = None) -> int:
    """Delete drafts past their expiry; returns how many. Takes the write lock and commits."""
    write_transaction()
    removed = _delete_expired(now or utcnow())
    db.session.commit()
    return removed


def _delete_expired(now: dt.datetime) -> int:
    return db.session.execute(sa.delete(BookingDraft).where(BookingDraft.expires_at <= now)).rowcount
