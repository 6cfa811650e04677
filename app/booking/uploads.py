"""Uploaded PDFs in the booking flow: validate, stage until the booking is made, replace later."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from app import audit
from app.appointments import UploadedPdf
from app.documents import (
    DocumentError,
    PdfLimits,
    discard_staged,
    stage_upload,
    staged_upload,
    upload_store,
    validate_pdf,
)
from app.extensions import db, write_transaction
from app.models import utcnow


@dataclass(frozen=True)
class RequirementSpec:
    """A document requirement as plain values, usable after the database transaction ended."""

    code: str
    max_pages: int
    required: bool
    label: str


def requirement_specs(service) -> list[RequirementSpec]:
    """The service's requirements as plain values, then the transaction is ended.

    Checking a PDF takes a child process and may wait for a free slot: no database connection
    may stay checked out meanwhile, or a burst of uploads empties the pool for everyone.
    """
    specs = [
        RequirementSpec(code=r.code, max_pages=r.max_pages, required=r.required, label=r.localized("label"))
        for r in service.requirements
    ]
    db.session.commit()
    return specs


def read_pdf_upload(storage: FileStorage | None, requirement) -> UploadedPdf | None:
    """Validate one uploaded file for `requirement`; None when no file was sent.

    Raises DocumentError with a translated message naming the file.
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


def collect_uploads(service, state: dict) -> dict[str, str]:
    """Validate the files of this request and stage the good ones in `state["staged"]`.

    Returns {requirement code: error message} for files that were refused or are still missing.
    A file already staged by an earlier attempt counts: nobody has to upload twice.
    """
    staged = state.setdefault("staged", {})
    errors = {}
    for requirement in requirement_specs(service):
        try:
            upload = read_pdf_upload(request.files.get(f"doc_{requirement.code}"), requirement)
        except DocumentError as error:
            errors[requirement.code] = error.message
            continue
        if upload is not None:
            if requirement.code in staged:
                discard_staged(staged[requirement.code])
            staged[requirement.code] = stage_upload(upload.data, upload.filename, upload)
        elif requirement.required and staged_upload(staged.get(requirement.code, "")) is None:
            staged.pop(requirement.code, None)
            errors[requirement.code] = _("Please upload: %(document)s.", document=requirement.label)
    return errors


def staged_summary(state: dict) -> dict[str, object]:
    """{requirement code: staged upload} for the files this citizen already uploaded."""
    summary = {}
    for code, token in state.get("staged", {}).items():
        staged = staged_upload(token)
        if staged is not None:
            summary[code] = staged
    return summary


def staged_documents(service, state: dict) -> list[UploadedPdf]:
    documents = []
    for requirement in service.requirements:
        staged = staged_upload(state.get("staged", {}).get(requirement.code, ""))
        if staged is not None:
            documents.append(
                UploadedPdf(
                    requirement_code=requirement.code,
                    filename=staged.filename,
                    data=staged.data,
                    pages=staged.pages,
                    sha256=staged.sha256,
                )
            )
    return documents


def replace_document(appointment, requirement, storage: FileStorage | None) -> str | None:
    """Replace (or add) the citizen's file for `requirement`; returns an error message or None."""
    spec = RequirementSpec(
        code=requirement.code,
        max_pages=requirement.max_pages,
        required=requirement.required,
        label=requirement.localized("label"),
    )
    db.session.commit()  # no connection held while the PDF is checked
    try:
        upload = read_pdf_upload(storage, spec)
    except DocumentError as error:
        return error.message
    if upload is None:
        return _("Choose a PDF file to upload.")
    store = upload_store()
    key = store.save(upload.data)
    write_transaction()
    document = next(
        (
            d
            for d in appointment.documents
            if d.requirement_code == spec.code and d.source == "citizen" and d.purged_at is None
        ),
        None,
    )
    old_key = None
    try:
        if document is None:
            from app.models import Document

            document = Document(appointment=appointment, requirement_code=spec.code)
            db.session.add(document)
        else:
            old_key = document.storage_key
        document.original_name = upload.filename[:255]
        document.size_bytes, document.pages, document.sha256 = upload.size, upload.pages, upload.sha256
        document.storage_key, document.uploaded_at = key, utcnow()
        audit.record_for_appointment("document.replaced_by_citizen", appointment, requirement=spec.code)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        store.delete(key)
        raise
    if old_key:
        from app.rendering import discard_renders

        store.delete(old_key)
        discard_renders(old_key)  # a rendered licence is as personal as the PDF
    return None
