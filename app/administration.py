"""Administration of an agency by its own staff: who may administer what, the agency's settings and
its offices. Every change is checked here (nothing is saved when a value is refused), refused when
the form was filled in against an older version of the object (someone else saved in between),
and audited with the old and new values.

Values arrive already parsed by the forms (text trimmed, e-mail and phone normalized); the rules
that need the database or the whole object live here, so a future API uses the same ones.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from app import audit, impact
from app.extensions import db, write_transaction
from app.models import Agency, Appointment, Office, Staff, Turn
from app.retention import retention_errors
from app.security import staff_agency_filter, staff_may_act_for

AGENCY_SETTINGS_FIELDS = (
    "name_es",
    "name_en",
    "timezone",
    "observes_pr_holidays",
    "contact_email",
    "contact_phone",
    "banner_es",
    "banner_en",
    "document_retention_days",
    "personal_data_retention_days",
    "publishes_open_data",
)
OFFICE_FIELDS = ("name_es", "name_en", "address", "municipality", "is_remote", "active")
TIME_ZONES = frozenset(zoneinfo.available_timezones())
CHANGED_BY_SOMEONE_ELSE = _l(
    "Someone else changed this while you were editing it. Reload the page and try again."
)


class AdminInputError(ValueError):
    """Values the rules refuse: `fields` maps each field to its (translated) message."""

    def __init__(self, fields: dict[str, Any]):
        super().__init__("; ".join(str(message) for message in fields.values()))
        self.fields = fields


class StaleVersion(Exception):
    """The object was saved by someone else after this form was loaded."""

    message = CHANGED_BY_SOMEONE_ELSE


# --- Who administers what -------------------------------------------------------------------------


def may_administer(staff: Staff, agency_id: int) -> bool:
    """Admins administer their own agency; a superadmin administers every agency."""
    return staff.has_role("admin") and staff_may_act_for(staff, agency_id)


def administered_agencies(staff: Staff) -> list[Agency]:
    """The agencies `staff` administers, by name (read-only)."""
    if not staff.has_role("admin"):
        return []
    query = sa.select(Agency).where(staff_agency_filter(staff, Agency.id)).order_by(Agency.name_es)
    return list(db.session.scalars(query))


def agency_offices(agency: Agency) -> list[Office]:
    """All the agency's offices, active or not, by name (read-only)."""
    return list(
        db.session.scalars(sa.select(Office).where(Office.agency_id == agency.id).order_by(Office.name_es))
    )


# --- Agency settings --------------------------------------------------------------------------------


def update_agency_settings(agency: Agency, values: dict[str, Any], version: int, actor: Staff) -> Agency:
    """Save the agency's settings and audit the change, in one transaction (commits). Raises
    AdminInputError (nothing saved) or StaleVersion when `version` is not the stored one."""
    if values["timezone"] not in TIME_ZONES:
        raise AdminInputError({"timezone": _l("Choose a time zone from the list.")})
    refused = retention_errors(values["document_retention_days"], values["personal_data_retention_days"])
    if refused:
        raise AdminInputError(refused)
    _save(agency, values, AGENCY_SETTINGS_FIELDS, version, actor, "agency.settings_changed", agency.id)
    return agency


# --- Offices ----------------------------------------------------------------------------------------


def create_office(agency: Agency, values: dict[str, Any], actor: Staff) -> Office:
    """Add an office to the agency and audit it, in one transaction (commits)."""
    _check_office(values)
    return _create(
        lambda: Office(agency_id=agency.id, slug=_free_office_slug(agency, values["name_es"])),
        values,
        OFFICE_FIELDS,
        actor,
        "office.created",
        agency.id,
    )


def update_office(
    office: Office,
    values: dict[str, Any],
    version: int,
    actor: Staff,
    decision: impact.Decision | None = None,
) -> Office:
    """Save an office's details and audit the change, in one transaction (commits). Raises
    AdminInputError (nothing saved), StaleVersion when `version` is not the stored one, or
    impact.ChoiceNeeded when closing the office leaves booked appointments `decision` does not
    cover (nothing saved)."""
    _check_office(values)

    def affected():
        if office.active and not values["active"]:
            return impact.booked_ahead(office.agency_id, Appointment.office_id == office.id) + (
                impact.in_line_today(office.agency_id, Turn.office_id == office.id)
            )
        return []

    _save(
        office,
        values,
        OFFICE_FIELDS,
        version,
        actor,
        "office.changed",
        office.agency_id,
        affected=affected,
        decision=decision,
    )
    return office


def _check_office(values: dict[str, Any]) -> None:
    if not values["is_remote"] and not values.get("address"):
        raise AdminInputError({"address": _l("Enter the address of an office citizens visit.")})


def _free_office_slug(agency: Agency, name: str) -> str:
    base = _slug(name) or "oficina"
    taken = set(db.session.scalars(sa.select(Office.slug).where(Office.agency_id == agency.id)))
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base[:55]}-{number}", number + 1
    return slug


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:55]


# --- Saving with a version check and an audit record --------------------------------------------------


def _save(target, values, fields, version, actor, action, agency_id, *, affected=None, decision=None) -> None:
    """Write `fields` of `values` onto `target` if its version is still `version`, and audit the old
    and new values of what changed; commits. The version is read again inside the write
    transaction, and the mapper's version column makes the UPDATE check it once more, so of two
    saves racing past the first check only one can win.

    `affected`: a function listing the booked appointments (and turns) the change touches, called under the
    write lock before the change is applied; they are settled with the admin's `decision`
    (app.impact.settle: ChoiceNeeded, after a rollback, when it does not cover exactly them)."""
    write_transaction()
    db.session.refresh(target)
    if target.version != version:
        db.session.rollback()
        raise StaleVersion()
    changes = {
        field: [getattr(target, field), values[field]]
        for field in fields
        if getattr(target, field) != values[field]
    }
    if not changes:
        db.session.rollback()
        return
    if affected is not None:
        try:
            impact.settle(affected(), decision, actor, change=action)
        except impact.ChoiceNeeded:
            db.session.rollback()
            raise
    try:  # the UPDATE may be flushed early (autoflush) or at the commit: either way it checks the version
        for field, (_old, new) in changes.items():
            setattr(target, field, new)
        audit.record(
            action,
            actor=actor,
            agency_id=agency_id,
            object_type=type(target).__tablename__,
            object_id=target.id,
            changes=changes,
        )
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleVersion() from None


def _create(make, values, fields, actor, action, agency_id):
    """Add the row `make()` builds under the write lock (a free slug is chosen there) with `fields`
    of `values`, and audit them as new values; commits. Returns the row."""
    write_transaction()
    row = make()
    for field in fields:
        setattr(row, field, values[field])
    db.session.add(row)
    db.session.flush()
    audit.record(
        action,
        actor=actor,
        agency_id=agency_id,
        object_type=type(row).__tablename__,
        object_id=row.id,
        changes={field: [None, values[field]] for field in fields},
    )
    db.session.commit()
    return row
