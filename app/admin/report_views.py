"""The reports pages: an agency's figures for a date range, with charts, tables and CSV exports
(issue 12). Admins see their own agency; the superadmin chooses one. The figures are
app.reports'; a view only reads the filters, asks for the report and renders it."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from app import reports
from app.admin import bp
from app.administration import administered_agencies
from app.web import administered_agency_or_404, csv_download, staff_required


@bp.get("/reports")
@staff_required("admin")
def reports_index():
    """The agency chooser; an admin of one agency goes straight to its reports."""
    agencies = administered_agencies(current_user)
    if len(agencies) == 1 and current_user.role != "superadmin":
        return redirect(url_for("admin.agency_reports", agency_id=agencies[0].id))
    return render_template("admin/reports_index.html", agencies=agencies)


@bp.get("/agencies/<int:agency_id>/reports")
@staff_required("admin")
def agency_reports(agency_id: int):
    """`?start=YYYY-MM-DD&end=YYYY-MM-DD&service=&office=`; the last 30 days by default."""
    agency = administered_agency_or_404(agency_id)
    services, offices = reports.report_choices(agency)
    page = dict(agency=agency, services=services, offices=offices, args=request.args, errors={})
    try:
        filters = reports.parse_filters(agency, request.args, choices=(services, offices))
    except reports.ReportInputError as error:
        return render_template("admin/reports.html", report=None, **(page | {"errors": error.fields})), 422
    return render_template("admin/reports.html", report=reports.build_report(filters), **page)


@bp.get("/agencies/<int:agency_id>/reports/<table>.csv")
@staff_required("admin")
def report_csv(agency_id: int, table: str):
    agency = administered_agency_or_404(agency_id)
    if table not in reports.TABLES:
        abort(404)
    try:
        filters = reports.parse_filters(agency, request.args)
    except reports.ReportInputError as error:
        abort(422, " ".join(str(message) for message in error.fields.values()))
    data = reports.report_table(table, filters)
    filename = f"{agency.slug}-{table}-{filters.first.isoformat()}-{filters.last.isoformat()}.csv"
    return csv_download(filename, [str(name) for name in data.header], _cells(data.rows))


def _cells(rows):
    """Labels (lazy translations) as text in the current language; numbers stay numbers."""
    return [
        [value if isinstance(value, int | float) or value is None else str(value) for value in row]
        for row in rows
    ]
