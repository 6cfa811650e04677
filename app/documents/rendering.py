"""Stored PDFs shown to staff as page images, rendered in a child process with limits.

No PDF content ever reaches the clerk's browser: `render_page` has `pdf_render.py` (beside this
file) rasterise one page with pypdfium2 under CPU-time, address-space and wall-clock limits (the
same pattern as the upload check in `validation.py`), and keeps the PNG in a small cache under
UPLOAD_DIR/renders/, keyed by storage key, page and width. A rendered licence is as personal as
the PDF itself: the cache files are owner-only, and `discard_renders` removes them with the file.
"""

from __future__ import annotations

import datetime as dt
import logging
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext

from app.documents.sandbox import SandboxLimits, last_json_object, run_sandboxed, script_command
from app.documents.store import KEY_PATTERN, upload_store, write_atomically

log = logging.getLogger(__name__)

RENDERER = Path(__file__).resolve().with_name("pdf_render.py")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The widths a page may be asked for: a short list keeps the cache small and the work bounded.
WIDTHS = (400, 800, 1200, 1600)
DEFAULT_WIDTH = 800


class RenderError(Exception):
    """A page we cannot show; `.message` tells the clerk, in their language, what to do."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        if self.code == "missing":
            return gettext("This document is no longer stored.")
        return gettext(
            "This page cannot be shown safely. Ask the citizen to send the document "
            "again, printed to a new PDF."
        )


@dataclass(frozen=True)
class RenderLimits(SandboxLimits):
    """The rendering process's sandbox, and how large an image may be."""

    concurrency: int = 2  # renders at once per app process; more requests wait their turn
    max_side: int = 1600  # pixels on the long side of any page image

    @classmethod
    def from_config(cls, config) -> RenderLimits:
        """The limits from the app's settings (PDF_RENDER_*), each falling back to its default."""
        default = cls()
        return cls(
            **cls.sandbox_settings(config, "PDF_RENDER"),
            max_side=int(config.get("PDF_RENDER_MAX_SIDE_PX", default.max_side)),
        )


def render_page(
    storage_key: str, page: int, width: int = DEFAULT_WIDTH, limits: RenderLimits | None = None
) -> bytes:
    """PNG bytes of page `page` (1-based) of the stored PDF, `width` pixels wide at most.

    `width` must be one of WIDTHS; the long side never passes `limits.max_side`. Raises
    RenderError when the file is gone or the page cannot be rendered within the limits.
    """
    if width not in WIDTHS or page < 1 or not KEY_PATTERN.fullmatch(storage_key or ""):
        raise ValueError("page, width or storage key out of range")
    limits = limits or RenderLimits.from_config(current_app.config)
    width = min(width, limits.max_side)
    cached = _cache_path(storage_key, page, width)
    try:
        data = cached.read_bytes()
        size = _png_size(data)
        if size is not None and max(size) <= limits.max_side:
            return data
    except FileNotFoundError:
        pass
    try:
        with upload_store().open(storage_key) as file:
            pdf = file.read()
    except FileNotFoundError:
        raise RenderError("missing") from None
    data = _render_in_child(pdf, page - 1, width, limits)
    cached.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomically(cached, data)
    return data


def discard_renders(storage_key: str) -> int:
    """Delete the cached images of a stored file (call when the file is replaced or purged)."""
    if not KEY_PATTERN.fullmatch(storage_key or ""):
        return 0
    removed = 0
    for path in _cache_dir(storage_key).glob(f"{storage_key}-*.png"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def purge_renders(older_than: dt.timedelta) -> int:
    """Delete cached images written longer than `older_than` ago; returns how many went."""
    root = Path(current_app.config["UPLOAD_DIR"]) / "renders"
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for path in root.glob("*/*.png"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _cache_dir(storage_key: str) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "renders" / storage_key[:2]


def _cache_path(storage_key: str, page: int, width: int) -> Path:
    return _cache_dir(storage_key) / f"{storage_key}-{page}-{width}.png"


def renderer_command(page_index: int, width: int, limits: RenderLimits) -> list[str]:
    return script_command(
        RENDERER, limits.cpu_seconds, limits.memory_bytes, page_index, width, limits.max_side
    )


def _render_in_child(pdf: bytes, page_index: int, width: int, limits: RenderLimits) -> bytes:
    command = renderer_command(page_index, width, limits)
    run = run_sandboxed(command, pdf, limits, task="PDF page render")
    if run.timed_out:
        raise RenderError("too_complex")
    size = _png_size(run.stdout)
    if size is not None and max(size) <= limits.max_side:
        return run.stdout
    code = (last_json_object(run.stdout) or {}).get("code")
    code = code if isinstance(code, str) else None
    log.warning(
        "PDF page render refused (%s, exit %s): %s",
        code or "no verdict",
        run.returncode,
        run.stderr[-500:].decode(errors="replace"),
    )
    raise RenderError(code or "too_complex")


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, or None when `data` does not start like a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])
