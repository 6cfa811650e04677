"""Result documents: PDFs a clerk leaves for the citizen (a certification, a fines report).

They are checked like any upload, stored beside the citizen's own documents with source "clerk",
at most MAX_RESULT_DOCUMENTS per appointment, and announced by e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit, notifications
from app.closing import ClerkActionError
from app.documents import read_pdf_upload, stored_until_committed
from app.extensions import db, end_read_transaction, write_transaction
from app.models import Appointment, Document, Staff

MAX_RESULT_DOCUMENTS = 10


@dataclass(frozen=True)
class ResultRequirement:
    """What a result document is checked against, like a service's DocumentRequirement."""

    code: str = "result"
    max_pages: int = 20


RESULT_REQUIREMENT = ResultRequirement()


def attach_result(appointment: Appointment, staff: Staff, storage) -> Document:
    """Store a result PDF for the citizen, validated like any upload, and tell them by e-mail.

    Raises DocumentError (the file) or ClerkActionError (the appointment's state). Ends the read
    transaction before the file is checked; takes the write lock and commits the document.
    """
    if appointment.status == "cancelled":
        raise ClerkActionError(_("This appointment was cancelled."))
    end_read_transaction()  # no transaction stays open while the child process checks the file
    upload = read_pdf_upload(storage, RESULT_REQUIREMENT)
    if upload is None:
        raise ClerkActionError(_("Choose a PDF file to upload."), status=422)
    with stored_until_committed(upload.data) as (key,):
        write_transaction()
        _check_room_for_another(appointment)
        document = upload.as_document(key, appointment_id=appointment.id, source="clerk")
        db.session.add(document)
        db.session.flush()
        audit.record_for_appointment(
            "document.result_attached", appointment, staff, document=document.id, pages=upload.pages
        )
        notifications.queue_result_ready(appointment, document.id)
        db.session.commit()
    return document


def _check_room_for_another(appointment: Appointment) -> None:
    results = db.session.scalar(
        sa.select(sa.func.count(Document.id)).where(
            Document.appointment_id == appointment.id,
            Document.source == "clerk",
            Document.purged_at.is_(None),
        )
    )
    if results >= MAX_RESULT_DOCUMENTS:
        raise ClerkActionError(
            _(
                "This appointment already has %(count)s documents from the agency, the most it can have.",
                count=MAX_RESULT_DOCUMENTS,
            )
        )
