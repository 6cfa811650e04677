"""The clerk's call screen before the admission ("ready", issue 13 item 3), and the keep-alive that
keeps a clerk in a long call signed in.

The ready screen's socket is on standby: it is refused unless the clerk may admit this citizen of
today, hears whether the citizen is in the waiting room, and admits over itself with the same rules
as the console's POST (`app.calls.admission`); every refusal comes back in the ack, translated.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.calls.live import NAMESPACE
from app.calls.presence import rooms
from app.extensions import db, socketio
from app.models import Appointment, AuditEvent, CallSession, Staff
from tests.support.admin import sign_in
from tests.support.signaling import ADMIN, CLERK, OTHER_AGENCY_CLERK, make_appointment


def load(app, reference: str) -> Appointment:
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        db.session.expunge(appointment)
        return appointment


def staff_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Staff.id).where(Staff.email == email))


def connect(app, auth, client=None):
    """A Socket.IO test client on /call (with `client`'s cookies: a staff member's login)."""
    return socketio.test_client(app, namespace=NAMESPACE, auth=auth, flask_test_client=client)


def events(sio, name: str) -> list:
    return [
        event["args"][0] if event["args"] else None
        for event in sio.get_received(NAMESPACE)
        if event["name"] == name
    ]


def received(sio) -> list[tuple[str, object]]:
    return [(e["name"], e["args"][0] if e["args"] else None) for e in sio.get_received(NAMESPACE)]


def admit(sio) -> dict:
    return sio.emit("admit", {}, namespace=NAMESPACE, callback=True)


@pytest.fixture
def clerk(app, client, auth):
    auth.login()
    return client


@pytest.fixture
def sockets():
    opened = []
    yield opened
    for sio in opened:
        if sio.is_connected(NAMESPACE):
            sio.disconnect(NAMESPACE)


def standby(app, clerk, reference, sockets):
    sio = connect(app, {"appointment": reference}, clerk)
    sockets.append(sio)
    assert sio.is_connected(NAMESPACE)
    return sio


def citizen(app, token, sockets):
    sio = connect(app, {"token": token})
    sockets.append(sio)
    assert sio.is_connected(NAMESPACE)
    return sio


# --- The page ------------------------------------------------------------------------------------


def test_the_call_screen_of_a_citizen_not_yet_admitted_is_ready_to_admit(app, clerk):
    reference, _token = make_appointment(app)
    response = clerk.get(f"/staff/call/{reference}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-state="ready"' in page and "Listo para admitir a Ana Rivera" in page
    assert "Ana Rivera todavía no está en la sala de espera" in page
    # The no-JavaScript way: the button is the console's POST.
    assert f'action="/staff/appointments/{reference}/admit"' in page
    assert "data-ice='{&#34;iceServers&#34;" in page or 'data-ice=\'{"iceServers"' in page
    assert load(app, reference).status == "booked"  # opening the screen admits nobody


def test_the_call_screen_in_a_call_has_no_admit_button(app, clerk):
    reference, _token = make_appointment(app, status="in_call", clerk_email=CLERK)
    page = clerk.get(f"/staff/call/{reference}").get_data(as_text=True)
    assert 'data-state="in-call"' in page and 'id="admit-form"' not in page


@pytest.mark.parametrize(
    "case",
    ["another_clerks", "tomorrow", "cancelled", "completed", "in_person", "admitted_by_another"],
)
def test_the_ready_screen_is_only_for_a_waiting_video_citizen_of_today_and_this_clerk(app, clerk, case):
    options = {
        "another_clerks": dict(clerk_email=ADMIN),
        "tomorrow": dict(starts_in=dt.timedelta(days=1)),
        "cancelled": dict(status="cancelled"),
        "completed": dict(status="completed", clerk_email=CLERK),
        "in_person": dict(slug="renovacion-licencia"),
        "admitted_by_another": dict(status="in_call", clerk_email=ADMIN),
    }[case]
    reference, _token = make_appointment(app, **options)
    response = clerk.get(f"/staff/call/{reference}")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"


def test_another_agencys_appointment_is_a_404(app, client, seeded):
    reference, _token = make_appointment(app)
    sign_in(client, OTHER_AGENCY_CLERK, seeded[OTHER_AGENCY_CLERK])
    assert client.get(f"/staff/call/{reference}").status_code == 404


def test_the_console_leads_to_the_ready_screen(app, clerk):
    reference, _token = make_appointment(app)
    page = clerk.get("/staff/").get_data(as_text=True)
    assert f'href="/staff/call/{reference}"' in page and "Abrir la pantalla de la llamada" in page


# --- The standby socket --------------------------------------------------------------------------


def test_admitting_over_the_standby_socket_pairs_the_call_at_once(app, clerk, sockets):
    reference, token = make_appointment(app)
    screen = standby(app, clerk, reference, sockets)
    assert events(screen, "standby") == [{"present": False}]
    waiting = citizen(app, token, sockets)
    updates = [e for e in events(screen, "waiting-room") if e["reference"] == reference]
    assert updates[-1]["state"] == "waiting" and updates[-1]["present"]
    assert events(waiting, "peer-joined") == []  # a clerk on standby is not in the call yet

    assert admit(screen) == {"ok": True}
    appointment = load(app, reference)
    assert appointment.status == "in_call" and appointment.clerk_id == staff_id(app, CLERK)
    names = [name for name, _data in received(screen)]
    assert names[-3:] == ["role", "peer-joined", "start"]  # the prepared offer leaves now
    told = received(waiting)
    assert [name for name, _data in told][-2:] == ["admitted", "peer-joined"]
    assert told[-1][1]["name"] == "Clerk DTOP" and told[-1][1]["mode"] == "fresh"
    with app.app_context():
        call = db.session.scalar(sa.select(CallSession))
        assert call.admitted_at is not None and call.clerk_id == staff_id(app, CLERK)
    assert admit(screen)["error"] == "not_allowed"  # admitted: the screen is the call's clerk now
    with app.app_context():
        audited = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "call.admitted")).all()
        assert [(e.actor_staff_id, e.object_id) for e in audited] == [(staff_id(app, CLERK), appointment.id)]


def test_admitting_someone_not_in_the_waiting_room_is_refused_in_the_ack(app, clerk, sockets):
    reference, _token = make_appointment(app)
    screen = standby(app, clerk, reference, sockets)
    answer = admit(screen)
    assert answer == {
        "ok": False,
        "error": "not_waiting",
        "message": f"{reference} todavía no está en la sala de espera.",
    }
    assert load(app, reference).status == "booked"
    with app.app_context():
        assert (
            db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "call.admitted")).all() == []
        )


def test_the_refusal_is_in_the_clerks_language(app, clerk, sockets):
    reference, _token = make_appointment(app)
    clerk.set_cookie("lang", "en")
    sio = socketio.test_client(
        app,
        namespace=NAMESPACE,
        auth={"appointment": reference},
        flask_test_client=clerk,
        headers={"Accept-Language": "en-US"},
    )
    sockets.append(sio)
    assert admit(sio)["message"] == f"{reference} is not in the waiting room yet."


def test_when_another_clerk_admitted_first_the_ack_says_who(app, clerk, seeded, sockets):
    reference, token = make_appointment(app)
    screen = standby(app, clerk, reference, sockets)
    citizen(app, token, sockets)
    other = app.test_client()
    sign_in(other, ADMIN, seeded[ADMIN])
    assert other.post(f"/staff/appointments/{reference}/admit").status_code == 302
    answer = admit(screen)
    assert answer["error"] == "taken" and answer["message"] == f"Admin DTOP ya admitió a {reference}."
    assert load(app, reference).clerk_id == staff_id(app, ADMIN)


def test_an_appointment_given_to_another_clerk_meanwhile_is_refused(app, clerk, sockets):
    reference, token = make_appointment(app)
    screen = standby(app, clerk, reference, sockets)
    citizen(app, token, sockets)
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        appointment.clerk_id = staff_id(app, ADMIN)
        db.session.commit()
    answer = admit(screen)
    assert answer["error"] == "assigned" and "es para Admin DTOP" in answer["message"]
    assert load(app, reference).status == "booked"


def test_only_a_standby_screen_may_admit(app, clerk, sockets):
    reference, token = make_appointment(app)
    waiting = citizen(app, token, sockets)
    assert admit(waiting)["error"] == "not_allowed"
    in_call, _token = make_appointment(
        app, status="in_call", clerk_email=CLERK, email="luis@example.com", starts_in=dt.timedelta(minutes=6)
    )
    screen = standby(app, clerk, in_call, sockets)
    assert admit(screen)["error"] == "not_allowed"
    assert load(app, reference).status == "booked"


def test_a_screen_idle_past_the_sign_out_time_cannot_admit(app, clerk, clock, sockets):
    reference, token = make_appointment(app)
    screen = standby(app, clerk, reference, sockets)
    citizen(app, token, sockets)
    clock.advance(minutes=31)  # no request since the screen opened: signed out, as on any page
    answer = admit(screen)
    assert answer["error"] == "signed_out" and "Inicie sesión de nuevo" in answer["message"]
    assert load(app, reference).status == "booked"


@pytest.mark.parametrize("case", ["anonymous", "other_agency", "tomorrow", "another_clerks", "in_person"])
def test_a_standby_socket_is_refused_to_who_may_not_admit(app, client, seeded, case):
    options = {
        "tomorrow": dict(starts_in=dt.timedelta(days=1)),
        "another_clerks": dict(clerk_email=ADMIN),
        "in_person": dict(slug="renovacion-licencia"),
    }.get(case, {})
    reference, _token = make_appointment(app, **options)
    if case != "anonymous":
        email = OTHER_AGENCY_CLERK if case == "other_agency" else CLERK
        sign_in(client, email, seeded[email])
    sio = connect(app, {"appointment": reference}, client)
    assert not sio.is_connected(NAMESPACE)
    assert rooms.standby == {}


def test_deactivating_the_clerk_closes_the_standby_socket(app, clerk, seeded, sockets):
    from app.staff_admin import set_active

    reference, _token = make_appointment(app)
    screen = standby(app, clerk, reference, sockets)
    with app.test_request_context():
        member = db.session.get(Staff, staff_id(app, CLERK))
        set_active(member, False, member.version, db.session.get(Staff, staff_id(app, ADMIN)))
    assert not screen.is_connected(NAMESPACE)
    assert rooms.standby == {}


# --- Keep-alive ----------------------------------------------------------------------------------


def test_a_call_screens_keep_alive_keeps_the_clerk_signed_in_past_the_idle_time(app, clerk, clock):
    assert app.config["STAFF_IDLE_MINUTES"] == 30
    for _beat in range(12):  # an hour's call, a beat every 5 minutes, no other request
        clock.advance(minutes=5)
        response = clerk.post("/staff/keep-alive")
        assert response.status_code == 200 and response.json == {"ok": True}
        assert response.headers["Cache-Control"] == "private, no-store"
    clock.advance(minutes=5)
    assert clerk.get("/staff/").status_code == 200  # still signed in: the outcome can be saved


def test_without_keep_alive_the_idle_rule_still_signs_out(app, clerk, clock):
    clock.advance(minutes=31)
    response = clerk.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_keep_alive_refuses_an_expired_session_and_does_not_revive_it(app, clerk, clock):
    clock.advance(minutes=31)
    response = clerk.post("/staff/keep-alive")
    assert response.status_code == 401 and response.json["ok"] is False
    assert "Inicie sesión de nuevo" in response.json["message"]
    clock.advance(minutes=1)
    assert clerk.post("/staff/keep-alive").status_code == 401
    assert clerk.get("/staff/").status_code == 302


def test_keep_alive_refuses_anonymous_visitors_and_a_missing_csrf_token(app, client, auth):
    assert client.post("/staff/keep-alive").status_code == 401
    auth.login()
    reference, _token = make_appointment(app, status="in_call", clerk_email=CLERK)
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get(f"/staff/call/{reference}").get_data(as_text=True)
    token = page.split('data-csrf-token="', 1)[1].split('"', 1)[0]
    assert client.post("/staff/keep-alive").status_code == 400
    assert client.post("/staff/keep-alive", headers={"X-CSRFToken": token}).status_code == 200
    assert client.get("/staff/keep-alive").status_code == 405
