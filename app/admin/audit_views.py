"""The audit log pages: an agency's for its admins (and the superadmin), every agency's and the
site's own for the superadmin; each with its CSV export. Only reading: no route edits or deletes
an entry (the database refuses it too, migration 0013)."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user

from app import audit_log
from app.admin import bp
from app.models import Agency
from app.web import administered_agency_or_404, csv_download, staff_required


def _query(agency: Agency | None) -> tuple[audit_log.AuditQuery | None, dict[str, str]]:
    """The filters of the query string, or None and the message of each one refused."""
    try:
        return audit_log.parse_query(request.args, agency, current_app.config["DEFAULT_TIMEZONE"]), {}
    except audit_log.AuditQueryError as error:
        return None, error.fields


def _page(agency: Agency | None, page_endpoint: str):
    query, errors = _query(agency)
    page_number = request.args.get("page", "1")
    entries = None
    if query is not None:
        number = int(page_number) if page_number.isdigit() and len(page_number) < 7 else 1
        entries = audit_log.find_entries(query, number)
    return render_template(
        "admin/audit.html",
        agency=agency,
        query=query,
        errors=errors,
        values=request.args,
        entries=entries,
        staff_choices=audit_log.staff_choices(agency),
        event_names=audit_log.EVENT_NAMES,
        page_endpoint=page_endpoint,
        export_endpoint=f"{page_endpoint}_csv",
        timezone=query.timezone if query else None,
    ), 422 if errors else 200


def _export(agency: Agency | None, filename: str, page_endpoint: str):
    query, _errors = _query(agency)
    if query is None:  # the page, with the message on the refused filter
        return _page(agency, page_endpoint)
    header, rows = audit_log.export_rows(query, current_user)
    return csv_download(filename, header, rows)


@bp.get("/agencies/<int:agency_id>/audit")
@staff_required("admin")
def agency_audit(agency_id: int):
    agency = administered_agency_or_404(agency_id)
    return _page(agency, "admin.agency_audit")


@bp.get("/agencies/<int:agency_id>/audit.csv")
@staff_required("admin")
def agency_audit_csv(agency_id: int):
    agency = administered_agency_or_404(agency_id)
    return _export(agency, f"audit-{agency.slug}.csv", "admin.agency_audit")


@bp.get("/audit")
@staff_required("superadmin")
def site_audit():
    return _page(None, "admin.site_audit")


@bp.get("/audit.csv")
@staff_required("superadmin")
def site_audit_csv():
    return _export(None, "audit.csv", "admin.site_audit")
