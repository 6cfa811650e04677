"""Validated uploads kept while the rest of the booking form is corrected, so nobody uploads twice.

A staged file waits in the upload store under a random token (kept in the citizen's session)
until the booking is made and it is saved as a document; `purge_staged` removes what abandoned
forms left behind. None of these functions touches the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from app.documents.store import upload_store
from app.documents.validation import PdfInfo
from app.models import utcnow


@dataclass(frozen=True)
class StagedUpload:
    """A validated file kept while the rest of the booking form is corrected."""

    token: str
    filename: str
    pages: int
    sha256: str
    size: int
    created: dt.datetime
    data: bytes

    @property
    def info(self) -> PdfInfo:
        return PdfInfo(pages=self.pages, sha256=self.sha256, size=self.size)


def stage_upload(data: bytes, filename: str, info: PdfInfo) -> str:
    """Keep a validated file for a later submit of the same form; returns the token that finds it."""
    meta = {
        "filename": filename,
        "pages": info.pages,
        "sha256": info.sha256,
        "size": info.size,
        "created": utcnow().isoformat(),
    }
    return upload_store().stage(data, json.dumps(meta).encode())


def staged_upload(token: str) -> StagedUpload | None:
    """The staged file for `token`, or None when the token is unknown, malformed or its file damaged."""
    try:
        found = upload_store().read_staged(token)
    except ValueError:  # a malformed token finds nothing
        return None
    if found is None:
        return None
    data, meta_bytes = found
    try:
        meta = json.loads(meta_bytes)
        staged = StagedUpload(
            token=token,
            filename=str(meta["filename"]),
            pages=int(meta["pages"]),
            sha256=str(meta["sha256"]),
            size=int(meta["size"]),
            created=dt.datetime.fromisoformat(meta["created"]),
            data=data,
        )
    except (ValueError, KeyError, TypeError):
        return None
    if staged.size != len(data) or staged.sha256 != hashlib.sha256(data).hexdigest():
        return None  # changed since it was staged: not the file that was checked
    return staged


def discard_staged(token: str) -> None:
    """Forget a staged file (after it moved to the store, or was replaced). Unknown tokens are ignored."""
    with contextlib.suppress(ValueError):  # a malformed token names nothing to discard
        upload_store().discard_staged(token)


def purge_staged(older_than: dt.timedelta) -> int:
    """Delete staged files left longer than `older_than` (abandoned forms); returns how many."""
    return upload_store().purge_staged(older_than)
