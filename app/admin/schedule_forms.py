"""The forms of an office's opening hours and of the agency's closures: each field's shape (a time
of day, a date, the text of a reason); the rules about whole weeks and ranges of days are
app.opening_hours' and app.closures'."""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from wtforms import FieldList, Form, FormField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional, ValidationError

from app import scheduling
from app.admin.forms import ImpactChoiceForm, name_field
from app.opening_hours import WEEKDAYS, Interval, Week

ROWS_SHOWN = 2  # interval rows a day shows at least; a day with hours shows one blank row more
MAX_ROWS = 6  # rows a day reads from a post; more are ignored
TIME_OF_DAY = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::00)?")
WHOLE_AGENCY = "all"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def parse_time(text: str | None) -> dt.time | None:
    """'8:30', '08:30' or '08:30:00' (what a time input sends) → 08:30; anything else → None."""
    match = TIME_OF_DAY.fullmatch(text or "")
    return dt.time(int(match[1]), int(match[2])) if match else None


def time_of_day(form, field) -> None:
    if parse_time(field.data) is None:
        raise ValidationError(_l("Enter a time as hours and minutes, like 08:30."))


class IntervalRow(Form):
    """One opening interval of a day; both times blank: no interval."""

    opens = StringField(_l("Opens"), filters=[_strip], validators=[Optional(), time_of_day])
    closes = StringField(_l("Closes"), filters=[_strip], validators=[Optional(), time_of_day])

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if bool(self.opens.data) != bool(self.closes.data):
            missing = self.closes if self.opens.data else self.opens
            missing.errors = [_l("Enter both times of the interval, or neither.")]
            return False
        return True

    def interval(self) -> Interval | None:
        opens, closes = parse_time(self.opens.data), parse_time(self.closes.data)
        return (opens, closes) if opens and closes else None


class DayHours(Form):
    intervals = FieldList(FormField(IntervalRow), min_entries=ROWS_SHOWN, max_entries=MAX_ROWS)


class OpeningHoursForm(ImpactChoiceForm):
    """The whole week of an office, Monday (day0) to Sunday (day6)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            if unbound_field.field_class is FormField:  # the days: their own fields strip their text
                return unbound_field.bind(form=form, **options)
            return unbound_field.bind(form=form, filters=[_strip], **options)

    day0 = FormField(DayHours)
    day1 = FormField(DayHours)
    day2 = FormField(DayHours)
    day3 = FormField(DayHours)
    day4 = FormField(DayHours)
    day5 = FormField(DayHours)
    day6 = FormField(DayHours)

    @classmethod
    def for_week(cls, week: dict[int, list[Interval]], version: int) -> OpeningHoursForm:
        """The form filled in with the stored hours, and one blank row a day to add an interval."""
        data = {
            f"day{weekday}": {
                "intervals": [
                    {"opens": f"{opens:%H:%M}", "closes": f"{closes:%H:%M}"} for opens, closes in intervals
                ]
                + [{}]
            }
            for weekday, intervals in week.items()
        }
        return cls(data={**data, "version": str(version)})

    def days(self) -> list:
        return [self[f"day{weekday}"] for weekday in WEEKDAYS]

    def week(self) -> Week:
        """The rows as entered, by weekday; a blank row is None."""
        return {
            weekday: [row.form.interval() for row in day.form.intervals]
            for weekday, day in enumerate(self.days())
        }

    def show_problems(self, problems: dict[tuple[int, int, str], str]) -> None:
        """Put app.opening_hours' messages on the fields they are about."""
        for (weekday, row, field), message in problems.items():
            self.days()[weekday].form.intervals[row].form[field].errors = [message]

    def error_items(self) -> list[tuple[str, str]]:
        """(field id, message) of every refused field, in page order: the error summary's links."""
        items = [
            (field.id, field.errors[0])
            for day in self.days()
            for row in day.form.intervals
            for field in (row.form.opens, row.form.closes)
            if field.errors
        ]
        if self.impact_action.errors:
            items.append((f"{self.impact_action.id}-0", self.impact_action.errors[0]))
        for field in (self.impact_message_es, self.impact_message_en):
            if field.errors:
                items.append((field.id, field.errors[0]))
        return items


def calendar_day(form, field) -> None:
    """A date as a date input sends it (2031-03-14), within scheduling's calendar."""
    try:
        day = dt.date.fromisoformat(field.data or "")
    except ValueError:
        day = None
    if day is None or not scheduling.within_calendar(day):
        raise ValidationError(_l("Enter a date like 2031-03-14."))


def where_closed(form, field) -> None:
    if field.data != WHOLE_AGENCY and not (field.data or "").isdigit():
        raise ValidationError(_l("Choose the whole agency or one of its offices."))


class ClosureForm(ImpactChoiceForm):
    office = SelectField(
        _l("Closed"),
        validate_choice=False,
        validators=[DataRequired(_l("Choose the whole agency or one of its offices.")), where_closed],
    )
    first_day = StringField(
        _l("First closed day"), validators=[DataRequired(_l("Enter the first closed day.")), calendar_day]
    )
    last_day = StringField(
        _l("Last closed day"), validators=[DataRequired(_l("Enter the last closed day.")), calendar_day]
    )
    reason_es = name_field(_l("Reason in Spanish"), _l("Enter the reason citizens will see, in Spanish."))
    reason_en = name_field(_l("Reason in English"), _l("Enter the reason citizens will see, in English."))

    def offer_offices(self, offices) -> None:
        self.office.choices = [SelectChoice(WHOLE_AGENCY, _l("The whole agency (every office)"))] + [
            SelectChoice(str(office.id), office.localized("name")) for office in offices
        ]

    def office_id(self) -> int | None:
        """None for the whole agency, else the id chosen (not yet checked to be the agency's; -1 when
        too long to be any office's). Read after the form validated."""
        value = str(self.office.data or "")
        if value == WHOLE_AGENCY:
            return None
        return int(value) if len(value) < 10 else -1

    def closure(self) -> dict:
        return {
            "first_day": dt.date.fromisoformat(self.first_day.data),
            "last_day": dt.date.fromisoformat(self.last_day.data),
            "reason_es": self.reason_es.data,
            "reason_en": self.reason_en.data,
        }
