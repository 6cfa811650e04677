"""Uploaded PDFs, which are untrusted: checked in a sandbox, stored under random keys outside
static/, and shown to staff only as page images.

- `sandbox`: the one way a child process runs on an untrusted file, and its limits: once per
  file (page images), or in a pool of long-lived children (upload checks).
- `validation`: size and header here, then a parse in a child process (`pdf_inspect.py`);
  a refusal is a `DocumentError` with a translated message naming the file.
- `store`: every stored byte (documents, staged uploads, page images) behind `UploadStore`;
  `upload_store()` is the app's, and the only place that knows which one it is.
- `staging`: validated files kept until the booking is made.
- `rendering`: a stored PDF's pages as PNG images, drawn in a child process (`pdf_render.py`).
- `uploads`: a file from a request, for a requirement: read and validate it, or replace one.

The two child scripts run by path with `python -I`: they import only the standard library,
pypdf or pypdfium2 and Pillow, never Flask or this package.
"""

from app.documents.orphans import delete_unclaimed, purge_orphan_documents, stored_until_committed
from app.documents.rendering import (
    DEFAULT_WIDTH,
    WIDTHS,
    RenderError,
    RenderLimits,
    discard_renders,
    purge_renders,
    render_page,
)
from app.documents.sandbox import MB, PoolSettings, SandboxBusy, SandboxLimits
from app.documents.staging import StagedUpload, discard_staged, purge_staged, stage_upload, staged_upload
from app.documents.store import LocalUploadStore, StoreUnavailable, UploadStore, upload_store
from app.documents.uploads import (
    RequirementSpec,
    UploadedPdf,
    read_pdf_upload,
    replace_document,
    requirement_specs,
)
from app.documents.validation import (
    DocumentError,
    Inspection,
    PdfInfo,
    PdfLimits,
    inspect_pdf,
    inspector_command,
    validate_pdf,
)

__all__ = [
    "DEFAULT_WIDTH",
    "MB",
    "WIDTHS",
    "DocumentError",
    "Inspection",
    "LocalUploadStore",
    "PdfInfo",
    "PdfLimits",
    "RenderError",
    "RenderLimits",
    "RequirementSpec",
    "PoolSettings",
    "SandboxBusy",
    "SandboxLimits",
    "StagedUpload",
    "UploadStore",
    "UploadedPdf",
    "discard_renders",
    "delete_unclaimed",
    "stored_until_committed",
    "discard_staged",
    "inspect_pdf",
    "inspector_command",
    "purge_renders",
    "purge_staged",
    "read_pdf_upload",
    "render_page",
    "replace_document",
    "requirement_specs",
    "stage_upload",
    "staged_upload",
    "upload_store",
    "purge_orphan_documents",
    "StoreUnavailable",
    "validate_pdf",
]
