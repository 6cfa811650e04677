"""Every staff and admin route, and every Socket.IO namespace, answered for each kind of visitor
(issue 11, item 1): anonymous, a clerk of the object's agency, its admin, another agency's admin
and the superadmin. The routes are read from the app's URL map and the namespaces from the
Socket.IO server, so a new route or namespace without a line in these tables fails the suite.

Answers: ALLOWED (the guard let the request through: whatever the page then says, never a login
redirect, 401, 403 or 404), LOGIN (a redirect to the sign-in page), FORBIDDEN (403), NOT_FOUND (404:
another agency's object looks like no object at all).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from app.extensions import db, socketio
from app.models import Agency, Closure, Document, DocumentRequirement, Staff
from app.staff_admin import invite_staff
from tests.support.admin import (
    DTOP_ADMIN,
    DTOP_CLERK,
    RETIRO_ADMIN,
    RETIRO_CLERK,
    add_superadmin,
    agency_id,
    office_id,
    sign_in,
)
from tests.support.booking import book_directly
from tests.support.signaling import make_appointment
from tests.support.turns import give_turn, retiro_line

ALLOWED, LOGIN, FORBIDDEN, NOT_FOUND = "allowed", "login", "403", "404"
ROLES = ("anonymous", "clerk", "admin", "other_admin", "superadmin")
STAFF_PREFIXES = ("/staff", "/admin")


def answers(anonymous, clerk, admin, other_admin, superadmin) -> dict[str, str]:
    return dict(zip(ROLES, (anonymous, clerk, admin, other_admin, superadmin), strict=True))


# A clerk's page about one object of the agency (an appointment, a queue, a turn).
CLERK_OBJECT = answers(LOGIN, ALLOWED, ALLOWED, NOT_FOUND, ALLOWED)
# A clerk's page listing their own agency's work: another agency's admin sees their own.
CLERK_LIST = answers(LOGIN, ALLOWED, ALLOWED, ALLOWED, ALLOWED)
# An administration page about one agency or one of its objects.
ADMIN_OBJECT = answers(LOGIN, FORBIDDEN, ALLOWED, NOT_FOUND, ALLOWED)
ADMIN_LIST = answers(LOGIN, FORBIDDEN, ALLOWED, ALLOWED, ALLOWED)
SUPERADMIN_ONLY = answers(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, ALLOWED)


@dataclasses.dataclass(frozen=True)
class Guarded:
    agency: str  # whose object the URL names: "clerk" and "admin" belong to it, "other_admin" not
    expected: dict[str, str]


GUARDED = {
    "staff.console": Guarded("dtop", CLERK_LIST),
    "staff.appointment_detail": Guarded("dtop", CLERK_OBJECT),
    "staff.admit": Guarded("dtop", CLERK_OBJECT),
    "staff.document_page": Guarded("dtop", CLERK_OBJECT),
    "staff.identity": Guarded("dtop", CLERK_OBJECT),
    "staff.outcome": Guarded("dtop", CLERK_OBJECT),
    "staff.results": Guarded("dtop", CLERK_OBJECT),
    "staff.call_screen": Guarded("dtop", CLERK_OBJECT),
    # A call screen keeps its staff session alive: any signed-in staff member; anonymous is a 401.
    "staff.keep_alive": Guarded("dtop", answers(FORBIDDEN, ALLOWED, ALLOWED, ALLOWED, ALLOWED)),
    "staff.agenda_page": Guarded("dtop", CLERK_LIST),
    "staff.search_page": Guarded("dtop", CLERK_LIST),
    "staff.running_late": Guarded("dtop", CLERK_OBJECT),
    "staff.assign": Guarded("dtop", CLERK_OBJECT),
    # Every staff member's own password (a POST without the current password is refused: 4xx).
    "staff.change_password_page": Guarded("dtop", CLERK_LIST),
    # Every staff member's own two-factor sign-in (a POST without a password or code: 4xx).
    "staff.two_factor_page": Guarded("dtop", CLERK_LIST),
    "staff.two_factor_disable": Guarded("dtop", CLERK_LIST),
    "staff.two_factor_recovery_codes": Guarded("dtop", CLERK_LIST),
    "turns_staff.index": Guarded("retiro", CLERK_LIST),
    "turns_staff.console": Guarded("retiro", CLERK_OBJECT),
    "turns_staff.call_next": Guarded("retiro", CLERK_OBJECT),
    "turns_staff.outcome": Guarded("retiro", CLERK_OBJECT),
    "turns_staff.check_in_search": Guarded("dtop", CLERK_LIST),
    "turns_staff.check_in": Guarded("dtop", CLERK_OBJECT),
    # Staff get TURN credentials with their login; citizens only with a join token (none here).
    "call.ice_servers": Guarded("dtop", answers(FORBIDDEN, ALLOWED, ALLOWED, ALLOWED, ALLOWED)),
    "admin.home": Guarded("dtop", ADMIN_LIST),
    "admin.agency_settings": Guarded("dtop", ADMIN_OBJECT),
    "admin.offices": Guarded("dtop", ADMIN_OBJECT),
    "admin.new_office": Guarded("dtop", ADMIN_OBJECT),
    "admin.edit_office": Guarded("dtop", ADMIN_OBJECT),
    "admin.staff_list": Guarded("dtop", ADMIN_OBJECT),
    "admin.invite": Guarded("dtop", ADMIN_OBJECT),
    "admin.staff_member": Guarded("dtop", ADMIN_OBJECT),
    "admin.staff_role": Guarded("dtop", ADMIN_OBJECT),
    "admin.staff_active": Guarded("dtop", ADMIN_OBJECT),
    "admin.invitation_action": Guarded("dtop", ADMIN_OBJECT),
    # Only a superadmin creates agencies.
    "admin.new_agency": Guarded("dtop", answers(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, ALLOWED)),
    "admin.office_hours": Guarded("dtop", ADMIN_OBJECT),
    "admin.office_calendar": Guarded("dtop", ADMIN_OBJECT),
    "admin.closures": Guarded("dtop", ADMIN_OBJECT),
    "admin.new_closure": Guarded("dtop", ADMIN_OBJECT),
    # An empty POST deletes nothing (the confirmation is missing), so every role meets the closure.
    "admin.delete_closure_page": Guarded("dtop", ADMIN_OBJECT),
    "admin.services": Guarded("dtop", ADMIN_OBJECT),
    "admin.new_service": Guarded("dtop", ADMIN_OBJECT),
    "admin.edit_service": Guarded("dtop", ADMIN_OBJECT),
    "admin.new_requirement": Guarded("dtop", ADMIN_OBJECT),
    "admin.edit_requirement": Guarded("dtop", ADMIN_OBJECT),
    # An empty POST (no version) removes or moves nothing: 409, so the next role finds it still there.
    "admin.remove_requirement_page": Guarded("dtop", ADMIN_OBJECT),
    "admin.move_requirement_page": Guarded("dtop", ADMIN_OBJECT),
    "admin.agency_audit": Guarded("dtop", ADMIN_OBJECT),
    "admin.agency_audit_csv": Guarded("dtop", ADMIN_OBJECT),
    # Every agency's log and the site's own (failed sign-ins of unknown e-mails, runs): superadmin only.
    "admin.site_audit": Guarded("dtop", SUPERADMIN_ONLY),
    "admin.site_audit_csv": Guarded("dtop", SUPERADMIN_ONLY),
    # Reports: the agency chooser (an admin of one agency is sent on to it), a report, its CSVs.
    "admin.reports_index": Guarded("dtop", ADMIN_LIST),
    "admin.agency_reports": Guarded("dtop", ADMIN_OBJECT),
    "admin.report_csv": Guarded("dtop", ADMIN_OBJECT),
}

# Under a staff prefix but not walked: the sign-in flow itself (with its second step and the
# set-up of an authenticator it may require) and the forgotten-password link (tests/test_auth.py,
# tests/test_account_security.py and tests/test_two_factor.py cover them), which every visitor
# must reach.
SIGN_IN = {
    "staff.login",
    "staff.login_code",
    "staff.two_factor_enrol",
    "staff.logout",
    "staff.forgot_password",
    "staff.reset_password_page",
    "staff.accept_invitation_page",  # the invitee's e-mailed link (tests/test_staff_admin.py)
}

# Open to everyone; what protects them is the unguessable token in their URL or nothing at all.
PUBLIC = {
    "static": "the site's assets",
    "main.home": "the list of services",
    "main.agency": "an agency's public page",
    "main.service": "a service's public page",
    "main.open_data_page": "an agency's open data (when it publishes them)",
    "main.open_data_csv": "an agency's open data (when it publishes them)",
    "main.set_language": "the language switch",
    "main.healthz": "the load balancer's health check",
    "main.readyz": "the load balancer's readiness check",
    "main.metrics_page": "Prometheus: allowed addresses or the bearer token only, a 404 for anyone else",
    "main.csp_report": "browsers' CSP reports",
    "booking.start": "booking",
    "booking.calendar": "booking",
    "booking.times": "booking",
    "booking.choose_alternative": "booking",
    "booking.details": "booking",
    "booking.review": "booking",
    "booking.confirmation": "booking (the draft in the citizen's session)",
    "manage.find": "finding one's appointment (sends the link by e-mail)",
    "manage.view": "manage token",
    "manage.follow_up": "manage token",
    "manage.cancel": "manage token",
    "manage.replace": "manage token",
    "manage.join": "manage token",
    "manage.reschedule_calendar": "manage token",
    "manage.reschedule_times": "manage token",
    "manage.reschedule_confirm": "manage token",
    "manage.reschedule_confirmed": "manage token",
    "manage.result_download": "manage token",
    "call.join": "join token",
    "call.phone_request": "join token",
    "call.device_check": "the camera check, no data",
    "survey.survey": "join token",
    "turns.take": "taking a turn",
    "turns.status": "status token",
    "turns.cancel": "status token",
    "turns.move_back": "status token",
    "api.agencies": "the public catalogue",
    "api.services": "the public catalogue",
    "api.availability": "the public catalogue",
    "api.openapi": "the API's description",
    "api.book": "booking",
    "api.proof_of_work_challenge": "booking: the proof-of-work challenge every booking form needs",
    "api.appointment": "manage token",
    "api.cancel": "manage token",
}


@pytest.fixture
def app(turns_app):
    """conftest's `turns_app`, since the walk takes a turn (its Spanish is still pending)."""
    return turns_app


def walked_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint in GUARDED]


def test_every_route_has_an_expected_answer(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unlisted = endpoints - set(GUARDED) - SIGN_IN - set(PUBLIC)
    assert unlisted == set(), "add each new route to GUARDED (or, if citizens use it, PUBLIC)"
    assert set(GUARDED) | SIGN_IN | set(PUBLIC) <= endpoints, "the tables name a route that is gone"


def test_no_route_under_a_staff_prefix_is_public(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(STAFF_PREFIXES):
            assert rule.endpoint in GUARDED or rule.endpoint in SIGN_IN, rule.rule


def sample_objects(app) -> dict[str, dict[str, int | str]]:
    """One object of each kind that a staff URL names, per agency."""
    booked = book_directly(app)
    with app.test_request_context():
        turn = give_turn()
        line = retiro_line()
        document = db.session.scalar(
            sa.select(Document).where(Document.appointment_id == booked.appointment.id)
        )
        document_id = document.id
        requirement = db.session.scalar(
            sa.select(DocumentRequirement).where(
                DocumentRequirement.service_id == booked.appointment.service_id
            )
        )
        queue_ids = {"service_id": line.service.id, "office_id": line.office.id}
        turn_id = turn.turn.id
    with app.test_request_context():
        dtop = db.session.get(Agency, agency_id(app, "dtop"))
        invitation, _token = invite_staff(
            dtop, {"email": "nuevo@example.com", "name": "Nuevo", "role": "clerk", "language": "es"}, None
        )
        staff_ids = {
            "staff_id": db.session.scalar(sa.select(Staff.id).where(Staff.email == DTOP_CLERK)),
            "invitation_id": invitation.id,
            "action": "revoke",
        }
    with app.app_context():
        closure = Closure(
            agency_id=agency_id(app, "dtop"), first_day=dt.date(2031, 12, 24), last_day=dt.date(2031, 12, 24)
        )
        db.session.add(closure)
        db.session.commit()
        closure_id = closure.id
    return {
        "dtop": {
            "reference": booked.appointment.reference,
            "document_id": document_id,
            "page": 1,
            "appointment_id": booked.appointment.id,
            "agency_id": agency_id(app, "dtop"),
            "office_id": office_id(app, "cesco-bayamon"),
            **staff_ids,
            "closure_id": closure_id,
            "service_id": booked.appointment.service_id,
            "requirement_id": requirement.id,
            "table": "outcomes",
        },
        "retiro": {"turn_id": turn_id, "agency_id": agency_id(app, "retiro"), **queue_ids},
    }


def signed_in_clients(app, seeded) -> dict[str, object]:
    superadmin = add_superadmin(app)
    clients = {"anonymous": app.test_client()}
    for email, password in [(e, seeded[e]) for e in (DTOP_CLERK, DTOP_ADMIN, RETIRO_CLERK, RETIRO_ADMIN)] + [
        superadmin
    ]:
        clients[email] = app.test_client()
        sign_in(clients[email], email, password)
    return clients


def identity(role: str, agency: str) -> str:
    """Which account plays `role` for an object of `agency`."""
    own = {"dtop": (DTOP_CLERK, DTOP_ADMIN, RETIRO_ADMIN), "retiro": (RETIRO_CLERK, RETIRO_ADMIN, DTOP_ADMIN)}
    clerk, admin, other_admin = own[agency]
    return {"clerk": clerk, "admin": admin, "other_admin": other_admin}.get(role, role)


def answer(response) -> str:
    if response.status_code == 302 and "/staff/login" in response.headers.get("Location", ""):
        return LOGIN
    if response.status_code in (401, 403):
        return FORBIDDEN
    if response.status_code == 404:
        return NOT_FOUND
    assert response.status_code < 500, response.status_code
    return ALLOWED


def test_every_staff_and_admin_route_answers_each_role_as_expected(app, seeded):
    objects = sample_objects(app)
    clients = signed_in_clients(app, seeded)
    clients["superadmin"] = clients.pop("super@ventanilla.pr")
    found, expected = {}, {}
    for rule in walked_rules(app):
        guarded = GUARDED[rule.endpoint]
        with app.test_request_context():
            values = {name: objects[guarded.agency][name] for name in rule.arguments}
            url = app.url_map.bind("localhost").build(rule.endpoint, values, force_external=False)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role in ROLES:
                client = clients[identity(role, guarded.agency)]
                key = f"{method} {url} as {role}"
                found[key] = answer(client.open(url, method=method, data={}))
                expected[key] = guarded.expected[role]
    assert {k: v for k, v in found.items() if v != expected[k]} == {}
    assert len(found) >= len(GUARDED) * len(ROLES)


def test_an_id_too_large_for_the_database_is_a_404_on_every_route_not_a_500(app, seeded):
    """<int:…> in a URL matches only ids the database can hold: a larger one would overflow the
    query (SQLite: OverflowError; PostgreSQL: integer out of range)."""
    objects = sample_objects(app)
    client = app.test_client()
    sign_in(client, *add_superadmin(app))
    found = {}
    for rule in app.url_map.iter_rules():
        numbers = [name for name, converter in rule._converters.items() if converter.regex == r"\d+"]
        if not numbers:
            continue
        values = {
            name: objects["dtop"].get(name) or objects["retiro"].get(name) or "no-such-token"
            for name in rule.arguments
        }
        values.update({name: 2**63 for name in numbers})
        url = app.url_map.bind("localhost").build(rule.endpoint, values, force_external=False)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found[f"{method} {url}"] = client.open(url, method=method, data={}).status_code
    assert found and {key: status for key, status in found.items() if status != 404} == {}


# --- Socket.IO namespaces ---------------------------------------------------------------------------


def socket_attempts(app, objects) -> dict[str, dict[str, object]]:
    """What each kind of connection presents, by namespace: (agency, auth payload)."""
    return {
        "/call": {
            # The console's live waiting room: any staff member of an agency, for their own agency.
            "console": ("dtop", {"console": True}),
            # A clerk joining a call: only the clerk who admitted the citizen.
            "call": ("dtop", {"appointment": objects["call_reference"]}),
            # A clerk's call screen before the admission (standby): staff who may admit the citizen.
            "ready": ("dtop", {"appointment": objects["waiting_reference"]}),
        },
        "/turns": {
            "queue console": ("retiro", {"service": objects["service_id"], "office": objects["office_id"]})
        },
    }


# The console's live waiting rooms are those of the agencies it lists: every one for a superadmin.
SOCKET_EXPECTED = {
    ("/call", "console"): answers(FORBIDDEN, ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    ("/call", "call"): answers(FORBIDDEN, ALLOWED, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("/call", "ready"): answers(FORBIDDEN, ALLOWED, ALLOWED, FORBIDDEN, ALLOWED),
    ("/turns", "queue console"): answers(FORBIDDEN, ALLOWED, ALLOWED, FORBIDDEN, ALLOWED),
}


def test_every_socket_namespace_answers_each_role_as_expected(app, seeded):
    in_call, _token = make_appointment(
        app, starts_in=dt.timedelta(minutes=-2), status="in_call", clerk_email=DTOP_CLERK
    )
    waiting, _token = make_appointment(app, starts_in=dt.timedelta(minutes=3), email="luis@example.com")
    with app.app_context():
        line = retiro_line()
        objects = {
            "call_reference": in_call,
            "waiting_reference": waiting,
            "service_id": line.service.id,
            "office_id": line.office.id,
        }
    attempts = socket_attempts(app, objects)
    assert set(attempts) == set(socketio.server.namespace_handlers), "add the new namespace to the table"
    clients = signed_in_clients(app, seeded)
    clients["superadmin"] = clients.pop("super@ventanilla.pr")
    found, expected = {}, {}
    for namespace, kinds in attempts.items():
        for kind, (agency, auth) in kinds.items():
            for role in ROLES:
                connection = socketio.test_client(
                    app, namespace=namespace, auth=auth, flask_test_client=clients[identity(role, agency)]
                )
                connected = connection.is_connected(namespace)
                if connected:
                    connection.disconnect(namespace)
                key = f"{namespace} {kind} as {role}"
                found[key] = ALLOWED if connected else FORBIDDEN
                expected[key] = SOCKET_EXPECTED[(namespace, kind)][role]
    assert {k: v for k, v in found.items() if v != expected[k]} == {}
