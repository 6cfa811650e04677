"""The clerk's "running late" notice to a citizen waiting for a video call (issue 12, item 5):
kept on the call record and shown in the waiting room (live, and after a reload), e-mailed and
texted in the citizen's language, audited; refused when it makes no sense or comes too soon."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, AuditEvent, CallSession, OutboxMessage
from tests.support.signaling import CLERK, OTHER_AGENCY_CLERK, Peer, make_appointment, staff_cookie


def messages(app, reference):
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        return db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.appointment_id == appointment.id, OutboxMessage.kind == "running_late")
            .order_by(OutboxMessage.channel)
        ).all()


def test_the_citizen_is_told_by_email_sms_and_in_the_waiting_room(app, client, auth):
    reference, token = make_appointment(app)
    auth.login()
    response = client.post(f"/staff/appointments/{reference}/running-late", data={"minutes": "10"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/")
    email, sms = messages(app, reference)
    assert (email.channel, sms.channel) == ("email", "sms")
    assert "unos 10 minutos tarde" in email.body_text and "unos 10 minutos tarde" in sms.body_text
    assert sms.recipient == "+17875550100" and email.recipient == "ana@example.com"
    with app.app_context():
        call = db.session.scalar(sa.select(CallSession))
        assert call.late_minutes == 10
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "call.running_late"))
    page = client.get(f"/call/{token}").get_data(as_text=True)
    assert "va unos 10 minutos tarde" in page


@pytest.mark.parametrize("minutes", ["7", "", "ten", "-5", "1000"])
def test_minutes_not_offered_are_a_translated_422_and_nothing_is_sent(app, client, auth, minutes):
    reference, _token = make_appointment(app)
    auth.login()
    response = client.post(f"/staff/appointments/{reference}/running-late", data={"minutes": minutes})
    assert response.status_code == 422
    assert "Elija de la lista cuánto se retrasa." in response.get_data(as_text=True)
    assert messages(app, reference) == []


@pytest.mark.parametrize("status", ["in_call", "completed", "cancelled"])
def test_only_a_citizen_still_waiting_can_be_told(app, client, auth, status):
    reference, _token = make_appointment(app, status=status, clerk_email=CLERK)
    auth.login()
    response = client.post(f"/staff/appointments/{reference}/running-late", data={"minutes": "5"})
    assert response.status_code == 409 and messages(app, reference) == []


def test_a_second_notice_moments_later_is_refused(app, client, auth, clock):
    reference, _token = make_appointment(app)
    auth.login()
    assert (
        client.post(f"/staff/appointments/{reference}/running-late", data={"minutes": "5"}).status_code == 302
    )
    clock.advance(minutes=1)
    response = client.post(f"/staff/appointments/{reference}/running-late", data={"minutes": "15"})
    assert response.status_code == 409 and len(messages(app, reference)) == 2
    clock.advance(minutes=2)
    assert (
        client.post(f"/staff/appointments/{reference}/running-late", data={"minutes": "15"}).status_code
        == 302
    )
    assert len(messages(app, reference)) == 4


def test_another_agencys_appointment_is_404(app, client, auth):
    reference, _token = make_appointment(app)
    auth.login(OTHER_AGENCY_CLERK)
    assert (
        client.post(f"/staff/appointments/{reference}/running-late", data={"minutes": "5"}).status_code == 404
    )
    assert messages(app, reference) == []


@pytest.mark.clock(tick=True)
def test_the_waiting_room_hears_it_at_once(app, seeded, live_server):
    reference, token = make_appointment(app, starts_in=dt.timedelta(minutes=5))
    citizen = Peer(live_server.url, {"token": token})
    try:
        citizen.wait_for("role")
        cookie = staff_cookie(live_server.url, CLERK, seeded[CLERK])
        session = requests.Session()
        session.headers["Cookie"] = cookie
        console = session.get(f"{live_server.url}/staff/", timeout=10).text
        csrf = console.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = session.post(
            f"{live_server.url}/staff/appointments/{reference}/running-late",
            data={"minutes": "15", "csrf_token": csrf},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:300]
        assert citizen.wait_for("running-late") == {"minutes": 15}
    finally:
        citizen.close()
