"""The administration forms: each field's shape (required, length, e-mail, phone); the rules that
need the database or the whole object are app.administration's."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, RadioField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, ValidationError

from app.administration import TIME_ZONES
from app.citizens import parse_email, parse_phone
from app.forms import contact_check, free_text, printable
from app.impact import CANCEL, KEEP, Decision, preview_key
from app.models import Turn

WRITE_AT_MOST = _l("Write at most %(max)d characters.")
OFFICE_KINDS = {"physical": _l("A physical office citizens visit"), "remote": _l("Remote (video or phone)")}


def name_field(label, message) -> StringField:
    return StringField(
        label, validators=[DataRequired(message), printable, Length(max=200, message=WRITE_AT_MOST)]
    )


def optional_text(label, max_chars: int) -> StringField:
    return StringField(
        label, validators=[Optional(), printable, Length(max=max_chars, message=WRITE_AT_MOST)]
    )


def whole_days(form, field):
    """Empty (the site's setting) or a whole number of days; app.retention checks the range."""
    text = str(field.data or "").strip()
    if text and not (text.isdigit() and len(text) < 7):
        raise ValidationError(_l("Enter a whole number of days, or leave it empty."))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class VersionedForm(FlaskForm):
    """A form editing a stored object: it carries the version it was filled in against."""

    version = HiddenField()

    class Meta:
        def bind_field(self, form, unbound_field, options):
            return unbound_field.bind(form=form, filters=[_strip], **options)

    def version_number(self) -> int:
        """The version the form was loaded with; anything unreadable matches no version."""
        value = str(self.version.data or "").strip()
        return int(value) if value.isdigit() and len(value) < 10 else -1

    def values(self, fields) -> dict:
        """The parsed values of `fields`, with empty optional text stored as "" (or None for contact)."""
        return {name: self[name].data for name in fields}


IMPACT_ACTIONS = {
    KEEP: _l("Keep them: the appointments stay valid, no new ones are offered"),
    CANCEL: _l("Cancel them and send each citizen the message below"),
}
MAX_PREVIEWED = 5000  # keys in the preview's hidden field; a longer list is refused as unreadable
PREVIEW_KEY = re.compile(r"t?[0-9]{1,9}")


class ImpactChoiceForm(VersionedForm):
    """A form whose change may touch booked appointments (app.impact): after the preview it also
    carries the ids it listed, and the admin's choice and message to the citizens."""

    impact_previewed = HiddenField()
    impact_action = RadioField(
        _l("What should happen to these appointments?"),
        choices=[SelectChoice(code, label) for code, label in IMPACT_ACTIONS.items()],
        validate_choice=False,
        validators=[
            Optional(),
            AnyOf(list(IMPACT_ACTIONS), message=_l("Choose what should happen to them.")),
        ],
    )
    impact_message_es = free_text(_l("Message to the citizens, in Spanish"), 500)
    impact_message_en = free_text(_l("Message to the citizens, in English"), 500)

    def validate_impact_action(self, field) -> None:
        if self.previewed_keys() and field.data not in IMPACT_ACTIONS:
            raise ValidationError(_l("Choose what should happen to them."))

    def validate_impact_message_es(self, field) -> None:
        self._message_needed(field)

    def validate_impact_message_en(self, field) -> None:
        self._message_needed(field)

    def _message_needed(self, field) -> None:
        if self.impact_action.data == CANCEL and self.previewed_keys() and not (field.data or "").strip():
            raise ValidationError(_l("Write the message the citizens will receive."))

    affected: list = []  # the booked appointments listed
    affected_turns: list = []  # today's turns in line listed

    def show_impact(self, affected: list) -> None:
        """Prepare the preview of `affected` (appointments and turns); a choice made about another
        list is asked again."""
        keys = [preview_key(item) for item in affected]
        if self.previewed_keys() != frozenset(keys):
            self.impact_action.data = None
        self.affected = [item for item in affected if not isinstance(item, Turn)]
        self.affected_turns = [item for item in affected if isinstance(item, Turn)]
        self.impact_previewed.data = ",".join(keys)

    def previewed_keys(self) -> frozenset[str]:
        """What the preview listed (app.impact.preview_key: appointment ids, "t" and turn ids);
        nothing readable → nothing."""
        parts = str(self.impact_previewed.data or "").split(",")
        if len(parts) > MAX_PREVIEWED or not all(PREVIEW_KEY.fullmatch(part) for part in parts):
            return frozenset()
        return frozenset(parts)

    def decision(self) -> Decision | None:
        """The admin's choice about the previewed appointments and turns; None before any preview."""
        previewed = self.previewed_keys()
        if not previewed or self.impact_action.data not in IMPACT_ACTIONS:
            return None
        return Decision(
            self.impact_action.data,
            previewed,
            (self.impact_message_es.data or "").strip(),
            (self.impact_message_en.data or "").strip(),
        )


class AgencySettingsForm(VersionedForm):
    name_es = name_field(_l("Name in Spanish"), _l("Enter the agency's name in Spanish."))
    name_en = name_field(_l("Name in English"), _l("Enter the agency's name in English."))
    timezone = SelectField(
        _l("Time zone"),
        choices=[SelectChoice(zone, zone) for zone in sorted(TIME_ZONES)],
        validate_choice=False,
        validators=[DataRequired(_l("Choose a time zone from the list."))],
    )
    observes_pr_holidays = BooleanField(_l("Puerto Rico's public holidays close the agency"))
    contact_email = EmailField(
        _l("Contact e-mail for citizens"),
        validators=[Optional(), Length(max=254, message=WRITE_AT_MOST), contact_check(parse_email)],
    )
    contact_phone = TelField(
        _l("Contact phone for citizens"), validators=[Optional(), contact_check(parse_phone)]
    )
    banner_es = optional_text(_l("Announcement in Spanish"), 300)
    banner_en = optional_text(_l("Announcement in English"), 300)
    document_retention_days = StringField(_l("Days documents are kept"), validators=[whole_days])
    personal_data_retention_days = StringField(_l("Days personal data is kept"), validators=[whole_days])
    publishes_open_data = BooleanField(_l("Publish open data"))

    def settings(self) -> dict:
        values = self.values(
            (
                "name_es",
                "name_en",
                "timezone",
                "observes_pr_holidays",
                "contact_email",
                "contact_phone",
                "publishes_open_data",
            )
        )
        values["contact_email"] = values["contact_email"] or None
        values["contact_phone"] = values["contact_phone"] or None
        values["banner_es"] = self.banner_es.data or ""
        values["banner_en"] = self.banner_en.data or ""
        for name in ("document_retention_days", "personal_data_retention_days"):
            values[name] = int(self[name].data) if self[name].data else None  # empty: the site's setting
        return values


class OfficeForm(ImpactChoiceForm):
    name_es = name_field(_l("Name in Spanish"), _l("Enter the office's name in Spanish."))
    name_en = name_field(_l("Name in English"), _l("Enter the office's name in English."))
    kind = RadioField(
        _l("Kind of office"),
        choices=[SelectChoice(code, label) for code, label in OFFICE_KINDS.items()],
        validate_choice=False,
        default="physical",
        validators=[
            InputRequired(_l("Choose the kind of office.")),
            AnyOf(list(OFFICE_KINDS), message=_l("Choose the kind of office.")),
        ],
    )
    address = optional_text(_l("Address"), 300)
    municipality = optional_text(_l("Municipality"), 80)
    active = BooleanField(_l("Active"), default=True)

    def office(self) -> dict:
        values = self.values(("name_es", "name_en", "active"))
        values["is_remote"] = self.kind.data == "remote"
        values["address"] = self.address.data or None
        values["municipality"] = self.municipality.data or None
        return values
