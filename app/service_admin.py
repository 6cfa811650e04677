"""Administration of an agency's services and their document requirements (issue 11): the rules
the values must follow, which booked appointments a change would leave outside what the service
now offers (app.impact), and the writes, each with the version check and the audit record of
app.administration.

A service and its requirements are edited as one object: adding, changing, removing or moving a
requirement, or changing the offices, raises the service's version, so a form loaded before any
of these is refused as stale. Documents refer to their requirement by code: the code of a
requirement never changes once created, and removing a requirement leaves the documents already
uploaded for it where they are (the pages show them under their code).
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from app import audit, impact
from app.administration import AdminInputError, StaleVersion, _create, _save, _slug
from app.extensions import db, write_transaction
from app.models import SERVICE_MODES, Agency, Appointment, DocumentRequirement, Service, Staff, Turn

SERVICE_FIELDS = (
    "name_es",
    "name_en",
    "description_es",
    "description_en",
    "mode",
    "slot_minutes",
    "capacity_per_slot",
    "lead_time_minutes",
    "horizon_days",
    "turn_prefix",
    "daily_capacity",
    "office_ids",
    "asks_licence_number",
    "active",
)
REQUIREMENT_FIELDS = ("label_es", "label_en", "required", "max_pages")
# Numbers an admin may enter: (lowest, highest). Past these a value is a typo, not a policy.
LIMITS = {
    "slot_minutes": (5, 480),
    "capacity_per_slot": (1, 500),
    "lead_time_minutes": (0, 43_200),  # 30 days
    "horizon_days": (1, 365),
    "daily_capacity": (1, 10_000),
    "max_pages": (1, 200),
}
TURN_PREFIX = re.compile(r"[A-Z]{1,3}")
# A requirement's code names its upload field on the booking page and in the API: plain and short.
REQUIREMENT_CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")
PHONE_TURN_ONLY = _l("Only same-day phone turns use this. Leave it empty.")
PREFIX_TAKEN = _l("Another service of the agency uses this prefix. Choose another.")


# --- Reading ------------------------------------------------------------------------------------------


def agency_services(agency: Agency) -> list[Service]:
    """All the agency's services, active or not, by name (read-only)."""
    query = sa.select(Service).where(Service.agency_id == agency.id).order_by(Service.name_es)
    return list(db.session.scalars(query))


def over_capacity(service: Service, capacity: int) -> sa.Select:
    """The ids of the appointments a slot of `service` holds beyond `capacity` seats, in slots
    not yet started: the highest seats of a slot, appointments already checked in ranked first."""
    ranked = (
        sa.select(
            Appointment.id,
            sa.func.row_number()
            .over(
                partition_by=(Appointment.office_id, Appointment.start_at),
                order_by=(sa.case((Appointment.status == "booked", 1), else_=0), Appointment.seat),
            )
            .label("rank"),
        )
        .where(Appointment.service_id == service.id, Appointment.seat.is_not(None))
        .subquery()
    )
    return sa.select(ranked.c.id).where(ranked.c.rank > capacity)


def affected_by(service: Service, values: dict[str, Any]) -> list[Appointment | Turn]:
    """The booked appointments ahead that `values` would leave outside what the service offers: all
    of them when it is deactivated or changes mode, those at an office it no longer offers, those
    beyond a lower number of seats; and, the same way, today's turns still in line (of a phone-turn
    service). A shorter horizon or lead time affects none. Read-only."""
    conditions, turn_conditions = [], []
    if (service.active and not values["active"]) or service.mode != values["mode"]:
        conditions.append(sa.true())
        turn_conditions.append(sa.true())
    removed = set(service.office_ids) - set(values["office_ids"])
    if removed:
        conditions.append(Appointment.office_id.in_(sorted(removed)))
        turn_conditions.append(Turn.office_id.in_(sorted(removed)))
    if values["capacity_per_slot"] < service.capacity_per_slot:
        conditions.append(Appointment.id.in_(over_capacity(service, values["capacity_per_slot"])))
    affected: list[Appointment | Turn] = []
    if conditions:
        affected += impact.booked_ahead(
            service.agency_id, Appointment.service_id == service.id, sa.or_(*conditions)
        )
    if turn_conditions and service.mode == "phone_turn":
        affected += impact.in_line_today(
            service.agency_id, Turn.service_id == service.id, sa.or_(*turn_conditions)
        )
    return affected


# --- Services -----------------------------------------------------------------------------------------


def check_service(agency: Agency, values: dict[str, Any], service: Service | None = None) -> dict[str, Any]:
    """The values as stored (turn prefix in capitals), or AdminInputError naming each refused field."""
    values = dict(values, turn_prefix=(values.get("turn_prefix") or "").upper() or None)
    errors = {}
    for field, (low, high) in LIMITS.items():
        number = values.get(field)
        if number is not None and not low <= number <= high:
            errors[field] = _l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)
    if values["mode"] not in SERVICE_MODES:
        errors["mode"] = _l("Choose how the service is given.")
    if values["mode"] != "phone_turn":
        errors.update(
            {field: PHONE_TURN_ONLY for field in ("turn_prefix", "daily_capacity") if values[field]}
        )
    elif values["turn_prefix"] and not TURN_PREFIX.fullmatch(values["turn_prefix"]):
        errors["turn_prefix"] = _l("Use one to three letters, for example R.")
    elif values["turn_prefix"] and _prefix_taken(agency, values["turn_prefix"], service):
        errors["turn_prefix"] = PREFIX_TAKEN
    ours = {office.id for office in agency.offices}
    if not set(values["office_ids"]) <= ours:
        errors["office_ids"] = _l("Choose among the agency's offices.")
    if errors:
        raise AdminInputError(errors)
    return values


def _prefix_taken(agency: Agency, prefix: str, service: Service | None) -> bool:
    query = sa.select(Service.id).where(Service.agency_id == agency.id, Service.turn_prefix == prefix)
    if service is not None:
        query = query.where(Service.id != service.id)
    return db.session.scalar(query.limit(1)) is not None


def create_service(agency: Agency, values: dict[str, Any], actor: Staff) -> Service:
    """Add a service to the agency and audit it, in one transaction (commits). Raises
    AdminInputError (nothing saved)."""
    values = check_service(agency, values)
    try:
        return _create(
            lambda: Service(agency_id=agency.id, slug=_free_service_slug(values["name_es"])),
            values,
            SERVICE_FIELDS,
            actor,
            "service.created",
            agency.id,
        )
    except sa.exc.IntegrityError:
        raise _taken_meanwhile(agency, values, None) from None


def update_service(
    service: Service,
    values: dict[str, Any],
    version: int,
    actor: Staff,
    decision: impact.Decision | None = None,
) -> Service:
    """Save a service's settings and offices and audit the change, in one transaction (commits).
    Raises AdminInputError (nothing saved), StaleVersion when `version` is not the stored one, or
    impact.ChoiceNeeded when the change leaves booked appointments `decision` does not cover."""
    values = check_service(service.agency, values, service)
    try:
        _save(
            service,
            values,
            SERVICE_FIELDS,
            version,
            actor,
            "service.changed",
            service.agency_id,
            affected=lambda: affected_by(service, values),
            decision=decision,
        )
    except sa.exc.IntegrityError:
        raise _taken_meanwhile(service.agency, values, service) from None
    return service


def _taken_meanwhile(agency: Agency, values: dict[str, Any], service: Service | None) -> Exception:
    """After a unique constraint refused the write (rolled back here): the turn prefix another
    admin took since the check, or else (a slug taken at the same instant) a conflict to retry."""
    db.session.rollback()
    if values["turn_prefix"] and _prefix_taken(agency, values["turn_prefix"], service):
        return AdminInputError({"turn_prefix": PREFIX_TAKEN})
    return StaleVersion()


def _free_service_slug(name: str) -> str:
    """Service slugs are unique across the installation: they name the service in public URLs."""
    base = _slug(name) or "servicio"
    taken = set(db.session.scalars(sa.select(Service.slug).where(Service.slug.startswith(base))))
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base[:55]}-{number}", number + 1
    return slug


# --- Document requirements ------------------------------------------------------------------------------


def check_requirement(values: dict[str, Any]) -> None:
    low, high = LIMITS["max_pages"]
    if not low <= values["max_pages"] <= high:
        raise AdminInputError(
            {"max_pages": _l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)}
        )


def add_requirement(
    service: Service, values: dict[str, Any], version: int, actor: Staff
) -> DocumentRequirement:
    """Add a document requirement at the end of the service's list and audit it (commits). Raises
    AdminInputError (a code that is not plain, or already used in the service) or StaleVersion."""
    check_requirement(values)
    code = values["code"]
    if not REQUIREMENT_CODE.fullmatch(code):
        raise AdminInputError(
            {"code": _l("Use 2 to 40 lowercase letters, digits or _, starting with a letter.")}
        )

    def add() -> dict:
        if any(requirement.code == code for requirement in service.requirements):
            raise AdminInputError({"code": _l("This service already asks for a document with this code.")})
        requirement = DocumentRequirement(code=code, position=len(service.requirements))
        for field in REQUIREMENT_FIELDS:
            setattr(requirement, field, values[field])
        service.requirements.append(requirement)
        return {"code": [None, code]} | {field: [None, values[field]] for field in REQUIREMENT_FIELDS}

    _change_requirements(service, version, actor, "service.requirement_added", add)
    return next(r for r in service.requirements if r.code == code)


def update_requirement(
    requirement: DocumentRequirement, values: dict[str, Any], version: int, actor: Staff
) -> None:
    """Change a requirement's labels, whether it is required and its page limit (never its code:
    documents refer to it), and audit it (commits). Documents already uploaded stay as they are.
    Raises AdminInputError or StaleVersion."""
    check_requirement(values)

    def change() -> dict:
        changes = {
            field: [getattr(requirement, field), values[field]]
            for field in REQUIREMENT_FIELDS
            if getattr(requirement, field) != values[field]
        }
        for field, (_old, new) in changes.items():
            setattr(requirement, field, new)
        return {**changes, "code": [requirement.code, requirement.code]} if changes else {}

    _change_requirements(requirement.service, version, actor, "service.requirement_changed", change)


def remove_requirement(requirement: DocumentRequirement, version: int, actor: Staff) -> None:
    """Stop asking for a document and audit it (commits). The documents already uploaded for it
    keep their code and stay with their appointments. Raises StaleVersion."""
    service = requirement.service

    def remove() -> dict:
        old = {field: [getattr(requirement, field), None] for field in ("code", *REQUIREMENT_FIELDS)}
        service.requirements.remove(requirement)
        _renumber(service)
        return old

    _change_requirements(service, version, actor, "service.requirement_removed", remove)


def move_requirement(requirement: DocumentRequirement, step: int, version: int, actor: Staff) -> None:
    """Move a requirement one place up (`step` -1) or down (+1) in the list citizens see, and audit
    it (commits); at either end nothing changes. Raises StaleVersion."""
    service = requirement.service

    def move() -> dict:
        order = list(service.requirements)
        codes = [r.code for r in order]
        index = order.index(requirement)
        other = index + step
        if step not in (-1, 1) or not 0 <= other < len(order):
            return {}
        order[index], order[other] = order[other], order[index]
        for position, moved in enumerate(order):
            moved.position = position
        return {"order": [codes, [r.code for r in order]]}

    _change_requirements(service, version, actor, "service.requirements_reordered", move)


def _renumber(service: Service) -> None:
    for position, requirement in enumerate(service.requirements):
        requirement.position = position


def _change_requirements(service: Service, version: int, actor: Staff, action: str, apply) -> None:
    """Run `apply` (it changes the requirements and returns the audit's old and new values) if the
    service is still at `version`, raise that version, audit and commit; nothing is kept when it
    raises or the service changed meanwhile."""
    write_transaction()
    db.session.refresh(service)
    if service.version != version:
        db.session.rollback()
        raise StaleVersion()
    try:
        changes = apply()
        if not changes:
            db.session.rollback()
            return
        flag_modified(service, "agency_id")  # the service's row is written: its version rises, checked
        audit.record(
            action,
            actor=actor,
            agency_id=service.agency_id,
            object_type="service",
            object_id=service.id,
            changes=changes,
        )
        db.session.commit()
    except AdminInputError:
        db.session.rollback()
        raise
    except StaleDataError:
        db.session.rollback()
        raise StaleVersion() from None
    except sa.exc.IntegrityError:  # the same code added by another admin at the same instant
        db.session.rollback()
        raise StaleVersion() from None
