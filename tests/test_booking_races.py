"""Capacity holds under concurrency: the database gives the last seat to exactly one request.

Threads and a live server: the clock ticks (from the fixed instant); the raced slots are days away
from their lead time (tests/support/booking.py), so ticking can never make them unbookable.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from app.appointments import BookingRequest, SlotFull, book_appointment
from app.documents import UploadedPdf
from app.extensions import db
from app.models import Appointment, Document, OutboxMessage, Service
from tests.support import booking, pdf_factory
from tests.support.servers import start_live_server

SERVICE = "certificacion-individuo"  # capacity 2 per slot, the licence front required
pytestmark = pytest.mark.clock(tick=True)


def stored_files(app) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*.pdf") if "staging" not in p.parts]


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Appointment, Document)
        }


def free_slot(app, slug=SERVICE):
    return booking.first_free_slot(app, slug)


def licence(pdf: bytes) -> UploadedPdf:
    import hashlib

    return UploadedPdf(
        requirement_code="licence_front",
        filename="licencia.pdf",
        data=pdf,
        pages=1,
        sha256=hashlib.sha256(pdf).hexdigest(),
    )


def book_in_thread(app, slot, email: str, pdf: bytes, barrier: threading.Barrier):
    with app.test_request_context():
        service = db.session.scalar(sa.select(Service).where(Service.slug == SERVICE))
        office = db.session.get(type(service.offices[0]), slot.office_id)
        request = BookingRequest(
            service=service,
            office=office,
            start=slot.start,
            name="Citizen",
            email=email,
            phone="+17875550100",
            documents=[licence(pdf)],
        )
        db.session.commit()  # give the connection back while waiting for the others
        barrier.wait(timeout=60)
        try:
            return book_appointment(request).appointment.reference
        except SlotFull as full:
            return full
        finally:
            db.session.remove()


def test_last_seat_goes_to_one_of_twenty_racing_threads_on_sqlite(app, seeded):
    slot = free_slot(app)
    pdf = pdf_factory.one_page()
    barrier = threading.Barrier(1)
    assert isinstance(book_in_thread(app, slot, "first@example.com", pdf, barrier), str)  # one of two seats

    barrier = threading.Barrier(20)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(
            pool.map(lambda n: book_in_thread(app, slot, f"c{n}@example.com", pdf, barrier), range(20))
        )

    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, SlotFull)]
    assert len(winners) == 1 and len(losers) == 19, results
    assert all(
        loser.alternatives and slot.start not in [a.start for a in loser.alternatives] for loser in losers
    )
    with app.app_context():
        seats = db.session.scalars(
            sa.select(Appointment.seat).where(Appointment.start_at == slot.start)
        ).all()
        assert sorted(seats) == [1, 2]
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "confirmation")
            )
            == 2
        )
    assert counts(app) == {"Appointment": 2, "Document": 2}
    assert len(stored_files(app)) == 2  # the losers left no file behind


@pytest.fixture
def pg_live_server(pg_app):
    from app.demo import seed_demo

    with pg_app.app_context():
        seed_demo()
    server = start_live_server(pg_app)
    yield server
    server.stop()


def test_last_seat_goes_to_one_of_fifty_concurrent_requests_on_postgresql(pg_app, pg_live_server):
    """Fifty real HTTP requests through the JSON API against a live server on PostgreSQL."""
    slot = free_slot(pg_app)
    pdf = pdf_factory.one_page()
    url = pg_live_server.url + "/api/v1/appointments"

    def post(email, barrier=None):
        if barrier:
            barrier.wait(timeout=60)
        return requests.post(
            url,
            data={
                "service": SERVICE,
                "start": slot.start.isoformat(),
                "name": "Citizen",
                "email": email,
                "phone": "787-555-0100",
                "licence_number": "1234567",
            },
            files={"licence_front": ("licencia.pdf", pdf, "application/pdf")},
            timeout=60,
        )

    assert post("first@example.com").status_code == 201
    barrier = threading.Barrier(50)
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda n: post(f"c{n}@example.com", barrier), range(50)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49, [
        r.text[:200] for r in responses if r.status_code not in (201, 409)
    ]
    for response in responses:
        if response.status_code == 409:
            body = response.json()
            assert body["error"] == "slot_full" and body["alternatives"]
    assert counts(pg_app) == {"Appointment": 2, "Document": 2}
    assert len(stored_files(pg_app)) == 2


def test_two_racing_bookings_by_the_same_citizen_get_one_appointment(app, seeded):
    """The per-citizen limit is decided by the database too, even for different slots."""
    slots = booking.free_slots(app, SERVICE)[:10]
    pdf = pdf_factory.one_page()
    barrier = threading.Barrier(10)

    def attempt(slot):
        with app.test_request_context():
            svc = db.session.scalar(sa.select(Service).where(Service.slug == SERVICE))
            request = BookingRequest(
                service=svc,
                office=svc.offices[0],
                start=slot.start,
                name="Same",
                email="same@example.com",
                phone="+17875550100",
                documents=[licence(pdf)],
            )
            db.session.commit()
            barrier.wait(timeout=60)
            try:
                return book_appointment(request).appointment.reference
            except Exception as error:  # noqa: BLE001 - the test counts the refusals
                return error
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(attempt, slots))
    assert sum(isinstance(r, str) for r in results) == 1
    assert {type(r).__name__ for r in results if not isinstance(r, str)} == {"CitizenLimitReached"}
    assert counts(app)["Appointment"] == 1
    assert len(stored_files(app)) == 1
