"""The clerk's side panel and the after-call survey: page images, identity, outcome, results.

The clock is frozen (conftest's `clock`), ticking for the two browser tests; appointments are
booked from a fixed day a few days after its today, then moved to "started a few minutes ago".
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfWriter

from app.calls import sessions
from app.documents import RenderError, RenderLimits, render_page
from app.extensions import db
from app.models import (
    Appointment,
    AuditEvent,
    CallSession,
    Document,
    OutboxMessage,
    Staff,
    SurveyResponse,
    utcnow,
)
from tests.support import pdf_factory
from tests.support.booking import availability_query
from tests.support.clock import stamp

VIDEO = "certificacion-individuo"  # DTOP, video, licence number and the licence front as PDF
CLERK = "clerk@dtop.demo.ventanilla.pr"
ADMIN = "admin@dtop.demo.ventanilla.pr"
OTHER_AGENCY_CLERK = "clerk@cfse.demo.ventanilla.pr"
ENGLISH = {"Accept-Language": "en"}
ROOT = Path(__file__).resolve().parent.parent


# --- helpers ------------------------------------------------------------------------------------


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def blank_pdf(*sizes: tuple[float, float]) -> bytes:
    writer = PdfWriter()
    for width, height in sizes or ((200, 200),):
        writer.add_blank_page(width, height)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), data[:20]
    return struct.unpack(">II", data[16:24])


def book(client, licence: bytes | None = None, language: str = "es", email: str = "ana@example.com") -> dict:
    """Book the first free video slot from `booking_day()` on through the JSON API; returns its
    answer plus both tokens. (Not the first free slot from now: it could reach its lead time
    between the two requests, as it once did in CI while this module built a 21-page PDF.)"""
    days = client.get(f"/api/v1/services/{VIDEO}/availability", query_string=availability_query()).get_json()[
        "days"
    ]
    slot = next(slot for day in days for slot in day["slots"])
    form = {
        "service": VIDEO,
        "start": slot["start"],
        "name": "Ana Rivera",
        "email": email,
        "phone": "787-555-0100",
        "licence_number": "1234567",
        "language": language,
        "licence_front": (io.BytesIO(licence or pdf_factory.one_page()), "licencia.pdf"),
    }
    response = client.post("/api/v1/appointments", data=form, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    body["join_token"] = body["join_url"].rsplit("/", 1)[1]
    body["manage_token"] = body["manage_url"].rsplit("/", 1)[1]
    return body


def appointment_of(reference: str) -> Appointment:
    return db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))


def staff(email: str) -> Staff:
    return db.session.scalar(sa.select(Staff).where(Staff.email == email))


def starting_now(app, reference: str, minutes_ago: int = 5) -> None:
    """Move the appointment so that it started a few minutes ago (as at call time)."""
    with app.app_context():
        appointment = appointment_of(reference)
        length = appointment.end_at - appointment.start_at
        appointment.start_at = utcnow() - dt.timedelta(minutes=minutes_ago)
        appointment.end_at = appointment.start_at + length
        db.session.commit()


def admitted_by(app, reference: str, email: str = CLERK) -> None:
    """The citizen waited and `email` admitted them: the appointment is in call, in their hands."""
    from app.calls import sessions

    starting_now(app, reference)
    with app.test_request_context():
        appointment = appointment_of(reference)
        sessions.mark_waiting(appointment)
        sessions.admit(appointment, staff(email))


def document_of(app, reference: str, source: str = "citizen") -> Document:
    with app.app_context():
        document = next(d for d in appointment_of(reference).documents if d.source == source)
        db.session.expunge(document)
        return document


def page_url(reference: str, document_id: int, page: int = 1, **params) -> str:
    query = "".join(f"{'&' if i else '?'}{k}={v}" for i, (k, v) in enumerate(params.items()))
    return f"/staff/appointments/{reference}/documents/{document_id}/pages/{page}.png{query}"


def audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        for event in events:
            db.session.expunge(event)
        return events


def outbox(app, kind: str) -> list[OutboxMessage]:
    with app.app_context():
        messages = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)).all()
        for message in messages:
            db.session.expunge(message)
        return messages


def second_clerk(app) -> str:
    from app.accounts import create_staff

    with app.app_context():
        create_staff("clerk2@dtop.demo.ventanilla.pr", "Clerk Two", "another-long-password", "clerk", "dtop")
        db.session.commit()
    return "clerk2@dtop.demo.ventanilla.pr"


def set_outcome(client, reference: str, outcome: str, message: str = "", headers=None):
    return client.post(
        f"/staff/appointments/{reference}/outcome",
        data={"outcome": outcome, "message": message},
        headers=headers,
    )


def attach(client, reference: str, data: bytes, name: str = "certificacion.pdf", headers=None):
    return client.post(
        f"/staff/appointments/{reference}/results",
        data={"document": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


# --- documents as page images -------------------------------------------------------------------


def test_a_page_is_a_png_of_the_asked_width_and_every_view_is_audited(app, client, auth):
    booked = book(client)
    document = document_of(app, booked["reference"])
    auth.login()
    for _view in range(2):  # the second comes from the cache, and is audited all the same
        response = client.get(page_url(booked["reference"], document.id))
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        assert png_size(response.data) == (800, 1036)  # US Letter, 612 × 792 points
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert png_size(client.get(page_url(booked["reference"], document.id, w=400)).data) == (400, 518)

    events = audit(app, "document.viewed")
    assert len(events) == 3
    with app.app_context():
        clerk = staff(CLERK)
        appointment = appointment_of(booked["reference"])
        assert {(e.actor_staff_id, e.agency_id, e.object_id) for e in events} == {
            (clerk.id, appointment.service.agency_id, appointment.id)
        }
    assert events[0].detail == {"document": document.id, "page": 1, "source": "citizen"}
    renders = list((Path(app.config["UPLOAD_DIR"]) / "renders").rglob("*.png"))
    assert len(renders) == 2 and all(p.stat().st_mode & 0o077 == 0 for p in renders)


def test_the_detail_page_shows_the_panel_with_each_page_as_an_image(app, client, auth):
    booked = book(client, licence=blank_pdf((612, 792), (792, 612)))
    document = document_of(app, booked["reference"])
    auth.login()
    page = text(client.get(f"/staff/appointments/{booked['reference']}"))
    assert 'href="tel:+17875550100"' in page and "(787) 555-0100" in page
    assert "1234567" in page
    for number in (1, 2):
        assert f'src="{page_url(booked["reference"], document.id, number)}"' in page
    assert len(re.findall(r'<img [^>]*loading="lazy"[^>]*alt="[^"]+"', page)) == 2
    assert f'action="/staff/appointments/{booked["reference"]}/identity"' in page
    assert f'action="/staff/appointments/{booked["reference"]}/outcome"' in page
    assert audit(app, "document.viewed") == []  # listing pages is not viewing them


def test_anonymous_visitors_are_sent_to_the_login(app, client, seeded):
    booked = book(client)
    document = document_of(app, booked["reference"])
    for url in (f"/staff/appointments/{booked['reference']}", page_url(booked["reference"], document.id)):
        response = client.get(url)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    response = client.post(f"/staff/appointments/{booked['reference']}/identity")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_a_clerk_of_another_agency_sees_nothing(app, client, auth):
    booked = book(client)
    document = document_of(app, booked["reference"])
    auth.login(OTHER_AGENCY_CLERK)
    reference = booked["reference"]
    assert client.get(f"/staff/appointments/{reference}").status_code == 404
    assert client.get(page_url(reference, document.id)).status_code == 404
    assert client.post(f"/staff/appointments/{reference}/identity").status_code == 404
    assert set_outcome(client, reference, "completed").status_code == 404
    assert attach(client, reference, pdf_factory.one_page()).status_code == 404
    assert audit(app, "document.viewed") == []


@pytest.mark.parametrize(
    "path",
    [
        "/documents/{doc}/pages/0.png",
        "/documents/{doc}/pages/2.png",  # a one-page document
        "/documents/{doc}/pages/-1.png",
        "/documents/{doc}/pages/abc.png",
        "/documents/{doc}/pages/1.5.png",
        "/documents/{doc}/pages/99999999999999999999999999.png",
        "/documents/99999999999999999999999999/pages/1.png",
        "/documents/0/pages/1.png",
        "/documents/{doc}/pages/1.png?w=100000",
        "/documents/{doc}/pages/1.png?w=-800",
        "/documents/{doc}/pages/1.png?w=799",
        "/documents/{doc}/pages/1.png?w=8e2",
        "/documents/{doc}/pages/1.jpg",
    ],
)
def test_malformed_or_unknown_pages_are_404(app, client, auth, path):
    booked = book(client)
    document = document_of(app, booked["reference"])
    auth.login()
    url = f"/staff/appointments/{booked['reference']}" + path.format(doc=document.id)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("reference", ["NOPE-123456", "x" * 500, "%00", "DTOP-<script>"])
def test_unknown_references_are_404(client, auth, reference):
    auth.login()
    assert client.get(f"/staff/appointments/{reference}").status_code == 404
    assert (
        client.post(f"/staff/appointments/{reference}/outcome", data={"outcome": "completed"}).status_code
        == 404
    )


def test_another_appointments_document_is_not_shown_under_this_one(app, client, auth):
    first, second = book(client), book(client, email="luis@example.com")
    other = document_of(app, second["reference"])
    auth.login()
    assert client.get(page_url(first["reference"], other.id)).status_code == 404


@pytest.mark.parametrize("size", [(10, 14400), (14400, 14400), (14400, 3)])
def test_a_huge_or_thin_page_is_rendered_within_bounds(app, client, auth, size):
    booked = book(client, licence=blank_pdf(size))
    document = document_of(app, booked["reference"])
    auth.login()
    response = client.get(page_url(booked["reference"], document.id, w=1600))
    assert response.status_code == 200
    width, height = png_size(response.data)
    assert max(width, height) <= 1600 and min(width, height) >= 1


def test_a_page_with_a_giant_image_is_rendered_within_bounds(app, client, auth):
    from PIL import Image

    buffer = io.BytesIO()  # 20000 × 20000 pixels, 4.7 MB as JPEG: 400 MB once decoded in full
    Image.new("L", (20000, 20000), 255).save(buffer, format="PDF", resolution=72)
    # Uploads now refuse such a pixel flood; the renderer must still hold its bounds for a file
    # stored under a higher limit (or before the check existed).
    app.config["PDF_MAX_IMAGE_MEGAPIXELS"] = 500
    booked = book(client, licence=buffer.getvalue())
    document = document_of(app, booked["reference"])
    auth.login()
    response = client.get(page_url(booked["reference"], document.id, w=1600))
    assert response.status_code == 200 and png_size(response.data) == (1600, 1600)


def test_a_damaged_stored_file_or_a_slow_render_is_422_not_500(app, client, auth):
    booked = book(client)
    document = document_of(app, booked["reference"])
    auth.login()
    app.config["PDF_RENDER_TIMEOUT_SECONDS"] = 0.001
    response = client.get(page_url(booked["reference"], document.id), headers=ENGLISH)
    assert response.status_code == 422 and "cannot be shown safely" in text(response)

    app.config["PDF_RENDER_TIMEOUT_SECONDS"] = 10
    with app.app_context():
        from app.documents import upload_store

        upload_store().path_for(document.storage_key).write_bytes(b"%PDF-1.7\nnot really a pdf")
    assert client.get(page_url(booked["reference"], document.id)).status_code == 422

    with app.app_context():
        upload_store().delete(document.storage_key)
    assert client.get(page_url(booked["reference"], document.id, w=400)).status_code == 404
    assert audit(app, "document.viewed") == []


def test_a_render_that_runs_out_of_memory_is_refused(app, client, seeded):
    booked = book(client)
    document = document_of(app, booked["reference"])
    with app.app_context():
        with pytest.raises(RenderError) as refused:
            render_page(document.storage_key, 1, 1600, RenderLimits(memory_bytes=20 * 1024 * 1024))
        assert refused.value.code == "too_complex"
        with pytest.raises(ValueError):
            render_page(document.storage_key, 1, 1601)
        with pytest.raises(ValueError):
            render_page("../../etc/passwd", 1, 800)


def test_cached_images_go_with_their_file_and_with_age(app, client, auth):
    import os

    from app.documents import discard_renders, purge_renders

    first, second = book(client), book(client, email="luis@example.com")
    documents = [document_of(app, booked["reference"]) for booked in (first, second)]
    auth.login()
    for booked, document in zip((first, second), documents, strict=True):
        assert client.get(page_url(booked["reference"], document.id)).status_code == 200
    renders = Path(app.config["UPLOAD_DIR"]) / "renders"
    with app.app_context():
        assert discard_renders(documents[0].storage_key) == 1
        assert discard_renders("../../etc") == 0
        (remaining,) = renders.rglob("*.png")
        stamp(remaining)  # written now by the test clock, not by the file system's real one
        assert purge_renders(dt.timedelta(hours=1)) == 0
        os.utime(remaining, (0, 0))
        assert purge_renders(dt.timedelta(hours=1)) == 1
    assert list(renders.rglob("*.png")) == []


# --- identity -----------------------------------------------------------------------------------


def test_identity_is_recorded_once_with_the_clerk_and_the_time(app, client, auth):
    booked = book(client)
    reference = booked["reference"]
    auth.login()
    response = client.post(f"/staff/appointments/{reference}/identity", headers=ENGLISH)
    assert response.status_code == 409 and "only during the video call" in text(response)

    admitted_by(app, reference)
    before = utcnow()
    response = client.post(
        f"/staff/appointments/{reference}/identity", data={"next": f"/staff/call/{reference}"}
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/staff/call/{reference}"
    with app.app_context():
        appointment = appointment_of(reference)
        assert appointment.identity_verified_by_id == staff(CLERK).id
        first_time = appointment.identity_verified_at
        assert before <= first_time <= utcnow()
    assert len(audit(app, "appointment.identity_verified")) == 1

    again = client.post(f"/staff/appointments/{reference}/identity", headers={"Accept": "application/json"})
    assert again.status_code == 200 and again.get_json()["verified_at"] == first_time.isoformat()
    assert len(audit(app, "appointment.identity_verified")) == 1
    page = text(client.get(f"/staff/appointments/{reference}"))
    assert "Clerk DTOP" in page and f'/staff/appointments/{reference}/identity"' not in page


def test_only_the_clerk_in_the_call_or_an_admin_verifies_identity(app, client, auth):
    booked = book(client)
    other = second_clerk(app)
    admitted_by(app, booked["reference"])
    auth.login(other, "another-long-password")
    response = client.post(f"/staff/appointments/{booked['reference']}/identity", headers=ENGLISH)
    assert response.status_code == 409 and "Clerk DTOP" in text(response)
    auth.logout()
    auth.login(ADMIN)
    assert client.post(f"/staff/appointments/{booked['reference']}/identity").status_code == 302


def test_an_open_redirect_is_not_followed_after_the_identity_check(app, client, auth):
    booked = book(client)
    admitted_by(app, booked["reference"])
    auth.login()
    response = client.post(
        f"/staff/appointments/{booked['reference']}/identity", data={"next": "//evil.example/"}
    )
    assert response.headers["Location"] == f"/staff/appointments/{booked['reference']}"


# --- outcome ------------------------------------------------------------------------------------


def test_completing_ends_the_call_sets_the_status_and_emails_the_citizen(app, client, auth, monkeypatch):
    from app.calls import live as events

    ended = []
    original = events.end_call
    monkeypatch.setattr(
        events, "end_call", lambda appointment: (ended.append(appointment.reference), original(appointment))
    )
    booked = book(client, language="en")
    reference = booked["reference"]
    admitted_by(app, reference)
    auth.login()
    response = set_outcome(client, reference, "completed", "Your certification is attached.")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert ended == [reference]
    with app.app_context():
        appointment = appointment_of(reference)
        assert (appointment.status, appointment.outcome) == ("completed", "completed")
        assert appointment.outcome_message == "Your certification is attached."
        assert appointment.seat is not None and appointment.citizen_seat is None
        session = db.session.scalar(
            sa.select(CallSession).where(CallSession.appointment_id == appointment.id)
        )
        assert session.ended_at is not None and session.end_reason == "completed"
    (message,) = outbox(app, "outcome")
    assert message.recipient == "ana@example.com" and message.language == "en"
    assert message.subject == f"How your appointment {reference} ended"
    assert "Completed" in message.body_text and "Your certification is attached." in message.body_text
    assert "Your certification is attached." in message.body_html
    assert [e.detail for e in audit(app, "appointment.outcome")] == [{"outcome": "completed"}]


@pytest.mark.parametrize(
    "outcome, status",
    [
        ("needs_in_person", "completed"),
        ("technical_failure", "completed"),
        ("phone_fallback", "completed"),
        ("no_show", "no_show"),
    ],
)
def test_each_outcome_sets_its_status(app, client, auth, outcome, status):
    booked = book(client)
    admitted_by(app, booked["reference"])
    auth.login()
    assert set_outcome(client, booked["reference"], outcome).status_code == 302
    with app.app_context():
        appointment = appointment_of(booked["reference"])
        assert (appointment.status, appointment.outcome) == (status, outcome)
    (message,) = outbox(app, "outcome")
    assert message.language == "es"


def test_documents_missing_needs_a_message_for_the_citizen(app, client, auth):
    booked = book(client)
    admitted_by(app, booked["reference"])
    auth.login()
    response = set_outcome(client, booked["reference"], "documents_missing", "   ", headers=ENGLISH)
    assert response.status_code == 422
    assert "Tell the citizen which documents are missing." in text(response)
    assert (
        'id="outcome-documents_missing" type="radio" name="outcome" value="documents_missing" checked'
        in text(response)
    )
    spanish = set_outcome(client, booked["reference"], "documents_missing", "")
    assert spanish.status_code == 422 and 'lang="es"' in text(spanish)
    with app.app_context():
        assert appointment_of(booked["reference"]).outcome is None
    assert outbox(app, "outcome") == []
    response = set_outcome(
        client, booked["reference"], "documents_missing", "Falta el registro del vehículo."
    )
    assert response.status_code == 302


def test_the_call_screen_gets_outcome_errors_as_json_per_field(app, client, auth):
    """Issue #10, item 1: the call screen sends the outcome in the background and shows the errors
    itself, so the clerk never leaves the call for a page without video."""
    booked = book(client)
    admitted_by(app, booked["reference"])
    auth.login()
    headers = {**ENGLISH, "Accept": "application/json"}
    response = set_outcome(client, booked["reference"], "documents_missing", "  ", headers=headers)
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"message": "Tell the citizen which documents are missing."}
    response = set_outcome(client, booked["reference"], "", headers=headers)
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"outcome": "Choose the outcome of the appointment."}
    with app.app_context():
        assert appointment_of(booked["reference"]).status == "in_call"
    response = set_outcome(
        client, booked["reference"], "documents_missing", "Falta el registro.", headers=headers
    )
    assert response.status_code == 200
    assert response.get_json()["location"] == "/staff/"


@pytest.mark.parametrize(
    "form", [{}, {"outcome": "finished"}, {"outcome": "completed", "message": "x" * 2001}]
)
def test_a_bad_outcome_form_is_422(app, client, auth, form):
    booked = book(client)
    admitted_by(app, booked["reference"])
    auth.login()
    response = client.post(f"/staff/appointments/{booked['reference']}/outcome", data=form)
    assert response.status_code == 422
    with app.app_context():
        assert appointment_of(booked["reference"]).status == "in_call"


def test_only_the_assigned_clerk_or_an_admin_sets_the_outcome(app, client, auth):
    booked = book(client)
    other = second_clerk(app)
    admitted_by(app, booked["reference"])
    auth.login(other, "another-long-password")
    response = set_outcome(client, booked["reference"], "completed", headers=ENGLISH)
    assert response.status_code == 409 and "Clerk DTOP" in text(response)
    auth.logout()
    auth.login(ADMIN)
    assert set_outcome(client, booked["reference"], "technical_failure").status_code == 302
    response = set_outcome(client, booked["reference"], "completed", headers=ENGLISH)
    assert response.status_code == 409 and "already has an outcome" in text(response)
    assert len(outbox(app, "outcome")) == 1


def test_a_no_show_is_marked_by_the_first_clerk_after_the_start_not_before(app, client, auth):
    booked = book(client)
    auth.login()
    response = set_outcome(client, booked["reference"], "no_show", headers=ENGLISH)
    assert response.status_code == 409 and "before it starts" in text(response)
    starting_now(app, booked["reference"])
    assert set_outcome(client, booked["reference"], "no_show").status_code == 302
    with app.app_context():
        appointment = appointment_of(booked["reference"])
        assert (appointment.status, appointment.clerk_id) == ("no_show", staff(CLERK).id)


def test_a_cancelled_appointment_takes_no_outcome(app, client, auth):
    booked = book(client)
    assert client.delete(f"/api/v1/appointments/{booked['manage_token']}").status_code == 200
    auth.login()
    assert set_outcome(client, booked["reference"], "completed").status_code == 409


# --- results for the citizen --------------------------------------------------------------------


def test_a_result_reaches_the_citizen_as_an_attachment(app, client, auth):
    booked = book(client)
    reference = booked["reference"]
    admitted_by(app, reference)
    auth.login()
    result = pdf_factory.pages(2)
    response = attach(client, reference, result, "Certificación.pdf")
    assert response.status_code == 302
    document = document_of(app, reference, source="clerk")
    assert (document.requirement_code, document.pages) == ("result", 2)
    assert [e.detail for e in audit(app, "document.result_attached")] == [
        {"document": document.id, "pages": 2}
    ]
    (message,) = outbox(app, "result_ready")
    assert "enlace de su correo de confirmación" in message.body_text or "confirmation" in message.body_text
    assert attach(client, reference, pdf_factory.one_page()).status_code == 302
    assert len(outbox(app, "result_ready")) == 1  # the first e-mail has not gone yet: it covers both
    auth.logout()

    manage = text(client.get(f"/manage/{booked['manage_token']}"))
    download_url = f"/manage/{booked['manage_token']}/results/{document.id}"
    assert download_url in manage
    response = client.get(download_url)
    assert response.status_code == 200 and response.data == result
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "Certificaci" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert len(audit(app, "document.downloaded_by_citizen")) == 1


def test_another_token_or_a_citizen_document_cannot_be_downloaded_as_a_result(app, client, auth):
    booked, other = book(client), book(client, email="luis@example.com")
    auth.login()
    assert attach(client, booked["reference"], pdf_factory.one_page()).status_code == 302
    result = document_of(app, booked["reference"], source="clerk")
    licence = document_of(app, booked["reference"])
    auth.logout()
    assert client.get(f"/manage/{other['manage_token']}/results/{result.id}").status_code == 404
    assert client.get(f"/manage/{booked['manage_token']}/results/{licence.id}").status_code == 404
    assert client.get(f"/manage/not-a-token/results/{result.id}").status_code == 404
    assert client.get(f"/manage/{booked['manage_token']}/results/999999999999999999999999").status_code == 404


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"GIF89a not a pdf", "foto.gif", "is not a PDF file"),
        (pdf_factory.javascript_open_action(), "script.pdf", "JavaScript"),
        (blank_pdf(*[(200, 200)] * 21), "largo.pdf", "too many pages"),
    ],
)
def test_a_bad_result_file_is_422_and_nothing_is_stored(app, client, auth, data, name, message):
    booked = book(client)
    auth.login()
    response = attach(client, booked["reference"], data, name, headers=ENGLISH)
    assert response.status_code == 422 and message in text(response)
    with app.app_context():
        assert [d.source for d in appointment_of(booked["reference"]).documents] == ["citizen"]
    assert outbox(app, "result_ready") == []


def test_a_result_form_without_a_file_is_422(app, client, auth):
    booked = book(client)
    auth.login()
    response = client.post(
        f"/staff/appointments/{booked['reference']}/results",
        data={},
        content_type="multipart/form-data",
        headers=ENGLISH,
    )
    assert response.status_code == 422 and "Choose a PDF file" in text(response)


# --- the survey after the call ------------------------------------------------------------------


def finished(app, client, auth, outcome="documents_missing", message="Falta el registro del vehículo."):
    booked = book(client)
    admitted_by(app, booked["reference"])
    auth.login()
    assert set_outcome(client, booked["reference"], outcome, message).status_code == 302
    auth.logout()
    return booked


def test_before_the_outcome_the_survey_sends_the_citizen_to_the_call(client, seeded):
    booked = book(client)
    response = client.get(f"/call/{booked['join_token']}/survey")
    assert response.status_code == 302 and response.headers["Location"] == f"/call/{booked['join_token']}"
    assert client.post(f"/call/{booked['join_token']}/survey", data={"rating": "5"}).status_code == 302


def test_the_survey_shows_the_outcome_and_stores_one_answer(app, client, auth):
    booked = finished(app, client, auth)
    url = f"/call/{booked['join_token']}/survey"
    page = text(client.get(url, headers=ENGLISH))
    assert "Documents are missing" in page and "Falta el registro del vehículo." in page
    assert re.search(r"<legend[^>]*>How satisfied are you", page)
    assert len(re.findall(r'type="radio" name="rating"', page)) == 5

    response = client.post(url, data={"rating": "4", "comment": "  Muy rápido.  "})
    assert response.status_code == 302 and response.headers["Location"] == url
    with app.app_context():
        (answer,) = db.session.scalars(sa.select(SurveyResponse)).all()
        assert (answer.rating, answer.comment) == (4, "Muy rápido.")
    again = client.post(url, data={"rating": "1"}, headers=ENGLISH)
    assert again.status_code == 409 and "already answered" in text(again)
    assert "already answered" in text(client.get(url, headers=ENGLISH))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 1


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"rating": "0"},
        {"rating": "6"},
        {"rating": "abc"},
        {"rating": "4.5"},
        {"rating": "5", "comment": "x" * 1001},
    ],
)
def test_a_bad_survey_answer_is_422_and_not_stored(app, client, auth, form):
    booked = finished(app, client, auth, "completed", "")
    response = client.post(f"/call/{booked['join_token']}/survey", data=form, headers=ENGLISH)
    assert response.status_code == 422
    assert "Please correct the following" in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 0


@pytest.mark.parametrize("token", ["nope", "x" * 500, "%00"])
def test_an_unknown_join_token_has_no_survey(client, seeded, token):
    assert client.get(f"/call/{token}/survey").status_code == 404
    assert client.post(f"/call/{token}/survey", data={"rating": "5"}).status_code == 404


# --- translations -------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.clock(tick=True)
def test_the_detail_page_passes_axe_and_works_by_keyboard(app, client, seeded, live_server, page, axe):
    booked = book(client, licence=blank_pdf((612, 792), (792, 612)))
    reference = booked["reference"]
    admitted_by(app, reference)
    site = live_server.url
    page.goto(site + "/staff/login")
    page.get_by_label("Correo electrónico").fill(CLERK)
    page.get_by_label("Contraseña").fill(seeded[CLERK])
    page.get_by_label("Contraseña").press("Enter")
    page.wait_for_url(site + "/staff/")

    page.goto(f"{site}/staff/appointments/{reference}")
    images = page.locator("img[loading=lazy]")
    for index in range(images.count()):
        images.nth(index).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img[loading=lazy]')]"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    assert axe(page) == []
    assert page.errors == []

    for _tab in range(80):  # the identity button is reachable, and pressed, from the keyboard
        page.keyboard.press("Tab")
        if page.evaluate("() => !!document.activeElement.closest('form')?.action.endsWith('/identity')"):
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{site}/staff/appointments/{reference}"
    with app.app_context():
        assert appointment_of(reference).identity_verified_by_id == staff(CLERK).id

    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("End the appointment|Terminar la cita")).click()
    assert page.locator(".usa-error-message").count() >= 1
    assert axe(page) == []


@pytest.mark.browser
@pytest.mark.clock(tick=True)
def test_the_survey_passes_axe_and_is_answered_by_keyboard(app, client, auth, live_server, page, axe):
    booked = finished(app, client, auth)
    url = f"{live_server.url}/call/{booked['join_token']}/survey"
    page.goto(url)
    assert axe(page) == []
    page.locator("#rating-1").focus()
    page.keyboard.press("ArrowDown")  # radio groups move with the arrow keys
    page.keyboard.press("ArrowDown")
    assert page.locator("#rating-3").is_checked()
    page.locator("#comment").focus()
    page.keyboard.type("Todo bien.")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("Send my answer|Enviar mi respuesta")).press("Enter")
    assert page.url == url and axe(page) == []
    with app.app_context():
        assert db.session.scalar(sa.select(SurveyResponse.rating)) == 3
    assert page.errors == []


def test_after_asking_for_a_phone_call_the_page_says_so_and_the_console_shows_the_number(app, client, auth):
    """Issue #10, item 6: the page kept inviting the citizen into the waiting room, and the
    console row showed no number to call."""
    from tests.support.signaling import make_appointment

    reference, token = make_appointment(app)
    before = client.get(f"/call/{token}").get_data(as_text=True)
    assert f"/call/{token}/phone-request" in before
    assert client.post(f"/call/{token}/phone-request").status_code == 302
    page = client.get(f"/call/{token}").get_data(as_text=True)
    assert "Un funcionario le llamará" in page and "(787) 555-0100" in page
    assert f"/call/{token}/phone-request" not in page
    auth.login()
    console = client.get("/staff/").get_data(as_text=True)
    row = console[console.index(f'data-reference="{reference}"') :]
    assert 'href="tel:+17875550100"' in row[: row.index("</tr>")]


def test_a_phone_request_is_kept_on_the_call_session_and_read_without_the_audit_log(app, client, seeded):
    """Issue #10, item 21: the console counted audit records per appointment on every render."""
    from tests.support.signaling import make_appointment

    reference, token = make_appointment(app)
    assert client.post(f"/call/{token}/phone-request").status_code == 302
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        call = db.session.scalar(sa.select(CallSession).where(CallSession.appointment_id == appointment.id))
        assert call is not None and call.phone_requested_at is not None
        statements = []

        def record(_connection, _cursor, statement, *_args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert sessions.call_state(appointment)["phone_requested"] is True
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        assert statements and not [s for s in statements if "audit_event" in s]
