"""Does one hostile client still stop the server? (issue 9, items 1–2)

    .venv/bin/python benchmarks/socket_abuse.py [--seconds 10] [--refused 1000]

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
clerk in their own room; the clerk sends a signal every 100 ms). Prints a Markdown table: p50,
p99 and max of each probe per phase, how long the flooder lasted before the server cut it off,
how many refused sockets were still open at the end of phase 4, and whether the worker survived.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import socketio  # noqa: E402
import websocket  # noqa: E402

from benchmarks._common import (  # noqa: E402
    fmt,
    free_port,
    fresh_postgres_database,
    markdown_table,
    percentile,
    postgres_version,
    print_header,
)
from benchmarks.signaling import Server, clerk_cookie, prepare_database, server_env  # noqa: E402

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
        self.sent: dict[int, float] = {}
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
            self.sent[n] = time.perf_counter()
            candidate = dict(CANDIDATE["candidate"], candidate=f"candidate:{n} 1 udp 1 127.0.0.1 9 typ host")
            try:
                self.clerk.emit("signal", {"candidate": candidate}, namespace="/call")
            except socketio.exceptions.SocketIOError:
                pass
            self.stopped.wait(0.1)

    def _received(self, data) -> None:
        n = int(data["candidate"]["candidate"].split()[0].split(":")[1])
        if n in self.sent:
            self._add("relay", time.perf_counter() - self.sent.pop(n))

    def start(self) -> None:
        for target, args in ((self._http, ("/healthz", 0.1)), (self._http, ("/", 0.5)), (self._relay, ())):
            threading.Thread(target=target, args=args, daemon=True).start()


def flood(base_url: str, connect: str | None, packet: str, seconds: float) -> tuple[int, int, float | None]:
    """Send `packet` as fast as possible for `seconds`, reconnecting whenever the server cuts the
    connection off; (packets sent, connections cut off, seconds until the first cut)."""
    url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    started, sent, cuts, first_cut = time.perf_counter(), 0, 0, None
    while time.perf_counter() - started < seconds:
        try:
            ws = websocket.create_connection(url, timeout=30)
            ws.recv()
            if connect:
                ws.send("4" + connect)
            while time.perf_counter() - started < seconds:
                ws.send("4" + packet)
                sent += 1
            ws.close()
        except (websocket.WebSocketException, OSError):
            cuts += 1
            first_cut = first_cut or time.perf_counter() - started
    return sent, cuts, first_cut


def hold_refused(base_url: str, count: int, seconds: float) -> tuple[int, int]:
    """Open `count` sockets asking /call with a bogus token; (handshakes accepted, open at the end)."""
    url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    held = []
    for _ in range(count):
        try:
            ws = websocket.create_connection(url, timeout=30)
            ws.recv()
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--refused", type=int, default=1000)
    args = parser.parse_args()
    print_header("Socket abuse against boot.sh (gunicorn, one gevent worker) on PostgreSQL")
    print(f"PostgreSQL {postgres_version()}\n")

    with tempfile.TemporaryDirectory() as tmp_dir, fresh_postgres_database() as database_url:
        tmp, port = Path(tmp_dir), free_port()
        env = production_defaults(server_env(tmp, port, database_url, "gevent", 0, None))
        server = Server("boot", env, tmp, port, profile=False)
        try:
            server.wait_healthy()
            setup = prepare_database(database_url, tmp, 2)
            worker_pids = server.pids()
            (call_reference, call_token), (_, flood_token) = setup.appointments
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
            probes = Probes(server.base_url, citizen, clerk)
            probes.start()
            notes = {}

            time.sleep(args.seconds)
            probes.phase = "flood /call (admitted citizen)"
            signal = '2/call,["signal",' + json.dumps(CANDIDATE) + "]"
            connect = f'0/call,{{"token":"{flood_token}"}}'
            default = '2["signal",{"candidate":null}]'
            # The attacker runs in a process of its own: in this one it would take the probes' GIL.
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as attacker:
                attacker.submit(time.sleep, 0).result()  # started before its phase
                notes[probes.phase] = attacker.submit(
                    flood, server.base_url, connect, signal, args.seconds
                ).result()
                probes.phase = "flood default namespace"
                notes[probes.phase] = attacker.submit(
                    flood, server.base_url, None, default, args.seconds
                ).result()
                probes.phase = f"{args.refused} refused sockets"
                refused = attacker.submit(hold_refused, server.base_url, args.refused, args.seconds)
                notes[probes.phase] = refused.result()
            probes.stopped.set()
            time.sleep(0.5)
            survived = server.pids() == worker_pids
            citizen.disconnect()
            clerk.disconnect()
        finally:
            server.stop()

    rows = []
    for phase in ("idle", *notes):
        cells = [phase]
        for probe in ("/healthz", "/", "relay"):
            values = [v * 1000 for v in probes.samples.get((phase, probe), [])]
            worst = max(values, default=float("nan"))
            cells.append(f"{fmt(percentile(values, 50))} / {fmt(percentile(values, 99))} / {fmt(worst)}")
        failed = sum(len(probes.samples.get((phase, f"{p} failed"), [])) for p in ("/healthz", "/"))
        note = notes.get(phase)
        if note is None:
            cells.append("")
        elif phase.startswith("flood"):
            sent, cuts, first = note
            cells.append(f"{sent:,} sent; cut off {cuts} times, first after {fmt(first, 2)} s")
        else:
            accepted, still_open = note
            cells.append(f"{accepted} handshakes accepted, {still_open} still open after {args.seconds:g} s")
        cells.append(str(failed))
        rows.append(cells)
    print(
        markdown_table(
            [
                "phase",
                "/healthz ms p50/p99/max",
                "/ ms p50/p99/max",
                "other call's relay ms",
                "attacker",
                "failed",
            ],
            rows,
            "lrrrlr",
        )
    )
    print(f"\nworker survived every phase: {'yes' if survived else 'NO (it was restarted)'}")


if __name__ == "__main__":
    main()
