"""Booking forms. Field rules shared with the API live in app.citizens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, StringField, TelField
from wtforms.validators import DataRequired, Length, Optional

from app.citizens import clean_name, parse_email, parse_phone
from app.forms import ProofOfWorkForm, contact_check, language_field, printable


class DetailsForm(FlaskForm):
    name = StringField(
        _l("Full name"), validators=[DataRequired(_l("Enter your full name.")), contact_check(clean_name)]
    )
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter your email address.")), contact_check(parse_email)]
    )
    phone = TelField(
        _l("Phone"), validators=[DataRequired(_l("Enter a phone number.")), contact_check(parse_phone)]
    )
    licence_number = StringField(
        _l("Driver's licence number"), validators=[Optional(), printable, Length(max=30)]
    )
    language = language_field()


def details_form_for(service, *, formdata=None):
    """The details form for `service`: one upload field per document requirement."""

    class ServiceDetailsForm(DetailsForm):
        pass

    for requirement in service.requirements:
        setattr(ServiceDetailsForm, f"doc_{requirement.code}", FileField(requirement.localized("label")))
    if service.asks_licence_number:
        ServiceDetailsForm.licence_number = StringField(
            _l("Driver's licence number"),
            validators=[DataRequired(_l("Enter your driver's licence number.")), printable, Length(max=30)],
        )
    return ServiceDetailsForm() if formdata is None else ServiceDetailsForm(formdata=formdata)


class ConfirmForm(ProofOfWorkForm):
    accept = BooleanField(
        _l("The information is correct and I agree that the agency uses it to serve me."),
        validators=[DataRequired(_l("Please confirm to book."))],
    )
