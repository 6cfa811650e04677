"""Is this upload a PDF the clerk can safely open? Checked here, then parsed in a child process.

`validate_pdf` checks the size and the header, then has `pdf_inspect.py` (beside this file) parse
the PDF in a separate process with CPU-time, address-space and wall-clock limits, so a hostile
file can neither hang a worker nor exhaust the server's memory. The processes are kept running
between checks, a few per app process (`sandbox.run_pooled`): starting one costs ~200 ms, a warm
one-page check a few. A refusal is a `DocumentError` whose message tells the citizen, in their
language, what to do; when every checker stays busy past `PDF_CHECK_QUEUE_SECONDS`, `SandboxBusy`
(answered 503).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l

from app import metrics
from app.documents.sandbox import (
    MB,
    PoolSettings,
    SandboxLimits,
    last_json_object,
    run_pooled,
    script_command,
)

log = logging.getLogger(__name__)

HEADER = b"%PDF-"
HEADER_WINDOW = 1024  # readers accept a header that starts anywhere in the first 1024 bytes
INSPECTOR = Path(__file__).resolve().with_name("pdf_inspect.py")


# --- errors and results -------------------------------------------------------------------------


def _display_name(filename: str) -> str:
    # Browsers may send a path ("C:\fakepath\licencia.pdf"); a very long name would swamp the message.
    name = " ".join(re.split(r"[\\/]", filename or "")[-1].split())
    if not name:
        return gettext("(no name)")
    return name if len(name) <= 80 else name[:79] + "…"


# Each message names the file; %(limit)s, %(pages)s and %(max)s are filled in where they apply.
_MESSAGES = {
    "too_large": _l(
        "“%(name)s” is larger than %(limit)s MB. Scan it at a lower resolution or in black and white, "
        "and upload it again.",
    ),
    "empty": _l(
        "“%(name)s” is empty (0 bytes). Check that you chose the right file, and upload it again.",
    ),
    "not_pdf": _l(
        "“%(name)s” is not a PDF file. Save or export the document as PDF, and upload it again.",
    ),
    "damaged": _l(
        "“%(name)s” is damaged or incomplete and cannot be opened. Save it again from the original, "
        "or scan it again, and upload the new copy.",
    ),
    "encrypted": _l(
        "“%(name)s” is protected with a password. Save a copy without a password and upload it again.",
    ),
    "javascript": _l(
        "“%(name)s” contains JavaScript code, which we do not accept. Print it to a new PDF "
        "(“Print” → “Save as PDF”) or scan it again, and upload the new copy.",
    ),
    "action": _l(
        "“%(name)s” contains automatic actions (such as opening other files or sending form data), "
        "which we do not accept. Print it to a new PDF (“Print” → “Save as PDF”) or scan it again, "
        "and upload the new copy.",
    ),
    "embedded_files": _l(
        "“%(name)s” has other files attached inside it. Print it to a new PDF (“Print” → “Save as "
        "PDF”) so that only the document itself remains, and upload the new copy.",
    ),
    "xfa": _l(
        "“%(name)s” is an interactive (XFA) form, which we cannot accept. Print it to a new PDF "
        "(“Print” → “Save as PDF”) and upload the new copy.",
    ),
    "no_pages": _l(
        "“%(name)s” has no pages. Check that you chose the right file, and upload it again.",
    ),
    "too_many_pages": _l(
        "“%(name)s” has too many pages (%(pages)s; the limit is %(max)s). Upload only the pages requested.",
    ),
    "inflates_too_much": _l(
        "“%(name)s” holds far more data than a document of its size should. Scan it again at a normal "
        "resolution, or print it to a new PDF, and upload the new copy.",
    ),
    "too_complex": _l(
        "“%(name)s” is too complex for us to check safely. Print it to a new PDF (“Print” → “Save as "
        "PDF”) or scan it again, and upload the new copy.",
    ),
    "xref_loop": _l(
        "“%(name)s” is damaged in a way we cannot check safely: its index of contents leads round in "
        "a circle. Print it to a new PDF (“Print” → “Save as PDF”) or scan it again, and upload the "
        "new copy.",
    ),
    "pixel_flood": _l(
        "“%(name)s” contains an image far too large to open safely. Scan it again at a normal "
        "resolution (300 dpi is enough), and upload the new copy.",
    ),
    "polyglot": _l(
        "“%(name)s” is also a web page, with code a browser would run, so we cannot accept it. Save it "
        "again as PDF from the original document, or scan it again, and upload the new copy.",
    ),
}
CODES = frozenset(_MESSAGES)


class DocumentError(Exception):
    """A file we refuse. `.code` says why; `.message` tells the citizen, in their language, what to do."""

    def __init__(
        self,
        code: str,
        filename: str,
        *,
        pages: int | None = None,
        max_pages: int | None = None,
        max_bytes: int | None = None,
    ):
        if code not in CODES:
            raise ValueError(f"unknown document error code {code!r}")
        super().__init__(code, filename)
        self.code = code
        self.filename = filename
        self.pages = pages
        self.max_pages = max_pages
        self.max_bytes = max_bytes

    @property
    def display_name(self) -> str:
        return _display_name(self.filename)

    @property
    def message(self) -> str:
        # Built when read, so it comes out in the language of the request that shows it.
        limit = format_decimal(round(self.max_bytes / MB, 1)) if self.max_bytes else None
        values = {"name": self.display_name, "limit": limit, "pages": self.pages, "max": self.max_pages}
        return str(_MESSAGES[self.code]) % values

    def __str__(self) -> str:
        return f"{self.code}: {self.filename!r}"


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    sha256: str
    size: int


@dataclass(frozen=True)
class PdfLimits(SandboxLimits):
    """The inspecting processes' sandbox and pool (2 by default), and what a file may hold."""

    concurrency: int = 2  # checker processes kept per app process: checks at once
    recycle_after: int = 200  # checks one process makes before a fresh one replaces it
    queue_seconds: float = 10  # how long a check waits for a free process before the 503
    max_bytes: int = 10 * MB
    max_inflated_bytes: int = 50 * MB  # all streams together, once decompressed
    max_objects: int = 100_000
    max_image_pixels: int = 50_000_000  # width × height of any one image

    @classmethod
    def from_config(cls, config) -> PdfLimits:
        """The limits from the app's settings (PDF_CHECK_*, PDF_MAX_*), each falling back to its default."""
        default = cls()
        return cls(
            **cls.sandbox_settings(config, "PDF_CHECK"),
            recycle_after=int(config.get("PDF_CHECK_RECYCLE_AFTER", default.recycle_after)),
            queue_seconds=float(config.get("PDF_CHECK_QUEUE_SECONDS", default.queue_seconds)),
            max_bytes=int(config.get("PDF_MAX_BYTES", default.max_bytes)),
            max_inflated_bytes=int(config.get("PDF_MAX_INFLATED_MB", default.max_inflated_bytes // MB)) * MB,
            max_image_pixels=int(
                config.get("PDF_MAX_IMAGE_MEGAPIXELS", default.max_image_pixels // 1_000_000) * 1_000_000
            ),
        )


@dataclass(frozen=True)
class Inspection:
    """What the inspecting process said: pages, or a rejection code; and its peak memory."""

    code: str | None
    pages: int | None = None
    peak_rss_kb: int | None = None
    seconds: float = 0.0
    checker_pid: int | None = None


# --- validation ---------------------------------------------------------------------------------


def validate_pdf(data: bytes, filename: str, max_pages: int, limits: PdfLimits | None = None) -> PdfInfo:
    """Check an uploaded file is a PDF the clerk can safely open; raise DocumentError when it is not."""
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    if limits is None:
        limits = PdfLimits.from_config(current_app.config) if has_app_context() else PdfLimits()
    if len(data) > limits.max_bytes:
        raise DocumentError("too_large", filename, max_bytes=limits.max_bytes)
    if not data:
        raise DocumentError("empty", filename)
    if data.find(HEADER, 0, HEADER_WINDOW + len(HEADER) - 1) < 0:
        raise DocumentError("not_pdf", filename)
    result = inspect_pdf(data, max_pages, limits)
    metrics.PDF_CHECKS.labels(result.code or "ok").inc()
    if result.code:
        raise DocumentError(result.code, filename, pages=result.pages, max_pages=max_pages)
    return PdfInfo(pages=result.pages, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def inspector_command(limits: PdfLimits) -> list[str]:
    """The command of one pooled checker process (`pdf_inspect.py --serve`)."""
    return script_command(INSPECTOR, "--serve", limits.cpu_seconds, limits.memory_bytes, limits.recycle_after)


def inspect_pdf(data: bytes, max_pages: int, limits: PdfLimits) -> Inspection:
    """Have a checker process inspect `data` and return its verdict (no size/header checks).

    Raises SandboxBusy when no checker is free within `limits.queue_seconds`.
    """
    request = {
        "max_pages": max_pages,
        "max_inflated": limits.max_inflated_bytes,
        "max_objects": limits.max_objects,
        "max_pixels": limits.max_image_pixels,
    }
    pool = PoolSettings(limits.concurrency, limits.recycle_after, limits.queue_seconds)
    run = run_pooled(inspector_command(limits), request, data, limits, pool, task="PDF inspection")
    if run.timed_out:
        return Inspection(code="too_complex", seconds=run.seconds, checker_pid=run.pid)
    verdict = _verdict(run.stdout)
    if verdict is not None:
        return Inspection(
            code=verdict.get("code"),
            pages=verdict.get("pages"),
            peak_rss_kb=verdict.get("peak_rss_kb"),
            seconds=run.seconds,
            checker_pid=run.pid,
        )
    if run.returncode < 0 or b"MemoryError" in run.stderr:
        # Killed by a signal (SIGXCPU/SIGKILL at the CPU limit) or out of address space.
        log.warning("PDF inspection hit a limit (exit %s)", run.returncode)
        return Inspection(code="too_complex", seconds=run.seconds, checker_pid=run.pid)
    raise RuntimeError(
        f"PDF inspector failed (exit {run.returncode}): {run.stderr[-2000:].decode(errors='replace')}"
    )


def _verdict(stdout: bytes) -> dict | None:
    """The inspector's verdict when it is well-formed: pages of an accepted file, or a known code."""
    verdict = last_json_object(stdout)
    if verdict is None:
        return None
    code, pages = verdict.get("code"), verdict.get("pages")
    if code is None and isinstance(pages, int) and pages > 0:
        return verdict
    if code in CODES and (pages is None or isinstance(pages, int)):
        return verdict
    return None
