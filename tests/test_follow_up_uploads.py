"""After a "documents missing" outcome the citizen sends the missing document from the manage page.

A follow-up document is added beside the ones the clerk saw (never replacing them), checked like
every upload, refused once the window (`FOLLOW_UP_UPLOAD_DAYS` after the outcome) has closed,
shown to the agency's staff under its own heading, and the clerk who recorded the outcome is told
by e-mail. The clock is frozen (conftest's `clock`).
"""

from __future__ import annotations

import datetime as dt
import io
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.closing import close_appointment
from app.extensions import db
from app.follow_ups import follow_up_until
from app.models import Appointment, AuditEvent, Document, OutboxMessage, Staff
from app.notifications import build_email
from tests.support import booking, pdf_factory

CLERK = "clerk@dtop.demo.ventanilla.pr"
OTHER_AGENCY_CLERK = "clerk@cfse.demo.ventanilla.pr"
CODE = "licence_front"  # the licence service's one requirement
ENGLISH = {"Accept-Language": "en"}


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def closed(app, clock, outcome: str = "documents_missing", email: str = "ana@example.com", skip: int = 0):
    """A video appointment booked, started ten minutes ago and closed by the clerk with `outcome`."""
    booked = booking.book_directly(app, email=email, skip=skip)
    clock.move_to(booked.appointment.start_at + dt.timedelta(minutes=10))
    with app.test_request_context():
        clerk = db.session.scalar(sa.select(Staff).where(Staff.email == CLERK))
        appointment = db.session.get(Appointment, booked.appointment.id)
        close_appointment(appointment, clerk, outcome, "Falta la licencia por el otro lado.")
    return booked


def send(client, token: str, data: bytes, name: str = "licencia-dorso.pdf", code: str = CODE, **kwargs):
    return client.post(
        f"/manage/{token}/follow-up/{code}",
        data={"document": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        **kwargs,
    )


def documents(app, reference: str) -> list[tuple[str, str]]:
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference))
        return [(d.source, d.original_name) for d in appointment.documents]


def stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*.pdf") if "staging" not in p.parts)


def follow_up_emails(app) -> list[OutboxMessage]:
    with app.app_context():
        messages = list(
            db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "follow_up_document"))
        )
        for message in messages:
            db.session.expunge(message)
        return messages


def test_after_documents_missing_the_citizen_adds_the_missing_document(app, client, seeded, clock):
    booked = closed(app, clock)
    page = text(client.get(f"/manage/{booked.manage_token}"))
    assert f'action="/manage/{booked.manage_token}/follow-up/{CODE}"' in page
    assert "Envíe el documento que falta" in page

    response = send(client, booked.manage_token, pdf_factory.pages(2))
    assert response.status_code == 302
    assert documents(app, booked.appointment.reference) == [
        ("citizen", "licencia.pdf"),  # what the clerk saw stays as it was
        ("follow_up", "licencia-dorso.pdf"),
    ]
    assert len(stored_files(app)) == 2
    page = text(client.get(f"/manage/{booked.manage_token}"))
    assert "Recibimos su documento." in page
    assert "licencia-dorso.pdf" in page
    [email] = follow_up_emails(app)
    assert email.recipient == CLERK and email.status == "pending"
    assert booked.appointment.reference in email.subject
    assert f"/staff/appointments/{booked.appointment.reference}" in email.body_text
    assert "Ana" not in email.body_text and booked.manage_token not in email.body_text
    with app.app_context():
        mime = build_email(email, "citas@example.org")
    assert mime["Subject"] == f"Documento adicional para la cita {booked.appointment.reference}"


@pytest.mark.parametrize(
    ("build", "status", "message"),
    [
        (pdf_factory.javascript_open_action, 422, "contiene código JavaScript"),
        (pdf_factory.png_renamed, 422, "licencia-dorso.pdf"),
        (lambda: pdf_factory.oversized(1024 * 1024), 413, "licencia-dorso.pdf"),
    ],
)
def test_a_hostile_or_oversized_follow_up_is_refused_and_nothing_is_stored(
    app, client, seeded, clock, build, status, message
):
    app.config["PDF_MAX_BYTES"] = 1024 * 1024
    booked = closed(app, clock)
    before = (documents(app, booked.appointment.reference), stored_files(app))
    response = send(client, booked.manage_token, build())
    assert response.status_code == status
    assert message in text(response)
    assert (documents(app, booked.appointment.reference), stored_files(app)) == before
    assert follow_up_emails(app) == []


def test_the_refusal_is_in_the_citizens_language(app, client, seeded, clock):
    booked = closed(app, clock)
    response = send(client, booked.manage_token, pdf_factory.javascript_open_action(), headers=ENGLISH)
    assert response.status_code == 422
    assert "contains JavaScript code" in text(response)
    nothing = send(client, booked.manage_token, b"", name="", headers=ENGLISH)
    assert nothing.status_code == 422
    assert "Choose a PDF file to upload." in text(nothing)


def test_another_appointments_token_cannot_upload(app, client, seeded, clock):
    missing = closed(app, clock)
    other = booking.book_directly(app, email="otra@example.com", skip=1)  # still upcoming
    before = (documents(app, missing.appointment.reference), stored_files(app))
    assert send(client, other.manage_token, pdf_factory.one_page()).status_code == 409
    assert send(client, "x" * 43, pdf_factory.one_page()).status_code == 404
    assert send(client, missing.manage_token, pdf_factory.one_page(), code="unknown").status_code == 404
    assert (documents(app, missing.appointment.reference), stored_files(app)) == before
    assert documents(app, other.appointment.reference) == [("citizen", "licencia.pdf")]


@pytest.mark.parametrize("outcome", ["completed", "needs_in_person", "no_show"])
def test_only_a_documents_missing_outcome_takes_a_follow_up(app, client, seeded, clock, outcome):
    booked = closed(app, clock, outcome)
    assert "follow-up" not in text(client.get(f"/manage/{booked.manage_token}"))
    response = send(client, booked.manage_token, pdf_factory.one_page())
    assert response.status_code == 409
    assert documents(app, booked.appointment.reference) == [("citizen", "licencia.pdf")]


def test_the_follow_up_window_closes_after_the_setting(app, client, seeded, clock):
    app.config["FOLLOW_UP_UPLOAD_DAYS"] = 3
    booked = closed(app, clock)
    clock.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(days=3, minutes=1))
    page = client.get(f"/manage/{booked.manage_token}")
    assert page.status_code == 200
    assert "follow-up" not in text(page)
    response = send(client, booked.manage_token, pdf_factory.one_page())
    assert response.status_code == 409
    assert "ya no se pueden enviar documentos" in text(response)
    assert documents(app, booked.appointment.reference) == [("citizen", "licencia.pdf")]
    assert len(stored_files(app)) == 1


def test_the_window_never_outlasts_the_manage_link(app, seeded, clock):
    app.config.update(FOLLOW_UP_UPLOAD_DAYS=60, MANAGE_LINK_DAYS_AFTER=30)
    booked = closed(app, clock)
    with app.app_context():
        appointment = db.session.get(Appointment, booked.appointment.id)
        assert follow_up_until(appointment) == appointment.end_at + dt.timedelta(days=30)
        app.config["FOLLOW_UP_UPLOAD_DAYS"] = 2
        assert follow_up_until(appointment) == appointment.outcome_at + dt.timedelta(days=2)


def test_follow_ups_per_appointment_have_a_limit(app, client, seeded, clock):
    app.config["FOLLOW_UP_MAX_DOCUMENTS"] = 2
    booked = closed(app, clock)
    assert send(client, booked.manage_token, pdf_factory.one_page()).status_code == 302
    assert send(client, booked.manage_token, pdf_factory.one_page()).status_code == 302
    assert send(client, booked.manage_token, pdf_factory.one_page()).status_code == 409
    assert len(documents(app, booked.appointment.reference)) == 3
    assert len(follow_up_emails(app)) == 2


def test_staff_see_the_follow_up_under_its_own_heading_and_each_view_is_audited(
    app, client, seeded, clock, auth
):
    booked = closed(app, clock)
    assert send(client, booked.manage_token, pdf_factory.one_page()).status_code == 302
    with app.app_context():
        follow_up = db.session.scalar(sa.select(Document).where(Document.source == "follow_up"))
        follow_up_id = follow_up.id
    reference = booked.appointment.reference
    image = f"/staff/appointments/{reference}/documents/{follow_up_id}/pages/1.png"

    auth.login(OTHER_AGENCY_CLERK)
    assert client.get(f"/staff/appointments/{reference}").status_code == 404
    assert client.get(image).status_code == 404
    auth.logout()

    auth.login(CLERK)
    page = text(client.get(f"/staff/appointments/{reference}"))
    heading = page.index("Documentos enviados después de la cita")
    assert page.index(image) > heading > page.index("Documentos del ciudadano")
    response = client.get(image)
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    with app.app_context():
        views = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "document.viewed")).all()
        assert [(v.detail["document"], v.detail["source"]) for v in views] == [(follow_up_id, "follow_up")]


@pytest.mark.browser
@pytest.mark.clock(tick=True)
def test_a_citizen_sends_the_missing_document_from_a_phone(
    app, seeded, clock, live_server, phone_page, axe, tmp_path
):
    booked = closed(app, clock)
    phone_page.goto(f"{live_server.url}/manage/{booked.manage_token}")
    assert axe(phone_page) == []
    refused = tmp_path / "foto.pdf"
    refused.write_bytes(pdf_factory.png_renamed())
    phone_page.get_by_label("Licencia de conducir (frente)").set_input_files(str(refused))
    phone_page.get_by_role("button", name="Enviar este documento").click()
    assert phone_page.get_by_role("alert").filter(has_text="foto.pdf").is_visible()
    good = tmp_path / "licencia-dorso.pdf"
    good.write_bytes(pdf_factory.one_page())
    phone_page.get_by_label("Licencia de conducir (frente)").set_input_files(str(good))
    phone_page.get_by_role("button", name="Enviar este documento").click()
    phone_page.get_by_text("Recibimos su documento.").wait_for()
    assert phone_page.get_by_text("licencia-dorso.pdf").is_visible()
    assert axe(phone_page) == []
    assert documents(app, booked.appointment.reference)[-1] == ("follow_up", "licencia-dorso.pdf")
