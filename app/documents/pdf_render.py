"""Render one page of an untrusted PDF to PNG in a child process, under CPU and memory limits.

`app.documents.rendering.render_page` runs this file by path with the PDF on stdin:

    python -I app/documents/pdf_render.py CPU_SECONDS MEMORY_BYTES PAGE_INDEX WIDTH MAX_SIDE

It writes the PNG to stdout, or one JSON line `{"code": "damaged"}` (or `no_such_page`,
`too_complex`) when it cannot. The page is scaled to WIDTH pixels wide, then down again if its
long side would pass MAX_SIDE, so the bitmap is bounded whatever size the PDF claims its page is.
It imports only the standard library, pypdfium2 and Pillow, never Flask nor the `app` package it
sits in, and limits its own CPU time and address space before it reads a byte of the file.
"""

from __future__ import annotations

import io
import json
import math
import resource
import sys

EPSILON = 1e-6


def limit_resources(cpu_seconds: int, memory_bytes: int) -> None:
    """Cap this process: the soft CPU limit raises SIGXCPU (fatal), the hard one a second later SIGKILL."""
    _set_limit(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)
    _set_limit(resource.RLIMIT_AS, memory_bytes, memory_bytes)
    _set_limit(resource.RLIMIT_CORE, 0, 0)  # never dump a citizen's document to disk


def _set_limit(which: int, soft: int, hard: int) -> None:
    _current_soft, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:  # an unprivileged process cannot raise its hard limit
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(which, (soft, hard))


def pixel_size(page_width: float, page_height: float, width: int, max_side: int) -> tuple[float, int, int]:
    """(scale, pixels wide, pixels high) for a page of that many PDF units, within the bounds.

    pypdfium2 rounds the bitmap up (ceil), so the scale is nudged just below the exact ratio:
    612 units at 800/612 must give 800 pixels, not 801.
    """
    if not (0 < page_width < math.inf and 0 < page_height < math.inf):
        raise ValueError("page without a finite area")
    scale = min((width - EPSILON) / page_width, (max_side - EPSILON) / max(page_width, page_height))
    return scale, math.ceil(page_width * scale), math.ceil(page_height * scale)


def render(data: bytes, page_index: int, width: int, max_side: int) -> bytes | dict:
    """The page as PNG bytes, or a verdict {"code": ...} saying why not."""
    import pypdfium2 as pdfium  # here, after main() set the limits: loading pdfium is bounded too

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return {"code": "damaged"}
    try:
        if not 0 <= page_index < len(document):
            return {"code": "no_such_page"}
        page = document[page_index]
        scale, _wide, _high = pixel_size(*page.get_size(), width, max_side)
        # Forms are not initialised: widgets show their stored appearance and nothing runs.
        bitmap = page.render(scale=scale, may_draw_forms=False)
        if max(bitmap.width, bitmap.height) > max_side:  # the bound holds on the pixels, not only on paper
            return {"code": "too_complex"}
        image = bitmap.to_pil()
        output = io.BytesIO()
        image.save(output, format="PNG", optimize=False, compress_level=6)
        return output.getvalue()
    except (pdfium.PdfiumError, ValueError):
        return {"code": "damaged"}
    finally:
        document.close()


def main(argv: list[str]) -> int:
    cpu_seconds, memory_bytes, page_index, width, max_side = (int(arg) for arg in argv[1:6])
    limit_resources(cpu_seconds, memory_bytes)
    data = sys.stdin.buffer.read()
    try:
        result = render(data, page_index, width, max_side)
    except MemoryError:
        result = {"code": "too_complex"}
    if isinstance(result, bytes):
        sys.stdout.buffer.write(result)
    else:
        sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
