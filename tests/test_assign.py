"""Giving an upcoming video appointment to another clerk (issue 12, item 5): only that clerk can
then admit it; back to "anyone"; refused once admitted or for another agency's staff."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.calls import sessions
from app.calls.presence import rooms
from app.extensions import db
from app.models import Appointment, AuditEvent, Staff
from tests.support.signaling import ADMIN, CLERK, OTHER_AGENCY_CLERK, make_appointment


def load(app, reference):
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        db.session.expunge(appointment)
        return appointment


def staff_id(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(Staff.id).where(Staff.email == email))


def test_the_appointment_goes_to_the_chosen_clerk_who_alone_can_admit_it(app, client, auth):
    reference, _token = make_appointment(app)
    auth.login()
    page = client.get(f"/staff/appointments/{reference}").get_data(as_text=True)
    assert "Quién admite a esta persona" in page
    admin = staff_id(app, ADMIN)
    response = client.post(f"/staff/appointments/{reference}/assign", data={"clerk": str(admin)})
    assert response.status_code == 302
    assert load(app, reference).clerk_id == admin
    assert "Para Admin DTOP" in client.get("/staff/").get_data(as_text=True)
    with app.app_context():
        appointment = db.session.get(Appointment, load(app, reference).id)
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "appointment.assigned"))
        assert event.detail == {"from_clerk": None, "to_clerk": admin}
        with pytest.raises(sessions.AlreadyAdmitted):
            sessions.admit(appointment, db.session.get(Staff, staff_id(app, CLERK)))
        sessions.admit(appointment, db.session.get(Staff, admin))


def test_back_to_whoever_admits_first(app, client, auth):
    reference, _token = make_appointment(app, clerk_email=ADMIN)
    auth.login()
    assert client.post(f"/staff/appointments/{reference}/assign", data={"clerk": ""}).status_code == 302
    assert load(app, reference).clerk_id is None


@pytest.mark.parametrize("chosen", ["999999", "abc", "other agency"])
def test_a_clerk_not_of_the_agency_is_a_translated_422(app, client, auth, chosen):
    reference, _token = make_appointment(app)
    auth.login()
    value = str(staff_id(app, OTHER_AGENCY_CLERK)) if chosen == "other agency" else chosen
    response = client.post(f"/staff/appointments/{reference}/assign", data={"clerk": value})
    assert response.status_code == 422
    assert "Elija de la lista a alguien de la agencia." in response.get_data(as_text=True)
    assert load(app, reference).clerk_id is None


@pytest.mark.parametrize(
    ("status", "slug"),
    [
        ("in_call", "certificacion-individuo"),
        ("completed", "certificacion-individuo"),
        ("booked", "renovacion-licencia"),
    ],
)
def test_only_an_upcoming_video_appointment_can_be_given(app, client, auth, status, slug):
    reference, _token = make_appointment(
        app, status=status, slug=slug, clerk_email=CLERK if status != "booked" else None
    )
    before = load(app, reference).clerk_id
    auth.login()
    response = client.post(
        f"/staff/appointments/{reference}/assign", data={"clerk": str(staff_id(app, ADMIN))}
    )
    assert response.status_code == 409
    assert load(app, reference).clerk_id == before


def test_another_agencys_appointment_is_404(app, client, auth):
    reference, _token = make_appointment(app)
    auth.login(OTHER_AGENCY_CLERK)
    response = client.post(f"/staff/appointments/{reference}/assign", data={"clerk": ""})
    assert response.status_code == 404


def test_another_clerk_admitting_is_told_whose_it_is(app, client, auth, monkeypatch):
    reference, _token = make_appointment(app, clerk_email=ADMIN)
    monkeypatch.setattr(rooms, "citizen_present", lambda appointment_id: True)
    auth.login()
    response = client.post(f"/staff/appointments/{reference}/admit")
    assert response.status_code == 409
    assert f"{reference} es para Admin DTOP" in response.get_data(as_text=True)
    assert load(app, reference).status == "booked"
