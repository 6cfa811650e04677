"""A booking's files and rows: whatever fails, no row names a missing file and no file is unaccounted.

Issue #9, item 14: a worker killed during bookings left stored PDFs with no row, and a booking
committed while its client saw only a dropped connection. The order is: each file is written (and
fsynced) to the store, then the rows are committed. So a crash at any point leaves either the
booking with its files, or files no row names, which `flask purge-documents` removes; and when a
commit's answer is lost, the files are deleted only if the database says no row names them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from app import appointments
from app.appointments import BookingRequest, book_appointment, office_for
from app.documents import UploadedPdf, purge_orphan_documents, replace_document, upload_store, uploads
from app.extensions import db
from app.models import Appointment, Document
from tests.support import booking, pdf_factory
from tests.support.clock import stamp

SERVICE = booking.VIDEO_SERVICE


def stored_files(app) -> set[str]:
    root = Path(app.config["UPLOAD_DIR"])
    return {p.stem for p in root.rglob("*.pdf") if "staging" not in p.parts}


def document_keys() -> set[str]:
    return set(db.session.scalars(sa.select(Document.storage_key)))


def pdf(code: str, data: bytes, pages: int) -> UploadedPdf:
    return UploadedPdf(code, f"{code}.pdf", data, pages, hashlib.sha256(data).hexdigest())


def booking_request(app) -> BookingRequest:
    slot = booking.first_free_slot(app, SERVICE)
    service = booking.service_named(SERVICE)
    return BookingRequest(
        service=service,
        office=office_for(service, slot.office_id),
        start=slot.start,
        name="Ana Rivera",
        email="ana@example.com",
        phone="+17875550100",
        documents=[
            pdf("licence_front", pdf_factory.one_page(), 1),
            pdf("vehicle_document", pdf_factory.pages(2), 2),
        ],
    )


class LostAnswer(sa.exc.OperationalError):
    def __init__(self):
        super().__init__("COMMIT", {}, Exception("server closed the connection unexpectedly"))


@pytest.fixture
def commit_answer_lost_once(monkeypatch):
    """The next commit after `arm()` reaches the database, but its caller gets a dropped connection."""
    real_commit = db.session.commit
    state = {"armed": False}

    def commit():
        real_commit()
        if state["armed"]:
            state["armed"] = False
            raise LostAnswer()

    monkeypatch.setattr(db.session, "commit", commit)
    return lambda: state.update(armed=True)


def test_a_booking_whose_commit_answer_is_lost_keeps_its_files(
    app, seeded, monkeypatch, commit_answer_lost_once
):
    real_queue = appointments.notifications.queue_appointment_messages

    def queue_then_arm(*args, **kwargs):
        commit_answer_lost_once()
        return real_queue(*args, **kwargs)

    monkeypatch.setattr(appointments.notifications, "queue_appointment_messages", queue_then_arm)
    with app.test_request_context():
        with pytest.raises(LostAnswer):
            book_appointment(booking_request(app))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
        keys = document_keys()
        assert len(keys) == 2
        assert stored_files(app) == keys  # every row has its file, and every file its row


def test_a_failure_before_the_commit_leaves_no_row_and_no_file(app, seeded, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the worker was told to stop")

    monkeypatch.setattr(appointments.notifications, "queue_appointment_messages", fail)
    with app.test_request_context():
        with pytest.raises(RuntimeError):
            book_appointment(booking_request(app))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0
        assert document_keys() == set()
    assert stored_files(app) == set()


def test_a_worker_killed_before_the_commit_leaves_only_files_purge_documents_removes(
    app, seeded, monkeypatch
):
    """A killed worker runs no clean-up: what it leaves is files no row names, never a row without file."""
    store_delete_calls = []

    def killed(*args, **kwargs):
        raise SystemExit(1)

    monkeypatch.setattr(appointments.notifications, "queue_appointment_messages", killed)
    with app.test_request_context():
        store = upload_store()
        monkeypatch.setattr(type(store), "delete", lambda self, key: store_delete_calls.append(key))
        with pytest.raises(SystemExit):
            book_appointment(booking_request(app))
        monkeypatch.undo()
        assert document_keys() == set()
        left = stored_files(app)
        assert len(left) == 2
        root = Path(app.config["UPLOAD_DIR"])
        stamp(*[p for p in root.rglob("*.pdf") if "staging" not in p.parts], age=dt.timedelta(hours=25))
        assert purge_orphan_documents(dt.timedelta(hours=24)) == 2
    assert stored_files(app) == set()


def test_a_replaced_document_whose_commit_answer_is_lost_keeps_its_file(
    app, seeded, monkeypatch, commit_answer_lost_once
):
    real_record = uploads.audit.record_for_appointment

    def record_then_arm(*args, **kwargs):
        commit_answer_lost_once()
        return real_record(*args, **kwargs)

    with app.test_request_context():
        appointment = book_appointment(booking_request(app)).appointment
        requirement = next(r for r in appointment.service.requirements if r.code == "licence_front")
        monkeypatch.setattr(uploads.audit, "record_for_appointment", record_then_arm)
        storage = FileStorage(io.BytesIO(pdf_factory.one_page()), "nueva.pdf")
        with pytest.raises(LostAnswer):
            replace_document(appointment, requirement, storage)
        db.session.rollback()
        assert "nueva.pdf" in set(db.session.scalars(sa.select(Document.original_name)))
        assert document_keys() <= stored_files(app)  # the old file may wait for purge-documents
