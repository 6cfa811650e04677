"""Issue 13's targets, measured in one run: each benchmark in turn, then one table of target vs measured.

    .venv/bin/python benchmarks/targets.py [--only NAME ...] [--out DIR]

Runs the benchmarks below one after another on this machine (nothing else should run: the table is
only as honest as the machine is quiet; the load average is printed before each one), each with
`--json`, keeps each one's own Markdown report in `--out` (default: a new temporary folder, printed),
and ends with a Markdown table: every target, what was measured, whether it was met, and the command
that measured it. A benchmark that fails is reported as such, and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine_info, markdown_table  # noqa: E402


@dataclass
class Target:
    what: str
    goal: str
    measure: Callable[[dict], float | None]  # {step name: its JSON} → the figure
    met: Callable[[float], bool]
    unit: str = ""
    digits: int = 0


@dataclass
class Step:
    name: str
    args: list[str]
    targets: list[Target] = field(default_factory=list)

    def command(self, json_file: Path | None = None) -> list[str]:
        command = [".venv/bin/python", f"benchmarks/{self.name.split(':')[0]}.py", *self.args]
        return [*command, "--json", str(json_file)] if json_file else command


def one(rows: list[dict], **where) -> dict | None:
    """The row of a benchmark's JSON list whose keys have these values."""
    return next((row for row in rows if all(row.get(key) == value for key, value in where.items())), None)


def ratio_to_peerjs(key: str, mode: str, rooms: int = 500) -> Callable[[dict], float | None]:
    def measure(results: dict) -> float | None:
        rows = results["signaling"]
        ours, peerjs = one(rows, mode=mode, rooms=rooms), one(rows, mode="peerjs", rooms=rooms)
        if not ours or not peerjs or not peerjs[key]:
            return None
        return ours[key] / peerjs[key]

    return measure


def field_of(
    mode: str, *path: str, rooms: int = 500, step: str = "signaling"
) -> Callable[[dict], float | None]:
    def measure(results: dict) -> float | None:
        value = one(results[step], mode=mode, rooms=rooms)
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return measure


def relay_targets(mode: str, label: str) -> list[Target]:
    return [
        Target(
            f"{label}, 500 rooms: msgs/s vs PeerJS",
            "≥ 0.5×",
            ratio_to_peerjs("msgs_per_s", mode),
            lambda v: v >= 0.5,
            "×",
            2,
        ),
        Target(
            "… server CPU per message vs PeerJS",
            "≤ 4×",
            ratio_to_peerjs("cpu_us_per_msg", mode),
            lambda v: v <= 4,
            "×",
            1,
        ),
        Target("… memory per socket", "≤ 30 KB", field_of(mode, "kb_per_socket"), lambda v: v <= 30, " KB"),
        Target("… messages lost", "0", field_of(mode, "lost"), lambda v: v == 0),
    ]


def booking(service: str, key: str) -> Callable[[dict], float | None]:
    """booking_throughput.py's JSON: the row of `service` (each of its steps runs one level)."""

    def measure(results: dict) -> float | None:
        for step in ("booking_throughput:video", "booking_throughput:in-person"):
            row = one(results.get(step) or [], service=service)
            if row:
                return row[key]
        return None

    return measure


def bookings_lost(results: dict) -> float | None:
    rows = [
        *(results.get("booking_throughput:video") or []),
        *(results.get("booking_throughput:in-person") or []),
    ]
    return sum(row["status_other"] for row in rows) if len(rows) == 2 else None


def availability_ms(appointments: int, what: str = "function") -> Callable[[dict], float | None]:
    def measure(results: dict) -> float | None:
        rows = results.get(f"availability:{appointments}") or []
        row = one(rows, appointments=appointments, what=what)
        return row["ms"]["median"] if row else None

    return measure


def availability_growth(results: dict) -> float | None:
    """What 100,000 appointments cost over 10,000 (both fill every slot of the 30 days)."""
    more, fewer = availability_ms(100_000)(results), availability_ms(10_000)(results)
    return None if more is None or fewer is None else more - fewer


def abuse_relay(phase: str, figure: str = "p99_ms") -> Callable[[dict], float | None]:
    """socket_abuse.py's JSON: the unrelated call's relay during one attack phase."""

    def measure(results: dict) -> float | None:
        phases = results["socket_abuse"]["runs"]["this"]["phases"]
        name = next((name for name in phases if name.startswith(phase)), None)
        return phases[name]["probes"]["relay"][figure] if name else None

    return measure


ATTACKS = ("flood /call", "flood default namespace", "1000 refused sockets")


def abuse_lost(results: dict) -> float | None:
    lost = [abuse_relay(phase, "failed")(results) for phase in ATTACKS]
    return None if None in lost else sum(lost)


def pdf_warm_p50(results: dict) -> float | None:
    row = one(results["pdf_validation"], file="one-page PDF")
    return row["warm_ms"]["p50"] if row else None


def p50_of(key: str) -> Callable[[dict], float | None]:
    """call_setup.py's JSON: {"admit_citizen": {"p50": ms, "p90": ms}, …}."""

    def measure(results: dict) -> float | None:
        return (results["call_setup"].get(key) or {}).get("p50")

    return measure


STEPS = [
    Step(
        "signaling",
        ["--modes", "peerjs", "gevent", "gevent2", "asyncio", "--rooms", "500", "--db", "postgres"]
        + ["--light-seconds", "5", "--saturation-seconds", "8"],
        [
            *relay_targets("gevent", "relay (`/call`), one process"),
            Target(
                "relay (`/call`), two processes sharing Redis: msgs/s vs PeerJS",
                "≥ 0.25×",
                ratio_to_peerjs("msgs_per_s", "gevent2"),
                lambda v: v >= 0.25,
                "×",
                2,
            ),
            Target("… messages lost", "0", field_of("gevent2", "lost"), lambda v: v == 0),
            *relay_targets("asyncio", "candidate dedicated relay (benchmarks/relay_asyncio.py, not served)"),
        ],
    ),
    Step(
        "signaling:idle",
        ["--modes", "peerjs", "gevent", "--rooms", "500", "--idle-sockets", "5000", "--db", "postgres"]
        + ["--light-seconds", "10", "--saturation-seconds", "5"],
        [
            Target(
                "relay with 5,000 idle sockets in the same process: light-load p99",
                "≤ 50 ms",
                field_of("gevent", "latency_ms_light", "p99", step="signaling:idle"),
                lambda v: v <= 50,
                " ms",
                1,
            ),
            Target(
                "… memory per idle socket",
                "≤ 30 KB",
                field_of("gevent", "kb_per_idle_socket", step="signaling:idle"),
                lambda v: v <= 30,
                " KB",
                1,
            ),
        ],
    ),
    Step(
        "booking_throughput:video",
        ["--levels", "32", "--no-document-levels", "--processes", "1", "--bookings", "300"],
        [
            Target(
                "video bookings with a 1-page PDF, one process, 32 clients",
                "≥ 30/s",
                booking("video", "bookings_per_s"),
                lambda v: v >= 30,
                "/s",
                1,
            ),
        ],
    ),
    Step(
        "booking_throughput:in-person",
        ["--levels", "--no-document-levels", "32", "--processes", "2", "--bookings", "2000"],
        [
            Target(
                "in-person bookings, PostgreSQL, two processes, 32 clients",
                "≥ 150/s",
                booking("in person", "bookings_per_s"),
                lambda v: v >= 150,
                "/s",
                1,
            ),
            Target(
                "… their p99",
                "≤ 200 ms",
                booking("in person", "p99_ms"),
                lambda v: v <= 200,
                " ms",
            ),
            Target(
                "bookings lost (neither 201 nor 409), both runs",
                "0",
                bookings_lost,
                lambda v: v == 0,
            ),
        ],
    ),
    Step(
        "socket_abuse",
        ["--seconds", "8"],
        [
            *(
                Target(
                    f"a legitimate call's relay p99 during: {phase}",
                    "≤ 50 ms",
                    abuse_relay(phase),
                    lambda v: v <= 50,
                    " ms",
                    1,
                )
                for phase in ATTACKS
            ),
            Target(
                "… its relayed signals lost during the three attacks",
                "0",
                abuse_lost,
                lambda v: v == 0,
            ),
        ],
    ),
    Step(
        "call_setup",
        ["--calls", "10", "--restart"],
        [
            Target(
                "Admit → first decoded frame, citizen, p50",
                "≤ 500 ms",
                p50_of("admit_citizen"),
                lambda v: v <= 500,
                " ms",
            ),
            Target(
                "Admit → first decoded frame, clerk, p50",
                "≤ 500 ms",
                p50_of("admit_clerk"),
                lambda v: v <= 500,
                " ms",
            ),
            Target(
                "longest frame gap across a server restart, citizen, p50",
                "≤ 500 ms",
                p50_of("gap_citizen"),
                lambda v: v <= 500,
                " ms",
            ),
            Target(
                "longest frame gap across a server restart, clerk, p50",
                "≤ 500 ms",
                p50_of("gap_clerk"),
                lambda v: v <= 500,
                " ms",
            ),
        ],
    ),
    Step(
        "pdf_validation",
        ["--runs", "15"],
        [Target("1-page PDF check, warm, p50", "≤ 50 ms", pdf_warm_p50, lambda v: v <= 50, " ms", 1)],
    ),
    Step("availability:10000", ["--appointments", "10000", "--runs", "20"]),
    Step(
        "availability:100000",
        ["--appointments", "100000", "--runs", "20"],
        [
            Target(
                "30-day availability, 100,000 appointments, PostgreSQL, p50",
                "≤ 20 ms",
                availability_ms(100_000),
                lambda v: v <= 20,
                " ms",
                1,
            ),
            Target(
                "the same through `GET /api/v1/services/…/availability?days=30`, p50",
                "≤ 20 ms",
                availability_ms(100_000, "endpoint"),
                lambda v: v <= 20,
                " ms",
                1,
            ),
            Target(
                "flat in the number of appointments: 100,000 minus 10,000 (every slot booked in both), p50",
                "≤ +2 ms",
                availability_growth,
                lambda v: v <= 2,
                " ms",
                1,
            ),
        ],
    ),
]


def run(step: Step, out: Path) -> tuple[object | None, str]:
    """Run one benchmark; (its JSON or None, a line saying how it went)."""
    stem = step.name.replace(":", "-")
    json_file, report = out / f"{stem}.json", out / f"{stem}.md"
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\n## {step.name} (load average {load})\n\n`{' '.join(step.command())}`", flush=True)
    started = time.monotonic()
    with report.open("w") as stdout:
        finished = subprocess.run(step.command(json_file), cwd=ROOT, stdout=stdout, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    if finished.returncode != 0 or not json_file.exists():
        tail = report.read_text().splitlines()[-5:]
        return None, f"failed (exit {finished.returncode} after {seconds:.0f} s): " + " / ".join(tail)
    return json.loads(json_file.read_text()), f"{seconds:.0f} s, report in {report}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=[step.name for step in STEPS], help="run only these")
    parser.add_argument("--out", type=Path, help="folder for each benchmark's report and JSON")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="ventanilla-targets-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"# Issue 13's targets in one run\n\nmachine at the start: {machine_info()}\nreports: {out}")

    rows, results = [], {}
    for step in STEPS:
        if args.only and step.name not in args.only:
            continue
        data, how = run(step, out)
        results[step.name] = data
        print(how, flush=True)
        for target in step.targets:
            value = None
            if data is not None:
                try:
                    value = target.measure(results)
                except (KeyError, TypeError, ZeroDivisionError):
                    value = None
            measured = "–" if value is None else f"{value:,.{target.digits}f}{target.unit}"
            verdict = (
                "benchmark failed"
                if data is None
                else "no figure"
                if value is None
                else "met"
                if target.met(value)
                else "**not met**"
            )
            rows.append([target.what, target.goal, measured, verdict, f"`{step.name}`"])

    print(f"\nmachine at the end: {machine_info()}\n")
    print(markdown_table(["target", "goal", "measured", "", "benchmark"], rows, align="lrrll"))
    print("\nCommands:\n")
    for step in STEPS:
        if not args.only or step.name in args.only:
            print(f"- `{step.name}`: `{' '.join(step.command())} --json FILE`")


if __name__ == "__main__":
    main()
