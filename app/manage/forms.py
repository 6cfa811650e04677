"""The manage page's forms: cancel (with a confirmation box), confirm a new time, replace a
document, and "find my appointment"."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, HiddenField, StringField
from wtforms.validators import DataRequired, Length

from app.citizens import parse_email
from app.forms import contact_check, printable


class CancelForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, cancel this appointment"), validators=[DataRequired(_l("Tick the box to cancel."))]
    )


class ReplaceDocumentForm(FlaskForm):
    document = FileField(_l("New file"))


class RescheduleConfirmForm(FlaskForm):
    start = HiddenField()


class FindAppointmentForm(FlaskForm):
    reference = StringField(
        _l("Appointment reference"),
        description=_l("It is in your confirmation, for example DTOP-4K7P2Q."),
        validators=[
            DataRequired(_l("Enter the reference of your appointment.")),
            printable,
            Length(max=20, message=_l("A reference has at most 20 characters.")),
        ],
    )
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter your email address.")), contact_check(parse_email)]
    )
