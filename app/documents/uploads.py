"""A PDF sent in a request, for a document requirement: read and validate it, or replace a stored one.

Used by the booking pages, the API and the clerk's panel alike. Checking a PDF takes a child process
and may wait for a free slot, so no database transaction may stay open meanwhile: a burst of
uploads would empty the connection pool for everyone. Each function says what it does with the
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from app import audit
from app.documents.orphans import stored_until_committed
from app.documents.rendering import discard_renders
from app.documents.store import upload_store
from app.documents.validation import DocumentError, PdfLimits, validate_pdf
from app.extensions import db, write_transaction
from app.models import Document, utcnow


@dataclass
class UploadedPdf:
    """A PDF that passed validation, waiting for the booking to be valid before it is stored."""

    requirement_code: str
    filename: str
    data: bytes
    pages: int
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)

    def as_document(self, key: str, **columns) -> Document:
        """The Document row naming this file, stored under `key` (`columns`: appointment, source…).
        Not added to the session."""
        return Document(
            requirement_code=self.requirement_code,
            original_name=self.filename[:255],
            size_bytes=self.size,
            pages=self.pages,
            sha256=self.sha256,
            storage_key=key,
            **columns,
        )


@dataclass(frozen=True)
class RequirementSpec:
    """A document requirement as plain values, usable after the database transaction ended."""

    code: str
    max_pages: int
    required: bool
    label: str

    @classmethod
    def of(cls, requirement) -> RequirementSpec:
        return cls(
            code=requirement.code,
            max_pages=requirement.max_pages,
            required=requirement.required,
            label=requirement.localized("label"),
        )


def requirement_specs(service, *, checks_follow: bool = True) -> list[RequirementSpec]:
    """The service's requirements as plain values, read before the PDFs are checked.

    Ends the current read transaction (a commit), so no connection is held during the checks;
    with `checks_follow=False` (no file was sent, nothing to check) the transaction goes on.
    """
    specs = [RequirementSpec.of(requirement) for requirement in service.requirements]
    if checks_follow:
        db.session.commit()
    return specs


def read_pdf_upload(storage: FileStorage | None, requirement) -> UploadedPdf | None:
    """Validate one uploaded file for `requirement`; None when no file was sent.

    Raises DocumentError with a translated message naming the file. Touches no database.
    """
    if storage is None or not storage.filename:
        return None
    limits = PdfLimits.from_config(current_app.config)
    data = storage.stream.read(limits.max_bytes + 1)
    filename = storage.filename[-200:]
    info = validate_pdf(data, filename, requirement.max_pages, limits)
    return UploadedPdf(
        requirement_code=requirement.code, filename=filename, data=data, pages=info.pages, sha256=info.sha256
    )


def replace_document(appointment, requirement, storage: FileStorage | None) -> str | None:
    """Replace (or add) the citizen's file for `requirement`; returns an error message or None.

    Ends the current read transaction; commits the replacement. The new file is stored before the
    row commits and the old one deleted after (app.documents.orphans).
    """
    spec = RequirementSpec.of(requirement)
    db.session.commit()  # no connection held while the PDF is checked
    try:
        upload = read_pdf_upload(storage, spec)
    except DocumentError as error:
        return error.message
    if upload is None:
        return _("Choose a PDF file to upload.")
    old_key = None
    with stored_until_committed(upload.data) as (key,):
        write_transaction()
        document = next(
            (
                d
                for d in appointment.documents
                if d.requirement_code == spec.code and d.source == "citizen" and d.purged_at is None
            ),
            None,
        )
        if document is None:
            document = Document(appointment=appointment, requirement_code=spec.code)
            db.session.add(document)
        else:
            old_key = document.storage_key
        document.original_name = upload.filename[:255]
        document.size_bytes, document.pages, document.sha256 = upload.size, upload.pages, upload.sha256
        document.storage_key, document.uploaded_at = key, utcnow()
        audit.record_for_appointment("document.replaced_by_citizen", appointment, requirement=spec.code)
        db.session.commit()
    if old_key:  # a crash before this leaves the old file to purge-documents
        upload_store().delete(old_key)
        discard_renders(old_key)  # a rendered licence is as personal as the PDF
    return None
