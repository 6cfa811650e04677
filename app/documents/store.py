"""The upload store: every stored byte of an upload, behind one interface.

Accepted documents, uploads staged while a booking form is corrected (the PDF and its metadata),
and page images cached for staff. Callers ask `upload_store()` for the app's store and never build
a path, so an object store (S3) can replace the local disk by implementing `UploadStore` and being
set as `app.extensions["upload_store"]`, without touching them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from flask import current_app

KEY_PATTERN = re.compile(r"[0-9a-f]{32}")


class StoreUnavailable(Exception):
    """The store cannot take a write right now (disk full, read-only, no permission): the request
    is answered 503 with a retry hint, and nothing half-written is left behind."""


@runtime_checkable
class UploadStore(Protocol):
    """Keys and tokens are opaque strings the store chooses; a malformed one raises ValueError."""

    # Accepted documents.
    def save(self, data: bytes) -> str: ...

    def open(self, key: str) -> BinaryIO:
        """The document, opened for reading; FileNotFoundError when there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def keys_older_than(self, older_than: dt.timedelta) -> list[str]:
        """The keys of stored documents written longer than `older_than` ago."""
        ...

    # Staged uploads: a validated file and its metadata, written and read together.
    def stage(self, data: bytes, meta: bytes) -> str: ...

    def read_staged(self, token: str) -> tuple[bytes, bytes] | None:
        """(file, metadata), or None when the token is unknown or its upload incomplete."""
        ...

    def discard_staged(self, token: str) -> None: ...

    def purge_staged(self, older_than: dt.timedelta) -> int:
        """Delete uploads staged longer than `older_than` ago; returns how many."""
        ...

    # Page images of a document: a cache, by the document's key, the page and the width.
    def save_render(self, key: str, page: int, width: int, png: bytes) -> None: ...

    def read_render(self, key: str, page: int, width: int) -> bytes | None: ...

    def discard_renders(self, key: str) -> int: ...

    def purge_renders(self, older_than: dt.timedelta) -> int: ...


def upload_store() -> UploadStore:
    """The current app's store: `app.extensions["upload_store"]` when set, else files under UPLOAD_DIR."""
    store = current_app.extensions.get("upload_store")
    return store if store is not None else LocalUploadStore(Path(current_app.config["UPLOAD_DIR"]))


def check_key(key: str) -> str:
    """`key` when it is one the store could have made; ValueError otherwise (never a path)."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValueError("malformed storage key")
    return key


def new_key() -> str:
    """A fresh key or token: 128 random bits as 32 hex digits."""
    return secrets.token_hex(16)


class LocalUploadStore:
    """Files on the local disk, readable by the app user only (folders 0700, files 0600):

    root/<first two hex digits of the key>/<key>.pdf        accepted documents
    root/staging/<token>.pdf and <token>.json               staged uploads
    root/renders/<first two hex digits>/<key>-<page>-<width>.png   page images
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    # --- documents

    def path_for(self, key: str) -> Path:
        key = check_key(key)
        return self.root / key[:2] / f"{key}.pdf"

    def save(self, data: bytes) -> str:
        key = new_key()
        _write_atomically(self.path_for(key), data)
        return key

    def open(self, key: str) -> BinaryIO:
        return self.path_for(key).open("rb")

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def keys_older_than(self, older_than: dt.timedelta) -> list[str]:
        cutoff = time.time() - older_than.total_seconds()
        keys = []
        for path in self.root.glob("[0-9a-f][0-9a-f]/*.pdf"):
            try:
                if KEY_PATTERN.fullmatch(path.stem) and path.stat().st_mtime < cutoff:
                    keys.append(path.stem)
            except FileNotFoundError:
                continue  # deleted meanwhile
        return keys

    # --- staged uploads

    def _staged_paths(self, token: str) -> tuple[Path, Path]:
        token = check_key(token)
        return self.root / "staging" / f"{token}.pdf", self.root / "staging" / f"{token}.json"

    def stage(self, data: bytes, meta: bytes) -> str:
        token = new_key()
        pdf_path, meta_path = self._staged_paths(token)
        _write_atomically(pdf_path, data)
        _write_atomically(meta_path, meta)  # last: its presence marks a complete upload
        return token

    def read_staged(self, token: str) -> tuple[bytes, bytes] | None:
        pdf_path, meta_path = self._staged_paths(token)
        try:
            return pdf_path.read_bytes(), meta_path.read_bytes()
        except OSError:
            return None

    def discard_staged(self, token: str) -> None:
        for path in self._staged_paths(token):
            path.unlink(missing_ok=True)

    def purge_staged(self, older_than: dt.timedelta) -> int:
        directory = self.root / "staging"
        if not directory.is_dir():
            return 0
        groups: dict[str, list[Path]] = {}
        for path in directory.iterdir():  # <token>.pdf and <token>.json, or a temporary leftover
            groups.setdefault(path.stem, []).append(path)
        cutoff = time.time() - older_than.total_seconds()
        purged = 0
        for stem, paths in groups.items():
            if _delete_if_older(paths, cutoff):
                purged += KEY_PATTERN.fullmatch(stem) is not None
        return purged

    # --- page images

    def _render_path(self, key: str, page: int, width: int) -> Path:
        key = check_key(key)
        if not (type(page) is int and type(width) is int and page >= 1 and width >= 1):
            raise ValueError("page and width must be positive integers")
        return self.root / "renders" / key[:2] / f"{key}-{page}-{width}.png"

    def save_render(self, key: str, page: int, width: int, png: bytes) -> None:
        _write_atomically(self._render_path(key, page, width), png)

    def read_render(self, key: str, page: int, width: int) -> bytes | None:
        try:
            return self._render_path(key, page, width).read_bytes()
        except FileNotFoundError:
            return None

    def discard_renders(self, key: str) -> int:
        removed = 0
        for path in (self.root / "renders" / check_key(key)[:2]).glob(f"{key}-*.png"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def purge_renders(self, older_than: dt.timedelta) -> int:
        cutoff = time.time() - older_than.total_seconds()
        return sum(_delete_if_older([path], cutoff) for path in (self.root / "renders").glob("*/*.png"))


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a private temporary file beside `path`, then rename: readers never see half a file.

    Raises StoreUnavailable when the disk refuses the write.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    except OSError as error:
        raise StoreUnavailable(str(error)) from error
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise StoreUnavailable(str(error)) from error
        raise


def _delete_if_older(paths: list[Path], cutoff: float) -> bool:
    """Delete `paths` together when the newest of them was written before `cutoff`."""
    try:
        newest = max(path.stat().st_mtime for path in paths)
    except FileNotFoundError:
        return False  # deleted meanwhile
    if newest >= cutoff:
        return False
    for path in paths:
        path.unlink(missing_ok=True)
    return True
