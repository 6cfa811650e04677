"""Turn forms. Name and phone rules are the booking's own (app.citizens)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.citizens import clean_name, parse_phone
from app.forms import ProofOfWorkForm, contact_check, free_text, language_field, one_of, printable
from app.outcomes import TURN_OUTCOME_LABELS


class TakeTurnForm(ProofOfWorkForm):
    name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Enter your full name.")), printable, contact_check(clean_name)],
    )
    phone = TelField(
        _l("Phone number we should call"),
        validators=[DataRequired(_l("Enter a phone number.")), contact_check(parse_phone)],
    )
    reason = TextAreaField(
        _l("What is your call about?"),
        validators=[
            DataRequired(_l("Tell us briefly what your call is about.")),
            printable,
            Length(max=500, message=_l("Write at most 500 characters.")),
        ],
    )
    language = language_field()


class CancelTurnForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, cancel my turn"), validators=[DataRequired(_l("Tick the box to cancel your turn."))]
    )


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token: move back, call next, check in."""


class OutcomeForm(FlaskForm):
    outcome = one_of(_l("Outcome"), TURN_OUTCOME_LABELS, _l("Choose the outcome of the call."))
    note = free_text(_l("Note (optional)"), 500)
