"""An agency's reports (issue 12): appointments and outcomes, video calls, same-day turns, the
survey, the busiest hours of the week and demand against the seats offered, for a date range.

Every figure comes from SQL aggregates (GROUP BY, percentiles in the database); nothing loads an
agency's rows into Python. `filters` reads the form, `measures` holds the dialect-specific SQL,
`sections` the queries, `tables` what the page, the charts and the CSV exports show.
"""

from app.reports.filters import ReportFilters, ReportInputError, parse_filters, report_choices
from app.reports.tables import TABLES, Report, build_report, report_table

__all__ = [
    "TABLES",
    "Report",
    "ReportFilters",
    "ReportInputError",
    "build_report",
    "parse_filters",
    "report_choices",
    "report_table",
]
