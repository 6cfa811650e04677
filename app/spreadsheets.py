"""CSV exports that open correctly in Excel and cannot run in it.

UTF-8 with a byte-order mark (Excel otherwise reads the bytes as Windows-1252 and mangles "Peñuelas"),
CRLF line ends, and every text cell that a spreadsheet would read as a formula (starting with
=, +, -, @, a tab or a carriage return: OWASP's "CSV injection") prefixed with an apostrophe, so a
citizen named "=HYPERLINK(...)" is shown as text. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value: object) -> object:
    """The value as a spreadsheet should show it: None → "", formula-like text → '-prefixed text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole file as text, starting with the byte-order mark."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
