"""The manage page's forms: cancel (with a confirmation box), confirm a new time, replace a document."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired


class CancelForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, cancel this appointment"), validators=[DataRequired(_l("Tick the box to cancel."))]
    )


class ReplaceDocumentForm(FlaskForm):
    document = FileField(_l("New file"))


class RescheduleConfirmForm(FlaskForm):
    start = HiddenField()
