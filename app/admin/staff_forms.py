"""The forms of the staff administration pages and of a new agency: each field's shape; the rules
that need the database (an address already used, the last admin, a taken slug) are
app.staff_admin's."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Regexp

from app.admin.forms import WRITE_AT_MOST, VersionedForm, name_field
from app.administration import TIME_ZONES
from app.citizens import parse_email
from app.forms import contact_check, language_field, printable
from app.staff_admin import SLUG_PATTERN

ROLE_LABELS = {"clerk": _l("Clerk"), "admin": _l("Admin"), "superadmin": _l("Superadmin")}
CHOOSE_ROLE = _l("Choose a role from the list.")


def email_field(label) -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            Length(max=254, message=WRITE_AT_MOST),
            contact_check(parse_email),
        ],
    )


def role_field(roles) -> SelectField:
    return SelectField(
        _l("Role"),
        choices=[SelectChoice(role, ROLE_LABELS[role]) for role in roles],
        validate_choice=False,
        validators=[DataRequired(CHOOSE_ROLE), AnyOf(list(ROLE_LABELS), message=CHOOSE_ROLE)],
    )


class InviteForm(VersionedForm):
    email = email_field(_l("E-mail"))
    name = name_field(_l("Full name"), _l("Enter the person's name."))
    role = role_field(ROLE_LABELS)
    language = language_field()

    def invitation(self) -> dict:
        return self.values(("email", "name", "role", "language"))


class RoleForm(VersionedForm):
    role = role_field(ROLE_LABELS)


class ActiveForm(VersionedForm):
    """Deactivate (active=0) or reactivate (active=1) an account; anything else is refused."""

    active = HiddenField(validators=[AnyOf(["0", "1"], message=_l("Choose what to do with the account."))])


class InvitationForm(VersionedForm):
    """Re-send or revoke an invitation: only the version it was shown with."""

    version = HiddenField(validators=[DataRequired(_l("Reload the page and try again."))])


class NewAgencyForm(VersionedForm):
    slug = StringField(
        _l("Short name for addresses"),
        validators=[
            DataRequired(_l("Enter a short name.")),
            printable,
            Regexp(
                SLUG_PATTERN.pattern + "$",
                message=_l("Use 1 to 40 lower-case letters, digits and hyphens, not at either end."),
            ),
        ],
    )
    name_es = name_field(_l("Name in Spanish"), _l("Enter the agency's name in Spanish."))
    name_en = name_field(_l("Name in English"), _l("Enter the agency's name in English."))
    timezone = SelectField(
        _l("Time zone"),
        choices=[SelectChoice(zone, zone) for zone in sorted(TIME_ZONES)],
        validate_choice=False,
        default="America/Puerto_Rico",
        validators=[DataRequired(_l("Choose a time zone from the list."))],
    )
    admin_email = email_field(_l("E-mail of the agency's first admin"))
    language = language_field()

    def agency(self) -> dict:
        return self.values(("slug", "name_es", "name_en", "timezone", "admin_email", "language"))
