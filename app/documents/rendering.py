"""Stored PDFs shown to staff as page images, rendered in a child process with limits.

No PDF content ever reaches the clerk's browser: `render_page` has `pdf_render.py` (beside this
file) rasterise one page with pypdfium2 under CPU-time, address-space and wall-clock limits (the
sandbox of the upload check, `sandbox.py`), and keeps the PNG in the upload store's
cache of page images, by storage key, page and width. A rendered licence is as personal as the PDF
itself: the store keeps it as privately, and `discard_renders` removes it with the file. None of
these functions touches the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext

from app.documents.sandbox import SandboxLimits, last_json_object, run_sandboxed, script_command
from app.documents.store import StoreUnavailable, upload_store

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
    if width not in WIDTHS or page < 1:
        raise ValueError("page or width out of range")
    limits = limits or RenderLimits.from_config(current_app.config)
    width = min(width, limits.max_side)
    store = upload_store()
    cached = store.read_render(storage_key, page, width)  # ValueError for a malformed key
    if cached is not None and _fits(cached, limits.max_side):
        return cached
    try:
        with store.open(storage_key) as file:
            pdf = file.read()
    except FileNotFoundError:
        raise RenderError("missing") from None
    data = _render_in_child(pdf, page - 1, width, limits)
    try:
        store.save_render(storage_key, page, width, data)
    except StoreUnavailable:  # the cache is a convenience: the clerk still sees the page
        log.warning("page image not cached: the upload store refuses writes")
    return data


def discard_renders(storage_key: str) -> int:
    """Delete the cached images of a stored file (call when the file is replaced or purged)."""
    try:
        return upload_store().discard_renders(storage_key)
    except ValueError:  # a malformed key has no images
        return 0


def purge_renders(older_than: dt.timedelta) -> int:
    """Delete cached images written longer than `older_than` ago; returns how many went."""
    return upload_store().purge_renders(older_than)


def renderer_command(page_index: int, width: int, limits: RenderLimits) -> list[str]:
    return script_command(
        RENDERER, limits.cpu_seconds, limits.memory_bytes, page_index, width, limits.max_side
    )


def _render_in_child(pdf: bytes, page_index: int, width: int, limits: RenderLimits) -> bytes:
    command = renderer_command(page_index, width, limits)
    run = run_sandboxed(command, pdf, limits, task="PDF page render")
    if run.timed_out:
        raise RenderError("too_complex")
    if _fits(run.stdout, limits.max_side):
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


def _fits(data: bytes, max_side: int) -> bool:
    """Whether `data` starts like a PNG (its header) no side of which passes `max_side` pixels."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return False
    return max(struct.unpack(">II", data[16:24])) <= max_side
