"""The upload store: where accepted documents live, under random keys outside static/.

Callers ask `upload_store()` for the app's store and never build a path themselves, so that an
object store (S3) can replace the local disk by implementing `UploadStore`.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from flask import current_app

KEY_PATTERN = re.compile(r"[0-9a-f]{32}")


@runtime_checkable
class UploadStore(Protocol):
    """Where accepted documents live. Keys are opaque strings the store chooses."""

    def save(self, data: bytes) -> str: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValueError("malformed storage key")
    return key


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a private temporary file beside `path`, then rename: readers never see half a file."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class LocalUploadStore:
    """Files on the local disk: root/<first two hex digits>/<key>.pdf, readable by the app user only."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        key = _check_key(key)
        return self.root / key[:2] / f"{key}.pdf"

    def save(self, data: bytes) -> str:
        key = secrets.token_hex(16)
        path = self.path_for(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(path, data)
        return key

    def open(self, key: str) -> BinaryIO:
        """The stored file, opened for reading; FileNotFoundError when there is none."""
        return self.path_for(key).open("rb")

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()


def upload_store() -> UploadStore:
    """The store of the current app (UPLOAD_DIR). An S3 store would be chosen here."""
    return LocalUploadStore(Path(current_app.config["UPLOAD_DIR"]))
