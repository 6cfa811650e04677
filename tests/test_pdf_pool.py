"""The pool of PDF checker processes: warm children reused, a child past a limit replaced (and its
file refused with the usual message), recycling after N checks, waiting bounded by a 503, gevent,
fork-safety, and no child started before a PDF is checked."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from app.documents import MB, DocumentError, PdfLimits, SandboxBusy, inspect_pdf, validate_pdf, validation
from tests.support import pdf_factory
from tests.support.booking import choose_slot, fill_details

ROOT = Path(__file__).resolve().parent.parent
INSPECTOR = Path(validation.__file__).resolve().with_name("pdf_inspect.py")
MAX_PAGES = 10

# A checker speaking the pool's protocol (the real `serve` loop) whose check misbehaves on cue:
# "SPIN" burns CPU, "SLEEP" outlives the wall clock, "EAT" asks for more memory than allowed.
FAKE_CHECKER = textwrap.dedent(
    f"""
    import runpy, sys, time
    inspector = runpy.run_path({str(INSPECTOR)!r})

    def check(data, **limits):
        if b"SPIN" in data:
            while True:
                pass
        if b"SLEEP" in data:
            time.sleep(60)
        if b"EAT" in data:
            hoard = bytearray(1 << 30)
        return {{"pages": 1}}

    sys.exit(inspector["serve"](*(int(a) for a in sys.argv[1:4]), check=check))
    """
)


def fake_checker(monkeypatch):
    monkeypatch.setattr(
        validation,
        "inspector_command",
        lambda limits: [
            sys.executable,
            "-I",
            "-c",
            FAKE_CHECKER,
            *map(str, (limits.cpu_seconds, limits.memory_bytes, 1000)),
        ],
    )


def pid_of_check(data: bytes, limits: PdfLimits) -> tuple[str | None, int | None]:
    result = inspect_pdf(data, MAX_PAGES, limits)
    return result.code, result.checker_pid


def test_a_warm_pool_checks_with_the_same_process_each_time():
    limits = PdfLimits(concurrency=1)
    pids = {pid_of_check(pdf_factory.one_page(), limits) for _ in range(4)}
    assert len(pids) == 1
    ((code, pid),) = pids
    assert code is None and pid is not None and pid != os.getpid()


def test_a_warm_check_of_a_one_page_file_is_accepted_with_its_pages():
    limits = PdfLimits(concurrency=1)
    validate_pdf(pdf_factory.one_page(), "licencia.pdf", MAX_PAGES, limits)  # warm
    assert validate_pdf(pdf_factory.pages(3), "licencia.pdf", MAX_PAGES, limits).pages == 3
    with pytest.raises(DocumentError) as refused:
        validate_pdf(pdf_factory.pages(3), "licencia.pdf", 2, limits)  # the page limit is per check
    assert refused.value.code == "too_many_pages" and refused.value.pages == 3


@pytest.mark.parametrize(
    ("cue", "limits"),
    [
        (b"SPIN", PdfLimits(concurrency=1, cpu_seconds=1, wall_seconds=30)),
        (b"SLEEP", PdfLimits(concurrency=1, wall_seconds=1)),
        (b"EAT", PdfLimits(concurrency=1, memory_bytes=128 * MB)),
    ],
    ids=["cpu", "wall clock", "memory"],
)
def test_a_child_past_a_limit_is_replaced_and_the_file_refused_as_before(monkeypatch, cue, limits):
    fake_checker(monkeypatch)
    good = pdf_factory.one_page()
    # The same pool (the wall clock is per call): a generous one for the good files, whose child
    # may be starting, on a loaded machine, when they arrive.
    patient = dataclasses.replace(limits, wall_seconds=60)
    code, first = pid_of_check(good, patient)
    assert code is None
    started = time.monotonic()
    with pytest.raises(DocumentError) as refused:
        validate_pdf(good + b"%" + cue, "licencia.pdf", MAX_PAGES, limits)
    assert time.monotonic() - started < 15
    assert refused.value.code == "too_complex"
    assert refused.value.message == DocumentError("too_complex", "licencia.pdf").message

    code, second = pid_of_check(good, patient)
    assert code is None and second != first
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # killed and reaped, not left behind


def test_real_hostile_files_are_refused_by_a_warm_checker_and_one_that_runs_out_of_memory_is_replaced():
    limits = PdfLimits(concurrency=1, memory_bytes=128 * MB)
    _code, first = pid_of_check(pdf_factory.one_page(), limits)
    assert pid_of_check(pdf_factory.decompression_bomb(), limits) == ("inflates_too_much", first)
    assert pid_of_check(pdf_factory.one_page(), limits) == (None, first)  # a bomb stopped by reading

    small = PdfLimits(concurrency=1, memory_bytes=64 * MB)
    _code, first = pid_of_check(pdf_factory.one_page(), small)
    assert pid_of_check(pdf_factory.scan_10mb(), small)[0] == "too_complex"  # out of address space
    code, second = pid_of_check(pdf_factory.one_page(), small)
    assert code is None and second != first


def test_a_child_is_recycled_after_n_checks():
    limits = PdfLimits(concurrency=1, recycle_after=3)
    pids = [pid_of_check(pdf_factory.one_page(), limits)[1] for _ in range(7)]
    assert pids[0] == pids[1] == pids[2] != pids[3]
    assert pids[3] == pids[4] == pids[5] != pids[6]


def test_each_check_gets_its_own_cpu_budget():
    """The CPU limit is per check, not per process: many checks in one child add up to more CPU
    seconds than one check may take, and none is refused."""
    limits = PdfLimits(concurrency=1, cpu_seconds=1)
    scan = pdf_factory.scan_10mb()
    pids = set()
    for _ in range(12):
        code, pid = pid_of_check(scan, limits)
        assert code is None
        pids.add(pid)
    assert len(pids) == 1


def test_a_full_pool_refuses_after_the_queue_wait(monkeypatch):
    fake_checker(monkeypatch)
    limits = PdfLimits(concurrency=1, wall_seconds=10, queue_seconds=0.3)
    holder = threading.Thread(target=pid_of_check, args=(b"%PDF-1.7 SLEEP", limits))
    holder.start()
    time.sleep(0.5)
    started = time.monotonic()
    with pytest.raises(SandboxBusy):
        validate_pdf(pdf_factory.one_page(), "licencia.pdf", MAX_PAGES, limits)
    assert time.monotonic() - started < 2
    holder.join()
    patient = dataclasses.replace(limits, wall_seconds=60)  # the same pool; its new child may be starting
    assert pid_of_check(pdf_factory.one_page(), patient)[0] is None  # free again


def test_a_full_pool_answers_a_booking_with_a_translated_503(app, seeded, client, monkeypatch):
    fake_checker(monkeypatch)
    app.config.update(PDF_CHECK_CONCURRENCY=1, PDF_CHECK_QUEUE_SECONDS=0.3, PDF_CHECK_TIMEOUT_SECONDS=10)
    limits = PdfLimits.from_config(app.config)
    holder = threading.Thread(target=pid_of_check, args=(b"%PDF-1.7 SLEEP", limits))
    choose_slot(client, app)
    holder.start()
    time.sleep(0.5)
    response = fill_details(client)
    holder.join()

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    page = response.get_data(as_text=True)
    assert "Muchos documentos" in page  # the default language is Spanish


def test_the_pool_works_under_gevent_without_blocking_the_loop():
    script = textwrap.dedent(
        f"""
        from gevent import monkey
        monkey.patch_all()
        import json, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        import gevent
        from app.documents import PdfLimits, inspect_pdf
        from tests.support import pdf_factory

        limits = PdfLimits(concurrency=2)
        data = pdf_factory.one_page()
        inspect_pdf(data, 10, limits)  # warm
        ticks = []
        def tick():
            while True:
                ticks.append(time.monotonic())
                gevent.sleep(0.005)
        scans = [pdf_factory.scan_10mb() for _ in range(4)]
        ticker = gevent.spawn(tick)
        gevent.sleep(0)
        started = len(ticks)
        jobs = [gevent.spawn(inspect_pdf, scan, 10, limits) for scan in scans]
        gevent.joinall(jobs, raise_error=True)
        ticker.kill()
        print(json.dumps({{
            "codes": [job.value.code for job in jobs],
            "pids": sorted({{job.value.checker_pid for job in jobs}}),
            "ticks_while_checking": len(ticks) - started,
        }}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=120, check=True, cwd=ROOT
    )
    report = json.loads(result.stdout.decode().splitlines()[-1])
    assert report["codes"] == [None] * 4
    assert len(report["pids"]) == 2
    # The hub kept running while the children parsed four 10 MB files (a blocking wait on a pipe
    # would have stopped the ticker until every check was done).
    assert report["ticks_while_checking"] >= 5


def test_a_forked_process_starts_its_own_children():
    limits = PdfLimits(concurrency=1)
    _code, parents = pid_of_check(pdf_factory.one_page(), limits)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: like a gunicorn worker forked from a master that had checked a PDF
        try:
            code, checker = pid_of_check(pdf_factory.one_page(), limits)
            with open(f"/proc/{checker}/stat") as stat:
                owner = int(stat.read().rsplit(")", 1)[1].split()[1])
            os.write(write_end, json.dumps([code, checker, owner == os.getpid()]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        code, checker, owned = json.loads(reader.read())
    os.waitpid(pid, 0)
    assert code is None and checker != parents and owned
    assert pid_of_check(pdf_factory.one_page(), limits)[1] == parents  # the parent's pool untouched


def test_no_child_starts_before_a_pdf_is_checked():
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from app import create_app
        from config import TestingConfig
        app = create_app(TestingConfig)
        app.test_client().get("/")
        children = open(f"/proc/self/task/{{os.getpid()}}/children").read().split()
        print(len(children))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, cwd=ROOT)
    assert result.stdout.decode().split()[-1:] == ["0"], result.stderr.decode()[-2000:]


def test_a_served_checker_gives_back_the_memory_of_a_big_file():
    """Without a collection and malloc_trim after a big file, each 10 MB scan left the next one
    starting higher (peaks 70, 75, 90, 109, 114 MB): a warm checker would creep toward its limit."""
    limits = PdfLimits(concurrency=1)
    scan = pdf_factory.scan_10mb()
    checks = [inspect_pdf(scan, MAX_PAGES, limits) for _ in range(5)]
    assert len({check.checker_pid for check in checks}) == 1
    peaks = [check.peak_rss_kb for check in checks]
    assert max(peaks) - peaks[0] < 10 * 1024, peaks
