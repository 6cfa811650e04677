"""The staff forms: sign-in and the outcome of an appointment."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, ValidationError

from app.forms import free_text, one_of, printable
from app.outcomes import MAX_OUTCOME_MESSAGE, OUTCOME_LABELS

ENTER_BOTH = _l("Enter your email and password.")


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(ENTER_BOTH), printable, Length(max=254, message=ENTER_BOTH)],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class OutcomeForm(FlaskForm):
    outcome = one_of(_l("Outcome"), OUTCOME_LABELS, _l("Choose the outcome of the appointment."))
    message = free_text(_l("Message to the citizen"), MAX_OUTCOME_MESSAGE)

    def validate_message(self, field):
        field.data = (field.data or "").strip()
        if self.outcome.data == "documents_missing" and not field.data:
            raise ValidationError(_("Tell the citizen which documents are missing."))
