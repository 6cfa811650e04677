"""The staff forms: sign-in and the outcome of an appointment."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from app.outcomes import MAX_OUTCOME_MESSAGE, OUTCOME_LABELS


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class OutcomeForm(FlaskForm):
    outcome = RadioField(
        _l("Outcome"),
        choices=[SelectChoice(code, label) for code, label in OUTCOME_LABELS.items()],
        validate_choice=False,
        validators=[InputRequired(_l("Choose the outcome of the appointment."))],
    )
    message = TextAreaField(
        _l("Message to the citizen"),
        validators=[Length(max=MAX_OUTCOME_MESSAGE, message=_l("Write at most %(max)d characters."))],
    )

    def validate_outcome(self, field):
        if field.data not in OUTCOME_LABELS:
            raise ValidationError(_("Choose the outcome of the appointment."))

    def validate_message(self, field):
        field.data = (field.data or "").strip()
        if self.outcome.data == "documents_missing" and not field.data:
            raise ValidationError(_("Tell the citizen which documents are missing."))
