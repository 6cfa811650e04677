"""The citizen's manage page: moving with a confirm step, joining the call, finding a lost
appointment, and a follow-up document after "documents missing".

The clock is frozen (conftest's `clock`); appointments are booked from a fixed day a few days after
its today (tests/support/booking.py).
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import urlsplit

import sqlalchemy as sa

from app.closing import close_appointment
from app.extensions import db
from app.models import Appointment, OutboxMessage, Staff
from app.notifications import rendered
from tests.support import booking
from tests.support.apps import demo_app

SERVICE = booking.LICENCE_SERVICE


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def stored(app, reference: str) -> Appointment:
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        db.session.expunge(appointment)
        return appointment


def pending_kinds(app, reference: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(OutboxMessage.kind)
                .join(Appointment, Appointment.id == OutboxMessage.appointment_id)
                .where(Appointment.reference == reference, OutboxMessage.status == "pending")
            )
        )


# --- Moving: choose, then confirm ----------------------------------------------------------------


def test_choosing_a_new_time_asks_to_confirm_before_anything_moves(app, client, seeded):
    booked = booking.book_directly(app)
    url = f"/manage/{booked.manage_token}"
    target = booking.first_free_slot(app, SERVICE, 4)
    day = booking.local_day(target.start).isoformat()

    chosen = client.post(f"{url}/reschedule/times", data={"day": day, "start": target.start.isoformat()})
    assert chosen.status_code == 302
    confirm_url = chosen.headers["Location"]
    assert "/reschedule/confirm" in confirm_url
    assert stored(app, booked.appointment.reference).start_at == booked.appointment.start_at
    assert "rescheduled" not in pending_kinds(app, booked.appointment.reference)

    page = text(client.get(confirm_url))
    assert "Confirmar la nueva hora" in page
    assert "Hora actual" in page and "Nueva hora" in page
    assert "/reschedule/times?day=" in page  # a way back to choose another time

    moved = client.post(f"{url}/reschedule/confirm", data={"start": target.start.isoformat()})
    assert moved.status_code == 302 and moved.headers["Location"].endswith(url)
    assert stored(app, booked.appointment.reference).start_at == target.start
    assert "rescheduled" in pending_kinds(app, booked.appointment.reference)


def test_the_confirm_step_refuses_a_bad_or_unavailable_time_and_changes_nothing(app, client, seeded):
    booked = booking.book_directly(app)
    url = f"/manage/{booked.manage_token}"
    for value in ("", "not-a-time", "2031-03-10T13:20:00"):  # the last is naive
        assert client.get(f"{url}/reschedule/confirm", query_string={"start": value}).status_code == 404
        assert client.post(f"{url}/reschedule/confirm", data={"start": value}).status_code == 422
    closed = booking.first_free_slot(app, SERVICE).start.replace(hour=3)  # 11 p.m. in Puerto Rico
    response = client.post(f"{url}/reschedule/confirm", data={"start": closed.isoformat()})
    assert response.status_code == 422
    assert "no está disponible" in text(response)
    assert stored(app, booked.appointment.reference).start_at == booked.appointment.start_at
    assert "rescheduled" not in pending_kinds(app, booked.appointment.reference)


def test_the_confirm_step_in_english(app, client, seeded):
    booked = booking.book_directly(app)
    target = booking.first_free_slot(app, SERVICE, 4)
    page = text(
        client.get(
            f"/manage/{booked.manage_token}/reschedule/confirm",
            query_string={"start": target.start.isoformat()},
            headers={"Accept-Language": "en"},
        )
    )
    assert "Confirm the new time" in page and "Current time" in page and "New time" in page
    assert re.search(r"Puerto Rico", page)


# --- Joining the call from the manage page ---------------------------------------------------------


def test_the_manage_page_offers_the_call_only_while_its_window_is_open(app, client, seeded, clock):
    booked = booking.book_directly(app)
    url = f"/manage/{booked.manage_token}"
    assert "Entrar a la videollamada" not in text(client.get(url))
    assert client.post(f"{url}/join").status_code == 409  # too early: nothing is issued

    clock.move_to(booked.appointment.start_at - dt.timedelta(minutes=5))
    page = text(client.get(url))
    assert "Entrar a la videollamada" in page and f"{url}/join" in page
    joined = client.post(f"{url}/join")
    assert joined.status_code == 302
    call_path = urlsplit(joined.headers["Location"]).path
    assert re.fullmatch(r"/call/[\w-]{40,}", call_path) and booked.join_token not in call_path
    assert client.get(call_path).status_code == 200
    assert client.get(f"/call/{booked.join_token}").status_code == 200  # the e-mailed link still works


def test_an_in_person_appointment_has_no_call_to_join(app, client, seeded, clock):
    booked = booking.book_directly(app, "renovacion-licencia")
    clock.move_to(booked.appointment.start_at - dt.timedelta(minutes=5))
    url = f"/manage/{booked.manage_token}"
    assert "Entrar a la videollamada" not in text(client.get(url))
    assert client.post(f"{url}/join").status_code == 404


# --- Find my appointment -----------------------------------------------------------------------------

FOUND = "Si los datos coinciden con una cita"


def links_messages(app) -> list[OutboxMessage]:
    with app.app_context():
        messages = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "links")).all()
        messages = [rendered(message) for message in messages]  # as the sender writes them
        for message in messages:
            if message in db.session:
                db.session.expunge(message)
        return messages


def test_the_home_page_and_a_dead_manage_link_lead_to_find_my_appointment(client, seeded):
    assert "/manage/find" in text(client.get("/"))
    assert "/manage/find" in text(client.get("/manage/" + "x" * 43))
    page = text(client.get("/manage/find"))
    assert "Encuentre su cita" in page and 'name="reference"' in page and 'name="email"' in page


def test_find_my_appointment_emails_fresh_links_and_never_shows_them(app, client, seeded):
    booked = booking.book_directly(app)
    reference = booked.appointment.reference
    response = client.post(
        "/manage/find", data={"reference": f"  {reference.lower()} ", "email": "ANA@example.com"}
    )
    page = text(response)
    assert response.status_code == 200 and FOUND in page
    assert "/manage/" + booked.manage_token not in page and not re.search(r"/(manage|call)/[\w-]{40,}", page)

    (message,) = links_messages(app)
    assert message.recipient == "ana@example.com" and reference in message.subject
    manage_path = re.search(r"/manage/[\w-]{40,}", message.body_text).group(0)
    call_path = re.search(r"/call/[\w-]{40,}", message.body_text).group(0)
    assert client.get(manage_path).status_code == 200
    assert client.get(f"/manage/{booked.manage_token}").status_code == 404  # the old links are replaced
    with app.app_context():
        reminders = db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.kind.like("reminder%"), OutboxMessage.status == "pending"
            )
        ).all()
        reminders = [rendered(m) for m in reminders]
        assert reminders and all(manage_path in m.body_text and call_path in m.body_text for m in reminders)


def test_find_my_appointment_answers_the_same_whether_or_not_it_matches(app, client, seeded):
    booked = booking.book_directly(app)
    reference = booked.appointment.reference
    answers = [
        client.post("/manage/find", data={"reference": reference, "email": "ana@example.com"}),
        client.post("/manage/find", data={"reference": reference, "email": "eve@example.com"}),
        client.post("/manage/find", data={"reference": "DTOP-ZZZZZZ", "email": "ana@example.com"}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len({a.get_data() for a in answers}) == 1
    assert len(links_messages(app)) == 1
    assert client.post("/manage/find", data={"reference": "", "email": "not-an-email"}).status_code == 422
    assert len(links_messages(app)) == 1


def test_find_my_appointment_is_rate_limited(tmp_path, demo_database):
    limited = demo_app(
        tmp_path, demo_database, RATELIMIT_ENABLED=True, FIND_APPOINTMENT_RATE_LIMIT="2 per hour"
    )
    client = limited.test_client()
    form = {"reference": "DTOP-ZZZZZZ", "email": "ana@example.com"}
    assert [client.post("/manage/find", data=form).status_code for _ in range(3)] == [200, 200, 429]


# --- After the appointment: the outcome and the clerk's message --------------------------------------


def test_after_documents_missing_the_manage_page_shows_the_outcome_and_the_clerks_message(
    app, client, seeded, clock
):
    booked = booking.book_directly(app)
    clock.move_to(booked.appointment.start_at + dt.timedelta(minutes=10))
    with app.test_request_context():
        clerk = db.session.scalar(sa.select(Staff).where(Staff.email == "clerk@dtop.demo.ventanilla.pr"))
        appointment = db.session.scalar(
            sa.select(Appointment).where(Appointment.reference == booked.appointment.reference)
        )
        close_appointment(appointment, clerk, "documents_missing", "Falta el registro del vehículo.")
    page = text(client.get(f"/manage/{booked.manage_token}"))
    assert "Faltan documentos" in page
    assert "No se pudo terminar su solicitud porque faltan algunos documentos." in page
    assert "Falta el registro del vehículo." in page
