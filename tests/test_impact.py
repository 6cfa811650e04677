"""Changes that touch booked citizens are previewed, never silent (issue 11, item 3), here through
the one change of this kind the office page makes: closing (deactivating) an office. The preview
lists the booked appointments, nothing is saved until the admin chooses, "keep" leaves them valid,
"cancel" frees their seats and tells each citizen, in their language, with the admin's message."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, Office, OutboxMessage
from app.notifications import rendered
from tests.support.admin import DTOP_ADMIN, audit_events, sign_in
from tests.support.booking import book_directly, free_slots
from tests.test_admin import office_form

IN_PERSON = "renovacion-licencia"


@pytest.fixture
def admin_client(app, client, seeded):
    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    return client


def booked_office(app, result) -> tuple[int, str]:
    with app.app_context():
        office = db.session.get(Office, result.appointment.office_id)
        return office.id, office.slug


def appointment(app, appointment_id) -> Appointment:
    with app.app_context():
        row = db.session.get(Appointment, appointment_id)
        db.session.expunge(row)
        return row


def office_active(app, office_id) -> bool:
    with app.app_context():
        return db.session.get(Office, office_id).active


def cancellation_emails(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "cancellation")))
        rows = [rendered(row) for row in rows]  # as the sender writes them
        db.session.expunge_all()
        return rows


def close_office(client, app, office_id, slug, **extra):
    form = office_form(app, slug=slug, active=None, **extra)
    return client.post(f"/admin/offices/{office_id}", data=form, headers={"Accept-Language": "en"})


def test_closing_an_office_with_bookings_shows_them_and_saves_nothing(app, admin_client):
    booked = book_directly(app, IN_PERSON, name="Ana Rivera")
    office_id, slug = booked_office(app, booked)

    response = close_office(admin_client, app, office_id, slug)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This change affects 1 booked appointment" in page
    assert booked.appointment.reference in page and "Ana Rivera" in page
    assert f'value="{booked.appointment.id}"' in page
    assert office_active(app, office_id)
    assert appointment(app, booked.appointment.id).status == "booked"
    assert audit_events(app, "office.changed") == []


def test_keeping_the_appointments_saves_the_change_and_they_stay_valid(app, admin_client):
    booked = book_directly(app, IN_PERSON)
    office_id, slug = booked_office(app, booked)

    response = close_office(
        admin_client, app, office_id, slug, impact_previewed=str(booked.appointment.id), impact_action="keep"
    )

    assert response.status_code == 302
    assert not office_active(app, office_id)
    assert appointment(app, booked.appointment.id).status == "booked"
    assert cancellation_emails(app) == []
    (kept,) = audit_events(app, "appointment.kept_after_change")
    assert (kept.object_id, kept.detail["change"]) == (booked.appointment.id, "office.changed")
    # ... and no citizen is offered the closed office any more
    assert all(slot.office_id != office_id for slot in free_slots(app, IN_PERSON))


def test_cancelling_frees_the_seats_and_tells_each_citizen_in_their_language(app, admin_client):
    spanish = book_directly(app, IN_PERSON, email="ana@example.com", language="es")
    office_id, slug = booked_office(app, spanish)
    english = book_directly(app, IN_PERSON, email="bob@example.com", language="en")
    assert booked_office(app, english)[0] == office_id, "both bookings take the first free slots"
    previewed = f"{spanish.appointment.id},{english.appointment.id}"

    response = close_office(
        admin_client,
        app,
        office_id,
        slug,
        impact_previewed=previewed,
        impact_action="cancel",
        impact_message_es="La oficina cierra por reparaciones.",
        impact_message_en="The office is closed for repairs.",
    )

    assert response.status_code == 302
    for booked in (spanish, english):
        row = appointment(app, booked.appointment.id)
        assert (row.status, row.seat) == ("cancelled", None)
    emails = {message.recipient: message for message in cancellation_emails(app)}
    assert "La oficina cierra por reparaciones." in emails["ana@example.com"].body_text
    assert "ha cancelado su cita" in emails["ana@example.com"].body_text
    assert "The office is closed for repairs." in emails["bob@example.com"].body_text
    assert emails["bob@example.com"].language == "en"
    events = audit_events(app, "appointment.cancelled_by_agency")
    assert sorted(event.object_id for event in events) == sorted(
        [spanish.appointment.id, english.appointment.id]
    )


def test_cancelling_without_the_messages_is_refused_on_the_fields(app, admin_client):
    booked = book_directly(app, IN_PERSON)
    office_id, slug = booked_office(app, booked)

    response = close_office(
        admin_client,
        app,
        office_id,
        slug,
        impact_previewed=str(booked.appointment.id),
        impact_action="cancel",
    )

    assert response.status_code == 422
    assert "Write the message the citizens will receive." in response.get_data(as_text=True)
    assert office_active(app, office_id)
    assert appointment(app, booked.appointment.id).status == "booked"


def test_a_booking_made_after_the_preview_is_shown_before_anything_is_decided(app, admin_client):
    first = book_directly(app, IN_PERSON, email="ana@example.com")
    office_id, slug = booked_office(app, first)
    second = book_directly(app, IN_PERSON, email="bob@example.com")  # booked while the admin read the list

    response = close_office(
        admin_client,
        app,
        office_id,
        slug,
        impact_previewed=str(first.appointment.id),
        impact_action="cancel",
        impact_message_es="Cerrado.",
        impact_message_en="Closed.",
    )

    assert response.status_code == 409
    assert "This change affects 2 booked appointments" in response.get_data(as_text=True)
    assert office_active(app, office_id)
    assert {appointment(app, b.appointment.id).status for b in (first, second)} == {"booked"}


@pytest.mark.parametrize("previewed", ["1,x", "-1", "9" * 12, ",".join(["1"] * 6000), "'; DROP TABLE x"])
def test_an_unreadable_preview_field_decides_nothing(app, admin_client, previewed):
    booked = book_directly(app, IN_PERSON)
    office_id, slug = booked_office(app, booked)

    response = close_office(
        admin_client, app, office_id, slug, impact_previewed=previewed, impact_action="keep"
    )

    assert response.status_code == 409
    assert office_active(app, office_id)


def test_a_change_that_touches_no_booking_needs_no_choice(app, admin_client):
    with app.app_context():
        office = db.session.scalar(sa.select(Office).where(Office.slug == "cesco-bayamon"))
        office_id = office.id
    assert close_office(admin_client, app, office_id, "cesco-bayamon").status_code == 302
    assert not office_active(app, office_id)


def test_a_closed_office_is_not_offered_on_the_booking_page(app, admin_client, client):
    with app.app_context():
        office = db.session.scalar(sa.select(Office).where(Office.slug == "cesco-bayamon"))
        office_id, name = office.id, office.name_es
    assert close_office(admin_client, app, office_id, "cesco-bayamon").status_code == 302
    page = client.get(f"/reservar/{IN_PERSON}").get_data(as_text=True)
    assert name not in page
