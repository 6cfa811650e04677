"""Does one hostile client still stop the server, or slow someone else's call? (issues 9 and 13)

    .venv/bin/python benchmarks/socket_abuse.py [--seconds 10] [--refused 1000] [--json FILE]
        [--compare CHECKOUT] [--profile]

Starts the production container's entry point, `./boot.sh` (migrations, then gunicorn with one
gevent worker and the default WORKER_CONNECTIONS of 1000), on a fresh PostgreSQL database
`ventanilla_bench_<random>` (dropped at the end), with the production settings and the socket
limits at their defaults (app/socket_guard.py). Then, each phase for `--seconds`:

1. idle: nothing but the probes;
2. one admitted citizen's socket floods `/call` with `signal` events as fast as one client can,
   connecting again each time the server cuts it off;
3. the same on the default namespace, with events for it never joined (the red team's probe);
4. `--refused` sockets ask `/call` with a bogus token and try to stay open.

The attacker runs in a process of its own (one core's worth of sending), so that its loop does
not hold the probes' interpreter lock and inflate what they measure.

Probes, all through the phases: GET /healthz every 100 ms and GET / every 500 ms (latency, from
a separate thread, 60 s timeout), and the relay latency of an unrelated call (a citizen and a
clerk in their own room; the clerk sends a signal every 50 ms). Each attack comes from a loopback
address of its own (127.0.0.2–4), so that what one phase's attacker earns its address (a bar after
a cut-off) does not spill into the next phase. Prints a Markdown table: p50, p99 and max of each
probe per phase; page probes that failed and relayed signals that never arrived (issue 13: load
never loses a relayed message); the worker's CPU seconds in the phase (what the attacker cost it);
how long the flooder lasted before the server cut it off; how many refused sockets were still
open at the end of phase 4; and whether the worker survived. Issue 13's target: the other call's
relay p99 at most 50 ms in every phase.

`--json FILE` writes the same numbers, one object per phase. `--compare CHECKOUT` first runs every
phase against another checkout's `./boot.sh` (say main, `git worktree add /tmp/base main`, with
its translations compiled), on a database of its own, then this one's, and adds a before → after
table: one command, both runs under the same load. `--profile` runs this checkout's worker with the
sampling profiler of benchmarks/signaling.py and prints where its CPU went in each phase.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import socketio  # noqa: E402
import websocket  # noqa: E402

from benchmarks._common import (  # noqa: E402
    command_line,
    fmt,
    free_port,
    fresh_postgres_database,
    machine_info,
    markdown_table,
    percentile,
    postgres_version,
    print_header,
)
from benchmarks.signaling import (  # noqa: E402
    BIN,
    HOST,
    Server,
    clerk_cookie,
    prepare_database,
    server_env,
)

PROBES = ("/healthz", "/", "relay")
# The probe call's clerk sends a signal this often: as often as CALL_SIGNAL_RATE (20 a second by
# default) allows, so that a phase's p99 rests on more than its one or two worst samples.
RELAY_EVERY = 0.05
CANDIDATE = {"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}}


def production_defaults(env: dict[str, str]) -> dict[str, str]:
    """The benchmark server's environment without the raised limits of the relay benchmark."""
    return {
        key: value
        for key, value in env.items()
        if not key.startswith(("SOCKET_", "CALL_SIGNAL_")) and key != "WORKER_CONNECTIONS"
    }


class Probes:
    """Latency samples per phase: /healthz, /, and an unrelated call's relay."""

    def __init__(self, base_url: str, citizen: socketio.Client, clerk: socketio.Client):
        self.base_url, self.citizen, self.clerk = base_url, citizen, clerk
        self.phase = "idle"
        self.samples: dict[tuple[str, str], list[float]] = {}
        self.stopped = threading.Event()
        self.sent: dict[int, tuple[str, float]] = {}  # relayed signals not received yet: (phase, when)
        citizen.on("signal", self._received, namespace="/call")

    def _add(self, probe: str, seconds: float) -> None:
        self.samples.setdefault((self.phase, probe), []).append(seconds)

    def _http(self, path: str, every: float) -> None:
        while not self.stopped.is_set():
            started = time.perf_counter()
            try:
                ok = requests.get(self.base_url + path, timeout=60).status_code == 200
            except requests.RequestException:
                ok = False
            self._add(path if ok else f"{path} failed", time.perf_counter() - started)
            self.stopped.wait(every)

    def _relay(self) -> None:
        n = 0
        while not self.stopped.is_set():
            n += 1
            self.sent[n] = (self.phase, time.perf_counter())
            candidate = dict(CANDIDATE["candidate"], candidate=f"candidate:{n} 1 udp 1 127.0.0.1 9 typ host")
            try:
                self.clerk.emit("signal", {"candidate": candidate}, namespace="/call")
            except socketio.exceptions.SocketIOError:
                pass
            self.stopped.wait(RELAY_EVERY)

    def _received(self, data) -> None:
        n = int(data["candidate"]["candidate"].split()[0].split(":")[1])
        if n in self.sent:
            self._add("relay", time.perf_counter() - self.sent.pop(n)[1])

    def lost(self, phase: str) -> int:
        """Signals the clerk sent in `phase` that never reached the citizen."""
        return sum(1 for sent_in, _ in list(self.sent.values()) if sent_in == phase)

    def start(self) -> None:
        for target, args in ((self._http, ("/healthz", 0.1)), (self._http, ("/", 0.5)), (self._relay, ())):
            threading.Thread(target=target, args=args, daemon=True).start()


def open_websocket(base_url: str, source: str) -> websocket.WebSocket:
    """An Engine.IO WebSocket from the local address `source` (each attack has one of its own: a
    penalty one phase earns its address must not spill into the next)."""
    url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    sock = socket.create_connection((HOST, int(base_url.rsplit(":", 1)[1])), 30, (source, 0))
    try:
        ws = websocket.create_connection(url, timeout=30, socket=sock)
    except BaseException:
        sock.close()
        raise
    ws.recv()  # Engine.IO OPEN
    return ws


def flood(
    base_url: str, source: str, connect: str | None, packet: str, seconds: float
) -> tuple[int, int, int, float | None]:
    """Send `packet` as fast as possible for `seconds`, connecting again whenever the server cuts
    the connection off or refuses a new one; (packets sent, connections cut off, handshakes
    refused, seconds until the first cut-off)."""
    started, sent, cuts, refused, first_cut = time.perf_counter(), 0, 0, 0, None
    while time.perf_counter() - started < seconds:
        try:
            ws = open_websocket(base_url, source)
        except websocket.WebSocketBadStatusException:
            refused += 1
            continue
        except (websocket.WebSocketException, OSError):
            cuts += 1
            continue
        try:
            if connect:
                ws.send("4" + connect)
            while time.perf_counter() - started < seconds:
                ws.send("4" + packet)
                sent += 1
            ws.close()
        except (websocket.WebSocketException, OSError):
            cuts += 1
            first_cut = first_cut or time.perf_counter() - started
    return sent, cuts, refused, first_cut


def hold_refused(base_url: str, source: str, count: int, seconds: float) -> tuple[int, int]:
    """Open `count` sockets asking /call with a bogus token; (handshakes accepted, open at the end)."""
    held = []
    for _ in range(count):
        try:
            ws = open_websocket(base_url, source)
            ws.send('40/call,{"token":"not-a-real-token"}')
            held.append(ws)
        except (websocket.WebSocketException, OSError):
            continue
    deadline = time.perf_counter() + seconds
    open_at_end = 0
    for ws in held:
        ws.settimeout(max(0.01, deadline - time.perf_counter()))
        try:
            while ws.recv() not in ("", "1"):
                pass
        except (websocket.WebSocketTimeoutException, TimeoutError):
            open_at_end += 1
        except (websocket.WebSocketException, OSError):
            pass
    for ws in held:
        ws.close()
    return len(held), open_at_end


class CheckoutServer(Server):
    """The server of one checkout: its `./boot.sh` (this one's, or another's for `--compare`), or,
    with `profile`, its schema migrated and then its gunicorn on `benchmarks.signaling:profiled_app`
    (wsgi:app with the sampling profiler of benchmarks/signaling.py in the worker)."""

    def __init__(self, root: Path, env: dict[str, str], tmp: Path, port: int, profile: bool):
        self.mode, self.port, self.base_url = "boot", port, f"http://{HOST}:{port}"
        self.stdout_path, self.stderr_path = tmp / f"boot-{port}.stdout", tmp / f"boot-{port}.stderr"
        if profile:
            subprocess.run(
                [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
                cwd=root,
                env=env,
                check=True,
                capture_output=True,
            )
            self.args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "benchmarks.signaling:profiled_app"]
        else:
            self.args = ["./boot.sh"]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                self.args, cwd=root, env=env, stdout=out, stderr=err, start_new_session=True
            )


class Sampler:
    """The worker's sampling profiler (`--profile`), switched on for one phase at a time."""

    def __init__(self, directory: Path | None):
        self.directory = directory

    def start(self) -> None:
        if self.directory is not None:
            (self.directory / "profile.json").unlink(missing_ok=True)
            (self.directory / "profile.on").touch()

    def stop(self, since: float) -> dict | None:
        """The phase's samples, and the worker's garbage collections since `since` (time.time())."""
        if self.directory is None:
            return None
        (self.directory / "profile.on").unlink()
        output = self.directory / "profile.json"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if output.exists():
                with contextlib.suppress(ValueError):  # still being written
                    profile = json.loads(output.read_text())
                    pauses = [ms for at, _generation, ms in profile["gc"] if at >= since]
                    return {
                        **{key: profile[key] for key in ("samples", "leaf", "inclusive")},
                        "gc_pauses": len(pauses),
                        "gc_max_ms": max(pauses, default=0.0),
                    }
            time.sleep(0.1)
        return None


def pair_probe_call(server: Server, setup) -> tuple[socketio.Client, socketio.Client]:
    """The unrelated call whose relay the probes time: its citizen and clerk, paired."""
    call_reference, call_token = setup.appointments[0]
    citizen, clerk = socketio.Client(reconnection=False), socketio.Client(reconnection=False)
    started = threading.Event()
    clerk.on("start", lambda data=None: started.set(), namespace="/call")
    citizen.connect(
        server.base_url, namespaces=["/call"], auth={"token": call_token}, transports=["websocket"]
    )
    clerk.connect(
        server.base_url,
        namespaces=["/call"],
        auth={"appointment": call_reference},
        headers={"Cookie": clerk_cookie(server.base_url, setup.password)},
        transports=["websocket"],
    )
    if not started.wait(30):
        raise SystemExit("the probe call never paired")
    return citizen, clerk


def run_checkout(root: Path, args) -> dict:
    """Every phase against the server of the checkout at `root`; the numbers (see `--json`)."""
    with tempfile.TemporaryDirectory() as tmp_dir, fresh_postgres_database() as database_url:
        tmp, port = Path(tmp_dir), free_port()
        profile_dir = tmp / "profile" if args.profile else None
        if profile_dir is not None:
            profile_dir.mkdir()
        env = production_defaults(server_env(tmp, port, database_url, "gevent", 0, profile_dir))
        server = CheckoutServer(root, env, tmp, port, profile=args.profile)
        phases: dict[str, dict] = {}
        try:
            server.wait_healthy()
            setup = prepare_database(database_url, tmp, 2)
            worker_pids = server.pids()
            citizen, clerk = pair_probe_call(server, setup)
            flood_token = setup.appointments[1][1]
            probes = Probes(server.base_url, citizen, clerk)
            sampler = Sampler(profile_dir)
            signal = '2/call,["signal",' + json.dumps(CANDIDATE) + "]"
            connect = f'0/call,{{"token":"{flood_token}"}}'
            default = '2["signal",{"candidate":null}]'
            # The attacker runs in a process of its own: in this one it would take the probes' GIL.
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as attacker:
                attacker.submit(time.sleep, 0).result()  # started before its phase
                attacks = {
                    "idle": (time.sleep, args.seconds),
                    "flood /call (admitted citizen)": (
                        flood,
                        server.base_url,
                        "127.0.0.2",
                        connect,
                        signal,
                        args.seconds,
                    ),
                    "flood default namespace": (
                        flood,
                        server.base_url,
                        "127.0.0.3",
                        None,
                        default,
                        args.seconds,
                    ),
                    f"{args.refused} refused sockets": (
                        hold_refused,
                        server.base_url,
                        "127.0.0.4",
                        args.refused,
                        args.seconds,
                    ),
                }
                probes.start()
                for name, (work, *work_args) in attacks.items():
                    probes.phase = name
                    cpu, started, wall = server.cpu_seconds(), time.perf_counter(), time.time()
                    sampler.start()
                    note = attacker.submit(work, *work_args).result()
                    phases[name] = {
                        "attacker": describe_attack(work, note),
                        "seconds": time.perf_counter() - started,
                        "worker_cpu_seconds": server.cpu_seconds() - cpu,
                        "profile": sampler.stop(since=wall),
                    }
            probes.stopped.set()
            time.sleep(0.5)
            survived = server.pids() == worker_pids
            citizen.disconnect()
            clerk.disconnect()
        finally:
            server.stop()
    for name, phase in phases.items():
        phase["probes"] = probe_summary(probes, name)
    return {"checkout": str(root), "worker_survived": survived, "phases": phases}


def describe_attack(work, note) -> dict | None:
    if work is flood:
        sent, cuts, refused, first = note
        return {"sent": sent, "cut_offs": cuts, "handshakes_refused": refused, "first_cut_seconds": first}
    if work is hold_refused:
        accepted, still_open = note
        return {"handshakes_accepted": accepted, "still_open": still_open}
    return None


def probe_summary(probes: Probes, phase: str) -> dict:
    """p50 / p99 / max (ms), samples and failures of each probe in one phase (for the relay: the
    signals that never arrived)."""
    summary = {}
    for probe in PROBES:
        values = [v * 1000 for v in probes.samples.get((phase, probe), [])]
        summary[probe] = {
            "p50_ms": percentile(values, 50) if values else None,
            "p99_ms": percentile(values, 99) if values else None,
            "max_ms": max(values, default=None),
            "samples": len(values),
            "failed": probes.lost(phase)
            if probe == "relay"
            else len(probes.samples.get((phase, f"{probe} failed"), [])),
        }
    return summary


def latency(cell: dict) -> str:
    return f"{fmt(cell['p50_ms'])} / {fmt(cell['p99_ms'])} / {fmt(cell['max_ms'])}"


def attack_note(note: dict | None, seconds: float) -> str:
    if note is None:
        return ""
    if "sent" in note:
        first = note["first_cut_seconds"]
        cut = f"first after {fmt(first, 2)} s" if first is not None else "never"
        refused = note.get("handshakes_refused", 0)
        again = f", {refused:,} new connections refused" if refused else ""
        return f"{note['sent']:,} sent; cut off {note['cut_offs']} times, {cut}{again}"
    accepted, still_open = note["handshakes_accepted"], note["still_open"]
    return f"{accepted} handshakes accepted, {still_open} still open after {seconds:g} s"


def run_table(run: dict, seconds: float) -> str:
    rows = []
    for name, phase in run["phases"].items():
        probes = phase["probes"]
        failed = sum(probes[p]["failed"] for p in ("/healthz", "/"))
        lost = probes["relay"]["failed"]
        rows.append(
            [
                name,
                *(latency(probes[p]) for p in PROBES),
                fmt(phase["worker_cpu_seconds"], 2),
                attack_note(phase["attacker"], seconds),
                f"{failed} / {lost}",
            ]
        )
    header = ["phase", "/healthz ms p50/p99/max", "/ ms p50/p99/max", "other call's relay ms"]
    header += ["worker CPU s", "attacker", "pages failed / relays lost"]
    return markdown_table(header, rows, "lrrrrlr")


def compare_table(before: dict, after: dict) -> str:
    rows = []
    for name, phase in after["phases"].items():
        old = before["phases"][name]
        rows.append(
            [
                name,
                latency(old["probes"]["relay"]),
                latency(phase["probes"]["relay"]),
                f"{fmt(old['worker_cpu_seconds'], 2)} → {fmt(phase['worker_cpu_seconds'], 2)}",
                latency(old["probes"]["/healthz"]),
                latency(phase["probes"]["/healthz"]),
            ]
        )
    header = [
        "phase",
        "relay ms before",
        "relay ms after",
        "worker CPU s",
        "/healthz before",
        "/healthz after",
    ]
    return markdown_table(header, rows, "lrrrrr")


def profile_report(name: str, profile: dict, top: int = 25) -> str:
    """The functions the worker was in (inclusive CPU samples), the hub and greenlet frames left out."""
    total = max(1, profile["samples"])
    inclusive = Counter(profile["inclusive"])
    lines = [
        f"#### profile: {name} ({profile['samples']} samples of 1 ms CPU; {profile['gc_pauses']} garbage "
        f"collections, the longest {fmt(profile['gc_max_ms'])} ms)\n"
    ]
    shown = [
        (function, n)
        for function, n in inclusive.most_common()
        if not function.startswith(("gevent/", "src/gevent/", "greenlet/", "stdlib/threading.py"))
    ][:top]
    lines += [f"- {100 * n / total:5.1f} %  {function}" for function, n in shown]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--refused", type=int, default=1000)
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the numbers to FILE as JSON")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="CHECKOUT",
        help="first run every phase against another checkout (e.g. main) and show both",
    )
    parser.add_argument(
        "--profile", action="store_true", help="sample the worker's CPU in each phase (this checkout)"
    )
    args = parser.parse_args()
    print_header("Socket abuse against boot.sh (gunicorn, one gevent worker) on PostgreSQL")
    print(f"PostgreSQL {postgres_version()}\n", flush=True)

    runs = {}
    if args.compare:
        base = args.compare.resolve()
        runs["before"] = run_checkout(base, argparse.Namespace(**{**vars(args), "profile": False}))
        print(f"## before: {base}\n\n{run_table(runs['before'], args.seconds)}\n", flush=True)
    runs["after" if args.compare else "this"] = after = run_checkout(ROOT, args)
    print(f"## {'after: ' if args.compare else ''}{ROOT}\n\n{run_table(after, args.seconds)}\n")
    print(f"worker survived every phase: {'yes' if after['worker_survived'] else 'NO (it was restarted)'}\n")
    if args.compare:
        print(f"## before → after\n\n{compare_table(runs['before'], after)}\n")
    for name, phase in after["phases"].items():
        if phase["profile"]:
            print(profile_report(name, phase["profile"]))
    if args.json:
        for run in runs.values():
            for phase in run["phases"].values():
                if phase["profile"]:
                    top = Counter(phase["profile"]["inclusive"]).most_common(60)
                    phase["profile"] = {
                        **{key: phase["profile"][key] for key in ("samples", "gc_pauses", "gc_max_ms")},
                        "inclusive": dict(top),
                    }
        document = {
            "command": command_line(),
            "machine": machine_info(),
            "load_average": os.getloadavg(),
            "seconds": args.seconds,
            "refused": args.refused,
            "runs": runs,
        }
        args.json.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")


if __name__ == "__main__":
    main()
