"""Choosing slots to book in tests: from a fixed day a few days after the test clock's today.

Never "the first free slot from now": that slot is the one closest to its lead time (at most four
hours for the demo services), and a test that picked it could see it stop being bookable between
reading the availability and booking it (a fresh-clone CI run once did). From `booking_day()` on,
every slot is days away from its lead time, even on a ticking clock, and two weeks from that day
stay well inside every demo service's horizon (30 days and more).
"""

from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa

from tests.support.clock import PR, UTC

BOOKING_DAYS_AHEAD = 3
SEARCH_DAYS = 14


def booking_day(now: dt.datetime | None = None) -> dt.date:
    """The day tests start looking for slots: three days after today in Puerto Rico (test clock)."""
    return (now or dt.datetime.now(UTC)).astimezone(PR).date() + dt.timedelta(days=BOOKING_DAYS_AHEAD)


def availability_query(**params) -> dict[str, str]:
    """Query parameters for GET /api/v1/services/<slug>/availability, starting on `booking_day()`."""
    return {"from": booking_day().isoformat(), **params}


def service_named(slug: str):
    from app.extensions import db
    from app.models import Service

    return db.session.scalar(sa.select(Service).where(Service.slug == slug))


def free_slots(app, slug: str, days: int = SEARCH_DAYS) -> list:
    """The free `scheduling.Slot`s of service `slug` from `booking_day()` on, earliest first."""
    from app import scheduling

    with app.test_request_context():
        service = service_named(slug)
        calendar = scheduling.available_days(service, booking_day(), days)
        return [slot for day in calendar for slot in day.free_slots]


def first_free_slot(app, slug: str, skip: int = 0):
    """The first free slot of `slug` from `booking_day()` on (or the one `skip` places later)."""
    return free_slots(app, slug)[skip]


def local_day(start: dt.datetime) -> dt.date:
    """The Puerto Rico date of a slot's start."""
    return start.astimezone(PR).date()


# --- The booking pages, step by step ----------------------------------------------------------------

VIDEO_SERVICE = "certificaciones-vehiculos"  # video, licence + vehicle document, capacity 2


def upload(data: bytes, name: str = "licencia.pdf"):
    return (io.BytesIO(data), name)


def fill_details(client, slug: str = VIDEO_SERVICE, **overrides):
    """Post the details step with valid answers and PDFs (overrides replace fields; None drops one)."""
    from tests.support import pdf_factory

    form = {
        "name": "Ana Rivera",
        "email": "ana@example.com",
        "phone": "787-555-0100",
        "licence_number": "1234567",
        "language": "es",
        "doc_licence_front": upload(pdf_factory.one_page()),
        "doc_vehicle_document": upload(pdf_factory.pages(2), "registro.pdf"),
    }
    form.update(overrides)
    form = {key: value for key, value in form.items() if value is not None}
    return client.post(f"/book/{slug}/details", data=form, content_type="multipart/form-data")


def choose_slot(client, app, slug: str = VIDEO_SERVICE, skip: int = 0):
    """Walk the office, day and time steps to a free slot from `booking_day()` on; returns the slot."""
    slot = first_free_slot(app, slug, skip)
    client.post(f"/book/{slug}", data={"office": slot.office_id})
    day = local_day(slot.start).isoformat()
    response = client.post(f"/book/{slug}/times", data={"day": day, "start": slot.start.isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)
    return slot


def session_contents(app, client) -> dict:
    """The browser's session cookie as Flask reads it (signed, not encrypted: anyone can read it)."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return {}
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


# --- Booking through the domain, for tests about what happens after -------------------------------

LICENCE_SERVICE = "certificacion-individuo"  # video, capacity 2, the licence front required


def book_directly(
    app, slug: str = LICENCE_SERVICE, *, email: str = "ana@example.com", skip: int = 0, **fields
):
    """Book the first free slot of `slug` from `booking_day()` on with `book_appointment`, a
    one-page licence attached; returns the `BookingResult` (appointment detached, both tokens)."""
    import hashlib

    from app.appointments import BookingRequest, book_appointment
    from app.documents import UploadedPdf
    from app.extensions import db
    from tests.support import pdf_factory

    slot = first_free_slot(app, slug, skip)
    pdf = pdf_factory.one_page()
    with app.test_request_context():
        service = service_named(slug)
        office = next(office for office in service.offices if office.id == slot.office_id)
        documents = [
            UploadedPdf(r.code, "licencia.pdf", pdf, 1, hashlib.sha256(pdf).hexdigest())
            for r in service.requirements
            if r.required
        ]
        request = BookingRequest(
            service=service,
            office=office,
            start=slot.start,
            name=fields.get("name", "Ana Rivera"),
            email=email,
            phone="+17875550100",
            language=fields.get("language", "es"),
            licence_number="1234567",
            documents=documents,
        )
        result = book_appointment(request)
        db.session.refresh(result.appointment)
        db.session.expunge(result.appointment)
        return result


def book_through_the_api(base_url: str, slug: str = VIDEO_SERVICE) -> dict:
    """Book the first free slot of `slug` through a live server's JSON API, a one-page licence
    attached; the API's answer (reference, manage_url, ...)."""
    import requests

    from tests.support import pdf_factory

    days = requests.get(
        f"{base_url}/api/v1/services/{slug}/availability", params=availability_query(), timeout=10
    ).json()["days"]
    start = next(day["slots"][0]["start"] for day in days if day["slots"])
    response = requests.post(
        f"{base_url}/api/v1/appointments",
        data={
            "service": slug,
            "start": start,
            "name": "Ana Rivera",
            "email": "ana@example.com",
            "phone": "787-555-0100",
            "licence_number": "1234567",
        },
        files={"licence_front": ("licencia.pdf", pdf_factory.one_page(), "application/pdf")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()
