"""The forms of the service pages: a service's settings and offices, a document requirement, and
the small forms that remove or move one. Each field's shape is checked here; the rules that need
the database or the whole service (ranges, the turn prefix, the offices) are app.service_admin's."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, ValidationError

from app.admin.forms import ImpactChoiceForm, VersionedForm, name_field, optional_text
from app.forms import free_text, one_of
from app.templating import MODE_LABELS

WHOLE_NUMBER = re.compile(r"[0-9]{1,7}", re.ASCII)


def whole_number(label, *, optional: bool = False) -> StringField:
    """A field for a whole number (its range is the domain's rule); a minus sign, a decimal point
    or a word is refused here with the same message."""

    def check(form, field):
        if not WHOLE_NUMBER.fullmatch(field.data or ""):
            raise ValidationError(_l("Enter a whole number, without signs or decimals."))

    required = Optional() if optional else InputRequired(_l("Enter a whole number."))
    return StringField(label, validators=[required, check])


def number(field) -> int | None:
    return int(field.data) if field.data else None


def _office_id(value) -> int:
    """An office id from the form; anything unreadable is -1, which no office has."""
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 10 else -1


class ServiceForm(ImpactChoiceForm):
    name_es = name_field(_l("Name in Spanish"), _l("Enter the service's name in Spanish."))
    name_en = name_field(_l("Name in English"), _l("Enter the service's name in English."))
    description_es = free_text(_l("Description in Spanish"), 2000)
    description_en = free_text(_l("Description in English"), 2000)
    mode = one_of(_l("How the service is given"), MODE_LABELS, _l("Choose how the service is given."))
    slot_minutes = whole_number(_l("Length of an appointment, in minutes"))
    capacity_per_slot = whole_number(_l("Citizens served at the same time (seats per appointment time)"))
    lead_time_minutes = whole_number(_l("Book at least this many minutes ahead"))
    horizon_days = whole_number(_l("Book at most this many days ahead"))
    turn_prefix = optional_text(_l("Turn prefix"), 3)
    daily_capacity = whole_number(_l("Turns a day"), optional=True)
    office_ids = SelectMultipleField(_l("Offices that offer it"), coerce=_office_id, validate_choice=False)
    asks_licence_number = BooleanField(_l("Ask for the driver's licence number"))
    active = BooleanField(_l("Active"), default=True)

    def service(self) -> dict:
        values = self.values(("name_es", "name_en", "mode", "asks_licence_number", "active"))
        values["description_es"] = self.description_es.data or ""
        values["description_en"] = self.description_en.data or ""
        for field in (
            "slot_minutes",
            "capacity_per_slot",
            "lead_time_minutes",
            "horizon_days",
            "daily_capacity",
        ):
            values[field] = number(self[field])
        values["turn_prefix"] = self.turn_prefix.data or None
        values["office_ids"] = sorted(set(self.office_ids.data or []))
        return values

    def offer_offices(self, offices) -> None:
        """The agency's offices as the checkboxes (the domain refuses any other id)."""
        self.office_ids.choices = [SelectChoice(office.id, office.localized("name")) for office in offices]


class RequirementForm(VersionedForm):
    """A document requirement; `version` is the service's. The code is asked only when adding."""

    code = StringField(_l("Code"))
    label_es = name_field(_l("Label in Spanish"), _l("Enter what the document is, in Spanish."))
    label_en = name_field(_l("Label in English"), _l("Enter what the document is, in English."))
    required = BooleanField(_l("Required to book"), default=True)
    max_pages = whole_number(_l("Most pages accepted"))

    def requirement(self) -> dict:
        values = self.values(("label_es", "label_en", "required"))
        values["max_pages"] = number(self.max_pages)
        values["code"] = (self.code.data or "").strip()
        return values


class RequirementMoveForm(VersionedForm):
    """Remove a requirement, or move it one place (`direction`: up or down); `version`: the service's."""

    direction = HiddenField()

    def step(self) -> int:
        return {"up": -1, "down": 1}.get(self.direction.data or "", 0)
