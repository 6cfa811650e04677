"""Form pieces the blueprints share: contact fields checked by `app.citizens`, plain text, one-of
choices, free text with a length limit, the language of messages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, ValidationError

from app import proof_of_work
from app.citizens import ContactError, has_control_characters
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
    if isinstance(field.data, str) and has_control_characters(field.data, allowed="\n\r\t"):
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


def one_of(label, labels: dict, message) -> RadioField:
    """Radio buttons, one per code → label; no answer, or anything else, is refused with `message`."""
    return RadioField(
        label,
        choices=[SelectChoice(code, text) for code, text in labels.items()],
        validate_choice=False,
        validators=[InputRequired(message), AnyOf(list(labels), message=message)],
    )


def free_text(label, max_chars: int, *validators) -> TextAreaField:
    """An optional text area of at most `max_chars` characters, without control characters."""
    too_long = Length(max=max_chars, message=_l("Write at most %(max)d characters."))
    return TextAreaField(label, validators=[printable, *validators, too_long])


class ProofOfWorkForm(FlaskForm):
    """A form that, with PROOF_OF_WORK on, also needs a solved challenge: the ALTCHA widget's
    `altcha` field (templates/_proof_of_work.html). The solution is spent (a commit) only once
    every other field is valid: a form refused for a typo spends nothing."""

    altcha = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        try:
            proof_of_work.spend(self.altcha.data)
        except proof_of_work.ProofOfWorkRefused as refused:
            self.altcha.errors = [refused.message]
            return False
        return True
