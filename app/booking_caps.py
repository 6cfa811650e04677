"""The per-service daily caps on bookings per e-mail domain and per phone number.

Anonymous booking is otherwise limited only per client address, so a few addresses could fill a
service's calendar with invented citizens. Each booking takes a numbered place, unique per
service, day (the agency's date when the booking is made), kind and key, among the places its
domain and its phone number have that day: racing bookings cannot pass the cap, on SQLite or
PostgreSQL. A cancelled booking keeps its places (the cap counts bookings made). The key is a
keyed hash of the domain or number, so the table holds no contact details.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from app import audit
from app.extensions import db, write_transaction
from app.models import DailyBookingClaim, Service


def caps_for(service: Service) -> dict[str, int]:
    """The caps in force for `service`: its own, or the settings'. No database access."""
    config = current_app.config
    return {
        "domain": service.daily_cap_per_domain or config["BOOKING_DAILY_CAP_PER_DOMAIN"],
        "phone": service.daily_cap_per_phone or config["BOOKING_DAILY_CAP_PER_PHONE"],
    }


def email_domain(email: str) -> str:
    """The domain of an e-mail address as the cap compares it (lower case). No database access."""
    return email.rsplit("@", 1)[-1].strip().lower()


def capped_domain(email: str) -> str | None:
    """The domain the domain cap counts for `email`; None for the exempt consumer domains."""
    domain = email_domain(email)
    return None if domain in current_app.config["BOOKING_CAP_EXEMPT_DOMAINS"] else domain


def _key(kind: str, value: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def claim_daily_places(service: Service, day: dt.date, *, email: str, phone: str) -> str | None:
    """Take the booking's places of `day` for its domain and its phone number, in the caller's
    write transaction (never commits). Returns "domain" or "phone"
    when that cap is reached (the caller rolls back), None when both places were taken.

    Places of past days are deleted on the way: only today's count.
    """
    db.session.execute(
        sa.delete(DailyBookingClaim).where(
            DailyBookingClaim.service_id == service.id, DailyBookingClaim.day < day
        )
    )
    caps = caps_for(service)
    for kind, value in (("domain", capped_domain(email)), ("phone", phone)):
        if value and not _claim(service.id, day, kind, _key(kind, value), caps[kind]):
            return kind
    return None


def purge_past_claims(before: dt.date) -> int:
    """Delete the places of every service's days before `before` (retention: a keyed hash of a
    phone number is still personal data, and a service nobody books any more never clears its
    own); returns how many. Takes the write lock and commits."""
    write_transaction()
    removed = db.session.execute(sa.delete(DailyBookingClaim).where(DailyBookingClaim.day < before)).rowcount
    db.session.commit()
    return removed


def _claim(service_id: int, day: dt.date, kind: str, key: str, cap: int) -> bool:
    where = (
        DailyBookingClaim.service_id == service_id,
        DailyBookingClaim.day == day,
        DailyBookingClaim.kind == kind,
        DailyBookingClaim.key == key,
    )
    for _attempt in range(cap + 5):
        used = set(db.session.scalars(sa.select(DailyBookingClaim.place).where(*where)))
        place = next((number for number in range(1, cap + 1) if number not in used), None)
        if place is None:
            return False
        claim = dict(service_id=service_id, day=day, kind=kind, key=key, place=place)
        if db.session.execute(_insert_unless_taken(claim)).first() is not None:
            return True
        # another booking took that place between our read and our insert: try the next one
    return False


def _insert_unless_taken(claim: dict) -> sa.Insert:
    """INSERT … ON CONFLICT DO NOTHING (PostgreSQL and SQLite): a place already taken is no
    error, so no savepoint is needed around it (two statements fewer per place)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(DailyBookingClaim)
        .values(**claim)
        .on_conflict_do_nothing()
        .returning(DailyBookingClaim.place)
    )


UNCHANGED = object()


def set_service_caps(service: Service, *, per_domain=UNCHANGED, per_phone=UNCHANGED) -> dict[str, int]:
    """Set the service's own daily caps (None: back to the setting; UNCHANGED: leave it) and commit.
    Returns the caps now in force. A change is audited with the old and new values."""
    changes = {}
    for name, value in (("daily_cap_per_domain", per_domain), ("daily_cap_per_phone", per_phone)):
        if value is not UNCHANGED and getattr(service, name) != value:
            changes[name] = [getattr(service, name), value]
            setattr(service, name, value)
    if changes:
        audit.record(
            "service.caps_changed",
            agency_id=service.agency_id,
            object_type="service",
            object_id=service.id,
            changes=changes,
        )
    db.session.commit()
    return caps_for(service)


def cap_reached(service: Service, day: dt.date, *, email: str, phone: str) -> str | None:
    """ "domain" or "phone" when that cap of `day` is already reached, else None: asked early, so
    nobody fills the form in vain. Read-only; the booking itself is what decides."""
    caps = caps_for(service)
    for kind, value in (("domain", capped_domain(email)), ("phone", phone)):
        if not value:
            continue
        taken = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DailyBookingClaim)
            .where(
                DailyBookingClaim.service_id == service.id,
                DailyBookingClaim.day == day,
                DailyBookingClaim.kind == kind,
                DailyBookingClaim.key == _key(kind, value),
            )
        )
        if taken >= caps[kind]:
            return kind
    return None
