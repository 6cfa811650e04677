"""Uploaded PDFs in the booking flow: validate and stage them until the booking is made.

The rules (reading and validating a file, staging, replacing a stored one) are the documents
domain's; this module only keeps the booking form's state: which file is staged for which requirement.
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from app.documents import (
    DocumentError,
    UploadedPdf,
    discard_staged,
    read_pdf_upload,
    requirement_specs,
    stage_upload,
    staged_upload,
)


def collect_uploads(service, state: dict) -> dict[str, str]:
    """Validate the files of this request and stage the good ones in `state["staged"]`.

    Returns {requirement code: error message} for files that were refused or are still missing.
    A file already staged by an earlier attempt counts: nobody has to upload twice. Ends the
    current read transaction before the files are checked.
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
    """The staged files of this booking, in the service's order of requirements, ready to store."""
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
