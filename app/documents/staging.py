"""Validated uploads kept while the rest of the booking form is corrected, so nobody uploads twice.

A staged file waits under a random token (kept in the citizen's session) until the booking is
made, then moves to the upload store; `purge_staged` removes what abandoned forms left behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from app.documents.store import KEY_PATTERN, write_atomically
from app.documents.validation import PdfInfo


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


def _staging_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "staging"


def _staged_paths(token: str) -> tuple[Path, Path] | None:
    if not isinstance(token, str) or not KEY_PATTERN.fullmatch(token):
        return None
    directory = _staging_dir()
    return directory / f"{token}.pdf", directory / f"{token}.json"


def stage_upload(data: bytes, filename: str, info: PdfInfo) -> str:
    """Keep a validated file for a later submit of the same form; returns the token that finds it."""
    token = secrets.token_hex(16)
    pdf_path, meta_path = _staged_paths(token)
    pdf_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    meta = {
        "filename": filename,
        "pages": info.pages,
        "sha256": info.sha256,
        "size": info.size,
        "created": dt.datetime.now(dt.UTC).isoformat(),
    }
    write_atomically(pdf_path, data)
    write_atomically(meta_path, json.dumps(meta).encode())  # last: its presence marks a complete upload
    return token


def staged_upload(token: str) -> StagedUpload | None:
    """The staged file for `token`, or None when the token is unknown, malformed or its file damaged."""
    paths = _staged_paths(token)
    if paths is None:
        return None
    pdf_path, meta_path = paths
    try:
        meta = json.loads(meta_path.read_bytes())
        data = pdf_path.read_bytes()
        staged = StagedUpload(
            token=token,
            filename=str(meta["filename"]),
            pages=int(meta["pages"]),
            sha256=str(meta["sha256"]),
            size=int(meta["size"]),
            created=dt.datetime.fromisoformat(meta["created"]),
            data=data,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if staged.size != len(data) or staged.sha256 != hashlib.sha256(data).hexdigest():
        return None
    return staged


def discard_staged(token: str) -> None:
    """Forget a staged file (after it moved to the store, or was replaced). Unknown tokens are ignored."""
    paths = _staged_paths(token)
    for path in paths or ():
        path.unlink(missing_ok=True)


def purge_staged(older_than: dt.timedelta) -> int:
    """Delete staged files left longer than `older_than` (abandoned forms); returns how many."""
    directory = _staging_dir()
    if not directory.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    groups: dict[str, list[Path]] = {}
    for path in directory.iterdir():  # <token>.pdf and <token>.json, or a temporary leftover
        groups.setdefault(path.stem, []).append(path)
    purged = 0
    for stem, paths in groups.items():
        try:
            newest = max(path.stat().st_mtime for path in paths)
        except FileNotFoundError:
            continue  # discarded meanwhile
        if newest >= cutoff:
            continue
        for path in paths:
            path.unlink(missing_ok=True)
        purged += KEY_PATTERN.fullmatch(stem) is not None
    return purged
