"""The citizen booking flow through the pages, in Spanish and English, and the manage link.

The clock is frozen (conftest's `clock`); slots come from a fixed day a few days after its today
(tests/support/booking.py), never from "the first free slot from now".
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel import dates as babel_dates

from app import scheduling
from app.extensions import db
from app.models import Appointment, Document, OutboxMessage
from tests.support import booking, pdf_factory
from tests.support.booking import choose_slot, fill_details, upload

SERVICE = booking.VIDEO_SERVICE


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def book(client, app, slug=SERVICE, **details):
    slot = choose_slot(client, app, slug)
    assert fill_details(client, slug, **details).status_code == 302
    response = client.post(f"/book/{slug}/review", data={"accept": "y"})
    return slot, response


def uploads_in(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*.pdf") if "staging" not in p.parts]


def test_whole_flow_books_a_cesco_remoto_video_call(app, client, seeded):
    page = text(client.get(f"/book/{SERVICE}"))
    assert "Certificaciones de vehículos" in page and "cámara y micrófono" in page
    slot = choose_slot(client, app)
    response = client.get(f"/book/{SERVICE}/details")
    assert "Licencia de conducir (frente), en PDF" in text(response)
    response = fill_details(client)
    assert response.headers["Location"].endswith("/review")
    review = text(client.get(f"/book/{SERVICE}/review"))
    assert "Ana Rivera" in review and "(787) 555-0100" in review and "registro.pdf" in review
    response = client.post(f"/book/{SERVICE}/review", data={"accept": "y"})
    assert response.headers["Location"].endswith("/book/confirmation")
    confirmation = text(client.get("/book/confirmation"))
    assert "Su cita está reservada" in confirmation
    assert re.search(r"/call/[\w-]{40,}", confirmation) and re.search(r"/manage/[\w-]{40,}", confirmation)
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        assert appointment.start_at == slot.start and appointment.status == "booked"
        assert appointment.citizen_phone == "+17875550100" and appointment.citizen_email == "ana@example.com"
        assert appointment.reference in confirmation
        assert sorted(d.requirement_code for d in appointment.documents) == [
            "licence_front",
            "vehicle_document",
        ]
        assert {d.pages for d in appointment.documents} == {1, 2}
        kinds = db.session.scalars(sa.select(OutboxMessage.kind)).all()
        assert "confirmation" in kinds
    assert len(uploads_in(app)) == 2


def test_the_flow_works_in_english(app, client, seeded):
    client.get("/language/en")
    choose_slot(client, app)
    response = fill_details(client, email="not-an-email", doc_licence_front=None, doc_vehicle_document=None)
    assert response.status_code == 422
    page = text(response)
    assert "Enter a valid email address" in page
    assert "Please upload: Driver's licence (front), as PDF." in page


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_language_for_messages_starts_as_the_pages_language(app, client, seeded, language):
    """Issue #10, item 9: an English booking got Spanish e-mails because the choice said Español."""
    client.get(f"/language/{language}")
    choose_slot(client, app)
    page = client.get(f"/book/{SERVICE}/details").get_data(as_text=True)
    checked = re.search(r'<input[^>]*name="language"[^>]*value="(\w+)"[^>]*checked', page)
    checked = checked or re.search(r'<input[^>]*checked[^>]*name="language"[^>]*value="(\w+)"', page)
    assert checked is not None and checked.group(1) == language


def test_in_person_booking_asks_for_an_office(app, client, seeded):
    page = text(client.get("/book/renovacion-licencia"))
    assert "CESCO San Juan" in page and "CESCO Bayamón" in page
    response = client.post("/book/renovacion-licencia", data={})
    assert response.status_code == 422 and "Escoja una oficina." in text(response)
    response = client.post("/book/renovacion-licencia", data={"office": "99999"})
    assert response.status_code == 422


def test_calendar_tells_a_screen_reader_the_day_and_free_times(app, client, seeded):
    slot = choose_slot(client, app)
    # The month of the chosen slot: late in a month, the current one may have no free day left.
    month = booking.local_day(slot.start).strftime("%Y-%m")
    page = text(client.get(f"/book/{SERVICE}/calendar", query_string={"month": month}))
    assert re.search(
        r'<span class="usa-sr-only">\w+, \d+ de \w+ de \d{4}: \d+ horas disponibles</span>', page
    )
    assert re.search(
        r'<span class="usa-sr-only">(sábado|domingo), \d+ de \w+ de \d{4}: no hay horas disponibles', page
    )


def test_calendar_and_times_refuse_malformed_input(app, client, seeded):
    choose_slot(client, app)
    assert client.get(f"/book/{SERVICE}/calendar?month=2031-13").status_code == 404
    assert client.get(f"/book/{SERVICE}/times?day=yesterday").status_code == 404
    response = client.post(
        f"/book/{SERVICE}/times", data={"day": "2031-03-04", "start": "2031-03-04T09:07:00-04:00"}
    )
    assert response.status_code == 422


def test_phone_turn_services_and_unknown_services_are_not_bookable(client, seeded):
    assert client.get("/book/orientacion-retiro").status_code == 404
    assert client.get("/book/no-such-thing").status_code == 404


def test_a_valid_upload_is_kept_while_the_citizen_fixes_another_field(app, client, seeded):
    choose_slot(client, app)
    response = fill_details(client, phone="123")
    assert response.status_code == 422
    assert "licencia.pdf" in text(response)  # "Already uploaded: licencia.pdf"
    response = fill_details(client, doc_licence_front=None, doc_vehicle_document=None)
    assert response.status_code == 302
    client.post(f"/book/{SERVICE}/review", data={"accept": "y"})
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        assert {d.original_name for d in appointment.documents} == {"licencia.pdf", "registro.pdf"}


@pytest.mark.parametrize(
    "factory, message",
    [
        (pdf_factory.png_renamed, "no es un archivo PDF"),
        (pdf_factory.encrypted_with_user_password, "contraseña"),
        (pdf_factory.javascript_open_action, "JavaScript"),
        (lambda: pdf_factory.pages(11), "páginas"),
    ],
)
def test_a_refused_pdf_gets_its_message_and_nothing_is_stored(app, client, seeded, factory, message):
    choose_slot(client, app)
    response = fill_details(client, doc_licence_front=upload(factory(), "malo.pdf"))
    assert response.status_code == 422
    page = text(response)
    assert "malo.pdf" in page and message in page
    assert uploads_in(app) == []


def test_nothing_is_written_until_the_booking_is_valid(app, client, seeded):
    choose_slot(client, app)
    fill_details(client)
    assert uploads_in(app) == []  # only staged so far
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_review_needs_the_confirmation_box(app, client, seeded):
    choose_slot(client, app)
    fill_details(client)
    response = client.post(f"/book/{SERVICE}/review", data={})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_a_slot_taken_meanwhile_offers_the_nearest_free_times(app, client, seeded):
    slot = choose_slot(client, app)
    fill_details(client)
    others = [app.test_client() for _ in range(2)]
    for number, other in enumerate(others):
        _, response = book(other, app, email=f"other{number}@example.com")
        assert response.status_code == 302
    response = client.post(f"/book/{SERVICE}/review", data={"accept": "y"})
    assert response.status_code == 409
    page = text(response)
    assert "Alguien acaba de reservar esa hora" in page
    alternatives = re.findall(r'name="start" value="([^"]+)"', page)
    assert len(alternatives) == 3 and slot.start.isoformat() not in alternatives
    response = client.post(f"/book/{SERVICE}/alternative", data={"start": alternatives[0]})
    assert response.headers["Location"].endswith("/review")
    assert client.post(f"/book/{SERVICE}/review", data={"accept": "y"}).status_code == 302


def test_one_active_appointment_per_service_per_email(app, client, seeded):
    other = app.test_client()  # a second tab got past the details step before the first booked
    choose_slot(other, app)
    assert fill_details(other, email="ANA@example.com").status_code == 302
    _, response = book(client, app)
    assert response.status_code == 302
    response = other.post(f"/book/{SERVICE}/review", data={"accept": "y"})
    assert response.status_code == 409
    assert "Ya tiene una cita pendiente para este servicio" in text(response)


# --- Manage link -------------------------------------------------------------------------------


def booked_manage_url(client, app) -> str:
    book(client, app)
    page = text(client.get("/book/confirmation"))
    return re.search(r"(/manage/[\w-]+)", page).group(1)


def test_manage_link_shows_the_appointment(app, client, seeded):
    url = booked_manage_url(client, app)
    page = text(app.test_client().get(url))
    assert "Su cita" in page and "licencia.pdf" in page and "Reservada" in page


@pytest.mark.parametrize("token", ["nope", "x" * 43, "x" * 500, "%00"])
def test_bad_manage_tokens_get_a_translated_404(client, seeded, token):
    response = client.get(f"/manage/{token}")
    assert response.status_code == 404
    assert "no es válido o expiró" in text(response)


def test_cancel_frees_the_seat_at_once(app, client, seeded):
    url = booked_manage_url(client, app)
    assert client.post(f"{url}/cancel", data={}).status_code == 422  # box not ticked
    response = client.post(f"{url}/cancel", data={"confirm": "y"})
    assert response.status_code == 302
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        assert appointment.status == "cancelled" and appointment.seat is None
        kinds = db.session.scalars(
            sa.select(OutboxMessage.kind).where(OutboxMessage.status == "pending")
        ).all()
        assert "cancellation" in kinds and not any(k.startswith("reminder") for k in kinds)
    assert "Esta cita fue cancelada" in text(client.get(url))
    _, again = book(app.test_client(), app)  # the same citizen may book again
    assert again.status_code == 302


def test_reschedule_takes_the_new_seat_and_frees_the_old(app, client, seeded):
    url = booked_manage_url(client, app)
    with app.app_context():
        old = db.session.scalar(sa.select(Appointment)).start_at
    new = booking.first_free_slot(app, SERVICE, 5)
    response = client.post(
        f"{url}/reschedule/times", data={"day": new.start.date().isoformat(), "start": new.start.isoformat()}
    )
    assert response.status_code == 302 and "/reschedule/confirm" in response.headers["Location"]
    response = client.post(f"{url}/reschedule/confirm", data={"start": new.start.isoformat()})
    assert response.status_code == 302, text(response)
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        assert appointment.start_at == new.start and appointment.seat == 1
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "rescheduled")
            )
            == 1
        )
    assert old != new.start


def test_reschedule_to_a_full_slot_keeps_the_old_one(app, client, seeded):
    url = booked_manage_url(client, app)
    target = booking.first_free_slot(app, SERVICE, 3)
    # Fill the target slot through the pages.
    for number in range(2):
        other = app.test_client()
        other.post(f"/book/{SERVICE}", data={"office": target.office_id})
        day = target.start.date().isoformat()
        other.post(f"/book/{SERVICE}/times", data={"day": day, "start": target.start.isoformat()})
        fill_details(other, email=f"full{number}@example.com")
        assert other.post(f"/book/{SERVICE}/review", data={"accept": "y"}).status_code == 302
    with app.app_context():
        before = db.session.scalar(sa.select(Appointment).order_by(Appointment.id)).start_at
    response = client.post(f"{url}/reschedule/confirm", data={"start": target.start.isoformat()})
    assert response.status_code == 409
    with app.app_context():
        assert db.session.scalar(sa.select(Appointment).order_by(Appointment.id)).start_at == before


def test_replace_a_document(app, client, seeded):
    url = booked_manage_url(client, app)
    response = client.post(
        f"{url}/documents/licence_front",
        data={"document": upload(pdf_factory.pages(2), "nueva.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        names = {d.original_name for d in db.session.scalars(sa.select(Document))}
    assert names == {"nueva.pdf", "registro.pdf"}
    assert len(uploads_in(app)) == 2  # the old file is gone
    bad = client.post(
        f"{url}/documents/licence_front",
        data={"document": upload(b"hello", "x.pdf")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert client.post(f"{url}/documents/unknown_code", data={}).status_code == 404


def test_manage_actions_stop_once_the_appointment_has_started(app, client, seeded):
    url = booked_manage_url(client, app)
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        appointment.start_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        appointment.end_at = appointment.start_at + dt.timedelta(minutes=20)
        db.session.commit()
    assert "ya no se puede cambiar en línea" in text(client.get(url))
    assert client.post(f"{url}/cancel", data={"confirm": "y"}).status_code == 409
    with app.app_context():
        assert db.session.scalar(sa.select(Appointment)).status == "booked"


def test_manage_link_expires_a_while_after_the_appointment(app, client, seeded):
    url = booked_manage_url(client, app)
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        appointment.end_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
        appointment.start_at = appointment.end_at - dt.timedelta(minutes=20)
        db.session.commit()
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "field, value",
    [
        ("email", "ana@" + "abcdefghij." * 23 + "com"),  # 260 characters: refused, never cut down
        ("phone", "787-555-0100" + " " * 28 + "ext. 5 or call 939-555-0199"),
        ("name", "A"),
    ],
)
def test_overlong_or_odd_contact_details_are_refused_not_trimmed(app, client, seeded, field, value):
    choose_slot(client, app)
    assert fill_details(client, **{field: value}).status_code == 422


def test_links_follow_public_base_url_not_the_host_header(app):
    from app.links import appointment_links

    app.config["PUBLIC_BASE_URL"] = "https://citas.example.pr.gov"
    with app.test_request_context(headers={"Host": "evil.example"}):
        links = appointment_links("join-token", "manage-token")
    assert links == {
        "join_url": "https://citas.example.pr.gov/call/join-token",
        "manage_url": "https://citas.example.pr.gov/manage/manage-token",
    }


def test_a_whole_booking_in_english_shows_puerto_rico_time(app, client, seeded):
    client.get("/language/en")
    slot, response = book(client, app, language="en")
    assert response.status_code == 302
    page = text(client.get("/book/confirmation"))
    assert "Your appointment is booked" in page and "Puerto Rico time" in page
    local = slot.start.astimezone(scheduling.ZoneInfo("America/Puerto_Rico"))
    assert local.strftime("%-I:%M") in page and ("AM" in page or "PM" in page)
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
        assert message.language == "en" and message.subject.startswith("Appointment confirmed")


def test_no_database_transaction_stays_open_while_a_pdf_is_checked(app, client, seeded, monkeypatch):
    """A PDF check runs a child process and may wait its turn: holding a pooled connection
    meanwhile let a burst of uploads empty the pool (benchmarks/booking_throughput.py)."""
    from app.documents import uploads

    seen = []
    real_validate = uploads.validate_pdf

    def validate_and_look(*args, **kwargs):
        seen.append(db.session().in_transaction())
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(uploads, "validate_pdf", validate_and_look)
    choose_slot(client, app)
    assert fill_details(client).status_code == 302  # the pages
    slot = booking.first_free_slot(app, SERVICE, 1)
    response = client.post(
        "/api/v1/appointments",
        data={  # the API
            "service": SERVICE,
            "start": slot.start.isoformat(),
            "name": "Luis Soto",
            "email": "luis@example.com",
            "phone": "787-555-0101",
            "licence_number": "7654321",
            "licence_front": upload(pdf_factory.one_page()),
            "vehicle_document": upload(pdf_factory.one_page()),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert seen == [False] * 4


def test_the_confirmation_of_a_video_call_offers_the_device_check(app, client, seeded):
    book(client, app)
    page = text(client.get("/book/confirmation"))
    assert 'href="/call/check"' in page and "Probar mi cámara y mi micrófono" in page
    assert client.get("/call/check").status_code == 200


def test_the_one_appointment_limit_is_checked_when_the_email_is_entered(app, client, seeded):
    """Issue #10, item 10: the limit was reported only at the last step, after the upload."""
    _, response = book(client, app)
    assert response.status_code == 302
    other = app.test_client()
    choose_slot(other, app)
    response = fill_details(other, email="ANA@example.com")
    assert response.status_code == 409
    page = text(response)
    assert "Ya tiene una cita pendiente para este servicio" in page
    assert 'href="#email"' in page  # in the error summary, pointing at the field
    assert "licencia.pdf" in page and "registro.pdf" in page  # staged: nobody uploads twice
    response = fill_details(
        other, email="otra@example.com", doc_licence_front=None, doc_vehicle_document=None
    )
    assert response.status_code == 302
    assert other.post(f"/book/{SERVICE}/review", data={"accept": "y"}).status_code == 302


# --- Issue #10, item 14: seeing and changing the choices -----------------------------------------


def shown_date_and_time(start: dt.datetime, locale: str = "es") -> tuple[str, str]:
    local = start.astimezone(booking.PR)
    return babel_dates.format_date(local.date(), "full", locale=locale), babel_dates.format_time(
        local, "short", locale=locale
    )


def change_links(page: str) -> dict[str, str]:
    """{what the link changes (its screen-reader text): where it goes} for each "Cambiar" link."""
    found = re.findall(r'href="([^"]+)"[^>]*>\s*Cambiar\s*<span class="usa-sr-only">([^<]+)</span>', page)
    return {label.strip(" —:"): href for href, label in found}


def test_the_details_step_shows_the_chosen_date_and_time(app, client, seeded):
    slot = choose_slot(client, app)
    page = text(client.get(f"/book/{SERVICE}/details"))
    day, time = shown_date_and_time(slot.start)
    assert day in page and time in page
    assert change_links(page)["Fecha y hora"].startswith(f"/book/{SERVICE}/calendar")


def test_the_review_page_has_a_change_link_on_every_row(app, client, seeded):
    choose_slot(client, app)
    fill_details(client)
    links = change_links(text(client.get(f"/book/{SERVICE}/review")))
    details = f"/book/{SERVICE}/details"
    assert links == {
        "Fecha y hora": f"/book/{SERVICE}/calendar?month={links['Fecha y hora'].rsplit('=', 1)[-1]}",
        "Nombre": f"{details}#name",
        "Correo electrónico": f"{details}#email",
        "Teléfono": f"{details}#phone",
        "Número de licencia de conducir": f"{details}#licence_number",
        "Idioma de los mensajes": f"{details}#language-0",
        "Licencia de conducir (frente), en PDF": f"{details}#doc_licence_front",
        "Documento del vehículo (registro o título), en PDF": f"{details}#doc_vehicle_document",
    }


def test_an_office_visit_review_links_back_to_the_office_choice(app, client, seeded):
    slug = "renovacion-licencia"
    choose_slot(client, app, slug)
    fill_details(client, slug, doc_licence_front=None, doc_vehicle_document=None)
    links = change_links(text(client.get(f"/book/{slug}/review")))
    assert links["Oficina"] == f"/book/{slug}"


def test_a_new_date_and_time_from_the_review_keeps_everything_else(app, client, seeded):
    choose_slot(client, app)
    fill_details(client, name="Ana María Rivera")
    calendar = client.get(change_links(text(client.get(f"/book/{SERVICE}/review")))["Fecha y hora"])
    assert calendar.status_code == 200
    later = booking.first_free_slot(app, SERVICE, skip=3)
    response = client.post(
        f"/book/{SERVICE}/times",
        data={"day": booking.local_day(later.start).isoformat(), "start": later.start.isoformat()},
    )
    assert response.headers["Location"].endswith(f"/book/{SERVICE}/review")
    page = text(client.get(f"/book/{SERVICE}/review"))
    day, time = shown_date_and_time(later.start)
    assert day in page and time in page
    assert "Ana María Rivera" in page and "registro.pdf" in page
    assert client.post(f"/book/{SERVICE}/review", data={"accept": "y"}).status_code == 302
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        assert appointment.start_at == later.start and len(appointment.documents) == 2


def test_a_slot_handed_to_book_appointment_for_another_time_is_not_taken_on_trust(app, seeded):
    """The API hands over the slot its validation found; one that is not the asked time (or office)
    is looked for again, so the booking is at the time the citizen asked for."""
    from app.appointments import BookingRequest, book_appointment

    in_person = "renovacion-licencia"
    asked, other = booking.free_slots(app, in_person)[:2]
    assert (other.start, other.office_id) != (asked.start, asked.office_id)
    with app.test_request_context():
        service = booking.service_named(in_person)
        office = next(office for office in service.offices if office.id == asked.office_id)
        request = BookingRequest(
            service=service,
            office=office,
            start=asked.start,
            name="Ana Rivera",
            email="ana@example.com",
            phone="+17875550100",
            slot=other,
        )
        result = book_appointment(request)
        assert (result.appointment.start_at, result.appointment.office_id) == (asked.start, asked.office_id)
