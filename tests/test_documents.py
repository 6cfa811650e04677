"""Uploaded PDFs: every rejection and its message, valid files, the process limits, the store, staging,
and the store's interface, through which every stored byte goes."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import runpy
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.documents import (
    MB,
    DocumentError,
    LocalUploadStore,
    PdfInfo,
    PdfLimits,
    UploadStore,
    discard_staged,
    inspect_pdf,
    purge_renders,
    purge_staged,
    rendering,
    stage_upload,
    staged_upload,
    upload_store,
    validate_pdf,
    validation,
)
from app.documents.store import check_key, new_key
from app.extensions import db
from app.models import Appointment
from tests.support import pdf_factory
from tests.support.booking import VIDEO_SERVICE as SERVICE
from tests.support.booking import choose_slot, fill_details
from tests.support.clock import stamp

MAX_PAGES = 10
INSPECTOR = Path(validation.__file__).resolve().with_name("pdf_inspect.py")


def rejection(data: bytes, filename: str = "licencia.pdf", limits: PdfLimits | None = None) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        validate_pdf(data, filename, MAX_PAGES, limits)
    return caught.value


def messages(app, error: DocumentError) -> tuple[str, str]:
    """The error's message in Spanish (no language asked for) and in English."""
    with app.test_request_context():
        spanish = error.message
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english = error.message
    return spanish, english


# --- rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(pdf_factory.REJECTIONS))
def test_each_hostile_or_broken_file_is_rejected_with_a_message_naming_it(app, case):
    build, code = pdf_factory.REJECTIONS[case]
    filename = f"{case}.pdf"
    error = rejection(build(), filename)

    assert error.code == code
    assert error.filename == filename
    spanish, english = messages(app, error)
    assert f"“{filename}”" in spanish
    assert f"“{filename}”" in english
    assert spanish != english, "the Spanish message is missing from the catalog"


def test_a_file_over_the_size_limit_is_rejected_before_it_is_parsed(app, monkeypatch):
    monkeypatch.setattr(validation, "inspect_pdf", lambda *args: pytest.fail("the inspector ran"))
    error = rejection(pdf_factory.oversized(10 * MB), "escaneo.pdf")

    assert error.code == "too_large"
    spanish, english = messages(app, error)
    assert "“escaneo.pdf”" in spanish and "10 MB" in spanish
    assert "“escaneo.pdf” is larger than 10 MB" in english


def test_too_many_pages_says_how_many_and_the_limit(app):
    error = rejection(pdf_factory.eleven_pages())

    assert (error.code, error.pages, error.max_pages) == ("too_many_pages", 11, 10)
    spanish, english = messages(app, error)
    assert "(11;" in spanish and "10)" in spanish
    assert "too many pages (11; the limit is 10)" in english


def test_the_message_names_the_file_without_the_path_a_browser_may_send(app):
    error = DocumentError("encrypted", "C:\\fakepath\\licencia.pdf")
    _spanish, english = messages(app, error)
    assert english.startswith("“licencia.pdf” is protected with a password.")


def test_unknown_error_codes_are_a_programming_error():
    with pytest.raises(ValueError):
        DocumentError("nope", "x.pdf")


# --- valid files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "pages"),
    [
        (pdf_factory.one_page, 1),
        (lambda: pdf_factory.pages(MAX_PAGES), MAX_PAGES),
        (pdf_factory.scan_10mb, 4),
        (pdf_factory.with_uri_link, 1),
        (pdf_factory.small_junk_before_header, 1),
        (pdf_factory.binary_junk_before_header, 1),
        (pdf_factory.xref_stream_valid, 1),
        (pdf_factory.image_of_normal_size, 1),
        (pdf_factory.inline_image_of_normal_size, 1),
        (pdf_factory.html_words_inside_a_stream, 1),
        (pdf_factory.linearized_with_html_words_inside_a_stream, 1),
        (pdf_factory.update_with_html_words_inside_a_stream, 1),
    ],
    ids=[
        "one_page",
        "exactly_max_pages",
        "scan_10mb",
        "uri_link",
        "small_junk_before_header",
        "binary_junk_before_header",
        "xref_stream_valid",
        "image_of_normal_size",
        "inline_image_of_normal_size",
        "html_words_inside_a_stream",
        "linearized_with_html_words_inside_a_stream",
        "update_with_html_words_inside_a_stream",
    ],
)
def test_valid_files_are_accepted_with_their_pages_hash_and_size(app, build, pages):
    data = build()
    with app.app_context():
        info = validate_pdf(data, "licencia.pdf", MAX_PAGES)

    assert info == PdfInfo(pages=pages, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


def test_the_10mb_scan_is_close_to_the_limit():
    assert 9.5 * MB < len(pdf_factory.scan_10mb()) <= PdfLimits().max_bytes


# --- limits -------------------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_without_inflating_it():
    bomb = pdf_factory.decompression_bomb()
    assert len(bomb) < 2 * MB  # 1 GiB of zeros inside

    result = inspect_pdf(bomb, MAX_PAGES, PdfLimits())

    assert result.code == "inflates_too_much"
    assert result.peak_rss_kb < 128 * 1024  # the 50 MB budget, inflated 1 MB at a time, never kept


def test_the_inflated_budget_is_a_setting(app):
    data = pdf_factory.scan_10mb()  # about 10 MB of pixels once inflated
    assert rejection(data, limits=PdfLimits(max_inflated_bytes=5 * MB)).code == "inflates_too_much"


def test_the_pixel_limit_is_a_setting():
    normal = pdf_factory.image_of_normal_size()  # 5100 x 6600: 33.7 megapixels
    assert validate_pdf(normal, "licencia.pdf", MAX_PAGES, PdfLimits()).pages == 1
    assert rejection(normal, limits=PdfLimits(max_image_pixels=30_000_000)).code == "pixel_flood"
    inline = pdf_factory.inline_image_of_normal_size()  # 1700 x 2200: 3.7 megapixels
    assert rejection(inline, limits=PdfLimits(max_image_pixels=3_000_000)).code == "pixel_flood"


def test_an_endless_chain_of_xref_sections_is_too_complex():
    inspector = runpy.run_path(str(INSPECTOR))
    sections = inspector["MAX_XREF_SECTIONS"]
    data = pdf_factory.updated_many_times(sections)  # one original section plus `sections` updates
    assert rejection(data).code == "too_complex"
    assert validate_pdf(pdf_factory.updated_many_times(20), "licencia.pdf", MAX_PAGES).pages == 1


def test_a_child_that_outlives_the_wall_clock_limit_is_killed(monkeypatch):
    monkeypatch.setattr(
        validation, "inspector_command", lambda *args: [sys.executable, "-c", "import time; time.sleep(60)"]
    )
    started = time.monotonic()
    error = rejection(pdf_factory.one_page(), limits=PdfLimits(wall_seconds=0.5))

    assert error.code == "too_complex"
    assert time.monotonic() - started < 5


def test_a_child_that_burns_cpu_is_stopped_by_its_own_cpu_limit(monkeypatch):
    spin = (
        f"import runpy; runpy.run_path({str(INSPECTOR)!r})['limit_resources'](1, 512 << 20)\nwhile True: pass"
    )
    monkeypatch.setattr(validation, "inspector_command", lambda *args: [sys.executable, "-I", "-c", spin])
    started = time.monotonic()
    error = rejection(pdf_factory.one_page(), limits=PdfLimits(wall_seconds=20))

    assert error.code == "too_complex"
    assert time.monotonic() - started < 10  # SIGXCPU after one CPU second, not the wall clock


def test_a_file_that_needs_more_memory_than_allowed_is_too_complex():
    data = pdf_factory.scan_10mb()
    assert rejection(data, limits=PdfLimits(memory_bytes=56 * MB)).code == "too_complex"


def test_inspections_beyond_the_concurrency_limit_wait_their_turn(monkeypatch):
    slow = "import json, time; time.sleep(0.5); print(json.dumps({'pages': 1}))"
    monkeypatch.setattr(validation, "inspector_command", lambda *args: [sys.executable, "-c", slow])
    limits = PdfLimits(concurrency=1)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(validate_pdf(b"%PDF-1.7", "a.pdf", 1, limits)))
        for _ in range(2)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [info.pages for info in results] == [1, 1]
    assert time.monotonic() - started >= 1.0  # one after the other


def test_the_child_gets_none_of_the_apps_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "do-not-leak")
    show = "import json, os; print(json.dumps({'pages': 1 + ('SECRET_KEY' in os.environ)}))"
    monkeypatch.setattr(validation, "inspector_command", lambda *args: [sys.executable, "-c", show])
    assert validate_pdf(b"%PDF-1.7", "a.pdf", 5, PdfLimits()).pages == 1


def test_a_broken_inspector_is_a_server_error_not_the_citizens_fault(monkeypatch):
    monkeypatch.setattr(
        validation,
        "inspector_command",
        lambda *args: [sys.executable, "-c", "import sys; sys.exit('no pypdf')"],
    )
    with pytest.raises(RuntimeError, match="no pypdf"):
        validate_pdf(pdf_factory.one_page(), "licencia.pdf", MAX_PAGES, PdfLimits())


def test_the_inspector_imports_neither_flask_nor_the_app():
    script = (
        f"import runpy, sys; inspector = runpy.run_path({str(INSPECTOR)!r}); "
        "print(inspector['inspect'](sys.stdin.buffer.read(), 10, 50 << 20, 100000)); "
        "print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('flask', 'app', 'werkzeug', 'sqlalchemy')))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script], input=pdf_factory.one_page(), capture_output=True, check=True
    )
    assert result.stdout.decode().splitlines() == ["{'pages': 1}", "[]"]


def test_limits_come_from_the_settings_with_defaults(app):
    assert PdfLimits.from_config({}) == PdfLimits()
    app.config.update(
        PDF_MAX_BYTES=2 * MB,
        PDF_CHECK_CPU_SECONDS=2,
        PDF_CHECK_MEMORY_MB=256,
        PDF_CHECK_TIMEOUT_SECONDS=4,
        PDF_MAX_INFLATED_MB=20,
        PDF_MAX_IMAGE_MEGAPIXELS=30,
    )
    app.config["PDF_CHECK_CONCURRENCY"] = 2
    limits = PdfLimits.from_config(app.config)
    assert (
        limits.max_bytes,
        limits.cpu_seconds,
        limits.memory_bytes,
        limits.wall_seconds,
        limits.max_inflated_bytes,
        limits.max_image_pixels,
        limits.concurrency,
    ) == (2 * MB, 2, 256 * MB, 4.0, 20 * MB, 30_000_000, 2)

    with app.app_context():  # validate_pdf without limits reads them from the app
        assert rejection(pdf_factory.scan_10mb()).code == "too_large"


# --- the upload store ---------------------------------------------------------------------------


def test_the_store_saves_opens_and_deletes_private_files(tmp_path):
    store = LocalUploadStore(tmp_path)
    assert isinstance(store, UploadStore)
    key = store.save(b"%PDF-1.7 contenido")

    path = tmp_path / key[:2] / f"{key}.pdf"
    assert len(key) == 32 and int(key, 16) >= 0
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.exists(key)
    with store.open(key) as file:
        assert file.read() == b"%PDF-1.7 contenido"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind

    store.delete(key)
    assert not store.exists(key) and not path.exists()
    store.delete(key)  # deleting twice is fine
    with pytest.raises(FileNotFoundError):
        store.open(key)


def test_two_saves_get_different_keys(tmp_path):
    store = LocalUploadStore(tmp_path)
    assert store.save(b"a") != store.save(b"a")


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "../../etc/passwd",
        "/etc/passwd",
        "ab/../../cd",
        "0" * 31,
        "0" * 33,
        "A" * 32,
        "g" * 32,
        "0" * 32 + "\n",
        "",
        None,
        12345,
    ],
)
def test_a_malformed_key_can_never_reach_outside_the_store(tmp_path, key):
    store = LocalUploadStore(tmp_path)
    for operation in (store.open, store.delete, store.exists):
        with pytest.raises(ValueError):
            operation(key)


def test_the_apps_store_lives_in_upload_dir(app):
    with app.app_context():
        key = upload_store().save(b"x")
    assert (Path(app.config["UPLOAD_DIR"]) / key[:2] / f"{key}.pdf").read_bytes() == b"x"


# --- staging ------------------------------------------------------------------------------------


def _stage(data: bytes = b"", filename: str = "licencia.pdf") -> str:
    data = data or pdf_factory.one_page()
    info = PdfInfo(pages=1, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    return stage_upload(data, filename, info)


def test_a_staged_upload_comes_back_whole(app):
    data = pdf_factory.one_page()
    with app.app_context():
        token = _stage(data, "licencia frente.pdf")
        staged = staged_upload(token)

    assert staged.token == token
    assert (staged.filename, staged.data) == ("licencia frente.pdf", data)
    assert staged.info == PdfInfo(pages=1, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    assert abs(dt.datetime.now(dt.UTC) - staged.created) < dt.timedelta(minutes=1)
    for path in (Path(app.config["UPLOAD_DIR"]) / "staging").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "token",
    [
        "",
        "../../etc/passwd",
        "zz",
        "0" * 32,
        "F" * 32,
        "0" * 32 + "/",
        None,
        42,
        ["0" * 32],
    ],
)
def test_an_unknown_or_malformed_token_finds_nothing(app, token):
    with app.app_context():
        _stage()
        assert staged_upload(token) is None
        discard_staged(token)  # and discarding it does nothing


def test_a_staged_file_changed_on_disk_is_not_trusted(app):
    with app.app_context():
        token = _stage()
        staging = Path(app.config["UPLOAD_DIR"]) / "staging"
        (staging / f"{token}.pdf").write_bytes(b"%PDF-1.7 otra cosa")
        assert staged_upload(token) is None

        other = _stage()
        (staging / f"{other}.json").write_text("{not json")
        assert staged_upload(other) is None


def test_a_discarded_upload_is_gone(app):
    with app.app_context():
        token = _stage()
        discard_staged(token)
        assert staged_upload(token) is None
    assert list((Path(app.config["UPLOAD_DIR"]) / "staging").iterdir()) == []


def test_purge_removes_only_old_staged_uploads(app):
    with app.app_context():
        old, fresh = _stage(), _stage()
        staging = Path(app.config["UPLOAD_DIR"]) / "staging"
        leftover = staging / ".tmp-abandoned"
        leftover.write_bytes(b"half a file")
        stamp(*staging.glob(f"{fresh}.*"))  # written now by the test clock, not the file system's
        two_days_ago = time.time() - 2 * 86400
        for path in [*staging.glob(f"{old}.*"), leftover]:
            os.utime(path, (two_days_ago, two_days_ago))

        assert purge_staged(dt.timedelta(days=1)) == 1
        assert staged_upload(old) is None
        assert staged_upload(fresh) is not None
        assert not leftover.exists()
        assert purge_staged(dt.timedelta(days=1)) == 0


def test_purge_without_a_staging_folder_does_nothing(app):
    with app.app_context():
        assert purge_staged(dt.timedelta(0)) == 0


# --- the store interface ------------------------------------------------------------------------


class MemoryUploadStore:
    """All of `UploadStore` in three dicts: what an object store would have to implement."""

    def __init__(self):
        self.documents: dict[str, bytes] = {}
        self.staged: dict[str, tuple[bytes, bytes, float]] = {}  # token: (file, metadata, written at)
        self.renders: dict[tuple[str, int, int], tuple[bytes, float]] = {}  # (key, page, width): …

    def save(self, data: bytes) -> str:
        key = new_key()
        self.documents[key] = data
        return key

    def open(self, key: str):
        if check_key(key) not in self.documents:
            raise FileNotFoundError(key)
        return io.BytesIO(self.documents[key])

    def exists(self, key: str) -> bool:
        return check_key(key) in self.documents

    def delete(self, key: str) -> None:
        self.documents.pop(check_key(key), None)

    def keys_older_than(self, older_than: dt.timedelta) -> list[str]:
        return []  # this store keeps no write times for documents: none is ever an orphan candidate

    def stage(self, data: bytes, meta: bytes) -> str:
        token = new_key()
        self.staged[token] = (data, meta, time.time())
        return token

    def read_staged(self, token: str) -> tuple[bytes, bytes] | None:
        found = self.staged.get(check_key(token))
        return found[:2] if found else None

    def discard_staged(self, token: str) -> None:
        self.staged.pop(check_key(token), None)

    def purge_staged(self, older_than: dt.timedelta) -> int:
        return self._purge(self.staged, older_than)

    def save_render(self, key: str, page: int, width: int, png: bytes) -> None:
        self.renders[(check_key(key), page, width)] = (png, time.time())

    def read_render(self, key: str, page: int, width: int) -> bytes | None:
        found = self.renders.get((check_key(key), page, width))
        return found[0] if found else None

    def discard_renders(self, key: str) -> int:
        gone = [entry for entry in self.renders if entry[0] == check_key(key)]
        for entry in gone:
            del self.renders[entry]
        return len(gone)

    def purge_renders(self, older_than: dt.timedelta) -> int:
        return self._purge(self.renders, older_than)

    @staticmethod
    def _purge(entries: dict, older_than: dt.timedelta) -> int:
        cutoff = time.time() - older_than.total_seconds()
        old = [name for name, value in entries.items() if value[-1] < cutoff]
        for name in old:
            del entries[name]
        return len(old)


def test_a_booking_its_staged_uploads_and_a_page_image_all_go_through_the_store_interface(
    app, client, auth, monkeypatch
):
    store = MemoryUploadStore()
    assert isinstance(store, UploadStore)
    app.extensions["upload_store"] = store

    choose_slot(client, app, skip=2)  # not the first: it may pass the lead time before the review
    assert fill_details(client).status_code == 302  # two PDFs checked and staged
    assert len(store.staged) == 2 and store.documents == {}
    with app.app_context():
        assert purge_staged(dt.timedelta(hours=1)) == 0
    response = client.post(f"/book/{SERVICE}/review", data={"accept": "y"})
    assert response.headers["Location"].endswith("/book/confirmation")
    assert len(store.documents) == 2 and store.staged == {}  # stored, and the staged copies gone

    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        reference, document = appointment.reference, appointment.documents[0]
        document_id, key = document.id, document.storage_key
    auth.login()
    page = f"/staff/appointments/{reference}/documents/{document_id}/pages/1.png"
    first = client.get(page)
    assert first.status_code == 200 and first.data.startswith(b"\x89PNG")
    assert list(store.renders) == [(key, 1, 800)]
    monkeypatch.setattr(rendering, "run_sandboxed", lambda *args, **kwargs: pytest.fail("rendered again"))
    assert client.get(page).data == first.data  # from the store's cache

    store.renders[(key, 1, 800)] = (first.data, 0.0)  # written long ago
    with app.app_context():
        assert purge_renders(dt.timedelta(hours=1)) == 1
    upload_dir = Path(app.config["UPLOAD_DIR"])
    assert [path for path in upload_dir.rglob("*") if path.is_file()] == []


def test_an_empty_file_is_called_empty_not_something_else(app, monkeypatch):
    monkeypatch.setattr(validation, "inspect_pdf", lambda *args: pytest.fail("the inspector ran"))
    error = rejection(b"", "licencia.pdf")

    assert error.code == "empty"
    spanish, english = messages(app, error)
    assert english.startswith("“licencia.pdf” is empty (0 bytes).")
    assert spanish.startswith("“licencia.pdf” está vacío (0 bytes).")
