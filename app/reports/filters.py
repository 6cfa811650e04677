"""What a report covers: an agency, a range of its local days, optionally one service and office."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.day_ranges import parse_day_range
from app.extensions import db
from app.models import Agency, Office, Service, utcnow

DEFAULT_DAYS = 30


class ReportInputError(Exception):
    """The form's values cannot make a report: {field: translated message}."""

    def __init__(self, fields: dict[str, object]):
        super().__init__("bad report filters")
        self.fields = fields


@dataclass(frozen=True)
class ReportFilters:
    agency: Agency
    first: dt.date  # agency-local days, both included
    last: dt.date
    service_id: int | None = None
    office_id: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.agency.timezone)

    @property
    def start(self) -> dt.datetime:
        """The first instant of the range, in UTC."""
        return dt.datetime.combine(self.first, dt.time.min, self.zone).astimezone(dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the range, in UTC."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time.min, self.zone).astimezone(
            dt.UTC
        )

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def query_args(self) -> dict[str, str]:
        """The filters as the form's query string (for the export links)."""
        args = {"start": self.first.isoformat(), "end": self.last.isoformat()}
        if self.service_id:
            args["service"] = str(self.service_id)
        if self.office_id:
            args["office"] = str(self.office_id)
        return args


def report_choices(agency: Agency) -> tuple[list[Service], list[Office]]:
    """The agency's services and offices the form offers, by name. Read-only."""
    services = db.session.scalars(
        sa.select(Service).where(Service.agency_id == agency.id).order_by(Service.name_es, Service.id)
    )
    offices = db.session.scalars(
        sa.select(Office).where(Office.agency_id == agency.id).order_by(Office.name_es, Office.id)
    )
    return list(services), list(offices)


def parse_filters(
    agency: Agency,
    args: Mapping[str, str],
    now: dt.datetime | None = None,
    choices: tuple[list[Service], list[Office]] | None = None,
) -> ReportFilters:
    """The filters from the query string (default: the last 30 local days, every service and office
    of `choices`, by default `report_choices(agency)`); raises ReportInputError naming each field
    that cannot be read. Read-only."""
    today = (now or utcnow()).astimezone(ZoneInfo(agency.timezone)).date()
    errors: dict[str, object] = {}
    first, last = parse_day_range(
        args.get("start"),
        args.get("end"),
        errors,
        default_first=today - dt.timedelta(days=DEFAULT_DAYS - 1),
        default_last=today,
    )
    services, offices = choices or report_choices(agency)
    service_id = _choice(args.get("service"), {s.id for s in services}, "service", errors)
    office_id = _choice(args.get("office"), {o.id for o in offices}, "office", errors)
    if errors:
        raise ReportInputError(errors)
    return ReportFilters(agency, first, last, service_id, office_id)


def _choice(value: str | None, allowed: set[int], field: str, errors: dict) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) not in allowed:
        errors[field] = _l("Choose one of the agency's own.")
        return None
    return int(value)
