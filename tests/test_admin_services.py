"""The service pages of the administration (issue 11, items 2, 3, 4, 7): services and their document
requirements, validated on the server with a message on the field and nothing saved, scoped to the
admin's agency (another agency's object is 404 and stays unchanged), refused when someone else saved
first (409, also for two saves racing), audited with old and new values; the changes that touch
booked citizens (fewer seats, a service taken out of service, an office removed from it) previewed
before anything is saved; and what citizens are offered afterwards."""

from __future__ import annotations

import datetime as dt
import html

import pytest
import sqlalchemy as sa

from app import service_admin
from app.administration import StaleVersion
from app.extensions import db
from app.models import Appointment, Document, DocumentRequirement, OutboxMessage, Service, Staff
from app.notifications import rendered
from tests.support.admin import (
    DTOP_ADMIN,
    DTOP_CLERK,
    RETIRO_ADMIN,
    agency_id,
    audit_events,
    office_id,
    sign_in,
)
from tests.support.booking import availability_query, book_directly, booking_day, free_slots

VIDEO = "certificacion-individuo"  # video, 2 seats a slot, CESCO Remoto, the licence front required
IN_PERSON = "renovacion-licencia"  # in person, 4 seats, San Juan and Bayamón
PHONE = "orientacion-retiro"  # Retirement System, phone turns, prefix R


@pytest.fixture
def admin_client(app, client, seeded):
    sign_in(client, DTOP_ADMIN, seeded[DTOP_ADMIN])
    return client


def stored_service(app, slug) -> Service:
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == slug))
        service.offices.sort(key=lambda office: office.id)  # loaded before the session goes
        db.session.expunge_all()
        return service


def service_form(app, slug=None, **overrides) -> dict:
    """The service form as the page would post it: the stored values of `slug`, or a new video service."""
    data = {
        "name_es": "Certificación nueva",
        "name_en": "New certification",
        "description_es": "",
        "description_en": "",
        "mode": "video",
        "slot_minutes": "20",
        "capacity_per_slot": "2",
        "lead_time_minutes": "120",
        "horizon_days": "30",
        "turn_prefix": "",
        "daily_capacity": "",
        "office_ids": [str(office_id(app, "cesco-remoto"))],
        "active": "y",
    }
    if slug:
        service = stored_service(app, slug)
        data.update({field: str(getattr(service, field)) for field in data if not field.startswith("office")})
        data.update(
            turn_prefix=service.turn_prefix or "",
            daily_capacity=str(service.daily_capacity or ""),
            office_ids=[str(i) for i in service.office_ids],
            active="y" if service.active else None,
            asks_licence_number="y" if service.asks_licence_number else None,
            version=str(service.version),
        )
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def save(client, app, slug, **overrides):
    service = stored_service(app, slug)
    form = service_form(app, slug, **overrides)
    return client.post(f"/admin/services/{service.id}", data=form, headers={"Accept-Language": "en"})


def appointment(app, appointment_id) -> Appointment:
    with app.app_context():
        row = db.session.get(Appointment, appointment_id)
        db.session.expunge(row)
        return row


def cancellation_emails(app) -> dict[str, OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "cancellation")))
        rows = [rendered(row) for row in rows]  # as the sender writes them
        db.session.expunge_all()
        return {row.recipient: row for row in rows}


# --- The list, adding and editing -----------------------------------------------------------------------


def test_the_service_list_shows_the_agencys_services_only(app, admin_client):
    response = admin_client.get(f"/admin/agencies/{agency_id(app, 'dtop')}/services")
    assert response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    assert "Certificación de individuo" in page and "Renovación de licencia" in page
    assert "Orientación sobre retiro" not in page
    assert 'href="/admin/"' in admin_client.get("/admin/").get_data(as_text=True)
    assert f"/admin/agencies/{agency_id(app, 'dtop')}/services" in admin_client.get("/admin/").get_data(
        as_text=True
    )


def test_a_service_is_created_with_its_offices_and_audited(app, admin_client):
    form = service_form(
        app, office_ids=[str(office_id(app, "cesco-remoto")), str(office_id(app, "cesco-bayamon"))]
    )
    response = admin_client.post(f"/admin/agencies/{agency_id(app, 'dtop')}/services/new", data=form)
    assert response.status_code == 302
    service = stored_service(app, "certificacion-nueva")
    assert (service.mode, service.capacity_per_slot, service.version) == ("video", 2, 1)
    assert service.office_ids == sorted([office_id(app, "cesco-remoto"), office_id(app, "cesco-bayamon")])
    assert response.headers["Location"] == f"/admin/services/{service.id}"
    (event,) = audit_events(app, "service.created")
    assert event.object_id == service.id and event.detail["changes"]["horizon_days"] == [None, 30]
    # and it is offered to citizens at once
    assert free_slots(app, "certificacion-nueva")


def test_two_services_of_the_same_name_get_different_slugs(app, admin_client):
    url = f"/admin/agencies/{agency_id(app, 'dtop')}/services/new"
    assert admin_client.post(url, data=service_form(app)).status_code == 302
    assert admin_client.post(url, data=service_form(app)).status_code == 302
    assert stored_service(app, "certificacion-nueva-2").name_es == "Certificación nueva"


def test_a_service_is_edited_and_audited_with_old_and_new_values(app, admin_client):
    before = stored_service(app, IN_PERSON)
    response = save(admin_client, app, IN_PERSON, name_en="Licence renewal", lead_time_minutes="90")
    assert response.status_code == 302
    after = stored_service(app, IN_PERSON)
    assert (after.name_en, after.lead_time_minutes, after.version) == (
        "Licence renewal",
        90,
        before.version + 1,
    )
    (event,) = audit_events(app, "service.changed")
    assert event.detail["changes"] == {
        "name_en": [before.name_en, "Licence renewal"],
        "lead_time_minutes": [60, 90],
    }
    assert event.actor_staff_id is not None and event.object_type == "service"


def test_the_edit_page_shows_the_stored_values_zero_included(app, client, seeded):
    sign_in(client, RETIRO_ADMIN, seeded[RETIRO_ADMIN])
    page = client.get(f"/admin/services/{stored_service(app, PHONE).id}").get_data(as_text=True)
    assert 'id="lead_time_minutes" name="lead_time_minutes" type="text"\n         value="0"' in page
    assert 'value="R"' in page and 'value="120"' in page


# --- Validation: a message on the field, nothing saved -------------------------------------------------

REFUSED = [
    ({"slot_minutes": "0"}, "slot_minutes", "Enter a whole number from 5 to 480."),
    ({"slot_minutes": "481"}, "slot_minutes", "Enter a whole number from 5 to 480."),
    ({"slot_minutes": "-20"}, "slot_minutes", "Enter a whole number, without signs or decimals."),
    ({"slot_minutes": "20.5"}, "slot_minutes", "Enter a whole number, without signs or decimals."),
    ({"slot_minutes": ""}, "slot_minutes", "Enter a whole number."),
    ({"capacity_per_slot": "0"}, "capacity_per_slot", "Enter a whole number from 1 to 500."),
    ({"capacity_per_slot": "-1"}, "capacity_per_slot", "Enter a whole number, without signs or decimals."),
    ({"horizon_days": "366"}, "horizon_days", "Enter a whole number from 1 to 365."),
    ({"horizon_days": "0"}, "horizon_days", "Enter a whole number from 1 to 365."),
    ({"lead_time_minutes": "-5"}, "lead_time_minutes", "Enter a whole number, without signs or decimals."),
    (
        {"lead_time_minutes": "99999999"},
        "lead_time_minutes",
        "Enter a whole number, without signs or decimals.",
    ),
    ({"daily_capacity": "50"}, "daily_capacity", "Only same-day phone turns use this. Leave it empty."),
    ({"turn_prefix": "C"}, "turn_prefix", "Only same-day phone turns use this. Leave it empty."),
    ({"mode": "fax"}, "mode", "Choose how the service is given."),
    ({"name_es": ""}, "name_es", "Enter the service's name in Spanish."),
    ({"name_en": "x\x00"}, "name_en", "Remove the special characters from this field."),
    ({"office_ids": ["abc"]}, "office_ids", "Choose among the agency's offices."),
]


@pytest.mark.parametrize("overrides,field,message", REFUSED, ids=[f"{r[1]}={r[0][r[1]]!r}" for r in REFUSED])
def test_a_refused_service_gets_a_message_on_its_field_and_nothing_is_saved(
    app, admin_client, overrides, field, message
):
    before = stored_service(app, VIDEO)
    response = save(admin_client, app, VIDEO, description_en="Changed too", **overrides)
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert message in page
    assert f'id="{field}-error"' in page or f"#{field}" in page
    after = stored_service(app, VIDEO)
    assert (after.description_en, after.version) == (before.description_en, before.version)
    assert audit_events(app, "service.changed") == []


def test_a_refused_service_is_explained_in_spanish(app, admin_client):
    service = stored_service(app, VIDEO)
    response = admin_client.post(
        f"/admin/services/{service.id}", data=service_form(app, VIDEO, horizon_days="400")
    )
    assert response.status_code == 422
    assert "Escriba un número entero del 1 al 365." in response.get_data(as_text=True)


def test_an_office_of_another_agency_is_refused_and_nothing_changes(app, admin_client):
    before = stored_service(app, VIDEO)
    foreign = str(office_id(app, "orientacion-telefonica"))
    response = save(admin_client, app, VIDEO, office_ids=[str(office_id(app, "cesco-remoto")), foreign])
    assert response.status_code == 422
    assert "Choose among the agency's offices." in html.unescape(response.get_data(as_text=True))
    assert stored_service(app, VIDEO).office_ids == before.office_ids


def test_a_turn_prefix_used_by_another_service_of_the_agency_is_refused(app, client, seeded):
    sign_in(client, RETIRO_ADMIN, seeded[RETIRO_ADMIN])
    form = service_form(
        app,
        name_es="Orientación de préstamos",
        mode="phone_turn",
        turn_prefix="r",
        daily_capacity="40",
        office_ids=[str(office_id(app, "orientacion-telefonica"))],
    )
    url = f"/admin/agencies/{agency_id(app, 'retiro')}/services/new"
    response = client.post(url, data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "Another service of the agency uses this prefix." in response.get_data(as_text=True)
    assert client.post(url, data=dict(form, turn_prefix="p")).status_code == 302
    service = stored_service(app, "orientacion-de-prestamos")
    assert (service.turn_prefix, service.daily_capacity) == ("P", 40)
    assert client.post(url, data=dict(form, turn_prefix="P1")).status_code == 422
    # its own prefix is no conflict with itself
    assert save(client, app, PHONE, daily_capacity="100").status_code == 302


def test_a_turn_prefix_taken_by_another_admin_since_the_check_is_refused_on_its_field(
    app, client, seeded, monkeypatch
):
    """Two admins give two services the same prefix at once: both pass the check, the database's
    unique constraint refuses the second write, which is explained like the check would have."""
    sign_in(client, RETIRO_ADMIN, seeded[RETIRO_ADMIN])
    form = service_form(
        app, mode="phone_turn", turn_prefix="R", office_ids=[str(office_id(app, "orientacion-telefonica"))]
    )
    answers = iter([False, True])  # the check before the write, then the look after it was refused
    monkeypatch.setattr(service_admin, "_prefix_taken", lambda *args: next(answers))
    url = f"/admin/agencies/{agency_id(app, 'retiro')}/services/new"
    response = client.post(url, data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "Another service of the agency uses this prefix." in response.get_data(as_text=True)
    assert audit_events(app, "service.created") == []
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Service).where(Service.turn_prefix == "R")
            )
            == 1
        )


def test_the_same_turn_prefix_in_another_agency_is_fine(app, admin_client):
    form = service_form(app, mode="phone_turn", turn_prefix="R", daily_capacity="10")
    assert (
        admin_client.post(f"/admin/agencies/{agency_id(app, 'dtop')}/services/new", data=form).status_code
        == 302
    )


# --- Versions: a stale form is a conflict, never a silent overwrite ----------------------------------------


def test_a_stale_service_form_is_refused_with_a_conflict_and_changes_nothing(app, admin_client):
    first = service_form(app, VIDEO, description_es="Primera")
    second = service_form(app, VIDEO, description_es="Segunda")
    url = f"/admin/services/{stored_service(app, VIDEO).id}"
    assert admin_client.post(url, data=first).status_code == 302
    response = admin_client.post(url, data=second, headers={"Accept-Language": "en"})
    assert response.status_code == 409
    assert "Someone else changed this while you were editing it" in response.get_data(as_text=True)
    assert stored_service(app, VIDEO).description_es == "Primera"
    assert len(audit_events(app, "service.changed")) == 1


def test_changing_only_the_offices_raises_the_version(app, admin_client):
    stale = service_form(app, IN_PERSON, lead_time_minutes="30")
    before = stored_service(app, IN_PERSON)
    assert (
        save(admin_client, app, IN_PERSON, office_ids=[str(office_id(app, "cesco-bayamon"))]).status_code
        == 302
    )
    after = stored_service(app, IN_PERSON)
    assert (after.office_ids, after.version) == ([office_id(app, "cesco-bayamon")], before.version + 1)
    assert admin_client.post(f"/admin/services/{before.id}", data=stale).status_code == 409
    (event,) = audit_events(app, "service.changed")
    assert event.detail["changes"]["office_ids"] == [before.office_ids, after.office_ids]


def test_a_service_post_without_a_version_is_refused(app, admin_client):
    assert save(admin_client, app, VIDEO, description_es="Sin versión", version=None).status_code == 409
    assert stored_service(app, VIDEO).description_es != "Sin versión"


def service_values(service: Service, **changes) -> dict:
    values = {field: getattr(service, field) for field in service_admin.SERVICE_FIELDS}
    values.update(changes)
    return values


def test_of_two_service_saves_racing_past_the_version_check_only_one_wins(pg_app, monkeypatch):
    """The second admin's UPDATE commits while the first is between its check and its commit: the
    first save's UPDATE matches no row of its version and is refused, nothing of it is kept."""
    from app.demo import seed_demo

    with pg_app.app_context():
        seed_demo()
    other = sa.create_engine(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    original_record = service_admin.audit.record

    def record_while_another_admin_saves(*args, **kwargs):
        with other.begin() as connection:
            connection.execute(
                sa.text(
                    "UPDATE service SET description_es = 'Otro', version = version + 1 WHERE slug = :slug"
                ),
                {"slug": VIDEO},
            )
        return original_record(*args, **kwargs)

    with pg_app.app_context():
        monkeypatch.setattr("app.administration.audit.record", record_while_another_admin_saves)
        service = db.session.scalar(sa.select(Service).where(Service.slug == VIDEO))
        admin = db.session.scalar(sa.select(Staff).where(Staff.email == DTOP_ADMIN))
        with pytest.raises(StaleVersion):
            service_admin.update_service(
                service, service_values(service, description_es="Mío"), service.version, admin
            )
        db.session.expire_all()
        assert db.session.scalar(sa.select(Service.description_es).where(Service.slug == VIDEO)) == "Otro"
        # the same race over a requirement: the service's version decides
        service = db.session.scalar(sa.select(Service).where(Service.slug == VIDEO))
        requirement = service.requirements[0]
        with pytest.raises(StaleVersion):
            service_admin.update_requirement(
                requirement,
                {"label_es": "Mía", "label_en": "Mine", "required": True, "max_pages": 3},
                service.version,
                admin,
            )
        db.session.expire_all()
        assert db.session.get(DocumentRequirement, requirement.id).label_es != "Mía"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("audit_event"))) == 0
    other.dispose()


# --- Another agency's service or requirement ---------------------------------------------------------------


def test_a_forged_service_post_for_another_agency_is_404_and_changes_nothing(app, admin_client):
    phone = stored_service(app, PHONE)
    response = admin_client.post(
        f"/admin/services/{phone.id}", data=service_form(app, PHONE, name_es="Secuestrado")
    )
    assert response.status_code == 404
    assert stored_service(app, PHONE).name_es == phone.name_es
    assert admin_client.get(f"/admin/services/{phone.id}").status_code == 404
    retiro = agency_id(app, "retiro")
    assert (
        admin_client.post(f"/admin/agencies/{retiro}/services/new", data=service_form(app)).status_code == 404
    )
    assert admin_client.get(f"/admin/agencies/{retiro}/services").status_code == 404


def test_forged_requirement_posts_for_another_agency_are_404_and_change_nothing(app, client, seeded):
    sign_in(client, RETIRO_ADMIN, seeded[RETIRO_ADMIN])
    service = stored_service(app, VIDEO)
    with app.app_context():
        requirement_id = db.session.scalar(
            sa.select(DocumentRequirement.id).where(DocumentRequirement.service_id == service.id)
        )
    version = str(service.version)
    form = {"label_es": "X", "label_en": "X", "max_pages": "1", "version": version, "code": "nuevo"}
    assert client.post(f"/admin/services/{service.id}/requirements/new", data=form).status_code == 404
    assert client.post(f"/admin/requirements/{requirement_id}", data=form).status_code == 404
    assert (
        client.post(f"/admin/requirements/{requirement_id}/remove", data={"version": version}).status_code
        == 404
    )
    moved = {"version": version, "direction": "down"}
    assert client.post(f"/admin/requirements/{requirement_id}/move", data=moved).status_code == 404
    after = stored_service(app, VIDEO)
    assert after.version == service.version
    with app.app_context():
        assert db.session.get(DocumentRequirement, requirement_id).label_es != "X"


def test_an_unknown_service_or_requirement_is_a_translated_404(app, admin_client):
    response = admin_client.get("/admin/services/999999", headers={"Accept-Language": "en"})
    assert response.status_code == 404 and "There is no such service." in response.get_data(as_text=True)
    response = admin_client.get("/admin/requirements/999999", headers={"Accept-Language": "en"})
    assert "There is no such document requirement." in response.get_data(as_text=True)


# --- The impact preview ---------------------------------------------------------------------------------


def two_in_one_slot(app):
    """Two bookings of the video service in its first free slot: seats 1 (Spanish) and 2 (English)."""
    first = book_directly(app, VIDEO, email="ana@example.com", language="es")
    second = book_directly(app, VIDEO, email="bob@example.com", language="en")
    assert (first.appointment.start_at, first.appointment.seat) == (second.appointment.start_at, 1)
    assert second.appointment.seat == 2
    return first, second


def test_fewer_seats_lists_the_appointments_beyond_them_and_saves_nothing(app, admin_client):
    first, second = two_in_one_slot(app)
    response = save(admin_client, app, VIDEO, capacity_per_slot="1")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This change affects 1 booked appointment" in page
    assert second.appointment.reference in page and first.appointment.reference not in page
    assert stored_service(app, VIDEO).capacity_per_slot == 2


def test_fewer_seats_kept_the_slot_is_full_and_the_appointments_stay(app, admin_client):
    first, second = two_in_one_slot(app)
    slot_start = first.appointment.start_at
    response = save(
        admin_client,
        app,
        VIDEO,
        capacity_per_slot="1",
        impact_previewed=str(second.appointment.id),
        impact_action="keep",
    )
    assert response.status_code == 302
    assert stored_service(app, VIDEO).capacity_per_slot == 1
    assert {appointment(app, b.appointment.id).status for b in (first, second)} == {"booked"}
    assert slot_start not in {slot.start for slot in free_slots(app, VIDEO)}
    api = app.test_client().get(f"/api/v1/services/{VIDEO}/availability", query_string=availability_query())
    offered = {
        dt.datetime.fromisoformat(slot["start"]) for day in api.get_json()["days"] for slot in day["slots"]
    }
    assert offered and slot_start not in offered
    # when the first citizen cancels, the slot still holds one: nobody else gets in
    with app.test_request_context():
        from app.appointments import cancel_appointment

        cancel_appointment(db.session.get(Appointment, first.appointment.id))
    assert slot_start not in {slot.start for slot in free_slots(app, VIDEO)}
    third = book_directly(app, VIDEO, email="carla@example.com")
    assert third.appointment.start_at != slot_start


def test_fewer_seats_cancelled_frees_the_seat_and_tells_the_citizen_in_english(app, admin_client):
    first, second = two_in_one_slot(app)
    response = save(
        admin_client,
        app,
        VIDEO,
        capacity_per_slot="1",
        impact_previewed=str(second.appointment.id),
        impact_action="cancel",
        impact_message_es="Atendemos a menos personas a la vez.",
        impact_message_en="We now serve fewer people at a time.",
    )
    assert response.status_code == 302
    assert (appointment(app, second.appointment.id).status, appointment(app, second.appointment.id).seat) == (
        "cancelled",
        None,
    )
    assert appointment(app, first.appointment.id).status == "booked"
    emails = cancellation_emails(app)
    assert set(emails) == {"bob@example.com"}
    assert emails["bob@example.com"].language == "en"
    assert "We now serve fewer people at a time." in emails["bob@example.com"].body_text
    (event,) = audit_events(app, "appointment.cancelled_by_agency")
    assert event.detail["change"] == "service.changed"


def test_a_deactivated_service_lists_all_its_bookings_and_cancels_them_in_each_language(app, admin_client):
    first, second = two_in_one_slot(app)
    later = book_directly(app, VIDEO, email="carla@example.com", skip=5)
    previewed = ",".join(str(b.appointment.id) for b in (first, second, later))
    response = save(admin_client, app, VIDEO, active=None)
    assert response.status_code == 409
    assert "This change affects 3 booked appointments" in response.get_data(as_text=True)
    assert stored_service(app, VIDEO).active
    response = save(
        admin_client,
        app,
        VIDEO,
        active=None,
        impact_previewed=previewed,
        impact_action="cancel",
        impact_message_es="El servicio se suspende.",
        impact_message_en="The service is suspended.",
    )
    assert response.status_code == 302
    assert not stored_service(app, VIDEO).active
    emails = cancellation_emails(app)
    assert "El servicio se suspende." in emails["ana@example.com"].body_text
    assert "The service is suspended." in emails["bob@example.com"].body_text
    assert free_slots(app, VIDEO) == []


def test_a_deactivated_service_kept_is_offered_nowhere_and_its_appointments_stay(app, admin_client, client):
    booked = book_directly(app, VIDEO)
    response = save(
        admin_client,
        app,
        VIDEO,
        active=None,
        impact_previewed=str(booked.appointment.id),
        impact_action="keep",
    )
    assert response.status_code == 302
    assert appointment(app, booked.appointment.id).status == "booked"
    assert free_slots(app, VIDEO) == []
    assert client.get(f"/api/v1/services/{VIDEO}/availability").status_code == 404
    assert client.get(f"/manage/{booked.manage_token}").status_code == 200
    # nor is it offered for moving a kept appointment: no office of it has a slot any more
    with app.test_request_context():
        from app import scheduling

        service = db.session.get(Service, stored_service(app, VIDEO).id)
        days = scheduling.available_days(service, booking_day(), 7, office=service.offices[0])
        assert [day.slots for day in days] == [[]] * 7


def test_an_office_removed_from_the_service_lists_its_bookings_there(app, admin_client):
    booked = book_directly(app, IN_PERSON)
    at = booked.appointment.office_id
    others = [i for i in stored_service(app, IN_PERSON).office_ids if i != at]
    response = save(admin_client, app, IN_PERSON, office_ids=[str(i) for i in others])
    assert response.status_code == 409
    assert booked.appointment.reference in response.get_data(as_text=True)
    response = save(
        admin_client,
        app,
        IN_PERSON,
        office_ids=[str(i) for i in others],
        impact_previewed=str(booked.appointment.id),
        impact_action="keep",
    )
    assert response.status_code == 302
    assert appointment(app, booked.appointment.id).status == "booked"
    assert {slot.office_id for slot in free_slots(app, IN_PERSON)} == set(others)


def test_a_change_of_mode_lists_the_bookings(app, admin_client):
    booked = book_directly(app, IN_PERSON)
    response = save(admin_client, app, IN_PERSON, mode="video")
    assert response.status_code == 409
    assert booked.appointment.reference in response.get_data(as_text=True)


def test_a_shorter_horizon_is_no_impact_and_existing_appointments_stay(app, admin_client):
    booked = book_directly(app, VIDEO, skip=40)
    response = save(admin_client, app, VIDEO, horizon_days="1")
    assert response.status_code == 302
    assert appointment(app, booked.appointment.id).status == "booked"
    assert free_slots(app, VIDEO) == []  # booking_day() is three days ahead, past the new horizon


def test_more_seats_or_a_change_without_bookings_needs_no_choice(app, admin_client):
    two_in_one_slot(app)
    assert save(admin_client, app, VIDEO, capacity_per_slot="3").status_code == 302
    assert stored_service(app, VIDEO).capacity_per_slot == 3


# --- Document requirements -------------------------------------------------------------------------------


def requirement_form(app, slug=VIDEO, **overrides) -> dict:
    data = {
        "code": "proof_of_address",
        "label_es": "Prueba de dirección",
        "label_en": "Proof of address",
        "required": "y",
        "max_pages": "3",
        "version": str(stored_service(app, slug).version),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def requirements(app, slug=VIDEO) -> list[tuple[str, str, bool, int]]:
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == slug))
        return [(r.code, r.label_es, r.required, r.max_pages) for r in service.requirements]


def requirement_id(app, code, slug=VIDEO) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(DocumentRequirement.id)
            .join(Service)
            .where(Service.slug == slug, DocumentRequirement.code == code)
        )


def test_a_requirement_is_added_at_the_end_and_audited(app, admin_client):
    service = stored_service(app, VIDEO)
    response = admin_client.post(f"/admin/services/{service.id}/requirements/new", data=requirement_form(app))
    assert response.status_code == 302
    assert requirements(app)[-1] == ("proof_of_address", "Prueba de dirección", True, 3)
    assert stored_service(app, VIDEO).version == service.version + 1
    (event,) = audit_events(app, "service.requirement_added")
    assert event.detail["changes"]["code"] == [None, "proof_of_address"]
    page = admin_client.get(f"/admin/services/{service.id}").get_data(as_text=True)
    assert "Prueba de dirección" in page and "proof_of_address" in page


REFUSED_REQUIREMENTS = [
    ({"code": "licence_front"}, "This service already asks for a document with this code."),
    ({"code": "Licencia"}, "Use 2 to 40 lowercase letters, digits or _, starting with a letter."),
    ({"code": "../etc"}, "Use 2 to 40 lowercase letters, digits or _, starting with a letter."),
    ({"code": "a" * 41}, "Use 2 to 40 lowercase letters, digits or _, starting with a letter."),
    ({"code": ""}, "Use 2 to 40 lowercase letters, digits or _, starting with a letter."),
    ({"max_pages": "0"}, "Enter a whole number from 1 to 200."),
    ({"max_pages": "5000"}, "Enter a whole number from 1 to 200."),
    ({"max_pages": "-1"}, "Enter a whole number, without signs or decimals."),
    ({"label_en": ""}, "Enter what the document is, in English."),
]


@pytest.mark.parametrize(
    "overrides,message", REFUSED_REQUIREMENTS, ids=[repr(r[0]) for r in REFUSED_REQUIREMENTS]
)
def test_a_refused_requirement_gets_a_message_and_nothing_is_saved(app, admin_client, overrides, message):
    before = requirements(app)
    service = stored_service(app, VIDEO)
    response = admin_client.post(
        f"/admin/services/{service.id}/requirements/new",
        data=requirement_form(app, **overrides),
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))
    assert requirements(app) == before
    assert stored_service(app, VIDEO).version == service.version


def test_a_requirement_is_edited_but_its_code_never_changes(app, admin_client):
    url = f"/admin/requirements/{requirement_id(app, 'licence_front')}"
    assert admin_client.get(url).status_code == 200
    form = requirement_form(
        app, code="something_else", label_es="Licencia (ambos lados)", required=None, max_pages="4"
    )
    assert admin_client.post(url, data=form).status_code == 302
    assert requirements(app) == [("licence_front", "Licencia (ambos lados)", False, 4)]
    (event,) = audit_events(app, "service.requirement_changed")
    assert event.detail["changes"]["max_pages"] == [2, 4]
    assert event.detail["changes"]["code"] == ["licence_front", "licence_front"]


def test_a_stale_requirement_form_is_refused(app, admin_client):
    stale = requirement_form(app, label_es="Vieja")
    assert save(admin_client, app, VIDEO, description_es="Otra cosa").status_code == 302
    url = f"/admin/requirements/{requirement_id(app, 'licence_front')}"
    assert admin_client.post(url, data=stale).status_code == 409
    assert requirements(app)[0][1] != "Vieja"
    remove = {"version": stale["version"]}
    assert admin_client.post(f"{url}/remove", data=remove).status_code == 409
    assert len(requirements(app)) == 1


def test_requirements_are_moved_up_and_down(app, admin_client):
    slug = "certificaciones-vehiculos"
    assert [r[0] for r in requirements(app, slug)] == ["licence_front", "vehicle_document"]
    url = f"/admin/requirements/{requirement_id(app, 'vehicle_document', slug)}/move"
    version = str(stored_service(app, slug).version)
    assert admin_client.post(url, data={"version": version, "direction": "up"}).status_code == 302
    assert [r[0] for r in requirements(app, slug)] == ["vehicle_document", "licence_front"]
    (event,) = audit_events(app, "service.requirements_reordered")
    assert event.detail["changes"]["order"][1] == ["vehicle_document", "licence_front"]
    version = str(stored_service(app, slug).version)
    assert (
        admin_client.post(url, data={"version": version, "direction": "up"}).status_code == 302
    )  # already first
    assert [r[0] for r in requirements(app, slug)] == ["vehicle_document", "licence_front"]
    assert admin_client.post(url, data={"version": version, "direction": "down"}).status_code == 302
    assert [r[0] for r in requirements(app, slug)] == ["licence_front", "vehicle_document"]


def test_a_removed_requirement_keeps_the_documents_already_sent(app, admin_client, client, seeded):
    booked = book_directly(app, VIDEO)
    url = f"/admin/requirements/{requirement_id(app, 'licence_front')}/remove"
    response = admin_client.post(url, data={"version": str(stored_service(app, VIDEO).version)})
    assert response.status_code == 302
    assert requirements(app) == []
    (event,) = audit_events(app, "service.requirement_removed")
    assert event.detail["changes"]["code"] == ["licence_front", None]
    with app.app_context():
        (document,) = db.session.scalars(
            sa.select(Document).where(Document.appointment_id == booked.appointment.id)
        )
        document_id = document.id
        assert (document.requirement_code, document.purged_at) == ("licence_front", None)
    # the citizen still sees it on the appointment's page
    page = client.get(f"/manage/{booked.manage_token}").get_data(as_text=True)
    assert "licencia.pdf" in page
    # the clerk still sees it and opens it
    clerk = app.test_client()
    sign_in(clerk, DTOP_CLERK, seeded[DTOP_CLERK])
    reference = booked.appointment.reference
    assert "licencia.pdf" in clerk.get(f"/staff/appointments/{reference}").get_data(as_text=True)
    response = clerk.get(f"/staff/appointments/{reference}/documents/{document_id}/pages/1.png")
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
    # and new bookings are no longer asked for it
    assert book_directly(app, VIDEO, email="otra@example.com").appointment.status == "booked"


def test_a_longer_document_stays_when_the_page_limit_is_lowered(app, admin_client, client):
    booked = book_directly(app, VIDEO)
    url = f"/admin/requirements/{requirement_id(app, 'licence_front')}"
    assert (
        admin_client.post(url, data=requirement_form(app, max_pages="1", label_es="Licencia")).status_code
        == 302
    )
    page = client.get(f"/manage/{booked.manage_token}").get_data(as_text=True)
    assert "licencia.pdf" in page


def test_the_admin_pages_of_a_service_answer_in_both_languages(app, admin_client):
    service = stored_service(app, VIDEO)
    for path in (
        f"/admin/services/{service.id}",
        f"/admin/services/{service.id}/requirements/new",
        f"/admin/agencies/{agency_id(app, 'dtop')}/services/new",
    ):
        for language in ("es", "en"):
            assert admin_client.get(path, headers={"Accept-Language": language}).status_code == 200


def test_a_service_changed_by_the_admin_is_offered_with_its_new_slot_length(app, admin_client):
    assert save(admin_client, app, VIDEO, slot_minutes="30").status_code == 302
    slots = free_slots(app, VIDEO)
    assert slots and all(slot.end - slot.start == dt.timedelta(minutes=30) for slot in slots)
