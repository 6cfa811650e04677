"""Turn forms. Name and phone rules are the booking's own (app.citizens)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TelField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, ValidationError

from app.booking.forms import contact_check
from app.citizens import clean_name, parse_phone
from app.queue import OUTCOME_LABELS


def _printable(form, field):
    # Control characters (a NUL byte, say) have no place in a name or a note, and PostgreSQL
    # refuses NUL outright; line breaks in a text area are fine.
    if any(ord(c) < 32 and c not in "\n\r\t" or ord(c) == 127 for c in field.data or ""):
        raise ValidationError(_l("Remove the special characters from this field."))


class TakeTurnForm(FlaskForm):
    name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Enter your full name.")), _printable, contact_check(clean_name)],
    )
    phone = TelField(
        _l("Phone number we should call"),
        validators=[DataRequired(_l("Enter a phone number.")), contact_check(parse_phone)],
    )
    reason = TextAreaField(
        _l("What is your call about?"),
        validators=[
            DataRequired(_l("Tell us briefly what your call is about.")),
            _printable,
            Length(max=500, message=_l("Write at most 500 characters.")),
        ],
    )
    language = RadioField(
        _l("Language for messages"),
        choices=[SelectChoice("es", "Español"), SelectChoice("en", "English")],
        default="es",
        validate_choice=False,
        validators=[AnyOf(["es", "en"], message=_l("Choose a language."))],
    )


class CancelTurnForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, cancel my turn"), validators=[DataRequired(_l("Tick the box to cancel your turn."))]
    )


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token: move back, call next, check in."""


class OutcomeForm(FlaskForm):
    outcome = RadioField(
        _l("Outcome"),
        choices=[SelectChoice(k, v) for k, v in OUTCOME_LABELS.items()],
        validate_choice=False,
        validators=[AnyOf(list(OUTCOME_LABELS), message=_l("Choose the outcome of the call."))],
    )
    note = TextAreaField(
        _l("Note (optional)"),
        validators=[_printable, Length(max=500, message=_l("Write at most 500 characters."))],
    )
