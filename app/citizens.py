"""Citizen contact details, checked the same way by the booking pages, the API and turns."""

from __future__ import annotations

import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _


class ContactError(ValueError):
    """A contact detail we cannot use; the message is translated and says what to fix."""


def has_control_characters(text: str | None, allowed: str = "") -> bool:
    """Whether `text` holds a control character (NUL, escape, DEL, C1…) other than those `allowed`.

    PostgreSQL refuses a NUL byte in a string, and no name, e-mail, slug or token holds one: such
    text is refused where it comes in (app.web for URLs, the forms and these parsers for fields).
    """
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text or "")


def _refuse_control_characters(text: str | None) -> None:
    if has_control_characters(text, allowed="\t\n\r"):
        raise ContactError(_("Remove the special characters from this field."))


def parse_phone(text: str, region: str | None = None) -> str:
    """The phone number in E.164 form (+17875550100); local numbers default to Puerto Rico."""
    region = region or current_app.config["DEFAULT_PHONE_REGION"]
    _refuse_control_characters(text)
    text = (text or "").strip()
    try:
        number = phonenumbers.parse(text, region) if len(text) <= 40 else None
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ContactError(_("Enter a valid phone number, for example 787-555-0100."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """A stored phone number as people write it: (787) 555-0100, or international form abroad;
    "" for none (an anonymised citizen's)."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    region = current_app.config["DEFAULT_PHONE_REGION"]
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def parse_email(text: str) -> str:
    """The email address, normalized (lower case); no DNS look-up, so it works offline."""
    _refuse_control_characters(text)
    text = (text or "").strip()
    try:
        if len(text) > 254:
            raise EmailNotValidError("too long")
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ContactError(_("Enter a valid email address, for example nombre@ejemplo.com.")) from None
    return result.normalized.lower()


def clean_name(text: str) -> str:
    """The name with its runs of spaces made one; 2 to 120 characters, no control characters."""
    _refuse_control_characters(text)
    name = " ".join((text or "").split())
    if not 2 <= len(name) <= 120:
        raise ContactError(_("Enter your full name (2 to 120 characters)."))
    return name
