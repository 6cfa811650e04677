"""Closures (issue 11): days one office, or the whole agency, is closed, with a reason in Spanish
and in English that citizens see on those days (app.scheduling reads them). Adding one that falls
on booked appointments is previewed first (app.impact); every addition and deletion is audited.

Overlaps: two closures of the same scope — the same office, or two of the whole agency — may not
share a day. The new one is refused, naming the one in the way: merging would have to choose one
of two reasons behind the admin's back, so the admin deletes the old one and adds the longer one.
A closure of the whole agency may overlap an office's own (a holiday week during a renovation):
on the shared days the office's reason is the one shown, and neither has to be cut around the other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import audit, impact
from app.administration import AdminInputError
from app.extensions import db, write_transaction
from app.i18n import regional_locale
from app.models import Agency, Appointment, Closure, Office, Staff, Turn, utcnow

MAX_DAYS = 366
CLOSURE_FIELDS = ("office_id", "first_day", "last_day", "reason_es", "reason_en")
ENDS_BEFORE_IT_STARTS = _l("The last day cannot be before the first day.")
STARTS_IN_THE_PAST = _l("A closure cannot start before today.")


def agency_today(agency: Agency, now: dt.datetime | None = None) -> dt.date:
    """Today's date where the agency is."""
    return (now or utcnow()).astimezone(ZoneInfo(agency.timezone)).date()


def agency_closures(agency: Agency, today: dt.date) -> tuple[list[Closure], list[Closure]]:
    """The agency's closures: (those not over yet, soonest first; those over, latest first). Read-only."""
    rows = db.session.scalars(
        sa.select(Closure).where(Closure.agency_id == agency.id).order_by(Closure.first_day, Closure.id)
    ).all()
    upcoming = [closure for closure in rows if closure.last_day >= today]
    past = [closure for closure in reversed(rows) if closure.last_day < today]
    return upcoming, past


def check_dates(first_day: dt.date, last_day: dt.date, today: dt.date) -> dict[str, Any]:
    """The refused dates of a new closure, by field (empty: they are fine)."""
    if last_day < first_day:
        return {"last_day": ENDS_BEFORE_IT_STARTS}
    if (last_day - first_day).days + 1 > MAX_DAYS:
        return {
            "last_day": _("A closure lasts at most %(days)d days. Add a longer one in parts.", days=MAX_DAYS)
        }
    if first_day < today:
        return {"first_day": STARTS_IN_THE_PAST}
    return {}


def create_closure(
    agency: Agency,
    office: Office | None,
    values: dict[str, Any],
    actor: Staff,
    decision: impact.Decision | None = None,
) -> Closure:
    """Close `office` (None: the whole agency) from values' first_day to last_day, with its
    reasons, and audit it, in one transaction (commits). Raises AdminInputError (refused dates, or
    an overlap with a closure of the same scope; nothing saved), or impact.ChoiceNeeded when booked
    appointments fall on the closed days and `decision` does not cover exactly them (nothing saved)."""
    if office is not None and office.agency_id != agency.id:
        raise ValueError("the office belongs to another agency")  # the view answers 404 before this
    first_day, last_day = values["first_day"], values["last_day"]
    problems = check_dates(first_day, last_day, agency_today(agency))
    if problems:
        raise AdminInputError(problems)
    office_id = office.id if office is not None else None
    write_transaction()
    # One closure is added at a time per agency (SQLite: the write lock; PostgreSQL: the agency's
    # row), so two admins adding overlapping closures at once cannot both pass the overlap check.
    db.session.execute(sa.select(Agency.id).where(Agency.id == agency.id).with_for_update())
    clash = _overlapping(agency.id, office_id, first_day, last_day)
    if clash is not None:
        db.session.rollback()
        raise AdminInputError({"first_day": _overlap_message(clash)})
    try:
        affected = booked_on(agency, office_id, first_day, last_day) + in_line_on(
            agency, office_id, first_day, last_day
        )
        impact.settle(affected, decision, actor, change="closure.created")
    except impact.ChoiceNeeded:
        db.session.rollback()
        raise
    closure = Closure(agency_id=agency.id, office_id=office_id, **_values(values, "reason_es", "reason_en"))
    closure.first_day, closure.last_day = first_day, last_day
    db.session.add(closure)
    db.session.flush()
    audit.record(
        "closure.created",
        actor=actor,
        agency_id=agency.id,
        object_type="closure",
        object_id=closure.id,
        changes={field: [None, _stored(getattr(closure, field))] for field in CLOSURE_FIELDS},
    )
    db.session.commit()
    return closure


def delete_closure(closure: Closure, actor: Staff) -> None:
    """Delete the closure (its days open again, as the hours say) and audit what it was, in one
    transaction (commits)."""
    write_transaction()
    closure = db.session.get(Closure, closure.id)
    if closure is None:  # deleted by someone else a moment ago: nothing left to do
        db.session.rollback()
        return
    audit.record(
        "closure.deleted",
        actor=actor,
        agency_id=closure.agency_id,
        object_type="closure",
        object_id=closure.id,
        changes={field: [_stored(getattr(closure, field)), None] for field in CLOSURE_FIELDS},
    )
    db.session.delete(closure)
    db.session.commit()


def booked_on(
    agency: Agency, office_id: int | None, first_day: dt.date, last_day: dt.date
) -> list[Appointment]:
    """The booked appointments ahead on the agency-local days `first_day`…`last_day`, at the office
    (None: anywhere in the agency). Read-only."""
    zone = ZoneInfo(agency.timezone)
    starts = dt.datetime.combine(first_day, dt.time.min, zone)
    ends = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, zone)
    conditions = [Appointment.start_at >= starts, Appointment.start_at < ends]
    if office_id is not None:
        conditions.append(Appointment.office_id == office_id)
    return impact.booked_ahead(agency.id, *conditions)


def in_line_on(agency: Agency, office_id: int | None, first_day: dt.date, last_day: dt.date) -> list[Turn]:
    """Today's same-day turns still in line at the office (None: anywhere in the agency) when
    today is among the closed days. Read-only."""
    if not first_day <= agency_today(agency) <= last_day:
        return []
    return impact.in_line_today(agency.id, *([Turn.office_id == office_id] if office_id is not None else []))


def _overlapping(agency_id: int, office_id: int | None, first_day: dt.date, last_day: dt.date):
    same_scope = Closure.office_id.is_(None) if office_id is None else Closure.office_id == office_id
    return db.session.scalar(
        sa.select(Closure)
        .where(
            Closure.agency_id == agency_id,
            same_scope,
            Closure.first_day <= last_day,
            Closure.last_day >= first_day,
        )
        .order_by(Closure.first_day)
        .limit(1)
    )


def _overlap_message(clash: Closure) -> str:
    locale = regional_locale(str(get_locale() or "es"))
    return _(
        "These days overlap the closure from %(first)s to %(last)s (“%(reason)s”). Delete that one first, "
        "or choose other days.",
        first=format_date(clash.first_day, "long", locale=locale),
        last=format_date(clash.last_day, "long", locale=locale),
        reason=clash.localized("reason"),
    )


def _values(values: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {field: values[field] for field in fields}


def _stored(value):
    return value.isoformat() if isinstance(value, dt.date) else value
