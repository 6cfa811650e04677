"""What the blueprints share: safe redirects, staff sessions (sign-in, idle expiry), the staff
guard, agency scoping, `*_or_404` lookups, the edge check on URLs and the parsing of dates from
query strings and forms.

Blueprints never import each other; anything two of them need lives here (or in the domain).
Every lookup answers the same way for "does not exist", "expired" and "another agency's": 404,
so a URL never tells a stranger which references or tokens are real.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import wraps
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.routing import IntegerConverter

from app import accounts, appointments, queue, scheduling, spreadsheets, tokens, two_factor
from app.administration import may_administer
from app.citizens import has_control_characters
from app.extensions import db
from app.models import (
    Agency,
    Appointment,
    Closure,
    DocumentRequirement,
    Office,
    Service,
    Staff,
    StaffInvitation,
    Turn,
    utcnow,
)
from app.security import staff_may_act_for

# When the signed-in staff member's last request came (a UNIX time in the session).
STAFF_SEEN_KEY = "staff_seen"
REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9-]{1,20}")
MAX_NEXT_LENGTH = 2000

MANAGE_LINK_GONE = _l("This link is not valid or has expired. Check the latest email we sent you.")
JOIN_LINK_GONE = _l("This link is not valid. Check the latest email we sent you.")
NO_SUCH_SERVICE = _l("There is no service with that name.")
# The 404 text of a lookup, by (blueprint, URL variable): a link from an e-mail says so even when
# it is refused at the edge. Any other URL variable gets the plain "page not found".
NOT_FOUND_TEXT = {
    ("manage", "token"): MANAGE_LINK_GONE,
    ("api", "token"): MANAGE_LINK_GONE,
    ("call", "token"): JOIN_LINK_GONE,
    ("turns", "token"): _l("This turn link is not valid or has expired."),
    ("booking", "slug"): NO_SUCH_SERVICE,
    ("turns", "slug"): NO_SUCH_SERVICE,
    ("api", "slug"): NO_SUCH_SERVICE,
}


# --- Redirects and responses ----------------------------------------------------------------------


def safe_next(target: str | None, default: str = "/") -> str:
    """A path on this site to go back to, or `default`: never another site (an open redirect).

    Anything a browser or Werkzeug might drop or rewrite (control characters, spaces of any kind,
    backslashes) is refused before the check, so `/\t/evil.example` cannot become `//evil.example`.
    """
    if not target or len(target) > MAX_NEXT_LENGTH or not target.startswith("/"):
        return default
    if "\\" in target or any(character.isspace() or not character.isprintable() for character in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return default
    return target


def no_store(response):
    """Mark a personal response so that no browser or shared cache keeps it."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def csv_download(filename: str, header, rows) -> Response:
    """A CSV attachment (app.spreadsheets: BOM, formulas neutralised), never cached."""
    response = Response(spreadsheets.csv_text(header, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return no_store(response)


# --- The edge: control characters in URLs --------------------------------------------------------


class RefusedQuery(UnprocessableEntity):
    """422: query values the app will not read; `fields` names each one (app.errors shows them)."""

    def __init__(self, names: list[str]):
        super().__init__(_("Remove the special characters from the address and try again."))
        self.fields = {name: _("Remove the special characters from this field.") for name in names}


def refuse_control_characters() -> None:
    """before_request, for every route: no control character (a NUL byte, say) gets past the edge.

    PostgreSQL refuses NUL in a string, and no slug, token, reference, date or number holds one. In
    a URL variable it is a lookup of something that does not exist (404); in a query string, a value
    that cannot be read (422, naming the fields). Form fields are the forms' (`app.forms.printable`)
    and the parsers' (`app.citizens`) to refuse, each with its own message. A hostile `next` is
    no error of the visitor's: `safe_next` sends it home instead.
    """
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and has_control_characters(value):
            message = NOT_FOUND_TEXT.get((request.blueprint, name))
            abort(404, str(message) if message else None)
    refused = [
        "".join(c for c in name if not has_control_characters(c)) or "?"
        for name, value in request.args.items(multi=True)
        if has_control_characters(name) or (name != "next" and has_control_characters(value))
    ]
    if refused:
        raise RefusedQuery(refused)


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` in every URL: only numbers the database's integer ids can hold (PostgreSQL's
    `integer`), so a longer one is a 404 like any unknown id, never an overflow in the query."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


# --- Staff: role and agency -------------------------------------------------------------------------


def staff_required(role: str = "clerk"):
    """Route decorator: a logged-in, active staff member whose role is `role` or above."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def start_staff_session(staff: Staff) -> None:
    """Sign `staff` in on this browser: a fresh session (and with it a fresh CSRF token)."""
    session.clear()
    login_user(staff)
    session[STAFF_SEEN_KEY] = utcnow().timestamp()


def staff_of_session(session_id: str) -> Staff | None:
    """The user loader: the staff member of this login session, or None when the account has
    none (`accounts.staff_for_session`) or the session saw no request for STAFF_IDLE_MINUTES; an
    idle session ends there, and the sign-in page says why. Each request restarts the count."""
    now = utcnow().timestamp()
    seen = session.get(STAFF_SEEN_KEY)
    idle_minutes = current_app.config["STAFF_IDLE_MINUTES"]
    if not isinstance(seen, int | float) or now - seen > idle_minutes * 60:
        session.clear()
        flash(
            _(
                "You were signed out after %(minutes)s minutes of inactivity. Sign in again.",
                minutes=idle_minutes,
            ),
            "info",
        )
        return None
    staff = accounts.staff_for_session(session_id)
    if staff is not None and two_factor.missing(staff):
        # Signed in before its role required a second factor: it sets one up at the next sign-in.
        session.clear()
        flash(_("Your account now needs two-factor sign-in. Sign in again to set it up."), "info")
        return None
    if staff is not None:
        session[STAFF_SEEN_KEY] = now
    return staff


def own_agency_or_404(agency_id: int, message: str | None = None) -> None:
    """Another agency's object looks like no object at all to the signed-in staff member."""
    if not staff_may_act_for(current_user, agency_id):
        abort(404, message)


def administered_agency_or_404(agency_id: int) -> Agency:
    """The agency, if the signed-in staff member administers it; another agency's is no agency."""
    agency = db.session.get(Agency, agency_id)
    message = _("There is no such agency.")
    if agency is None or not may_administer(current_user, agency.id):
        abort(404, message)
    return agency


def administered_office_or_404(office_id: int) -> Office:
    """The office, if the signed-in staff member administers its agency."""
    office = db.session.get(Office, office_id)
    message = _("There is no such office.")
    if office is None or not may_administer(current_user, office.agency_id):
        abort(404, message)
    return office


def administered_staff_or_404(staff_id: int) -> Staff:
    """A staff account of an agency the signed-in member administers (a superadmin without an
    agency is nobody's to administer here)."""
    staff = db.session.get(Staff, staff_id)
    if staff is None or staff.agency_id is None or not may_administer(current_user, staff.agency_id):
        abort(404, _("There is no such staff member."))
    return staff


def administered_invitation_or_404(invitation_id: int) -> StaffInvitation:
    """A staff invitation of an agency the signed-in member administers."""
    invitation = db.session.get(StaffInvitation, invitation_id)
    if invitation is None or not may_administer(current_user, invitation.agency_id):
        abort(404, _("There is no such invitation."))
    return invitation


def administered_closure_or_404(closure_id: int) -> Closure:
    """The closure, if the signed-in staff member administers its agency."""
    closure = db.session.get(Closure, closure_id)
    if closure is None or not may_administer(current_user, closure.agency_id):
        abort(404, _("There is no such closure."))
    return closure


def administered_service_or_404(service_id: int) -> Service:
    """The service, if the signed-in staff member administers its agency."""
    service = db.session.get(Service, service_id)
    if service is None or not may_administer(current_user, service.agency_id):
        abort(404, _("There is no such service."))
    return service


def administered_requirement_or_404(requirement_id: int) -> DocumentRequirement:
    """The document requirement, if the signed-in staff member administers its service's agency."""
    requirement = db.session.get(DocumentRequirement, requirement_id)
    if requirement is None or not may_administer(current_user, requirement.service.agency_id):
        abort(404, _("There is no such document requirement."))
    return requirement


def staff_appointment_or_404(reference: str) -> Appointment:
    """The appointment with that public reference, if the signed-in staff member acts for its agency."""
    if not REFERENCE_PATTERN.fullmatch(reference or ""):
        abort(404)
    appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference.upper()))
    if appointment is None:
        abort(404)
    own_agency_or_404(appointment.service.agency_id)
    return appointment


def staff_appointment_by_id_or_404(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    message = _("There is no such appointment.")
    if appointment is None:
        abort(404, message)
    own_agency_or_404(appointment.service.agency_id, message)
    return appointment


def staff_turn_or_404(turn_id: int) -> Turn:
    turn = db.session.get(Turn, turn_id)
    message = _("There is no such turn.")
    if turn is None:
        abort(404, message)
    own_agency_or_404(turn.service.agency_id, message)
    return turn


def staff_queue_or_404(service_id: int, office_id: int) -> queue.QueueRef:
    line = queue.queue_for(service_id, office_id)
    message = _("There is no such queue.")
    if line is None:
        abort(404, message)
    own_agency_or_404(line.service.agency_id, message)
    return line


# --- Citizens: services and token links -------------------------------------------------------------


def bookable_service_or_404(slug: str) -> Service:
    service = appointments.bookable_service(slug)
    if service is None:
        abort(404, str(NO_SUCH_SERVICE))
    return service


def manage_appointment_or_404(token: str) -> Appointment:
    appointment = tokens.appointment_by_manage_token(token)
    if appointment is None:
        abort(404, str(MANAGE_LINK_GONE))
    return appointment


def join_appointment_or_404(token: str) -> Appointment:
    appointment = tokens.appointment_by_join_token(token)
    if appointment is None:
        abort(404, str(JOIN_LINK_GONE))
    return appointment


# --- Dates from query strings and forms ----------------------------------------------------------------
# Malformed, or outside scheduling.within_calendar (year 1, year 9999…): None, never an OverflowError.


def parse_month(value: str | None, default: dt.date) -> dt.date | None:
    """'2031-03' → 1 March 2031; missing → default; malformed or out of range → None."""
    if not value:
        return default
    try:
        month = dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        return None
    return month if scheduling.within_calendar(month) else None


def parse_day(value: str | None) -> dt.date | None:
    """'2031-03-04' → that day; malformed or out of range → None."""
    try:
        day = dt.date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if scheduling.within_calendar(day) else None


def parse_start(value: str | None) -> dt.datetime | None:
    """A slot's start in ISO 8601 with its UTC offset; naive, malformed or out of range → None."""
    if has_control_characters(value):
        return None  # fromisoformat() skips a NUL byte in some places
    try:
        start = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    if start.tzinfo is None or not scheduling.within_calendar(start):
        return None
    return start
