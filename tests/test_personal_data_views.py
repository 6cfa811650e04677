"""Staff looking at a citizen's personal data goes to the audit log: the appointment's page (name,
contact, licence number) and the call screen, whose panel shows them, once per load; each page
image of a document one by one (tests in test_call_clerk_actions.py). Lists (today's console, the
agenda, search) are not views of one citizen and are not recorded."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, AuditEvent, Staff
from tests.support.admin import agency_id
from tests.support.signaling import make_appointment

CLERK = "clerk@dtop.demo.ventanilla.pr"
ADMIN = "admin@dtop.demo.ventanilla.pr"
OTHER_AGENCY_CLERK = "clerk@cfse.demo.ventanilla.pr"


def appointment_views(app) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "appointment.viewed").order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return list(events)


def tomorrow(app) -> str:
    reference, _token = make_appointment(app, starts_in=dt.timedelta(days=1))
    return reference


def test_opening_an_appointment_is_audited_once_per_page_load(app, client, auth):
    reference = tomorrow(app)
    auth.login()
    for _load in range(2):
        assert client.get(f"/staff/appointments/{reference}").status_code == 200
    events = appointment_views(app)
    assert len(events) == 2
    with app.app_context():
        clerk = db.session.scalar(sa.select(Staff).where(Staff.email == CLERK))
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        assert {(e.actor_staff_id, e.agency_id, e.object_type, e.object_id) for e in events} == {
            (clerk.id, appointment.service.agency_id, "appointment", appointment.id)
        }
    auth.logout()
    auth.login(ADMIN)
    log = client.get(f"/admin/agencies/{agency_id(app, 'dtop')}/audit?kind=appointment.viewed")
    assert log.status_code == 200 and "Expediente de la cita consultado" in log.get_data(as_text=True)


def test_lists_of_appointments_are_not_views_of_one_citizen(app, client, auth):
    reference = tomorrow(app)
    auth.login()
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date().isoformat()
    for url in ("/staff/", f"/staff/agenda?day={day}&view=week", f"/staff/search?q={reference}"):
        assert client.get(url).status_code == 200
    assert reference in client.get(f"/staff/search?q={reference}").get_data(as_text=True)
    assert appointment_views(app) == []


def test_another_agencys_appointment_is_a_404_and_not_recorded(app, client, auth):
    reference = tomorrow(app)
    auth.login(OTHER_AGENCY_CLERK)
    assert client.get(f"/staff/appointments/{reference}").status_code == 404
    assert appointment_views(app) == []


def test_opening_the_call_screen_is_audited_as_a_view_of_the_appointment(app, client, auth):
    ready, _token = make_appointment(app)  # today, not yet admitted: the ready screen
    in_call, _token = make_appointment(
        app, starts_in=dt.timedelta(minutes=-5), status="in_call", clerk_email=CLERK
    )
    auth.login()
    for reference in (ready, in_call):
        assert client.get(f"/staff/call/{reference}").status_code == 200
    with app.app_context():
        viewed = [db.session.get(Appointment, event.object_id).reference for event in appointment_views(app)]
    assert viewed == [ready, in_call]
