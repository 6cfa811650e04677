"""How long `validate_pdf` takes, and how much memory its child process uses, per kind of file.

    .venv/bin/python benchmarks/pdf_validation.py [--runs 7] [--json FILE]

Prints a Markdown table: the wall time of the first `validate_pdf` of each file on a fresh pool
(cold: a checker process starts for it), the median of the runs after it (warm: the pool's
processes already running), and the checker's peak resident memory for the file as it reports it
(VmHWM, reset before each check). `--json FILE` also writes those figures, one object per file.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pypdf  # noqa: E402

from app.documents import DocumentError, PdfLimits, inspector_command, sandbox, validate_pdf, validation  # noqa: E402
from tests import pdf_factory  # noqa: E402

MAX_PAGES = 10


def measure(data: bytes, runs: int) -> tuple[str, float, list[float], int]:
    """(outcome, wall seconds of the cold run, of each warm run, highest child peak RSS in KB)."""
    inspections = []
    inspect_pdf = validation.inspect_pdf

    def recording(*args):
        inspections.append(inspect_pdf(*args))
        return inspections[-1]

    validation.inspect_pdf = recording
    sandbox.shutdown_pools()  # cold: no checker running yet
    try:
        times, outcome = [], ""
        for _ in range(runs + 1):
            started = time.perf_counter()
            try:
                info = validate_pdf(data, "benchmark.pdf", MAX_PAGES, PdfLimits())
                outcome = f"accepted, {info.pages} page{'s' if info.pages != 1 else ''}"
            except DocumentError as error:
                outcome = f"rejected: `{error.code}`"
            times.append(time.perf_counter() - started)
    finally:
        validation.inspect_pdf = inspect_pdf
    return outcome, times[0], times[1:], max(i.peak_rss_kb or 0 for i in inspections)


def start_up(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, input=b"", capture_output=True, cwd=ROOT, env={}, check=False)
        times.append(time.perf_counter() - started)
    return times


def size(data: bytes) -> str:
    return f"{len(data) / 1024:.1f} KB" if len(data) < 1024 * 1024 else f"{len(data) / 1024 / 1024:.2f} MB"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write one object per file to this file")
    args = parser.parse_args()
    runs = args.runs

    files = [
        ("one-page PDF", pdf_factory.one_page()),
        ("10 MB scan (4 pages of random RGB pixels)", pdf_factory.scan_10mb()),
        ("decompression bomb (1 GiB of zeros deflated)", pdf_factory.decompression_bomb()),
    ]
    print(
        f"Python {platform.python_version()}, pypdf {pypdf.__version__}, {platform.machine()}, "
        f"median of {runs} runs, default limits ({PdfLimits()})\n"
    )
    print("| file | size | result | cold (ms) | warm median (ms) | warm min–max (ms) | child peak RSS (MB) |")
    print("|---|---:|---|---:|---:|---:|---:|")
    results = []
    for name, data in files:
        outcome, cold, times, peak_kb = measure(data, runs)
        results.append(
            {
                "file": name,
                "bytes": len(data),
                "result": outcome,
                "cold_ms": round(cold * 1000, 1),
                "warm_ms": {
                    "p50": round(statistics.median(times) * 1000, 1),
                    "min": round(min(times) * 1000, 1),
                    "max": round(max(times) * 1000, 1),
                },
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
        print(
            f"| {name} | {size(data)} | {outcome} | {ms(cold)} | {ms(statistics.median(times))} "
            f"| {ms(min(times))}–{ms(max(times))} | {peak_kb / 1024:.0f} |"
        )

    limits_args = inspector_command(PdfLimits())[3:]
    print("\nChild start-up alone (empty input):\n")
    print("| command | median (ms) |")
    print("|---|---:|")
    for label, command in [
        ("`python -I -c pass` (interpreter only)", [sys.executable, "-I", "-c", "pass"]),
        (
            "`python -I app/documents/pdf_inspect.py --serve …` (one pooled checker)",
            inspector_command(PdfLimits()),
        ),
        (
            "`python -m app.documents.pdf_inspect …` (also imports Flask via app/__init__.py)",
            [sys.executable, "-m", "app.documents.pdf_inspect", *limits_args],
        ),
    ]:
        print(f"| {label} | {ms(statistics.median(start_up(command, runs)))} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
