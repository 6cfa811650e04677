"""The audit log as an agency's admin (their agency) or the superadmin (every agency) reads it:
filters (staff member, appointment reference, kind of event, date range in the agency's time
zone), one page of entries with readable names and details, and the rows of the CSV export.

Read-only, but for the audit record of an export; nothing anywhere edits or deletes an audit
record (the database refuses it, migration 0013). Filters arrive as the query string's text
and are checked here, each refusal a translated message on its field (the view answers 422).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import audit
from app.day_ranges import parse_day_range
from app.extensions import db, write_transaction
from app.models import Agency, Appointment, AuditEvent, Document, DocumentRequirement, Staff
from app.outcomes import OUTCOME_LABELS, TURN_OUTCOME_LABELS

PAGE_SIZE = 50
CSV_MAX_ROWS = 100_000  # a bigger export: narrow the dates (the page says so)
DOCUMENT_BATCH = 500
REFERENCE = re.compile(r"[A-Za-z0-9-]{1,20}")

# Every action the app records (app.audit.record), by what an admin calls it. An action missing
# here still shows, under its code.
EVENT_NAMES = {
    "staff.login": _l("Signed in"),
    "staff.login_failed": _l("Sign-in failed"),
    "staff.login_refused_locked": _l("Sign-in refused: account locked"),
    "staff.locked": _l("Account locked after wrong passwords"),
    "staff.created": _l("Staff account created"),
    "staff.password_changed": _l("Password changed"),
    "staff.password_change_failed": _l("Password change refused: wrong current password"),
    "staff.password_reset_requested": _l("Password reset requested"),
    "staff.password_reset": _l("Password reset with an e-mailed link"),
    "staff.password_set_by_command": _l("Password set from the command line"),
    "appointment.viewed": _l("Appointment's details viewed"),
    "document.viewed": _l("Document viewed"),
    "document.result_attached": _l("Result document attached"),
    "document.downloaded_by_citizen": _l("Result document downloaded by the citizen"),
    "document.replaced_by_citizen": _l("Document replaced by the citizen"),
    "document.follow_up_added": _l("Missing document sent by the citizen"),
    "appointment.identity_verified": _l("Identity verified"),
    "appointment.outcome": _l("Outcome recorded"),
    "appointment.cancelled_at_counter": _l("Cancelled at the counter"),
    "appointment.assigned": _l("Appointment assigned to a clerk"),
    "appointment.links_resent": _l("Links sent again to the citizen"),
    "appointment.kept_after_change": _l("Appointment kept after a change of the agency's"),
    "appointment.cancelled_by_agency": _l("Appointment cancelled by the agency"),
    "call.admitted": _l("Citizen admitted to the video call"),
    "call.phone_requested": _l("Citizen asked to be phoned"),
    "call.running_late": _l("Citizen told the clerk is running late"),
    "turn.outcome": _l("Turn closed"),
    "turn.kept_after_change": _l("Turn kept in line after a change of the agency's"),
    "turn.cancelled_by_agency": _l("Turn cancelled by the agency"),
    "agency.settings_changed": _l("Agency settings changed"),
    "office.created": _l("Office added"),
    "office.changed": _l("Office changed"),
    "service.caps_changed": _l("Daily booking caps changed"),
    "agency.created": _l("Agency created"),
    "closure.created": _l("Closure added"),
    "closure.deleted": _l("Closure deleted"),
    "office.hours_changed": _l("Opening hours changed"),
    "service.created": _l("Service added"),
    "service.changed": _l("Service changed"),
    "service.requirement_added": _l("Document asked for added"),
    "service.requirement_changed": _l("Document asked for changed"),
    "service.requirement_removed": _l("Document no longer asked for"),
    "service.requirements_reordered": _l("Documents asked for reordered"),
    "staff.invited": _l("Staff member invited"),
    "staff.invitation_resent": _l("Invitation sent again"),
    "staff.invitation_revoked": _l("Invitation revoked"),
    "staff.joined": _l("Invitation accepted: account created"),
    "staff.role_changed": _l("Role changed"),
    "staff.deactivated": _l("Account deactivated"),
    "staff.reactivated": _l("Account reactivated"),
    "staff.login_password_accepted": _l("Password accepted, code asked"),
    "staff.two_factor_failed": _l("Wrong two-factor code"),
    "staff.two_factor_enrolled": _l("Two-factor sign-in set up"),
    "staff.two_factor_recovery_code_used": _l("Recovery code used"),
    "staff.two_factor_recovery_codes_regenerated": _l("New recovery codes made"),
    "staff.two_factor_regenerate_refused": _l("New recovery codes refused: no proof"),
    "staff.two_factor_disabled": _l("Two-factor sign-in turned off"),
    "staff.two_factor_disable_refused": _l("Turning off two-factor sign-in refused: no proof"),
    "staff.two_factor_reset": _l("Two-factor sign-in reset from the command line"),
    "retention.run": _l("Retention run"),
    "audit.exported": _l("Audit log exported"),
}
# The fields an admin change names (agency settings, offices, services), as the forms call them.
FIELD_NAMES = {
    "name_es": _l("Name in Spanish"),
    "name_en": _l("Name in English"),
    "timezone": _l("Time zone"),
    "observes_pr_holidays": _l("Puerto Rico's public holidays close the agency"),
    "contact_email": _l("Contact e-mail for citizens"),
    "contact_phone": _l("Contact phone for citizens"),
    "banner_es": _l("Announcement in Spanish"),
    "banner_en": _l("Announcement in English"),
    "document_retention_days": _l("Days documents are kept"),
    "personal_data_retention_days": _l("Days personal data is kept"),
    "publishes_open_data": _l("Publish open data"),
    "address": _l("Address"),
    "municipality": _l("Municipality"),
    "is_remote": _l("Remote"),
    "active": _l("Active"),
    "daily_cap_per_domain": _l("Bookings a day per e-mail domain"),
    "daily_cap_per_phone": _l("Bookings a day per phone number"),
    "email": _l("Email"),
    "name": _l("Name"),
    "role": _l("Role"),
}
# The counts of a retention run (app.retention.PurgeReport) and other numbers in the details.
DETAIL_NAMES = {
    "documents_deleted": _l("documents deleted"),
    "page_images_deleted": _l("page images deleted"),
    "appointments_anonymised": _l("appointments anonymised"),
    "turns_anonymised": _l("turns anonymised"),
    "outbox_messages_anonymised": _l("messages anonymised"),
    "saved_emails_deleted": _l("saved e-mails deleted"),
    "audit_addresses_removed": _l("citizens' addresses removed from the log"),
    "expired_drafts_deleted": _l("abandoned bookings deleted"),
    "staged_uploads_deleted": _l("abandoned uploads deleted"),
    "old_page_images_deleted": _l("old page images deleted"),
    "orphan_documents_deleted": _l("unnamed files deleted"),
    "past_booking_claims_deleted": _l("daily booking counts of past days deleted"),
    "minutes": _l("minutes"),
    "pages": _l("pages"),
    "rows": _l("rows"),
    "reference": _l("reference"),
    "kind": _l("kind of event"),
    "start": _l("from"),
    "end": _l("to"),
    "staff": _l("staff member number"),
    "message": _l("message to the citizen"),
}


class AuditQueryError(ValueError):
    """Filters the log cannot be read with: `fields` maps each filter to its (translated) message."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(fields.values()))
        self.fields = fields


@dataclass(frozen=True)
class AuditQuery:
    """Which entries: an agency's (None: every agency's and the site's own), by whom, about which
    appointment, of which kind, between which days (inclusive, in `timezone`)."""

    agency_id: int | None
    timezone: str
    staff_id: int | None = None
    reference: str | None = None
    action: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    def as_args(self) -> dict[str, str]:
        """The query string that asks for the same entries (for paging links and the export)."""
        values = {
            "staff": self.staff_id,
            "reference": self.reference,
            "kind": self.action,
            "start": self.start and self.start.isoformat(),
            "end": self.end and self.end.isoformat(),
        }
        return {name: str(value) for name, value in values.items() if value}


@dataclass
class AuditEntry:
    """One audit record as the page and the export show it."""

    id: int
    at: dt.datetime
    action: str
    event: str
    actor: str
    actor_email: str
    reference: str
    agency: str
    ip: str
    details: list[str] = field(default_factory=list)
    changes: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class AuditPage:
    entries: list[AuditEntry]
    page: int
    pages: int
    total: int


# --- Reading the filters --------------------------------------------------------------------------


def staff_choices(agency: Agency | None) -> list[Staff]:
    """Whose actions can be asked for: the agency's staff and the superadmins (every account for
    the site's log), by name. Read-only."""
    query = sa.select(Staff).order_by(Staff.name, Staff.id)
    if agency is not None:
        query = query.where(sa.or_(Staff.agency_id == agency.id, Staff.role == "superadmin"))
    return list(db.session.scalars(query))


def parse_query(args: Mapping[str, str], agency: Agency | None, default_timezone: str) -> AuditQuery:
    """The filters of the query string `args`; raises AuditQueryError naming each one refused."""
    errors: dict[str, str] = {}
    staff_id = _chosen_staff(args.get("staff", "").strip(), agency, errors)
    reference = args.get("reference", "").strip().upper() or None
    if reference and not REFERENCE.fullmatch(reference):
        errors["reference"] = _("Enter a reference of letters, digits and dashes, as the citizen has it.")
    action = args.get("kind", "").strip() or None
    if action and action not in EVENT_NAMES:
        errors["kind"] = _("Choose a kind of event from the list.")
    start, end = parse_day_range(args.get("start"), args.get("end"), errors)
    if errors:
        raise AuditQueryError(errors)
    timezone = agency.timezone if agency is not None else default_timezone
    return AuditQuery(
        agency_id=agency.id if agency else None,
        timezone=timezone,
        staff_id=staff_id,
        reference=reference,
        action=action,
        start=start,
        end=end,
    )


def _chosen_staff(value: str, agency: Agency | None, errors: dict[str, str]) -> int | None:
    if not value:
        return None
    if value.isdigit() and len(value) < 10 and int(value) in {staff.id for staff in staff_choices(agency)}:
        return int(value)
    errors["staff"] = _("Choose a staff member from the list.")
    return None


# --- The entries ----------------------------------------------------------------------------------


def _where(query: AuditQuery) -> list[sa.ColumnElement[bool]]:
    zone = ZoneInfo(query.timezone)
    where = []
    if query.agency_id is not None:
        where.append(AuditEvent.agency_id == query.agency_id)
    if query.staff_id is not None:
        where.append(AuditEvent.actor_staff_id == query.staff_id)
    if query.action is not None:
        where.append(AuditEvent.action == query.action)
    if query.reference is not None:
        appointments = sa.select(Appointment.id).where(Appointment.reference == query.reference)
        where += [AuditEvent.object_type == "appointment", AuditEvent.object_id.in_(appointments)]
    if query.start is not None:
        where.append(AuditEvent.at >= dt.datetime.combine(query.start, dt.time(), zone))
    if query.end is not None:
        next_day = query.end + dt.timedelta(days=1)
        where.append(AuditEvent.at < dt.datetime.combine(next_day, dt.time(), zone))
    return where


def _select(query: AuditQuery) -> sa.Select:
    return (
        sa.select(  # columns, not entities: an export reads up to CSV_MAX_ROWS of them
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.action,
            AuditEvent.actor_staff_id,
            AuditEvent.ip,
            AuditEvent.detail,
            Staff.name,
            Staff.email,
            Appointment.reference,
            Agency.slug,
        )
        .outerjoin(Staff, Staff.id == AuditEvent.actor_staff_id)
        .outerjoin(
            Appointment,
            sa.and_(AuditEvent.object_type == "appointment", Appointment.id == AuditEvent.object_id),
        )
        .outerjoin(Agency, Agency.id == AuditEvent.agency_id)
        .where(*_where(query))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )


def find_entries(query: AuditQuery, page: int = 1, page_size: int = PAGE_SIZE) -> AuditPage:
    """One page of the entries `query` asks for, newest first (a page past the last: the last).
    Read-only."""
    total = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(*_where(query))) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    rows = db.session.execute(_select(query).limit(page_size).offset((page - 1) * page_size)).all()
    return AuditPage(entries=_entries(rows), page=page, pages=pages, total=total)


def export_rows(query: AuditQuery, actor: Staff) -> tuple[list[str], list[list[Any]]]:
    """The CSV export of `query`'s entries (at most CSV_MAX_ROWS, newest first): header and rows,
    times in the query's time zone. The export is itself audited (who took a copy of the log,
    with which filters): commits that record."""
    zone = ZoneInfo(query.timezone)
    header = [
        _("Date and time"),
        _("Event"),
        _("Event code"),
        _("Staff member"),
        _("Staff e-mail"),
        _("Appointment"),
        _("Agency"),
        _("Address"),
        _("Details"),
        _("Changes"),
    ]
    entries = _entries(db.session.execute(_select(query).limit(CSV_MAX_ROWS)).all())
    rows = [
        [
            entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            entry.event,
            entry.action,
            entry.actor,
            entry.actor_email,
            entry.reference,
            entry.agency,
            entry.ip,
            "; ".join(entry.details),
            "; ".join(f"{name}: {old} → {new}" for name, old, new in entry.changes),
        ]
        for entry in entries
    ]
    write_transaction()
    audit.record("audit.exported", actor=actor, agency_id=query.agency_id, rows=len(rows), **query.as_args())
    db.session.commit()
    return header, rows


def _entries(rows) -> list[AuditEntry]:
    documents = _document_names([row.detail for row in rows])
    return [
        AuditEntry(
            id=row.id,
            at=row.at,
            action=row.action,
            event=str(EVENT_NAMES.get(row.action, row.action)),
            actor=row.name or (_("Citizen or system") if row.actor_staff_id is None else ""),
            actor_email=row.email or "",
            reference=row.reference or "",
            agency=row.slug or "",
            ip=row.ip or "",
            details=_details(row.detail or {}, documents),
            changes=_changes((row.detail or {}).get("changes")),
        )
        for row in rows
    ]


def _document_names(details: list[Any]) -> dict[int, str]:
    """What each document named in `details` is: its requirement's label, or "result document"."""
    ids = sorted(
        {
            detail["document"]
            for detail in details
            if isinstance(detail, dict) and isinstance(detail.get("document"), int)
        }
    )
    query = (
        sa.select(Document.id, Document.source, DocumentRequirement.label_es, DocumentRequirement.label_en)
        .join(Appointment, Appointment.id == Document.appointment_id)
        .outerjoin(
            DocumentRequirement,
            sa.and_(
                DocumentRequirement.service_id == Appointment.service_id,
                DocumentRequirement.code == Document.requirement_code,
            ),
        )
    )
    english = str(get_locale() or "es") == "en"
    names = {}
    for start in range(0, len(ids), DOCUMENT_BATCH):  # an export names thousands: bounded IN lists
        batch = ids[start : start + DOCUMENT_BATCH]
        for document_id, source, label_es, label_en in db.session.execute(
            query.where(Document.id.in_(batch))
        ):
            if source == "clerk":
                names[document_id] = _("Result document")
            else:
                names[document_id] = (label_en if english else None) or label_es or _("Document")
    return names


def _details(detail: dict[str, Any], documents: dict[int, str]) -> list[str]:
    shown = []
    for key, value in detail.items():
        if key == "changes":
            continue
        if key == "document" and isinstance(value, int):
            shown.append(documents.get(value, _("Document %(number)s", number=value)))
        elif key == "page":
            shown.append(_("page %(number)s", number=value))
        elif key == "change" and value in EVENT_NAMES:  # what made the agency keep or cancel it
            shown.append(str(EVENT_NAMES[value]))
        elif key == "outcome":
            shown.append(str(OUTCOME_LABELS.get(value) or TURN_OUTCOME_LABELS.get(value) or value))
        elif key in DETAIL_NAMES:
            shown.append(f"{DETAIL_NAMES[key]}: {value}")
        elif key not in ("source", "requirement"):
            shown.append(f"{key}: {value}")
    return shown


def _changes(changes: Any) -> list[tuple[str, str, str]]:
    """The old and new value of each field an admin change names."""
    if not isinstance(changes, dict):
        return []
    return [
        (str(FIELD_NAMES.get(name, name)), _value(pair[0]), _value(pair[1]))
        for name, pair in changes.items()
        if isinstance(pair, list | tuple) and len(pair) == 2
    ]


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)
