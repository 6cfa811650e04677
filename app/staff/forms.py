"""The staff forms: sign-in and its second step, two-factor settings, password change and reset,
and the outcome of an appointment."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from app.forms import free_text, one_of, printable
from app.outcomes import MAX_OUTCOME_MESSAGE, OUTCOME_LABELS

ENTER_BOTH = _l("Enter your email and password.")
ENTER_EMAIL = _l("Enter your email.")


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(ENTER_BOTH), printable, Length(max=254, message=ENTER_BOTH)],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(_l("Enter the code.")),
            printable,
            Length(max=40, message=_l("That code is too long.")),
        ],
    )


class ProofForm(FlaskForm):
    """The current password or a code, before a change to two-factor sign-in."""

    proof = PasswordField(
        _l("Your current password, or a code from your authenticator"),
        validators=[DataRequired(_l("Enter your current password or a code.")), Length(max=1024)],
    )


class OutcomeForm(FlaskForm):
    outcome = one_of(_l("Outcome"), OUTCOME_LABELS, _l("Choose the outcome of the appointment."))
    message = free_text(_l("Message to the citizen"), MAX_OUTCOME_MESSAGE)

    def validate_message(self, field):
        field.data = (field.data or "").strip()
        if self.outcome.data == "documents_missing" and not field.data:
            raise ValidationError(_("Tell the citizen which documents are missing."))


def _new_password_fields():
    new = PasswordField(
        _l("New password"), validators=[InputRequired(_l("Enter the new password.")), Length(max=1024)]
    )
    confirm = PasswordField(
        _l("The new password again"),
        validators=[
            InputRequired(_l("Enter the new password again.")),
            EqualTo("new_password", _l("The two new passwords do not match.")),
        ],
    )
    return new, confirm


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=1024)],
    )
    new_password, confirm_password = _new_password_fields()


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(ENTER_EMAIL), printable, Length(max=254, message=ENTER_EMAIL)],
    )


class ResetPasswordForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=200)])
    new_password, confirm_password = _new_password_fields()


class AcceptInvitationForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=200)])
    name = StringField(
        _l("Your full name"),
        validators=[
            DataRequired(_l("Enter your full name.")),
            printable,
            Length(min=2, max=120, message=_l("Enter your full name (2 to 120 characters).")),
        ],
        filters=[lambda value: " ".join(value.split()) if isinstance(value, str) else value],
    )
    new_password, confirm_password = _new_password_fields()
