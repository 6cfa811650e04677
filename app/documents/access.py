"""Who sees stored documents and personal data, and the audit record of every look: the clerk's
page of an appointment (the citizen's details), the page images of the citizen's PDFs, and the
citizen's downloads of the agency's result documents."""

from __future__ import annotations

from typing import BinaryIO

from app import audit
from app.documents.rendering import WIDTHS, render_page
from app.documents.store import upload_store
from app.extensions import db, end_read_transaction, write_transaction
from app.models import Appointment, Document, Staff


class DocumentNotFound(LookupError):
    """No such stored document (or page, or width) for this appointment: a 404 for every caller."""


def _stored(appointment: Appointment, document_id: int, source: str | None = None) -> Document:
    for document in appointment.documents:
        if document.id == document_id and document.purged_at is None and source in (None, document.source):
            return document
    raise DocumentNotFound(document_id)


def appointment_shown_to_staff(appointment: Appointment, staff: Staff) -> None:
    """Audit that `staff` opened the appointment's page (name, contact, licence number): once per
    page load; its page images are audited one by one. Takes the write lock and commits."""
    write_transaction()
    audit.record_for_appointment("appointment.viewed", appointment, staff)
    db.session.commit()


def page_image_for_staff(
    appointment: Appointment, staff: Staff, document_id: int, page: int, width: int
) -> bytes:
    """PNG of one page of a stored document, for a clerk of its agency; the view is audited.

    Raises DocumentNotFound, or RenderError when the page cannot be shown. Ends the read
    transaction while the page renders in a child process; takes the write lock and commits
    the audit record.
    """
    document = _stored(appointment, document_id)
    if not 1 <= page <= document.pages or width not in WIDTHS:
        raise DocumentNotFound(document_id)
    storage_key, source = document.storage_key, document.source
    end_read_transaction()  # no transaction stays open while the child process renders
    png = render_page(storage_key, page, width)
    write_transaction()  # SQLite: take the write lock first, so parallel page loads queue up
    audit.record_for_appointment(
        "document.viewed", appointment, staff, document=document_id, page=page, source=source
    )
    db.session.commit()
    return png


def open_result_for_citizen(appointment: Appointment, document_id: int) -> tuple[BinaryIO, str]:
    """The agency's result document (open for reading) and the file name to download it as.

    Raises DocumentNotFound. Takes the write lock and commits the audit record of the download.
    """
    document = _stored(appointment, document_id, source="clerk")
    try:
        file = upload_store().open(document.storage_key)
    except FileNotFoundError:
        raise DocumentNotFound(document_id) from None
    download_name = _download_name(document.original_name, appointment.reference)
    try:
        write_transaction()
        audit.record_for_appointment("document.downloaded_by_citizen", appointment, document=document.id)
        db.session.commit()
    except BaseException:
        file.close()
        raise
    return file, download_name


def _download_name(original: str, reference: str) -> str:
    # The clerk's file name, without path parts or control characters, always ending in .pdf.
    name = "".join(c for c in original.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable())
    name = name.strip(" .")[:100] or reference
    return name if name.lower().endswith(".pdf") else f"{name}.pdf"
