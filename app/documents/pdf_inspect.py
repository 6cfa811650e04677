"""Inspect one untrusted PDF in a child process, under CPU and memory limits.

`app.documents.validation.validate_pdf` runs this file by path with the PDF on stdin:

    python -I app/documents/pdf_inspect.py CPU_SECONDS MEMORY_BYTES MAX_PAGES MAX_INFLATED_BYTES MAX_OBJECTS \
        MAX_IMAGE_PIXELS

It prints one JSON line: `{"pages": 1, "peak_rss_kb": 41000}` for an acceptable file, or
`{"code": "javascript", ...}` with one of the rejection codes of `app.documents.DocumentError`.

The app keeps a few of these running instead (`app.documents.sandbox`'s pool), each checking one
file after another:

    python -I app/documents/pdf_inspect.py --serve CPU_SECONDS MEMORY_BYTES MAX_CHECKS

reads a JSON line of the check's parameters (`max_pages`, `max_inflated`, `max_objects`,
`max_pixels`, and `size`) then `size` bytes of PDF, answers one JSON line as above, and so on, up
to MAX_CHECKS files or until stdin closes. Its address space is capped once, at start; its CPU time
per check (see `serve`). After a file that hit a limit of the process or came near its memory
limit it answers with `"retire": true` and exits, so the next file gets a fresh process.
It imports only the standard library and pypdf, never Flask nor the `app` package it sits in (run
by path, so its folder's modules are not importable), so it starts fast; and it limits its own
CPU time and address space before it reads a byte of the file.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import io
import json
import logging
import math
import os
import re
import resource
import sys
import warnings
import zlib

import pypdf
from pypdf import filters
from pypdf.errors import LimitReachedError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NumberObject,
    StreamObject,
    read_object,
)

# Action types a citizen's document has no business carrying: they open other files or programs,
# send or load form data, or play media. /URI (a web link) is deliberately absent: links in a
# scanned licence or a bank statement are harmless, since the clerk's viewer asks before following
# one. /GoTo and /Named (move within the document) are harmless too.
BLOCKED_ACTIONS = frozenset(
    {
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/ResetForm",
        "/GoToR",
        "/GoToE",
        "/Rendition",
        "/Movie",
        "/Sound",
        "/RichMediaExecute",
        "/GoTo3DView",
    }
)
EMBEDDING_ANNOTATIONS = frozenset({"/FileAttachment", "/RichMedia"})
# When a file has several problems, the citizen is told about the most serious one.
THREAT_ORDER = ("javascript", "action", "embedded_files", "xfa")

FLATE = frozenset({"/FlateDecode", "/Fl"})
# Filters whose output may feed the next filter; pypdf decodes them within the configured
# output limits. Image codecs (DCT, JPX, CCITT, JBIG2) are decoded by the viewer, not here.
TEXT_FILTERS = {
    "/ASCIIHexDecode": filters.ASCIIHexDecode,
    "/AHx": filters.ASCIIHexDecode,
    "/ASCII85Decode": filters.ASCII85Decode,
    "/A85": filters.ASCII85Decode,
    "/RunLengthDecode": filters.RunLengthDecode,
    "/RL": filters.RunLengthDecode,
    "/LZWDecode": filters.LZWDecode,
    "/LZW": filters.LZWDecode,
}
INFLATE_CHUNK = 1 << 20
ENCRYPT_KEY = re.compile(rb"/Encrypt[\s/<>\[\]()]")
WHITESPACE = re.compile(rb"[\0\t\n\f\r ]*")
SPACE_BYTES = frozenset(b"\0\t\n\f\r ")
DIGIT_BYTES = frozenset(b"0123456789")

HEADER = b"%PDF-"
HEADER_WINDOW = 1024
# Markup a browser would render. Before the header, any "<" is refused: real files carry only
# whitespace or binary bytes there. After the last %%EOF nothing belongs to the PDF, so markup
# there is refused too (inside the PDF, strings and streams may mention tags harmlessly).
MARKUP = re.compile(rb"<\s*/?\s*(?:script|html|svg|iframe|body)|javascript:", re.IGNORECASE)
# Cross-reference sections followed through /Prev before the file counts as too complex.
MAX_XREF_SECTIONS = 1_000
TRAILER_WINDOW = 64 * 1024  # how far a trailer dictionary may reach
OBJECT_HEADER = re.compile(rb"\d+[\0\t\n\f\r ]+\d+[\0\t\n\f\r ]+obj")
STREAM_KEYWORD = re.compile(rb">>[\0\t\n\f\r ]*stream")
STREAM_BODY = re.compile(rb"stream[\r\n].*?endstream", re.DOTALL)
STARTXREF = re.compile(rb"startxref[\0\t\n\f\r ]*(\d{1,15})")
# An image decodes to width x height pixels whatever its file size: refuse a "pixel flood".
MAX_IMAGE_PIXELS = 50_000_000  # a letter page scanned at 600 dpi is 34 megapixels
INLINE_IMAGE = re.compile(rb"(?:^|(?<=[\0\t\n\f\r \]\)>}]))BI(?=[\0\t\n\f\r /])")
INLINE_IMAGE_DATA = re.compile(rb"[\0\t\n\f\r ]ID[\0\t\n\f\r ]")
INLINE_SIZE = re.compile(rb"/(W|Width|H|Height)[\0\t\n\f\r ]*([^\0\t\n\f\r /\[\]<>()]*)")
INLINE_DICT_WINDOW = 4096


class Rejected(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.verdict = {"code": code}


def limit_resources(cpu_seconds: int, memory_bytes: int) -> None:
    """Cap this process: the soft CPU limit raises SIGXCPU (fatal), the hard one a second later SIGKILL."""
    _set_limit(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)
    _set_limit(resource.RLIMIT_AS, memory_bytes, memory_bytes)
    _set_limit(resource.RLIMIT_CORE, 0, 0)  # never dump a hostile file's bytes to disk


def _set_limit(which: int, soft: int, hard: int) -> None:
    _current_soft, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:  # an unprivileged process cannot raise its hard limit
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(which, (soft, hard))


def inspect(
    data: bytes, max_pages: int, max_inflated: int, max_objects: int, max_pixels: int = MAX_IMAGE_PIXELS
) -> dict:
    """The verdict on one PDF: {"pages": n} or {"code": reason, ...}."""
    try:
        _check_markup(data)
        _check_xref_chain(data, max_objects)
    except Rejected as rejection:
        return rejection.verdict
    pypdf.overwrite_configuration(
        zlib_maximum_output_length=max_inflated + 1,
        lzw_maximum_output_length=max_inflated + 1,
        run_length_maximum_output_length=max_inflated + 1,
        brotli_maximum_output_length=max_inflated + 1,
        jbig2_maximum_output_length=max_inflated + 1,
        array_based_stream_maximum_output_length=max_inflated + 1,
        jbig2dec_binary=None,  # never hand a hostile file to another program
    )
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    except (MemoryError, RecursionError, LimitReachedError) as error:
        return {"code": _code_for_limit(error)}
    except Exception:
        # An encrypted file pypdf cannot even open is still, first of all, encrypted.
        return {"code": "encrypted" if ENCRYPT_KEY.search(data) else "damaged"}

    try:
        if reader.is_encrypted:  # a user password, or only an owner password: both are refused
            return {"code": "encrypted"}
        objects = _load_objects(reader, max_inflated, max_objects)
        objects += _objects_outside_the_xref(reader, data, max_objects)
        threats = set()
        for obj in objects:
            threats |= _threats_in(obj)
        for code in THREAT_ORDER:
            if code in threats:
                return {"code": code}
        _check_images(reader, objects, max_pixels)
        pages = len(reader.pages)
    except Rejected as rejection:
        return rejection.verdict
    except (MemoryError, RecursionError, LimitReachedError) as error:
        return {"code": _code_for_limit(error)}
    except Exception:
        return {"code": "damaged"}

    if pages == 0:
        return {"code": "no_pages", "pages": 0}
    if pages > max_pages:
        return {"code": "too_many_pages", "pages": pages}
    return {"pages": pages}


def _check_markup(data: bytes) -> None:
    """Refuse a polyglot: a file a browser would also render as a web page, with its scripts."""
    header_at = data.find(HEADER, 0, HEADER_WINDOW + len(HEADER) - 1)
    before = data[: max(header_at, 0)]
    if b"<" in before or MARKUP.search(before):
        raise Rejected("polyglot")
    eof_at = data.rfind(b"%%EOF")
    if eof_at >= 0 and MARKUP.search(data, eof_at + 5):
        raise Rejected("polyglot")


def _check_xref_chain(data: bytes, max_objects: int) -> None:
    """Walk the cross-reference sections from startxref through /Prev, refusing a chain that loops.

    pypdf stops quietly at a loop and reads what it has; a viewer may instead loop forever or read a
    different revision. A /Prev outside the file, or that is not a number, is damage; a /Size far
    beyond what the file could hold is refused before anyone allocates for it. Where no section
    starts at an offset, the walk stops: pypdf's (bounded) repair takes over from there.

    After the last section's trailer (the newest revision's; in a linearized file the main one, at
    the end) only "startxref" and "%%EOF" belong: markup there is a polyglot, even when a second,
    fake "%%EOF" hides it from the check after the last one.
    """
    ends = _walk_xref_chain(data, max_objects)
    if ends is None:
        return
    end, original_end = ends
    if MARKUP.search(data, end):
        raise Rejected("polyglot")
    # What incremental updates added after the oldest revision: markup outside its streams (a
    # string object holding a page, say) is a polyglot too, though every trailer comes after it.
    if original_end < end and MARKUP.search(STREAM_BODY.sub(b"", data[original_end:end])):
        raise Rejected("polyglot")


def _walk_xref_chain(data: bytes, max_objects: int) -> tuple[int, int] | None:
    """(where the sections walked end, where the oldest revision's section ends), or None when
    startxref leads to none."""
    offset = _startxref(data)
    header_at = max(data.find(HEADER, 0, HEADER_WINDOW + len(HEADER) - 1), 0)
    seen: set[int] = set()
    end = None
    while offset is not None:
        if offset in seen:
            raise Rejected("xref_loop")
        if len(seen) >= MAX_XREF_SECTIONS:
            raise Rejected("too_complex")
        seen.add(offset)
        section = _xref_trailer(data, offset)
        if section is None and header_at:  # offsets counted from the header, past a few junk bytes
            section = _xref_trailer(data, offset + header_at)
        if section is None:
            break
        trailer, tail = section
        end = tail if end is None else max(end, tail)
        oldest = tail
        size = dict.get(trailer, "/Size")
        if isinstance(size, NumberObject) and size > max_objects:
            raise Rejected("too_complex")
        offset = dict.get(trailer, "/Prev")
        if offset is None:
            break
        if not isinstance(offset, NumberObject) or not 0 <= offset < len(data):
            raise Rejected("damaged")
        offset = int(offset)
    return None if end is None else (end, oldest)


def _startxref(data: bytes) -> int | None:
    at = data.rfind(b"startxref")
    match = STARTXREF.match(data, at) if at >= 0 else None
    return int(match.group(1)) if match else None


def _xref_trailer(data: bytes, offset: int) -> tuple[DictionaryObject, int] | None:
    """The trailer of the xref table, or the dictionary of the xref stream, at `offset`; else None.

    With it, where the section's own bytes end: its "trailer" keyword, or its stream's end.
    """
    if not 0 <= offset < len(data):
        return None
    at = WHITESPACE.match(data, offset).end()
    if data.startswith(b"xref", at):
        keyword = data.find(b"trailer", at)
        if keyword < 0:
            return None
        text = data[keyword + 7 : keyword + 7 + TRAILER_WINDOW]
        tail = keyword
    else:
        header = OBJECT_HEADER.match(data, at)
        if header is None:
            return None
        stream = STREAM_KEYWORD.search(data, header.end(), header.end() + TRAILER_WINDOW)
        text = data[header.end() : stream.start() + 2 if stream else header.end() + TRAILER_WINDOW]
        end = data.find(b"endstream", stream.end()) if stream else -1
        tail = end if end >= 0 else len(data)
    text = text[WHITESPACE.match(text).end() :]
    try:
        trailer = read_object(io.BytesIO(text), _NO_DOCUMENT)
    except Exception:  # noqa: BLE001  (not a dictionary: pypdf's repair decides)
        return None
    return (trailer, tail) if isinstance(trailer, DictionaryObject) else None


class _NoDocument:
    """Stands in for the reader while trailers are read: their references are never followed."""

    def get_object(self, _reference):
        return None


_NO_DOCUMENT = _NoDocument()


def _check_images(reader, objects: list, max_pixels: int) -> None:
    """Refuse an image, XObject or inline, whose declared size would decode to a flood of pixels."""
    for obj in objects:
        if isinstance(obj, StreamObject) and _resolved(dict.get(obj, "/Subtype")) == "/Image":
            _check_image_size(
                _resolved(dict.get(obj, "/Width")), _resolved(dict.get(obj, "/Height")), max_pixels
            )
    for content in _content_streams(reader, objects):
        try:
            data = content.get_data()
        except (MemoryError, LimitReachedError):
            raise
        except Exception:  # noqa: BLE001  (a viewer cannot draw it either)
            continue
        for match in INLINE_IMAGE.finditer(data):
            entries = data[match.end() : match.end() + INLINE_DICT_WINDOW]
            end = INLINE_IMAGE_DATA.search(entries)
            sizes = {}
            for key, value in INLINE_SIZE.findall(entries[: end.start() if end else None]):
                sizes[key[:1]] = _number(value)
            if sizes:
                _check_image_size(sizes.get(b"W"), sizes.get(b"H"), max_pixels)


def _number(text: bytes):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _check_image_size(width, height, max_pixels: int) -> None:
    if width is None or height is None:
        return  # no size: the viewer cannot draw it, and decodes nothing
    sizes = []
    for value in (width, height):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Rejected("damaged")
        if isinstance(value, float) and not value.is_integer():
            raise Rejected("damaged")
        if value < 0:
            raise Rejected("damaged")
        sizes.append(int(value))
    if sizes[0] * sizes[1] > max_pixels:
        raise Rejected("pixel_flood")


def _content_streams(reader, objects: list) -> list:
    """Streams of drawing operators: pages' contents, forms, tiling patterns and Type 3 glyphs."""
    found = []
    for obj in objects:
        if isinstance(obj, StreamObject):
            if _resolved(dict.get(obj, "/Subtype")) == "/Form" or "/PatternType" in obj:
                found.append(obj)
        elif isinstance(obj, DictionaryObject):
            if _resolved(dict.get(obj, "/Type")) == "/Page":
                contents = _resolved(dict.get(obj, "/Contents"))
                parts = list.__iter__(contents) if isinstance(contents, ArrayObject) else [contents]
                found += [_resolved(part) for part in parts]
            procs = _resolved(dict.get(obj, "/CharProcs"))
            if isinstance(procs, DictionaryObject):
                found += [_resolved(proc) for proc in dict.values(procs)]
    unique = {id(stream): stream for stream in found if isinstance(stream, StreamObject)}
    return list(unique.values())


def _code_for_limit(error: BaseException) -> str:
    if "decompress" in str(error).lower():
        return "inflates_too_much"
    return "too_complex"


def _load_objects(reader, max_inflated: int, max_objects: int) -> list:
    """Every object the xref lists, referenced or not, with the streams' inflated size checked.

    Plain objects are read first and their streams measured before any object stream is opened,
    so a bomb is refused before pypdf decompresses it for us.
    """
    plain = set()
    for generation, entries in reader.xref.items():
        free = reader.xref_free_entry.get(generation, {})
        plain |= {(number, generation) for number in entries if number and not free.get(number)}
    # pypdf reads an object listed both ways (a hybrid file) from its object stream.
    compressed = {(number, 0) for number in reader.xref_objStm}
    plain -= compressed
    if len(plain) + len(compressed) > max_objects:
        raise Rejected("too_complex")

    objects = [reader.get_object(IndirectObject(n, g, reader)) for n, g in sorted(plain)]
    budget = max_inflated
    for obj in objects:
        if isinstance(obj, StreamObject):
            budget -= _inflated_size(obj, budget)
    objects += [reader.get_object(IndirectObject(n, g, reader)) for n, g in sorted(compressed)]
    objects.append(reader.trailer)
    return [obj for obj in objects if obj is not None]


def _objects_outside_the_xref(reader, data: bytes, max_objects: int) -> list:
    """Objects in the file that the current xref does not list: older revisions, or hidden ones.

    A viewer that finds the xref broken rebuilds it by scanning for "N G obj", as this does, and
    may then see objects pypdf never read; so they are inspected too. Their streams are not
    measured: what looks like an object header inside image data parses as garbage or not at all.
    """
    listed = {
        WHITESPACE.match(data, offset).end()
        for entries in reader.xref.values()
        for offset in entries.values()
        if isinstance(offset, int) and 0 <= offset < len(data)
    }
    found = []
    for count, (start, end) in enumerate(_object_headers(data)):
        if count > max_objects:
            raise Rejected("too_complex")
        if start in listed:
            continue
        reader.stream.seek(WHITESPACE.match(data, end).end())
        try:
            found.append(read_object(reader.stream, reader))
        except Exception:  # noqa: BLE001  (bytes that only look like an object header)
            continue
    return found


def _object_headers(data: bytes):
    """(start, end) of every "N G obj" in the file. Finds "obj" first: a regex over 10 MB is slow."""
    position = data.find(b"obj")
    while position != -1:
        if not data[position + 3 : position + 4].isalpha():  # not "object" or "objx"
            generation_end = _skip_back(data, position, SPACE_BYTES)
            generation = _skip_back(data, generation_end, DIGIT_BYTES)
            number_end = _skip_back(data, generation, SPACE_BYTES)
            number = _skip_back(data, number_end, DIGIT_BYTES)
            if (
                generation_end < position
                and generation < generation_end
                and number_end < generation
                and number < number_end
            ):
                yield number, position + 3
        position = data.find(b"obj", position + 3)


def _skip_back(data: bytes, end: int, allowed: frozenset) -> int:
    start = end
    while start > 0 and data[start - 1] in allowed:
        start -= 1
    return start


def _inflated_size(stream, budget: int) -> int:
    """Bytes the stream's filters produce, never holding more than `budget` of them at once."""
    names, parameters = _filters_of(stream)
    data = stream._data  # the raw, still encoded bytes
    for index, name in enumerate(names):
        last = index == len(names) - 1
        if name in FLATE:
            size, data = _inflate(data, budget, keep=not last)
            if last:
                return size
        elif name in TEXT_FILTERS:
            try:
                data = TEXT_FILTERS[name].decode(data, parameters[index])
            except LimitReachedError:
                raise Rejected("inflates_too_much") from None
            if len(data) > budget:
                raise Rejected("inflates_too_much")
        else:
            break  # an image codec or a filter we do not know: the viewer decodes it, we count it as is
    if len(data) > budget:
        raise Rejected("inflates_too_much")
    return len(data)


def _filters_of(stream) -> tuple[list[str], list]:
    names = _resolved(dict.get(stream, "/Filter"))
    parameters = _resolved(dict.get(stream, "/DecodeParms"))
    if names is None:
        return [], []
    if not isinstance(names, ArrayObject):
        names, parameters = [names], [parameters]
    elif not isinstance(parameters, ArrayObject):
        parameters = [None] * len(names)
    names = [_resolved(name) for name in names]
    if not all(isinstance(name, str) for name in names) or len(names) > 8:
        raise Rejected("damaged")
    parameters = [_resolved(p) for p in parameters] + [None] * (len(names) - len(parameters))
    return names, parameters


def _inflate(data: bytes, budget: int, keep: bool) -> tuple[int, bytes]:
    """Inflate in steps of at most INFLATE_CHUNK, stopping as soon as the output passes `budget`."""
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or gzip header
    size, kept, pending = 0, [], data
    try:
        while True:
            piece = decompressor.decompress(pending, INFLATE_CHUNK)
            size += len(piece)
            if size > budget:
                raise Rejected("inflates_too_much")
            if keep:
                kept.append(piece)
            pending = decompressor.unconsumed_tail
            if decompressor.eof or (not pending and len(piece) < INFLATE_CHUNK):
                break
    except zlib.error:
        raise Rejected("damaged") from None
    return size, b"".join(kept)


def _resolved(value):
    return value.get_object() if isinstance(value, IndirectObject) else value


def _threats_in(root) -> set[str]:
    """Codes of what the object holds directly; the objects it refers to are inspected on their own."""
    found: set[str] = set()
    stack, seen = [root], set()
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject) or id(item) in seen:
            continue  # every indirect object is visited once from the xref: no reference cycles here
        seen.add(id(item))
        if isinstance(item, DictionaryObject):
            found |= _threats_in_dictionary(item)
            stack.extend(dict.values(item))  # raw values: pypdf's [] would follow references
        elif isinstance(item, ArrayObject):
            stack.extend(list.__iter__(item))
    return found


def _threats_in_dictionary(entries) -> set[str]:
    found = set()
    action = _resolved(dict.get(entries, "/S"))
    if action == "/JavaScript" or "/JS" in entries or "/JavaScript" in entries:
        found.add("javascript")
    if action in BLOCKED_ACTIONS:
        found.add("action")
    if (
        "/EmbeddedFiles" in entries
        or "/EF" in entries
        or _resolved(dict.get(entries, "/Type")) == "/EmbeddedFile"
        or _resolved(dict.get(entries, "/Subtype")) in EMBEDDING_ANNOTATIONS
    ):
        found.add("embedded_files")
    if "/XFA" in entries:
        found.add("xfa")
    return found


def _peak_rss_kb() -> int:
    # VmHWM starts afresh at exec; ru_maxrss would also count the parent's memory at fork time.
    return _status_kb(b"VmHWM:") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _status_kb(field: bytes) -> int:
    """A memory line of /proc/self/status in KB, or 0 where there is none."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# Verdicts after which a served process exits rather than check another file: the file ran into a
# limit of the process (memory, recursion, a pypdf safety limit), and what that left behind in the
# process is nothing the next file should meet. Refusals found by reading (a bomb stopped at
# PDF_MAX_INFLATED_MB, a pixel flood, JavaScript…) leave the process as it was: it carries on.
RETIRING_CODES = frozenset({"too_complex"})
BIG_CHECK_KB = 16 * 1024  # a check that grew the process by more is followed by a garbage collection


def serve(cpu_seconds: int, memory_bytes: int, max_checks: int, check=inspect) -> int:
    """Check one file after another from stdin (see the module's docstring), each under its own limits.

    The CPU limit is per check: RLIMIT_CPU counts the whole process's life, so before each check the
    soft limit is moved to the CPU used so far (rounded up) plus `cpu_seconds`; the kernel sends
    SIGXCPU, which kills the process, when a check passes it, even inside C code (zlib, a regular
    expression) where a check in Python could not look. So a check gets between `cpu_seconds` and
    one second more. The hard limit, set once, bounds the whole process: `max_checks` full checks.
    """
    _set_limit(resource.RLIMIT_AS, memory_bytes, memory_bytes)
    _set_limit(resource.RLIMIT_CORE, 0, 0)
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() of pypdf's goes to stderr, never into a verdict
    sys.stdout = sys.stderr
    hard_cpu = math.ceil(_cpu_seconds_used()) + (cpu_seconds + 1) * max_checks + 1
    for _ in range(max_checks):
        line = requests.readline(4096)
        if not line.endswith(b"\n"):
            return 0  # the app closed the pipe: shutting down, or done with this process
        parameters = json.loads(line)
        size = parameters.pop("size")
        data = requests.read(size)
        if len(data) != size:
            return 0
        _set_limit(resource.RLIMIT_CPU, math.ceil(_cpu_seconds_used()) + cpu_seconds, hard_cpu)
        _reset_peak_rss()
        resident_before = _status_kb(b"VmRSS:")
        try:
            verdict = check(data, **parameters)
        except (MemoryError, RecursionError):
            verdict = {"code": "too_complex", "retire": True}
        del data
        verdict["peak_rss_kb"] = _peak_rss_kb()
        _give_back_memory(verdict["peak_rss_kb"] - resident_before > BIG_CHECK_KB)
        if verdict.get("code") in RETIRING_CODES or verdict["peak_rss_kb"] * 1024 > memory_bytes // 2:
            verdict["retire"] = True
        replies.write(json.dumps(verdict).encode() + b"\n")
        replies.flush()
        if verdict.get("retire"):
            return 0
    return 0


def _give_back_memory(big: bool) -> None:
    # Without this a served process keeps the heap of its largest files: its resident memory grows
    # from one 10 MB scan to the next (70 → 115 MB) and the next file starts nearer the limit.
    # pypdf's objects hold cycles, so a big file needs a collection (~5 ms); a small one does not.
    if big:
        gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # glibc only  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def _cpu_seconds_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _reset_peak_rss() -> None:
    # Writing 5 to clear_refs restarts VmHWM (Linux 4.0+), so each verdict reports its own file's peak.
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def main(argv: list[str]) -> int:
    if argv[1:2] == ["--serve"]:
        return serve(*(int(arg) for arg in argv[2:5]))
    cpu_seconds, memory_bytes, max_pages, max_inflated, max_objects, max_pixels = (
        int(arg) for arg in argv[1:7]
    )
    limit_resources(cpu_seconds, memory_bytes)
    logging.disable(logging.CRITICAL)  # pypdf's complaints about a hostile file would flood stderr
    warnings.simplefilter("ignore")
    data = sys.stdin.buffer.read()
    try:
        verdict = inspect(data, max_pages, max_inflated, max_objects, max_pixels)
    except (MemoryError, RecursionError):
        verdict = {"code": "too_complex"}
    del data
    verdict["peak_rss_kb"] = _peak_rss_kb()
    sys.stdout.write(json.dumps(verdict) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
