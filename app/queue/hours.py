"""When a phone-turn service gives turns: the office's opening intervals of a day (its hours,
holidays and closures, read the way bookings read them), the next opening, and how to say a moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date, format_time
from flask_babel import get_locale
from flask_babel import gettext as _

from app import scheduling
from app.i18n import regional_locale
from app.models import Office, Service

UTC = dt.UTC
NEXT_OPENING_SEARCH_DAYS = 14


@dataclass(frozen=True)
class Opening:
    """One opening interval of a day, in UTC."""

    opens: dt.datetime
    closes: dt.datetime

    def contains(self, moment: dt.datetime) -> bool:
        return self.opens <= moment < self.closes


def openings(
    service: Service, office: Office, first_day: dt.date, days: int = 1
) -> list[tuple[dt.date, str | None, list[Opening]]]:
    """(day, closed reason, opening intervals) for each day: the office's hours, holidays, closures.

    Read-only.
    """
    zone = scheduling.agency_zone(service)
    last_day = first_day + dt.timedelta(days=days - 1)
    # scheduling's own lookups, so turns and bookings read hours and closures the same way.
    hours = scheduling.hours_by_office([office.id])[office.id]
    closures = scheduling.closures_by_office(service.agency_id, [office.id], first_day, last_day)[office.id]
    result = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        reason = scheduling.closed_reason(
            day, observes_holidays=service.agency.observes_pr_holidays, closures=closures
        )
        intervals = (
            []
            if reason
            else [
                Opening(_at(day, opens, zone), _at(day, closes, zone))
                for opens, closes in sorted(hours.get(day.weekday(), []))
            ]
        )
        result.append((day, reason, intervals))
    return result


def next_opening(service: Service, office: Office, after: dt.datetime) -> dt.datetime | None:
    """The first moment, at or after `after`, that the office opens (within two weeks). Read-only."""
    first = after.astimezone(scheduling.agency_zone(service)).date()
    for _day, _reason, intervals in openings(service, office, first, NEXT_OPENING_SEARCH_DAYS):
        for interval in intervals:
            if interval.opens >= after:
                return interval.opens
    return None


def _at(day: dt.date, time: dt.time, zone) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(UTC)


def describe_moment(moment: dt.datetime, service: Service, now: dt.datetime) -> str:
    """ "today at 8:00 a. m.", "tomorrow at …" or "Monday, March 10, 2031 at …", in the page's language.

    Read-only.
    """
    zone = scheduling.agency_zone(service)
    locale = regional_locale(str(get_locale() or "es"))
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    time = format_time(local, "short", locale=locale)
    if local.date() == today:
        return _("today at %(time)s", time=time)
    if local.date() == today + dt.timedelta(days=1):
        return _("tomorrow at %(time)s", time=time)
    return _("%(date)s at %(time)s", date=format_date(local, "full", locale=locale), time=time)
