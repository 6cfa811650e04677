"""The per-service daily caps on bookings per e-mail domain and per phone number.

A few client addresses could otherwise fill a service's calendar with invented citizens. The caps
count the bookings made on one day (the agency's date) and are decided by the database, like the
seats: racing requests on SQLite and PostgreSQL end with exactly the cap booked.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from html import unescape

import pytest
import sqlalchemy as sa

from app.appointments import BookingError, DailyCapReached
from app.extensions import db
from app.models import Appointment, Service
from tests.support import booking
from tests.support.booking import book_directly, choose_slot, fill_details

SERVICE = booking.LICENCE_SERVICE  # certificacion-individuo: video, capacity 2


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def set_caps(app, slug: str = SERVICE, *, domain: int | None = None, phone: int | None = None) -> None:
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == slug))
        service.daily_cap_per_domain, service.daily_cap_per_phone = domain, phone
        db.session.commit()


def booked(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment))


def test_a_phone_number_books_at_most_its_daily_cap(app, seeded):
    set_caps(app, phone=2)
    book_directly(app, email="a@example.com")
    book_directly(app, email="b@example.com", skip=1)
    with pytest.raises(DailyCapReached) as refused:
        book_directly(app, email="c@example.com", skip=2)
    assert (refused.value.status, refused.value.code, refused.value.field) == (409, "daily_cap", "phone")
    assert booked(app) == 2


def test_an_email_domain_books_at_most_its_daily_cap(app, seeded):
    set_caps(app, domain=2, phone=100)
    book_directly(app, email="a@agencia.pr")
    book_directly(app, email="B@Agencia.PR", skip=1)
    with pytest.raises(DailyCapReached) as refused:
        book_directly(app, email="c@agencia.pr", skip=2)
    assert refused.value.field == "email"
    book_directly(app, email="c@otra.pr", skip=2)  # another domain still books


def test_common_consumer_domains_are_exempt_from_the_domain_cap(app, seeded):
    set_caps(app, domain=1, phone=100)
    assert "gmail.com" in app.config["BOOKING_CAP_EXEMPT_DOMAINS"]
    for number in range(3):
        book_directly(app, email=f"persona{number}@gmail.com", skip=number)
    assert booked(app) == 3


def test_the_caps_default_to_the_settings_when_the_service_has_none(app, seeded):
    app.config["BOOKING_DAILY_CAP_PER_PHONE"] = 1
    book_directly(app, email="a@example.com")
    with pytest.raises(DailyCapReached):
        book_directly(app, email="b@example.com", skip=1)


def test_the_count_starts_again_the_next_day(app, seeded, clock):
    set_caps(app, phone=1)
    book_directly(app, email="a@example.com")
    with pytest.raises(DailyCapReached):
        book_directly(app, email="b@example.com", skip=1)
    clock.advance(days=1)
    book_directly(app, email="b@example.com", skip=1)


def test_a_cancelled_booking_still_counts_that_day(app, seeded):
    from app.appointments import cancel_appointment

    set_caps(app, phone=1)
    first = book_directly(app, email="a@example.com")
    with app.test_request_context():
        cancel_appointment(db.session.get(Appointment, first.appointment.id))
    with pytest.raises(DailyCapReached):
        book_directly(app, email="b@example.com", skip=1)


def test_the_review_step_answers_a_translated_409_when_the_cap_filled_meanwhile(app, client, seeded):
    set_caps(app, booking.VIDEO_SERVICE, phone=1)
    choose_slot(client, app, skip=1)
    assert fill_details(client, email="b@example.com").status_code == 302
    book_directly(app, booking.VIDEO_SERVICE, email="a@example.com")  # the same phone, meanwhile
    response = client.post(f"/book/{booking.VIDEO_SERVICE}/review", data={"accept": "y"})
    assert response.status_code == 409
    assert "Este número de teléfono ya reservó hoy" in text(response)
    english = client.post(
        f"/book/{booking.VIDEO_SERVICE}/review", data={"accept": "y"}, headers={"Accept-Language": "en"}
    )
    assert english.status_code == 409 and "This phone number has already booked" in text(english)
    assert booked(app) == 1


def test_the_api_answers_a_409_with_the_code(app, client, seeded):
    import io

    from pypdf import PdfWriter

    set_caps(app, phone=1)
    book_directly(app, email="a@example.com")
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    buffer = io.BytesIO()
    writer.write(buffer)
    slot = booking.first_free_slot(app, SERVICE, 1)
    response = client.post(
        "/api/v1/appointments",
        data={
            "service": SERVICE,
            "start": slot.start.isoformat(),
            "name": "Otra",
            "email": "b@example.com",
            "phone": "787-555-0100",
            "licence_number": "1234567",
            "licence_front": (io.BytesIO(buffer.getvalue()), "licencia.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 409
    assert response.get_json()["error"] == "daily_cap"


# --- concurrency --------------------------------------------------------------------------------


@pytest.fixture
def seeded_any_db(any_db_app):
    """The demo data on SQLite and on PostgreSQL (conftest's `seeded` is SQLite's alone)."""
    from app.demo import seed_demo

    with any_db_app.app_context():
        seed_demo()
    return any_db_app


def race(app, emails: list[str]) -> list:
    """Book one slot each (different slots, same phone) at the same moment; results or errors."""
    slots = booking.free_slots(app, SERVICE)
    barrier = threading.Barrier(len(emails))

    def attempt(index: int):
        try:
            barrier.wait(timeout=60)
            return book_directly(app, email=emails[index], skip=index).appointment.reference
        except BookingError as refused:
            return refused

    assert len(slots) >= len(emails)
    with ThreadPoolExecutor(len(emails)) as pool:
        return list(pool.map(attempt, range(len(emails))))


@pytest.mark.clock(tick=True)
def test_racing_bookings_of_one_phone_end_with_exactly_the_cap_booked(seeded_any_db):
    app = seeded_any_db
    set_caps(app, phone=2, domain=100)
    results = race(app, [f"persona{n}@example.com" for n in range(8)])
    assert sum(isinstance(result, str) for result in results) == 2, results
    assert all(isinstance(r, (str, DailyCapReached)) for r in results), results
    assert booked(app) == 2


@pytest.mark.clock(tick=True)
def test_racing_bookings_of_one_domain_end_with_exactly_the_cap_booked(seeded_any_db):
    app = seeded_any_db
    set_caps(app, domain=3, phone=100)
    results = race(app, [f"persona{n}@agencia.pr" for n in range(8)])
    assert sum(isinstance(result, str) for result in results) == 3, results
    assert booked(app) == 3


def test_an_admin_raises_the_caps_from_the_command_line(app, runner, seeded):
    result = runner.invoke(args=["set-service-caps", SERVICE, "--per-domain", "80", "--per-phone", "5"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == SERVICE))
        assert (service.daily_cap_per_domain, service.daily_cap_per_phone) == (80, 5)
    result = runner.invoke(args=["set-service-caps", SERVICE, "--per-phone", "default"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == SERVICE))
        assert (service.daily_cap_per_domain, service.daily_cap_per_phone) == (80, None)
    assert "80" in runner.invoke(args=["set-service-caps", SERVICE]).output  # shows the caps in force
    assert runner.invoke(args=["set-service-caps", "no-such-service", "--per-phone", "2"]).exit_code != 0
    assert runner.invoke(args=["set-service-caps", SERVICE, "--per-phone", "0"]).exit_code != 0


def test_the_details_step_says_so_as_soon_as_the_phone_has_reached_its_cap(app, client, seeded):
    set_caps(app, booking.VIDEO_SERVICE, phone=1)
    book_directly(app, booking.VIDEO_SERVICE, email="a@example.com")
    choose_slot(client, app, skip=1)
    response = fill_details(client, email="b@example.com")
    assert response.status_code == 409
    page = text(response)
    assert 'id="phone-error"' in page and "Este número de teléfono ya reservó hoy" in page
    set_caps(app, booking.VIDEO_SERVICE, phone=2)
    assert fill_details(client, email="b@example.com").status_code == 302
