"""The citizen's manage page: moving with a confirm step, joining the call, finding a lost
appointment, and a follow-up document after "documents missing".

The clock is frozen (conftest's `clock`); appointments are booked from a fixed day a few days after
its today (tests/support/booking.py).
"""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, OutboxMessage
from tests.support import booking

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
