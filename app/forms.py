"""Form pieces the blueprints share: contact fields checked by `app.citizens`, plain text, language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, ValidationError

from app.citizens import ContactError
from config import LANGUAGE_NAMES, LANGUAGES


def contact_check(parse):
    """A WTForms validator from an app.citizens parser: the field keeps the normalized value."""

    def check(form, field):
        try:
            field.data = parse(field.data)
        except ContactError as error:
            raise ValidationError(str(error)) from None

    return check


def printable(form, field):
    """No control characters (a NUL byte, say) in a name or a note; line breaks in a text area are fine."""
    if any(ord(c) < 32 and c not in "\n\r\t" or ord(c) == 127 for c in field.data or ""):
        raise ValidationError(_l("Remove the special characters from this field."))


def language_field() -> RadioField:
    """The language the citizen's messages are written in, one choice per language served."""
    return RadioField(
        _l("Language for messages"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
        default=LANGUAGES[0],
        validate_choice=False,
        validators=[AnyOf(LANGUAGES, message=_l("Choose a language."))],
    )
