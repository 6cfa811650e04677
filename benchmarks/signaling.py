"""How the /call signaling relay holds up: relay latency, messages/s at saturation, CPU and memory.

    .venv/bin/python benchmarks/signaling.py [--modes threading gevent gevent2 baseline asyncio
        asyncio2 peerjs] [--redis-db 13] [--placement split|together] [--relay-server aiohttp|uvicorn]
        [--gc-threshold N]
        [--rooms 10 100 500] [--light-rate 100] [--light-seconds 10] [--saturation-seconds 15]
        [--inflight 64] [--sdp-every 8] [--db sqlite|postgres] [--deflate] [--profile] [--rounds 1]
        [--json FILE] [--idle-sockets N]

Sets up a fresh database (SQLite file in a temp dir, or `--db postgres`: `ventanilla_bench_<random>`
on 127.0.0.1, dropped at the end) with `db.create_all()`, the demo data, and max(--rooms) + 1 video
appointments of `certificacion-individuo` starting in 5 minutes (inside their join window), each
`in_call` with `clerk@dtop.demo.ventanilla.pr` assigned. One login cookie of that clerk serves every
clerk socket. Then, for each mode and room count, a fresh server on a free port of 127.0.0.1:

- `threading`: the app under `socketio.run(app, allow_unsafe_werkzeug=True)` (Werkzeug, threads),
  started by this script (`--serve-threading PORT`), SOCKETIO_ASYNC_MODE=threading;
- `gevent`: `gunicorn -c gunicorn.conf.py wsgi:app` (the production server: gevent worker, one
  process, WORKER_CONNECTIONS raised when the room count needs it);
- `gevent2`: two such gunicorn processes (one gevent worker each, each its own port) sharing
  SOCKETIO_MESSAGE_QUEUE=redis://127.0.0.1:6379/<--redis-db> (flushed before each level), every
  citizen on the first and every clerk on the second, so every relayed message crosses Redis: the
  multi-process deployment's worst case. CPU is both processes'; the Redis server's own CPU per
  message is reported beside it (it is shared with anything else using that Redis).
  `--placement together` puts both sides of each call on one process instead (even rooms on the
  first, odd on the second): what a proxy that routes a call's sockets together would give;
- `baseline`: a naive Flask-SocketIO relay defined in this file (`benchmarks.signaling:naive_app`:
  pair two sockets by a key, `emit("signal", data, to=other)`, same `async_handlers=False`), under the
  same gunicorn command and gevent worker. It is PERFORMANCE.md's "Flask-SocketIO, gevent" row,
  measured in the same run, so ratios against it are like-for-like;
- `asyncio`: the candidate dedicated relay, benchmarks/relay_asyncio.py: a python-socketio
  AsyncServer under aiohttp on uvloop (`--relay-server uvicorn` for uvicorn), with /call's connect
  authentication (the Flask app's code, once per socket, in a thread), server-assigned rooms of
  two, and per `signal` the same token bucket, valid_signal and signal_size checks; one process;
- `asyncio2`: two such processes on one Redis database (AsyncRedisManager, the room directory in
  Redis), citizens on the first and clerks on the second, as `gevent2`;
- `peerjs`: the PeerJS server (npm `peer`, pinned in package.json's devDependencies, installed by
  `make test`'s `npm ci`) under Node.js, `--key peerjs --path /`: what a WebRTC developer would pick
  instead. Driven by the same client, payload mix and phases, in its own wire protocol
  (`/peerjs?key=&id=&token=`, `{"type": "OFFER" | "CANDIDATE", "dst", "payload"}`, a HEARTBEAT
  every 5 s); the pair is ready when both sides got OPEN. The ratio table pairs every mode with
  PeerJS and with the naive relay of the same round, and `--json FILE` writes one object per mode
  and room count (msgs/s, CPU µs/msg, KB/socket, latency p50/p99 light and saturated, sent, lost).

Every server runs with VENTANILLA_ENV=production, RATELIMIT_ENABLED=false and CALL_SIGNAL_RATE /
CALL_SIGNAL_BURST raised to 1,000,000 so the per-connection token bucket never drops a message (the
bucket's arithmetic still runs for every message; only its limit is out of reach).

Clients: one asyncio event loop in this process speaking Engine.IO 4 / Socket.IO 5 over a raw
WebSocket (asyncio.Protocol, masked frames; no permessage-deflate unless `--deflate`, which browsers
always offer). aiohttp (needed by socketio.AsyncClient) is not installed. For each room a citizen
connects with {"token"}, then the clerk with the cookie and {"appointment"}; the room is ready when the
clerk gets `start`. Each `signal` carries `bench=<phase>,<seq>,<perf_counter>;` inside the candidate
string or the SDP; the receiver (same process, same clock) takes the latency. Messages alternate:
every `--sdp-every`-th one is a ~4 KB `{"description": {"type": "offer", "sdp"}}`, the rest ~200 B
`{"candidate": {"candidate", "sdpMid": "0", "sdpMLineIndex": 0}}` (sizes of the JSON payload).

`--idle-sockets N`: after the rooms connect, N citizens of booked appointments (no clerk) join
their waiting rooms and stay connected and silent through the light and saturated phases (PeerJS:
N open peers); the table adds how many connected and the server's memory per idle socket.

Phases per level, each with a hard time cap:
1. warm-up pair (an extra appointment): connect, a few messages, disconnect; RSS with 0 sockets;
2. connect every room (`--connect-concurrency` handshakes at a time, `--connect-seconds` cap); RSS
   with N sockets → KB per socket = (RSS_N − RSS_0) / sockets connected (gunicorn: master + worker);
3. light load: `--light-rate` messages/s in total, spread round-robin over every socket (open loop),
   `--light-seconds`; latency p50/p99;
4. saturation: closed loop, each socket keeps `max(1, ceil(--inflight / sockets))` messages in flight
   (a new one leaves when the peer receives one); after 2 s of ramp-up, `--saturation-seconds` are
   measured: messages/s delivered, latency p50/p99, server CPU (user+system from /proc of every server
   process) per delivered message; an in-flight message unanswered for 10 s is written off (its slot
   refilled). Then a drain of up to `--drain-seconds`; lost = sent − received, over light + saturation.
5. `--profile` (gevent, baseline and asyncio, first round only): one more saturation phase, not counted above,
   with a sampling profiler inside the worker (SIGPROF every 1 ms of CPU; the handler records the
   running greenlet's stack) and a gc callback timing every collection over the worker's life; prints
   where the worker's CPU goes and how long its full collections stop the relay. (That round's gevent
   server loads `benchmarks.signaling:profiled_app`: `wsgi:app` plus the dormant sampler.)

With `--rounds N` the whole plan repeats, modes interleaved per room count; the table shows medians
(min–max) over rounds, latency percentiles over every message of the rounds, and the ratios against
the naive relay are paired per round. Each level runs against a fresh server; gunicorn's
WORKER_CONNECTIONS is raised above 1000 for 500 rooms (its default would queue the 1,001st socket).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    child_pids,
    fmt,
    free_port,
    fresh_postgres_database,
    markdown_table,
    percentile,
    print_header,
    process_cpu_seconds,
)

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
NAMESPACE = "/call"
CLERK = "clerk@dtop.demo.ventanilla.pr"
SERVICE = "certificacion-individuo"
STARTUP_SECONDS = 40
CONNECT_TIMEOUT = 30  # one socket's TCP + WebSocket + namespace handshake
PAIR_TIMEOUT = 30  # from the clerk's namespace connect to its `start`
RAMP_SECONDS = 2.0  # saturation: not measured while the windows fill
WRITE_OFF_SECONDS = 10.0  # saturation: an in-flight message unanswered this long frees its slot
USER_AGENT = "ventanilla-signaling-bench"  # the same for the login and the sockets
SIGNAL_LIMIT = "1000000"  # CALL_SIGNAL_RATE and CALL_SIGNAL_BURST for the benchmark
CANDIDATE_BYTES = 200
SDP_BYTES = 4096
PHASE_WARMUP, PHASE_LIGHT, PHASE_SATURATION, PHASE_PROFILE = 0, 1, 2, 3
MODES = ("threading", "gevent", "gevent2", "baseline", "asyncio", "asyncio2", "peerjs")
# Two server processes sharing a Redis message queue: citizens on the first, clerks on the second.
TWO_PROCESS_MODES = ("gevent2", "asyncio2")
# The candidate dedicated relay (benchmarks/relay_asyncio.py): a python-socketio AsyncServer.
ASYNCIO_MODES = ("asyncio", "asyncio2")
# `--profile` samples these (one server process each).
PROFILED_MODES = ("gevent", "baseline", "asyncio")
PEERJS_KEY = "peerjs"
PEERJS_HEARTBEAT_SECONDS = 5  # what the PeerJS client library sends

# PERFORMANCE.md, quiet machine, 500 rooms (1,000 sockets), one process: msgs/s, CPU µs/msg, KB/socket.
REFERENCE = {
    "PeerJS server (Node.js)": (22600, 24, 13),
    "raw websockets relay, Python asyncio": (18600, 41, 16),
    "Flask-SocketIO, gevent (gunicorn -k gevent)": (4200, 236, 67),
}

# Settings that would point a child process at shared services or change its shape.
_SCRUB = (
    "SECRET_KEY",
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "REDIS_URL",
    "SOCKETIO_MESSAGE_QUEUE",
    "SOCKETIO_ASYNC_MODE",
    "RATELIMIT_STORAGE_URI",
    "PORT",
    "BIND",
    "WEB_CONCURRENCY",
    "INSTANCE_DIR",
    "UPLOAD_DIR",
    "OUTBOX_DIR",
    "FLASK_APP",
    "GUNICORN_CMD_ARGS",
    "GUNICORN_CONTROL_SOCKET",
    "PUBLIC_BASE_URL",
    "VENTANILLA_ENV",
    "RATELIMIT_ENABLED",
    "CALL_SIGNAL_RATE",
    "CALL_SIGNAL_BURST",
    "WORKER_CONNECTIONS",
    "BENCH_PROFILE_DIR",
    "RELAY_SERVER",
    "RELAY_WS",
    "RELAY_GC_THRESHOLD",
    "BENCH_GC_THRESHOLD",
)


# =================================================================================================
# Inside the server processes
# =================================================================================================


def serve_threading(port: int) -> None:
    """`--serve-threading PORT`: the app under Werkzeug with Flask-SocketIO's threading mode."""
    from app.extensions import socketio
    from wsgi import app

    socketio.run(
        app,
        host=HOST,
        port=port,
        debug=False,
        use_reloader=False,
        log_output=False,
        allow_unsafe_werkzeug=True,
    )


def _naive_relay_app():
    """The bar: a minimal Flask-SocketIO relay (no auth, no database, no checks) on the /call shape."""
    from flask import Flask, request
    from flask_socketio import ConnectionRefusedError, SocketIO

    app = Flask("naive_relay")
    sio = SocketIO(
        app,
        async_mode=os.environ.get("SOCKETIO_ASYNC_MODE", "gevent"),
        async_handlers=False,
        manage_session=False,
    )
    rooms: dict[str, dict[str, str]] = {}
    members: dict[str, tuple[str, str]] = {}

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @sio.on("connect", namespace=NAMESPACE)
    def connect(auth=None):
        auth = auth if isinstance(auth, dict) else {}
        role, key = ("citizen", auth.get("token")) if "token" in auth else ("clerk", auth.get("appointment"))
        if not isinstance(key, str):
            raise ConnectionRefusedError("not_allowed")
        room = rooms.setdefault(key, {})
        room[role] = request.sid
        members[request.sid] = (key, role)
        if "citizen" in room and "clerk" in room:
            sio.emit("peer-joined", {"fresh": True}, to=room["citizen"], namespace=NAMESPACE)
            sio.emit("start", {}, to=room["clerk"], namespace=NAMESPACE)

    @sio.on("disconnect", namespace=NAMESPACE)
    def disconnect(reason=None):
        key, role = members.pop(request.sid, (None, None))
        if key is not None and rooms.get(key, {}).get(role) == request.sid:
            del rooms[key][role]

    @sio.on("signal", namespace=NAMESPACE)
    def relay(data=None):
        key, role = members.get(request.sid, (None, None))
        other = rooms.get(key, {}).get("clerk" if role == "citizen" else "citizen")
        if other:
            sio.emit("signal", data, to=other, namespace=NAMESPACE)

    return app


def _start_sampler(directory: Path) -> None:
    """A poor man's py-spy inside the worker: SIGPROF every 1 ms of the process's CPU time.

    The handler runs in the main thread and sees the interrupted frame: under gevent, the stack of the
    greenlet running at that instant (time spent in C, e.g. a send(), lands on the Python function that
    called it). Samples only while `<directory>/profile.on` exists (a native thread switches the timer);
    when the file disappears, writes profile.json. Samples are CPU time, so an idle hub gets none.
    """
    try:
        from gevent import monkey

        start_thread = monkey.get_original("_thread", "start_new_thread")
        sleep = monkey.get_original("time", "sleep")
    except ImportError:  # pragma: no cover - threading mode is not profiled
        import _thread

        start_thread, sleep = _thread.start_new_thread, time.sleep

    control, output = directory / "profile.on", directory / "profile.json"
    marker = "site-packages" + os.sep
    stdlib = os.path.dirname(os.__file__) + os.sep
    state = {"leaf": Counter(), "inclusive": Counter(), "packages": Counter(), "samples": 0}
    names: dict = {}

    def short(filename: str) -> str:
        if marker in filename:
            return filename.split(marker, 1)[1]
        if filename.startswith(stdlib):
            return "stdlib/" + filename[len(stdlib) :]
        if filename.startswith(str(ROOT) + os.sep):
            return filename[len(str(ROOT)) + 1 :]
        return filename

    def on_sample(_signum, frame) -> None:
        state["samples"] += 1
        leaf, inclusive = state["leaf"], state["inclusive"]
        seen, packages = set(), set()
        for depth in range(200):  # bounded stack walk
            if frame is None:
                break
            code = frame.f_code
            name = names.get(code)
            if name is None:
                path = short(code.co_filename)
                name = names[code] = f"{path}:{getattr(code, 'co_qualname', code.co_name)}"
            if depth == 0:
                leaf[name] += 1
            if name not in seen:
                seen.add(name)
                inclusive[name] += 1
                packages.add(name.split("/", 1)[0] if "/" in name.split(":", 1)[0] else name.split(":", 1)[0])
            frame = frame.f_back
        state["packages"].update(packages)

    signal.signal(signal.SIGPROF, on_sample)  # here: in the main thread, as signal.signal requires

    import gc

    gc_pauses: list[tuple[float, int, float]] = []  # (time.time(), generation, ms), whole worker life
    gc_started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        elif len(gc_pauses) < 200_000:
            gc_pauses.append((time.time(), info["generation"], (time.perf_counter() - gc_started[0]) * 1000))

    gc.callbacks.append(on_gc)

    def run() -> None:
        deadline = time.monotonic() + 3600  # bounded: the sampler never outlives an hour
        while time.monotonic() < deadline:
            if not control.exists():
                sleep(0.05)
                continue
            state.update(leaf=Counter(), inclusive=Counter(), packages=Counter(), samples=0)
            signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)
            stop_at = time.monotonic() + 300
            while control.exists() and time.monotonic() < stop_at:
                sleep(0.05)
            signal.setitimer(signal.ITIMER_PROF, 0, 0)
            sleep(0.1)
            output.write_text(
                json.dumps(
                    {
                        **{k: state[k] for k in ("samples", "leaf", "inclusive", "packages")},
                        "gc": gc_pauses,
                        "gc_objects": len(gc.get_objects()),
                    }
                )
            )
            while control.exists() and time.monotonic() < deadline:
                sleep(0.05)

    start_thread(run, ())


def __getattr__(name: str):
    """gunicorn targets: `benchmarks.signaling:naive_app`, `benchmarks.signaling:profiled_app`."""
    if name not in ("naive_app", "profiled_app"):
        raise AttributeError(name)
    if name == "naive_app":
        app = _naive_relay_app()
    else:
        from wsgi import app
    if os.environ.get("BENCH_PROFILE_DIR"):
        _start_sampler(Path(os.environ["BENCH_PROFILE_DIR"]))
    if os.environ.get("BENCH_GC_THRESHOLD"):  # `--gc-threshold`: the young generation's
        import gc

        gc.set_threshold(int(os.environ["BENCH_GC_THRESHOLD"]), *gc.get_threshold()[1:])
    globals()[name] = app
    return app


# =================================================================================================
# Database and server processes (from the benchmark process)
# =================================================================================================


@dataclass
class Setup:
    database_url: str
    password: str
    appointments: list[tuple[str, str]]  # (reference, join token)
    waiting: list[str] = field(default_factory=list)  # join tokens of booked appointments, no clerk


def prepare_database(database_url: str, tmp: Path, count: int, waiting: int = 0) -> Setup:
    """Demo data plus `count` video appointments in their join window, in_call, the demo clerk's,
    and `waiting` more only booked (their citizens sit in the waiting room: `--idle-sockets`)."""
    import datetime as dt

    import sqlalchemy as sa

    from app import create_app
    from app.demo import seed_demo
    from app.extensions import db
    from app.models import Appointment, Service, Staff
    from app.security import new_reference
    from app.tokens import new_token
    from config import TestingConfig

    config = type(
        "BenchConfig",
        (TestingConfig,),
        dict(
            SQLALCHEMY_DATABASE_URI=database_url,
            UPLOAD_DIR=str(tmp / "setup-uploads"),
            OUTBOX_DIR=str(tmp / "setup-outbox"),
        ),
    )
    app = create_app(config)
    appointments, waiting_tokens = [], []
    with app.app_context():
        db.create_all()
        credentials = {email: password for email, _role, password in seed_demo().credentials}
        service = db.session.scalar(sa.select(Service).where(Service.slug == SERVICE))
        clerk = db.session.scalar(sa.select(Staff).where(Staff.email == CLERK))
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=5)
        for n in range(count + waiting):
            token, token_hash = new_token()
            reference = new_reference(service.agency.slug)
            db.session.add(
                Appointment(
                    reference=reference,
                    service=service,
                    office=service.offices[0],
                    start_at=start,
                    end_at=start + dt.timedelta(minutes=20),
                    status="in_call" if n < count else "booked",
                    seat=n + 1,
                    citizen_name="Ciudadana de Prueba",
                    citizen_email=f"bench-{n}@example.com",
                    citizen_phone="+17875550100",
                    join_token_hash=token_hash,
                    manage_token_hash=new_token()[1],
                    clerk=clerk if n < count else None,
                )
            )
            if n < count:
                appointments.append((reference, token))
            else:
                waiting_tokens.append(token)
            if n % 1000 == 999:
                db.session.flush()
        db.session.commit()
        db.engine.dispose()
    return Setup(database_url, credentials[CLERK], appointments, waiting_tokens)


def server_env(
    tmp: Path, port: int, database_url: str, mode: str, sockets: int, profile_dir: Path | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    instance = tmp / "instance"
    env.update(
        VENTANILLA_ENV="production",
        SECRET_KEY="benchmark-secret-key-" + uuid.uuid4().hex,
        PUBLIC_BASE_URL=f"http://{HOST}:{port}",
        SESSION_COOKIE_SECURE="false",
        RATELIMIT_ENABLED="false",
        CALL_SIGNAL_RATE=SIGNAL_LIMIT,
        CALL_SIGNAL_BURST=SIGNAL_LIMIT,
        # The per-connection inbound budget (app/socket_guard.py) out of reach too, like the bucket.
        SOCKET_EVENT_RATE=SIGNAL_LIMIT,
        SOCKET_EVENT_BURST=SIGNAL_LIMIT,
        SOCKET_INBOUND_BYTES_PER_SECOND=str(1 << 30),
        SOCKET_INBOUND_BURST_BYTES=str(1 << 30),
        SOCKET_UNAUTHENTICATED_PER_ADDRESS=str(sockets + 100),
        SOCKET_MAX_CONNECTIONS=str(max(1000, sockets + 100)),
        # The asyncio relay loads the Flask app only to authenticate (in threads): threading mode.
        SOCKETIO_ASYNC_MODE="threading" if mode in ("threading", *ASYNCIO_MODES) else "gevent",
        INSTANCE_DIR=str(instance),
        UPLOAD_DIR=str(instance / "uploads"),
        OUTBOX_DIR=str(instance / "outbox"),
        DATABASE_URL=database_url,
        BIND=f"{HOST}:{port}",
        WEB_CONCURRENCY="1",
        # gunicorn's default (1000) would refuse the 1,001st socket; the warm-up pair is extra.
        WORKER_CONNECTIONS=str(max(1000, sockets + 100)),
        GUNICORN_GRACEFUL_TIMEOUT="3",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    if profile_dir is not None:
        env["BENCH_PROFILE_DIR"] = str(profile_dir)
    return env


class Server:
    def __init__(self, mode: str, env: dict[str, str], tmp: Path, port: int, profile: bool):
        self.mode, self.port = mode, port
        self.base_url = f"http://{HOST}:{port}"
        self.stdout_path, self.stderr_path = tmp / f"{mode}-{port}.stdout", tmp / f"{mode}-{port}.stderr"
        if mode == "threading":
            args = [sys.executable, str(Path(__file__).resolve()), "--serve-threading", str(port)]
        elif mode == "boot":  # the container's entry point: migrations, then gunicorn
            args = ["./boot.sh"]
        elif mode in ASYNCIO_MODES:  # the candidate dedicated relay, a python-socketio AsyncServer
            args = [sys.executable, "-m", "benchmarks.relay_asyncio"]
        elif mode == "peerjs":  # npm `peer` (a devDependency), its own CLI, one Node.js process
            args = [
                "node",
                str(ROOT / "node_modules/peer/dist/bin/peerjs.js"),
                *("--port", str(port), "--host", HOST, "--key", PEERJS_KEY, "--path", "/"),
                *("--concurrent_limit", env["WORKER_CONNECTIONS"]),
            ]
        else:
            target = (
                "benchmarks.signaling:naive_app"
                if mode == "baseline"
                else "benchmarks.signaling:profiled_app"
                if profile or env.get("BENCH_GC_THRESHOLD")
                else "wsgi:app"
            )
            args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", target]
        self.args = args
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True
            )  # its own group: workers go with it

    def logs(self) -> str:
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return f"\n--- server exit code: {self.proc.poll()}\n--- stderr (tail):\n{text[-4000:]}"

    def wait_healthy(self) -> None:
        import requests

        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.mode} server exited before it was healthy{self.logs()}")
            try:
                health = "/" if self.mode == "peerjs" else "/healthz"  # PeerJS answers its name at /
                if requests.get(f"{self.base_url}{health}", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit(f"/healthz not healthy after {STARTUP_SECONDS}s{self.logs()}")

    def pids(self) -> list[int]:
        if self.proc.poll() is not None:
            return []
        try:
            return [self.proc.pid, *child_pids(self.proc.pid)]
        except FileNotFoundError:
            return [self.proc.pid]

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids():
            try:
                total += process_cpu_seconds(pid)[0]
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total

    def _status(self, key: str) -> int:
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total

    def rss_kb(self) -> int:
        return self._status("VmRSS")

    def threads(self) -> int:
        return self._status("Threads")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass


class ServerGroup:
    """The server processes of one level, seen as one server: CPU, memory and threads summed over
    every process. One process, or two sharing a Redis message queue (TWO_PROCESS_MODES), where
    the first gets every citizen and the second every clerk, so each relayed message crosses Redis."""

    def __init__(self, servers: list[Server], queue: str | None = None):
        self.servers, self.queue = servers, queue
        self.mode, self.base_url = servers[0].mode, servers[0].base_url
        self.ports = [server.port for server in servers]

    def wait_healthy(self) -> None:
        for server in self.servers:
            server.wait_healthy()

    def logs(self) -> str:
        return "".join(server.logs() for server in self.servers)

    def running(self) -> bool:
        return all(server.proc.poll() is None for server in self.servers)

    def exit_codes(self) -> list[int | None]:
        return [server.proc.poll() for server in self.servers]

    def cpu_seconds(self) -> float:
        return sum(server.cpu_seconds() for server in self.servers)

    def rss_kb(self) -> int:
        return sum(server.rss_kb() for server in self.servers)

    def threads(self) -> int:
        return sum(server.threads() for server in self.servers)

    def redis_cpu_seconds(self) -> float:
        """The Redis server's own CPU (user + system, INFO cpu) when the processes share a queue;
        NaN otherwise. Redis is shared with anything else on the machine using it."""
        if self.queue is None:
            return math.nan
        import redis

        client = redis.Redis.from_url(self.queue)
        try:
            info = client.info("cpu")
        finally:
            client.close()
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def stderr(self) -> str:
        return "".join(
            server.stderr_path.read_text(errors="replace")
            for server in self.servers
            if server.stderr_path.exists()
        )


def flush_redis(url: str) -> None:
    """Empty the benchmark's own Redis database (room directories left by an earlier level)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def start_servers(mode: str, env: dict[str, str], tmp: Path, profile_dir: Path | None, args) -> ServerGroup:
    """A fresh server for one level: one process, or two on one Redis database (flushed first)."""
    if mode not in TWO_PROCESS_MODES:
        port = int(env["BIND"].rsplit(":", 1)[1])
        return ServerGroup([Server(mode, env, tmp, port, profile=profile_dir is not None)])
    # redis-py 8 caps a client's connection pool at 100 connections and raises MaxConnectionsError
    # past it; a gevent worker relaying for 1,000 sockets has more greenlets talking to Redis at
    # once, and python-socketio then drops the message and reconnects its pub/sub (messages lost).
    # The URL's query sets the pool's size for every client the app makes from it.
    queue = f"redis://{HOST}:6379/{args.redis_db}?max_connections={max(1000, int(env['WORKER_CONNECTIONS']))}"
    flush_redis(queue)
    servers = []
    for _ in range(2):
        port = free_port()
        servers.append(
            Server(
                mode,
                {
                    **env,
                    "BIND": f"{HOST}:{port}",
                    "PUBLIC_BASE_URL": f"http://{HOST}:{port}",
                    "SOCKETIO_MESSAGE_QUEUE": queue,
                },
                tmp,
                port,
                profile=False,
            )
        )
    return ServerGroup(servers, queue)


def relay_clerk_cookie(base_url: str, password: str) -> str:
    """The asyncio relay signs the demo clerk in through its Flask app (a bench-only route)."""
    import requests

    response = requests.post(
        f"{base_url}/bench/clerk-cookie",
        json={"email": CLERK, "password": password, "user_agent": USER_AGENT},
        timeout=60,
    )
    if response.status_code != 200:
        raise SystemExit(f"relay clerk login failed: {response.status_code} {response.text[:300]}")
    return response.text


def clerk_cookie(base_url: str, password: str) -> str:
    """Log the demo clerk in (CSRF token from the form); the Cookie header for its sockets."""
    import re

    import requests

    with requests.Session() as session:
        session.headers["User-Agent"] = USER_AGENT
        page = session.get(f"{base_url}/staff/login", timeout=30)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        if page.status_code != 200 or not match:
            raise SystemExit(f"no login form at /staff/login ({page.status_code})")
        response = session.post(
            f"{base_url}/staff/login",
            timeout=30,
            allow_redirects=False,
            data={"email": CLERK, "password": password, "csrf_token": match.group(1)},
        )
        if response.status_code != 302:
            raise SystemExit(f"clerk login failed: {response.status_code} {response.text[:300]}")
        return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


# =================================================================================================
# The clients: Engine.IO 4 / Socket.IO 5 over a raw WebSocket, on asyncio
# =================================================================================================


def _mask(data: bytes, key: bytes) -> bytes:
    n = len(data)
    if not n:
        return b""
    stream = (key * ((n >> 2) + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


class SocketIOConnection(asyncio.Protocol):
    """One WebSocket to /socket.io/?EIO=4&transport=websocket, joined to the /call namespace."""

    def __init__(self, peer: Peer, auth: dict, cookie: str | None, deflate: bool):
        self.peer, self.auth, self.cookie, self.offer_deflate = peer, auth, cookie, deflate
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.joined: asyncio.Future = asyncio.get_running_loop().create_future()
        self.joined.add_done_callback(lambda f: f.cancelled() or f.exception())  # never "unretrieved"
        self.closed = False
        self.fragments: list[bytes] | None = None
        self.fragment_head = 0
        self.compress = self.inflate = None
        self.reset_compressor = self.reset_inflater = False

    # --- WebSocket ---
    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {self.target()} HTTP/1.1",
            f"Host: {HOST}:{self.peer.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"User-Agent: {USER_AGENT}",
        ]
        if self.offer_deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        if self.cookie:
            lines.append(f"Cookie: {self.cookie}")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def target(self) -> str:
        return "/socket.io/?EIO=4&transport=websocket"

    def connection_lost(self, exc) -> None:
        self.closed = True
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(f"closed before joining: {exc!r}"))
        self.peer.on_closed()

    def _fail(self, reason: str) -> None:
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    self._fail("handshake response too long")
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            del self.buffer[: end + 4]
            status = head.split("\r\n", 1)[0]
            if status.split()[1:2] != ["101"]:
                self._fail(f"handshake: {status}")
                return
            self.upgraded = True
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-extensions" and "permessage-deflate" in value:
                    self._setup_deflate(value)
        self._read_frames()

    def _setup_deflate(self, value: str) -> None:
        params = {
            p.split("=")[0].strip(): p.split("=")[1].strip() if "=" in p else None
            for p in value.split(";")[1:]
        }
        bits = int(params.get("client_max_window_bits") or 15)
        self.client_bits = bits
        self.compress = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits)
        self.inflate = zlib.decompressobj(-15)
        self.reset_compressor = "client_no_context_takeover" in params
        self.reset_inflater = "server_no_context_takeover" in params

    def _read_frames(self) -> None:
        buffer = self.buffer
        for _ in range(100_000):  # bounded: far more frames than one read can hold
            n = len(buffer)
            if n < 2:
                return
            b0, b1 = buffer[0], buffer[1]
            length, pos = b1 & 0x7F, 2
            if length == 126:
                if n < 4:
                    return
                length, pos = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if n < 10:
                    return
                length, pos = int.from_bytes(buffer[2:10], "big"), 10
            key = None
            if b1 & 0x80:  # servers do not mask, but be lenient
                if n < pos + 4:
                    return
                key, pos = bytes(buffer[pos : pos + 4]), pos + 4
            if n < pos + length:
                return
            payload = bytes(buffer[pos : pos + length])
            del buffer[: pos + length]
            if key:
                payload = _mask(payload, key)
            opcode = b0 & 0x0F
            if opcode >= 8:
                if opcode == 8:
                    self.transport.close()
                    return
                if opcode == 9:
                    self._send_frame(0xA, payload)
                continue
            if opcode != 0:
                self.fragment_head, self.fragments = b0, [payload]
            elif self.fragments is not None:
                self.fragments.append(payload)
            if not b0 & 0x80:
                continue
            head, message = self.fragment_head, b"".join(self.fragments or ())
            self.fragments = None
            if head & 0x40 and self.inflate is not None:
                if self.reset_inflater:
                    self.inflate = zlib.decompressobj(-15)
                message = self.inflate.decompress(message + b"\x00\x00\xff\xff")
            if head & 0x0F == 1:
                self._on_engineio(message.decode())

    def _send_frame(self, opcode: int, payload: bytes, rsv1: int = 0) -> None:
        if self.closed or self.transport is None or self.transport.is_closing():
            return
        n = len(payload)
        b0 = 0x80 | rsv1 | opcode
        if n < 126:
            head = bytes((b0, 0x80 | n))
        elif n < 65536:
            head = bytes((b0, 0x80 | 126)) + n.to_bytes(2, "big")
        else:
            head = bytes((b0, 0x80 | 127)) + n.to_bytes(8, "big")
        key = os.urandom(4)
        self.transport.write(head + key + _mask(payload, key))

    def send_text(self, text: str) -> bool:
        if self.closed:
            return False
        data, rsv1 = text.encode(), 0
        if self.compress is not None:
            if self.reset_compressor:
                self.compress = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self.client_bits)
            data = self.compress.compress(data) + self.compress.flush(zlib.Z_SYNC_FLUSH)
            data, rsv1 = data[:-4] if data.endswith(b"\x00\x00\xff\xff") else data, 0x40
        self._send_frame(0x1, data, rsv1)
        return True

    def close(self) -> None:
        if self.closed or self.transport is None:
            return
        self.send_text(f"41{NAMESPACE},")
        self._send_frame(0x8, (1000).to_bytes(2, "big"))
        self.transport.close()

    # --- Engine.IO / Socket.IO ---
    def _on_engineio(self, text: str) -> None:
        kind = text[:1]
        if kind == "4":  # a Socket.IO packet
            if text.startswith("42/call,"):
                body = text[8:]
                if body.startswith('["signal"'):
                    self.peer.on_signal(body)
                else:
                    name, *args = json.loads(body)
                    self.peer.on_event(name, args[0] if args else None)
            elif text.startswith("40/call,"):
                if not self.joined.done():
                    self.joined.set_result(True)
            elif text.startswith("44/call,"):
                self._fail(f"refused: {text[8:200]}")
            elif text.startswith("41/call"):
                self.peer.on_event("server-disconnect", None)
        elif kind == "2":  # ping: answer at once
            self.send_text("3")
        elif kind == "0":  # open: join the namespace with the auth
            self.send_text(f"40{NAMESPACE}," + json.dumps(self.auth, separators=(",", ":")))
        elif kind == "1":
            self.transport.close()


class PeerJSConnection(SocketIOConnection):
    """One WebSocket to the PeerJS server, in its wire protocol: /peerjs?key=&id=&token=, then JSON
    messages {"type": "OFFER" | "CANDIDATE" | "HEARTBEAT", "dst", "payload"}; the server adds "src"
    and relays to `dst`. Joined (and ready: PeerJS has no rooms) when the server says OPEN."""

    def target(self) -> str:
        return f"/peerjs?key={PEERJS_KEY}&id={self.auth['id']}&token={uuid.uuid4().hex[:10]}"

    def close(self) -> None:
        if self.closed or self.transport is None:
            return
        self._send_frame(0x8, (1000).to_bytes(2, "big"))
        self.transport.close()

    def _on_engineio(self, text: str) -> None:  # the one text handler of the base class
        if "bench=" in text:
            self.peer.on_signal(text)
            return
        kind = json.loads(text).get("type")
        if kind == "OPEN":
            if not self.joined.done():
                self.joined.set_result(True)
            self.peer.on_event("peerjs-open", None)
        elif kind in ("ERROR", "ID-TAKEN", "INVALID-KEY"):
            self._fail(f"refused: {text[:200]}")
        else:  # LEAVE, EXPIRE: the other side is gone
            self.peer.on_event(kind.lower(), None)


@dataclass
class PhaseStats:
    sent: int = 0
    received: int = 0
    reordered: int = 0
    written_off: int = 0
    latencies: list[float] = field(default_factory=list)


def _socketio_packet(kind: str, data: dict) -> str:
    return f'42{NAMESPACE},["signal",' + json.dumps(data, separators=(",", ":")) + "]"


def _peerjs_packet(dst: str):
    def packet(kind: str, data: dict) -> str:
        message = {"type": "OFFER" if kind == "description" else "CANDIDATE", "dst": dst, "payload": data}
        return json.dumps(message, separators=(",", ":"))

    return packet


def _payload_templates(
    size_candidate: int, size_sdp: int, wrap=_socketio_packet
) -> tuple[tuple[str, str], tuple[str, str]]:
    """(prefix, suffix) pairs: packet = prefix + "<phase>,<seq>,<time>" + suffix, the JSON payload
    (what the server's size check measures) padded to about `size` bytes; `wrap(kind, data)` makes
    the protocol's packet (a Socket.IO `signal` event, or a PeerJS OFFER/CANDIDATE message)."""
    mark = "@@MARK@@"
    stamp = "2,1234567,123456.123456"  # typical width of the mark's content

    def split(build, size: int) -> tuple[str, str]:
        data_text = json.dumps(build(""), separators=(",", ":"))
        pad = max(0, size - len(data_text) + len(mark) - len(stamp))
        kind = "description" if build is description else "candidate"
        prefix, _, suffix = wrap(kind, build("x" * pad)).partition(mark)
        return prefix, suffix

    def candidate(pad: str) -> dict:
        return {
            "candidate": {
                "candidate": f"candidate:842163049 1 udp 1677729535 127.0.0.1 50000 typ host generation 0 "
                f"ufrag sEMT network-cost 999 bench={mark};{pad}",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            }
        }

    lines = "".join(
        f"a=candidate:{n} 1 udp 2122260223 127.0.0.1 {50000 + n} typ host generation 0\r\n" for n in range(60)
    )

    def description(pad: str) -> dict:
        body = (
            f"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
            f"a=x-bench:bench={mark};\r\na=group:BUNDLE 0 1\r\n"
        )
        return {
            "description": {"type": "offer", "sdp": (body + lines)[: size_sdp - 400] + f"a=x-pad:{pad}\r\n"}
        }

    return split(candidate, size_candidate), split(description, size_sdp)


class Peer:
    __slots__ = (
        "bench",
        "room",
        "role",
        "auth",
        "cookie",
        "conn",
        "other",
        "seq",
        "outstanding",
        "last_seq",
        "ready",
        "alive",
        "window",
        "templates",
        "port",
    )

    def __init__(self, bench: Bench, room: int, role: str, auth: dict, cookie: str | None):
        self.bench, self.room, self.role, self.auth, self.cookie = bench, room, role, auth, cookie
        bench.peers.append(self)
        self.conn: SocketIOConnection | None = None
        self.other: Peer | None = None
        self.seq = 0
        self.outstanding: dict[int, float] = {}
        self.last_seq = 0
        self.ready = asyncio.get_running_loop().create_future()
        self.alive = False
        self.window = 1
        self.templates = bench.candidate, bench.description  # PeerJS: per peer (the packet names dst)
        if bench.together:
            self.port = bench.ports[room % len(bench.ports)]
        else:
            self.port = bench.clerk_port if role == "clerk" else bench.citizen_port

    def on_signal(self, body: str) -> None:
        start = body.find("bench=") + 6
        phase, seq, sent_at = body[start : body.find(";", start)].split(",")
        self.bench.on_delivered(self, int(phase), int(seq), float(sent_at))

    def on_event(self, name: str, data) -> None:
        self.bench.events[name] += 1
        if (
            (name == "start" and self.role == "clerk")
            or (name == "peer-joined" and self.role == "citizen")
            or name == "peerjs-open"
        ):
            if not self.ready.done():
                self.ready.set_result(True)
        elif (
            name in ("peer-left", "replaced", "server-disconnect", "leave", "expire")
            and self.bench.traffic_started
        ):
            self.bench.mid_run[name] += 1

    def on_closed(self) -> None:
        if self.alive and self.bench.traffic_started:
            self.bench.mid_run["socket closed"] += 1
        self.alive = False


class Bench:
    """The client side of one level: every peer on one event loop."""

    def __init__(
        self, ports: list[int], deflate: bool, sdp_every: int, mode: str = "gevent", together: bool = False
    ):
        # Citizens connect to the first server process, clerks to the last (the same one but in
        # the two-process modes); `together`: both sides of a room on one process, rooms alternating.
        self.ports, self.together = ports, together
        self.citizen_port, self.clerk_port = ports[0], ports[-1]
        self.deflate, self.sdp_every, self.mode = deflate, sdp_every, mode
        self.connection = PeerJSConnection if mode == "peerjs" else SocketIOConnection
        self.stats: dict[int, PhaseStats] = {}
        self.closed_loop_phase: int | None = None
        self.events: Counter = Counter()
        self.mid_run: Counter = Counter()
        self.connect_errors: Counter = Counter()
        self.traffic_started = False
        self.candidate, self.description = _payload_templates(CANDIDATE_BYTES, SDP_BYTES)
        self.send_failures = 0
        self.peers: list[Peer] = []  # every peer made for this level (PeerJS heartbeats)

    # --- connecting ---
    async def _connect_one(self, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        _transport, conn = await asyncio.wait_for(
            loop.create_connection(
                lambda: self.connection(peer, peer.auth, peer.cookie, self.deflate), HOST, peer.port
            ),
            CONNECT_TIMEOUT,
        )
        peer.conn = conn
        await asyncio.wait_for(asyncio.shield(conn.joined), CONNECT_TIMEOUT)
        peer.alive = True

    async def connect_rooms(
        self, pairs: list[tuple[Peer, Peer]], concurrency: int, cap_seconds: float
    ) -> list[tuple[Peer, Peer]]:
        """Connect citizen then clerk per room; returns the rooms that paired within the caps."""
        gate = asyncio.Semaphore(concurrency)
        ready: list[tuple[Peer, Peer]] = []

        async def one(citizen: Peer, clerk: Peer) -> None:
            async with gate:
                try:
                    await self._connect_one(citizen)
                    await self._connect_one(clerk)
                    await asyncio.wait_for(
                        asyncio.gather(asyncio.shield(clerk.ready), asyncio.shield(citizen.ready)),
                        PAIR_TIMEOUT,
                    )
                    ready.append((citizen, clerk))
                except (TimeoutError, OSError, ConnectionError) as error:
                    self.connect_errors[f"{type(error).__name__}: {str(error)[:90]}"] += 1
                    for peer in (citizen, clerk):
                        peer.alive = False
                        if peer.conn is not None:
                            peer.conn.close()

        tasks = [asyncio.ensure_future(one(*pair)) for pair in pairs]
        done, pending = await asyncio.wait(tasks, timeout=cap_seconds)
        for task in pending:
            task.cancel()
        if pending:
            self.connect_errors[f"not connected within the {cap_seconds:.0f} s cap"] += len(pending)
            await asyncio.wait(pending, timeout=5)
        return ready

    async def connect_idle(self, peers: list[Peer], concurrency: int, cap_seconds: float) -> None:
        """Connect each peer (no pairing); a failure is counted and the rest go on."""
        gate = asyncio.Semaphore(concurrency)

        async def one(peer: Peer) -> None:
            async with gate:
                try:
                    await self._connect_one(peer)
                except (TimeoutError, OSError, ConnectionError) as error:
                    self.connect_errors[f"idle: {type(error).__name__}: {str(error)[:80]}"] += 1

        tasks = [asyncio.ensure_future(one(peer)) for peer in peers]
        _done, pending = await asyncio.wait(tasks, timeout=cap_seconds)
        for task in pending:
            task.cancel()
        if pending:
            self.connect_errors[f"idle: not connected within the {cap_seconds:.0f} s cap"] += len(pending)

    # --- sending and receiving ---
    def send(self, peer: Peer, phase: int) -> None:
        if not peer.alive or peer.conn is None:
            self.send_failures += 1
            return
        peer.seq += 1
        seq = peer.seq
        candidate, description = peer.templates
        prefix, suffix = description if seq % self.sdp_every == 0 else candidate
        now = time.perf_counter()
        if peer.conn.send_text(f"{prefix}{phase},{seq},{now:.6f}{suffix}"):
            self.stats[phase].sent += 1
            if phase == self.closed_loop_phase:
                peer.outstanding[seq] = now
        else:
            self.send_failures += 1

    def on_delivered(self, receiver: Peer, phase: int, seq: int, sent_at: float) -> None:
        stats = self.stats.get(phase)
        if stats is None:
            return
        stats.received += 1
        stats.latencies.append(time.perf_counter() - sent_at)
        if seq <= receiver.last_seq:
            stats.reordered += 1
        else:
            receiver.last_seq = seq
        sender = receiver.other
        if phase == self.closed_loop_phase and sender.outstanding.pop(seq, None) is not None:
            self.send(sender, phase)

    async def open_loop(self, phase: int, senders: list[Peer], rate: float, seconds: float) -> float:
        """`rate` messages/s in total, round-robin over `senders`, for `seconds`; returns the wall."""
        self.stats.setdefault(phase, PhaseStats())
        order = senders[:]
        random.shuffle(order)
        started = time.perf_counter()
        sent = index = 0
        for _ in range(int(seconds / 0.004) + 10):  # bounded: one pass per tick
            elapsed = time.perf_counter() - started
            if elapsed >= seconds or not order:
                break
            for _ in range(int(elapsed * rate) - sent):
                self.send(order[index % len(order)], phase)
                index += 1
                sent += 1
            await asyncio.sleep(0.004)
        return time.perf_counter() - started

    async def drain(self, phase: int, seconds: float) -> None:
        stats = self.stats[phase]
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and stats.received < stats.sent:
            await asyncio.sleep(0.05)

    async def saturate(
        self,
        phase: int,
        senders: list[Peer],
        window: int,
        seconds: float,
        server: ServerGroup,
        profile_dir: Path | None = None,
    ) -> dict:
        stats = self.stats.setdefault(phase, PhaseStats())
        self.closed_loop_phase = phase
        for peer in senders:
            peer.outstanding.clear()
            for _ in range(window):
                self.send(peer, phase)
        await asyncio.sleep(RAMP_SECONDS)
        if profile_dir is not None:
            (profile_dir / "profile.on").touch()
        received0, latencies0 = stats.received, len(stats.latencies)
        cpu0, client0, t0 = server.cpu_seconds(), _own_cpu(), time.perf_counter()
        redis0 = server.redis_cpu_seconds()
        for _ in range(int(seconds * 4) + 4):  # bounded: a quarter-second tick
            remaining = seconds - (time.perf_counter() - t0)
            if remaining <= 0:
                break
            await asyncio.sleep(min(0.25, remaining))
            self._write_off(senders, phase)
        wall = time.perf_counter() - t0
        received1, latencies1 = stats.received, len(stats.latencies)
        cpu1, client1 = server.cpu_seconds(), _own_cpu()
        redis1 = server.redis_cpu_seconds()
        if profile_dir is not None:
            (profile_dir / "profile.on").unlink()
        self.closed_loop_phase = None
        delivered = received1 - received0
        return {
            "wall": wall,
            "delivered": delivered,
            "rate": delivered / wall if wall else math.nan,
            "cpu_us": (cpu1 - cpu0) * 1e6 / delivered if delivered else math.nan,
            "server_cpu_share": (cpu1 - cpu0) / wall if wall else math.nan,
            "client_cpu_us": (client1 - client0) * 1e6 / delivered if delivered else math.nan,
            "redis_cpu_us": (redis1 - redis0) * 1e6 / delivered if delivered else math.nan,
            "latencies": stats.latencies[latencies0:latencies1],
        }

    def _write_off(self, senders: list[Peer], phase: int) -> None:
        limit = time.perf_counter() - WRITE_OFF_SECONDS
        for peer in senders:
            if not peer.outstanding:
                continue
            stale = [seq for seq, at in peer.outstanding.items() if at < limit]
            for seq in stale:
                del peer.outstanding[seq]
                self.stats[phase].written_off += 1
                self.send(peer, phase)

    async def heartbeats(self, peers: list[Peer]) -> None:
        """PeerJS: every peer says HEARTBEAT every 5 s, as its client library does (the server
        drops a peer silent for its alive_timeout)."""
        while True:
            await asyncio.sleep(PEERJS_HEARTBEAT_SECONDS)
            for peer in peers:
                if peer.alive and peer.conn is not None:
                    peer.conn.send_text('{"type":"HEARTBEAT"}')

    def close_all(self, peers: list[Peer]) -> None:
        for peer in peers:
            peer.alive = False
            if peer.conn is not None:
                peer.conn.close()


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# =================================================================================================
# One level: a mode, a room count, a fresh server
# =================================================================================================


@dataclass
class LevelResult:
    mode: str
    rooms: int
    round: int = 0
    sockets: int = 0
    connect_seconds: float = math.nan
    kb_per_socket: float = math.nan
    rss0_mb: float = math.nan
    rssn_mb: float = math.nan
    threads: int = 0
    light_latencies: list[float] = field(default_factory=list)
    light_rate: float = math.nan
    saturation: dict = field(default_factory=dict)
    sent: int = 0
    received: int = 0
    reordered: int = 0
    written_off: int = 0
    send_failures: int = 0
    connect_errors: Counter = field(default_factory=Counter)
    mid_run: Counter = field(default_factory=Counter)
    window: int = 1
    light_window: tuple[float, float] = (0.0, 0.0)  # time.time() at the light phase's start and end
    profile: dict | None = None
    server_errors: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    idle_sockets: int = 0
    kb_per_idle_socket: float = math.nan
    idle_connect_seconds: float = math.nan


def idle_connect_cap(args) -> float:
    return max(args.connect_seconds, 0.1 * args.idle_sockets)


def make_pair(bench: Bench, mode: str, index: int, setup: Setup, cookie: str | None) -> tuple[Peer, Peer]:
    reference, token = setup.appointments[index]
    if mode == "baseline":  # the naive relay pairs by key
        citizen = Peer(bench, index, "citizen", {"token": f"room-{index}"}, None)
        clerk = Peer(bench, index, "clerk", {"appointment": f"room-{index}"}, None)
    elif mode == "peerjs":  # PeerJS addresses peers by id: each packet names the other side
        citizen = Peer(bench, index, "citizen", {"id": f"citizen-{index}"}, None)
        clerk = Peer(bench, index, "clerk", {"id": f"clerk-{index}"}, None)
        for peer, other in ((citizen, clerk), (clerk, citizen)):
            peer.templates = _payload_templates(CANDIDATE_BYTES, SDP_BYTES, _peerjs_packet(other.auth["id"]))
    else:
        citizen = Peer(bench, index, "citizen", {"token": token}, None)
        clerk = Peer(bench, index, "clerk", {"appointment": reference}, cookie)
    citizen.other, clerk.other = clerk, citizen
    return citizen, clerk


def make_idle(bench: Bench, mode: str, index: int, setup: Setup) -> Peer:
    """A citizen waiting for the clerk: connected to /call with its join token (PeerJS: an open
    peer; the naive relay: a key nobody else uses), sending nothing."""
    if mode == "peerjs":
        return Peer(bench, index, "citizen", {"id": f"waiting-{index}"}, None)
    if mode == "baseline":
        return Peer(bench, index, "citizen", {"token": f"waiting-{index}"}, None)
    return Peer(bench, index, "citizen", {"token": setup.waiting[index]}, None)


async def run_level(
    result: LevelResult, server: ServerGroup, setup: Setup, cookie: str | None, args, profile_dir: Path | None
) -> None:
    """Fills `result` as it goes, so a level abandoned at its time cap still reports what it saw."""
    mode, rooms = result.mode, result.rooms
    bench = Bench(server.ports, args.deflate, args.sdp_every, mode, together=args.placement == "together")
    if mode == "peerjs":
        pulse = asyncio.ensure_future(bench.heartbeats(bench.peers))
        pulse.add_done_callback(lambda f: f.cancelled() or f.exception())

    # 1. warm-up pair on the extra appointment, then the 0-socket baseline
    warm = [make_pair(bench, mode, len(setup.appointments) - 1, setup, cookie)]
    if not await bench.connect_rooms(warm, 1, 60):
        raise SystemExit(
            f"{mode}: the warm-up pair did not connect: {dict(bench.connect_errors)}{server.logs()}"
        )
    await bench.open_loop(PHASE_WARMUP, list(warm[0]), 100, 1.0)
    await bench.drain(PHASE_WARMUP, 5)
    bench.close_all(list(warm[0]))
    bench.connect_errors.clear()
    await asyncio.sleep(2.0)
    result.rss0_mb = server.rss_kb() / 1024

    # 2. every room
    pairs = [make_pair(bench, mode, n, setup, cookie) for n in range(rooms)]
    started = time.perf_counter()
    ready = await bench.connect_rooms(pairs, args.connect_concurrency, args.connect_seconds)
    result.connect_seconds = time.perf_counter() - started
    result.connect_errors = bench.connect_errors
    senders = [peer for pair in ready for peer in pair]
    result.sockets = len(senders)
    await asyncio.sleep(2.0)
    if senders:
        result.kb_per_socket = (server.rss_kb() / 1024 - result.rss0_mb) * 1024 / len(senders)
    result.rssn_mb, result.threads = server.rss_kb() / 1024, server.threads()
    result.mid_run = bench.mid_run
    if not senders:
        result.notes.append("no room paired: no traffic")
        bench.close_all([p for pair in pairs for p in pair])
        return

    # 2b. idle sockets: citizens in waiting rooms, connected and silent through the traffic
    idle = [make_idle(bench, mode, n, setup) for n in range(args.idle_sockets)]
    if idle:
        rss_before = server.rss_kb()
        started = time.perf_counter()
        # Each waiting citizen costs the server a token lookup and a database commit (~30 ms on
        # PostgreSQL here): 5,000 of them need more than the rooms' cap.
        await bench.connect_idle(idle, args.connect_concurrency, idle_connect_cap(args))
        result.idle_connect_seconds = time.perf_counter() - started
        await asyncio.sleep(2.0)
        result.idle_sockets = sum(1 for peer in idle if peer.alive)
        if result.idle_sockets:
            result.kb_per_idle_socket = (server.rss_kb() - rss_before) / result.idle_sockets
        result.rssn_mb = server.rss_kb() / 1024

    # 3. light load (open loop)
    bench.traffic_started = True
    light_started = time.time()
    wall = await bench.open_loop(PHASE_LIGHT, senders, args.light_rate, args.light_seconds)
    result.light_window = (light_started, time.time())
    await bench.drain(PHASE_LIGHT, args.drain_seconds)
    light = bench.stats[PHASE_LIGHT]
    result.light_latencies, result.light_rate = light.latencies, light.received / wall
    result.sent, result.received = light.sent, light.received

    # 4. saturation (closed loop)
    result.window = max(1, math.ceil(args.inflight / len(senders)))
    alive = [peer for peer in senders if peer.alive]
    result.saturation = await bench.saturate(
        PHASE_SATURATION, alive, result.window, args.saturation_seconds, server
    )
    await bench.drain(PHASE_SATURATION, args.drain_seconds)
    result.sent = result.received = 0
    for phase in (PHASE_LIGHT, PHASE_SATURATION):
        stats = bench.stats[phase]
        result.sent += stats.sent
        result.received += stats.received
        result.reordered += stats.reordered
        result.written_off += stats.written_off

    # 5. profiled saturation, not counted
    if profile_dir is not None and server.running():
        alive = [peer for peer in senders if peer.alive]
        await bench.saturate(
            PHASE_PROFILE, alive, result.window, min(10.0, args.saturation_seconds), server, profile_dir
        )
        await bench.drain(PHASE_PROFILE, args.drain_seconds)
        output = profile_dir / "profile.json"
        for _ in range(100):
            if output.exists():
                result.profile = json.loads(output.read_text())
                output.unlink()
                break
            await asyncio.sleep(0.1)

    result.send_failures = bench.send_failures
    bench.close_all([p for pair in pairs for p in pair] + idle)
    await asyncio.sleep(0.5)
    if not server.running():
        result.notes.append(f"server exited during the level (codes {server.exit_codes()})")


def run_one(
    mode: str, rooms: int, round_number: int, setup: Setup, tmp: Path, args, profile: bool
) -> LevelResult:
    """One level against a fresh server, within a hard time cap."""
    port = free_port()
    profile_dir = None
    if profile and mode in PROFILED_MODES:
        profile_dir = tmp / f"profile-{mode}-{rooms}-{port}"
        profile_dir.mkdir()
    env = server_env(tmp, port, setup.database_url, mode, 2 * rooms + 2 + args.idle_sockets, profile_dir)
    env["RELAY_SERVER"] = args.relay_server
    if args.gc_threshold:
        env["BENCH_GC_THRESHOLD"] = env["RELAY_GC_THRESHOLD"] = str(args.gc_threshold)
    server = start_servers(mode, env, tmp, profile_dir, args)
    result = LevelResult(mode=mode, rooms=rooms, round=round_number)
    try:
        server.wait_healthy()
        cookie = None
        if mode in ASYNCIO_MODES:  # the relay has no login page: the Flask app inside it signs in
            cookie = relay_clerk_cookie(server.base_url, setup.password)
        elif mode not in ("baseline", "peerjs"):
            cookie = clerk_cookie(server.base_url, setup.password)
        level_cap = (
            60
            + 10
            + args.connect_seconds
            + args.light_seconds
            + args.saturation_seconds
            + RAMP_SECONDS
            + 2 * args.drain_seconds
            + (idle_connect_cap(args) if args.idle_sockets else 0)
            + (30 if profile_dir else 0)
            + 60
        )
        try:
            asyncio.run(
                asyncio.wait_for(run_level(result, server, setup, cookie, args, profile_dir), level_cap)
            )
        except TimeoutError:
            result.notes.append(f"level abandoned after its {level_cap:.0f} s cap (partial figures)")
        return result
    finally:
        server.stop()
        result.server_errors = Counter(
            line.strip()[:140]
            for line in server.stderr().splitlines()
            if "Error" in line and not line.startswith(" ")
        )


# =================================================================================================
# Report
# =================================================================================================


def _ms(values: list[float], q: float) -> float:
    return percentile(values, q) * 1000 if values else math.nan


def _groups(results: list[LevelResult]) -> dict[tuple[str, int], list[LevelResult]]:
    groups: dict[tuple[str, int], list[LevelResult]] = {}
    for result in results:
        groups.setdefault((result.mode, result.rooms), []).append(result)
    return groups


def _median_range(values: list[float], digits: int = 0) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "–"
    if len(values) == 1:
        return fmt(values[0], digits)
    return f"{fmt(statistics.median(values), digits)} ({fmt(min(values), digits)}–{fmt(max(values), digits)})"


def _sat(result: LevelResult, key: str) -> float:
    return (result.saturation or {}).get(key, math.nan)


def _idle(runs: list[LevelResult]) -> str:
    if not any(r.idle_sockets for r in runs):
        return "–"
    return f"{min(r.idle_sockets for r in runs)}, {_median_range([r.kb_per_idle_socket for r in runs], 1)}"


def results_table(results: list[LevelResult]) -> str:
    """One row per mode and room count: medians over rounds (min–max), latencies pooled."""
    rows = []
    for (mode, rooms), runs in _groups(results).items():
        light = [v for r in runs for v in r.light_latencies]
        saturated = [v for r in runs for v in (r.saturation or {}).get("latencies", [])]
        sent, lost = sum(r.sent for r in runs), sum(r.sent - r.received for r in runs)
        rows.append(
            [
                mode,
                rooms,
                f"{min(r.sockets for r in runs)}/{2 * rooms}",
                _median_range([_sat(r, "rate") for r in runs]),
                f"{fmt(_ms(light, 50), 1)} / {fmt(_ms(light, 99), 1)}",
                f"{fmt(_ms(saturated, 50), 0)} / {fmt(_ms(saturated, 99), 0)}",
                _median_range([_sat(r, "cpu_us") for r in runs]),
                _median_range([_sat(r, "client_cpu_us") for r in runs]),
                _median_range([r.kb_per_socket for r in runs], 1),
                _idle(runs),
                f"{lost} of {sent}" if sent else "–",
            ]
        )
    header = [
        "mode",
        "rooms",
        "sockets paired",
        "msgs/s at saturation",
        "latency ms p50 / p99, light",
        "latency ms p50 / p99, saturation",
        "server CPU µs/msg",
        "client CPU µs/msg",
        "KB per socket",
        "idle sockets, KB each",
        "lost (sent − received)",
    ]
    return markdown_table(header, rows, align="lrrrrrrrrrr")


def details(results: list[LevelResult]) -> list[str]:
    lines = []
    for r in results:
        parts = [
            f"connect {fmt(r.connect_seconds, 1)} s",
            f"RSS {fmt(r.rss0_mb, 0)} → {fmt(r.rssn_mb, 0)} MB",
            f"threads {r.threads}",
            f"window {r.window}/socket",
            f"{fmt(_sat(r, 'rate'), 0)} msgs/s at {fmt(_sat(r, 'server_cpu_share') * 100, 0)} % of a core",
            f"light delivered {fmt(r.light_rate, 0)} msgs/s",
        ]
        if r.idle_sockets:
            parts.append(
                f"{r.idle_sockets} idle sockets connected in {fmt(r.idle_connect_seconds, 0)} s, "
                f"{fmt(r.kb_per_idle_socket, 1)} KB each"
            )
        if not math.isnan(_sat(r, "redis_cpu_us")):
            parts.append(
                f"Redis server CPU {fmt(_sat(r, 'redis_cpu_us'), 0)} µs/msg (not in the server column)"
            )
        if r.light_latencies:
            parts.append(
                f"light max {fmt(max(r.light_latencies) * 1000, 0)} ms, "
                f"{sum(1 for v in r.light_latencies if v > 0.05)} of {len(r.light_latencies)} over 50 ms"
            )
        gc_pauses = (r.profile or {}).get("gc") or []
        if gc_pauses:
            full = [ms for _t, generation, ms in gc_pauses if generation == 2]
            in_light = [
                ms
                for at, generation, ms in gc_pauses
                if generation == 2 and r.light_window[0] <= at <= r.light_window[1]
            ]
            parts.append(
                f"worker GC: {len(full)} full collections over its life, median "
                f"{fmt(statistics.median(full) if full else math.nan, 0)} ms, max "
                f"{fmt(max(full, default=math.nan), 0)} ms, {len(in_light)} during the light phase "
                f"(max {fmt(max(in_light, default=math.nan), 0)} ms); "
                f"{r.profile.get('gc_objects', 0):,} objects tracked"
            )
        if r.reordered:
            parts.append(f"{r.reordered} out of order")
        if r.written_off:
            parts.append(f"{r.written_off} written off after {WRITE_OFF_SECONDS:.0f} s")
        if r.send_failures:
            parts.append(f"{r.send_failures} sends on a closed socket")
        if r.connect_errors:
            parts.append("connect errors: " + "; ".join(f"{n} × {e}" for e, n in r.connect_errors.items()))
        if r.mid_run:
            parts.append("during traffic: " + ", ".join(f"{n} × {e}" for e, n in r.mid_run.items()))
        parts += r.notes
        errors = r.server_errors
        if errors:
            parts.append("server log: " + "; ".join(f"{n} × `{e}`" for e, n in errors.most_common(3)))
        lines.append(f"- {r.mode}, {r.rooms} rooms, round {r.round + 1}: " + ", ".join(parts))
    return lines


def _paired(results: list[LevelResult], runs: list[LevelResult], against: str) -> str:
    """Ratios of `runs` to the `against` mode's level of the same room count and round, as
    "msgs/s / CPU per msg / KB per socket" medians (min–max); "–" when it did not run."""
    by_key = {(r.mode, r.rooms, r.round): r for r in results}
    ratios = []
    for r in runs:
        base = by_key.get((against, r.rooms, r.round))
        if base is not None:
            ratios.append(
                (
                    _sat(r, "rate") / _sat(base, "rate"),
                    _sat(r, "cpu_us") / _sat(base, "cpu_us"),
                    r.kb_per_socket / base.kb_per_socket,
                )
            )
    return " / ".join(_median_range([p[i] for p in ratios], 2) for i in range(3)) if ratios else "–"


def comparison(results: list[LevelResult]) -> str:
    """Paired per round against this run's PeerJS server and naive relay; against PERFORMANCE.md's
    500-room PeerJS row when PeerJS did not run here."""
    measured_peerjs = any(r.mode == "peerjs" for r in results)
    peer_rate, peer_cpu, peer_kb = REFERENCE["PeerJS server (Node.js)"]
    rows = []
    for (mode, rooms), runs in _groups(results).items():
        row = [mode, rooms, _paired(results, runs, "peerjs"), _paired(results, runs, "baseline")]
        if not measured_peerjs:
            rate = statistics.median([_sat(r, "rate") for r in runs])
            cpu = statistics.median([_sat(r, "cpu_us") for r in runs])
            kb = statistics.median([r.kb_per_socket for r in runs])
            row.append(f"{fmt(rate / peer_rate, 2)} / {fmt(cpu / peer_cpu, 2)} / {fmt(kb / peer_kb, 2)}")
        rows.append(row)
    header = [
        "mode",
        "rooms",
        "vs PeerJS, same round (msgs/s / CPU per msg / KB per socket)",
        "vs the naive relay, same round",
    ]
    if not measured_peerjs:
        header.append("vs PERFORMANCE.md's PeerJS row (another run)")
    return markdown_table(header, rows, align="lr" + "r" * (len(header) - 2))


def json_rows(results: list[LevelResult]) -> list[dict]:
    """`--json`: one object per mode and room count (medians over rounds, latencies pooled)."""
    rows = []
    for (mode, rooms), runs in _groups(results).items():
        light = [v for r in runs for v in r.light_latencies]
        saturated = [v for r in runs for v in (r.saturation or {}).get("latencies", [])]

        def median(values):
            values = [v for v in values if not math.isnan(v)]
            return round(statistics.median(values), 3) if values else None

        def ms(values, q):
            return round(_ms(values, q), 3) if values else None

        rows.append(
            {
                "mode": mode,
                "rooms": rooms,
                "rounds": len(runs),
                "sockets": min(r.sockets for r in runs),
                "msgs_per_s": median([_sat(r, "rate") for r in runs]),
                "cpu_us_per_msg": median([_sat(r, "cpu_us") for r in runs]),
                "kb_per_socket": median([r.kb_per_socket for r in runs]),
                "latency_ms_light": {"p50": ms(light, 50), "p99": ms(light, 99)},
                "latency_ms_saturation": {"p50": ms(saturated, 50), "p99": ms(saturated, 99)},
                "idle_sockets": min(r.idle_sockets for r in runs),
                "kb_per_idle_socket": median([r.kb_per_idle_socket for r in runs]),
                "sent": sum(r.sent for r in runs),
                "lost": sum(r.sent - r.received for r in runs),
                "redis_cpu_us_per_msg": median([_sat(r, "redis_cpu_us") for r in runs]),
            }
        )
    return rows


# "path:qualified name" (or "package/" for a whole package): its inclusive share of the worker's
# CPU samples, shown in the report with the label; leading spaces nest the labels.
PROFILE_KEYS = [
    ("flask_socketio/__init__.py:SocketIO._handle_event", "Flask-SocketIO: one event, everything below"),
    ("flask/app.py:Flask.request_context", "  build the request context (environ → Request)"),
    ("flask/ctx.py:RequestContext.push", "  push it"),
    (
        "flask/ctx.py:RequestContext.match_request",
        "    URL matching (a NotFound for /socket.io/, every event)",
    ),
    ("flask/sessions.py:SecureCookieSessionInterface.open_session", "    open the session (cookie decode)"),
    ("flask/ctx.py:RequestContext.pop", "  pop it (teardown: db.session.remove, signals)"),
    ("app/call/events.py:CallNamespace.relay_signal", "`relay_signal` (no request context)"),
    (
        "app/call/events.py:CallNamespace._checked_sender",
        "    `_checked_sender` (lookup, token bucket, json.dumps size)",
    ),
    ("app/call/events.py:valid_signal", "    `valid_signal` (shape)"),
    ("flask_socketio/namespace.py:Namespace.emit", "    `self.emit(...)` to the peer"),
    ("benchmarks/signaling.py:_naive_relay_app.<locals>.relay", "  the naive relay's handler"),
    ("flask_socketio/__init__.py:SocketIO.emit", "  Flask-SocketIO emit"),
    ("socketio/packet.py:Packet.encode", "    Socket.IO packet encode (json.dumps)"),
    ("socketio/packet.py:Packet.decode", "Socket.IO packet decode (json.loads)"),
    ("socketio/packet.py:Packet.data_is_binary", "  binary-attachment scan (in encode and decode)"),
    (
        "engineio/socket.py:Socket._websocket_handler.<locals>.writer",
        "Engine.IO writer greenlet (frames out)",
    ),
    ("simple_websocket/ws.py:Base._thread", "simple-websocket reader greenlet (frames in)"),
    ("wsproto/", "wsproto, the pure-Python WebSocket protocol (in and out)"),
    # the candidate relay (benchmarks/relay_asyncio.py, asyncio mode)
    ("socketio/async_server.py:AsyncServer._handle_eio_message", "python-socketio (async): one message in"),
    ("benchmarks/relay_asyncio.py:build_relay.<locals>.relay_signal", "  the candidate's `signal` handler"),
    ("socketio/async_server.py:AsyncServer.emit", "    emit to the room (skipping the sender)"),
    (
        "engineio/async_socket.py:AsyncSocket._websocket_handler.<locals>.websocket_wait",
        "Engine.IO: read a frame",
    ),
    (
        "engineio/async_socket.py:AsyncSocket._websocket_handler.<locals>.writer",
        "Engine.IO writer task (frames out)",
    ),
    ("engineio/async_drivers/asgi.py:WebSocket.send", "  ASGI websocket send"),
    ("websockets/", "websockets library (uvicorn's WebSocket protocol)"),
    ("uvicorn/", "uvicorn"),
    ("aiohttp/", "aiohttp"),
    ("itsdangerous/", "itsdangerous (signed cookie)"),
    ("json/", "json (stdlib), anywhere"),
    ("gevent/_socketcommon.py:SocketMixin.send", "gevent socket send (the syscall)"),
    ("gevent/_socketcommon.py:SocketMixin.recv", "gevent socket recv (the syscall)"),
    ("gevent/hub.py:Hub.run", "gevent hub (event loop, polling)"),
    (
        "benchmarks/signaling.py:_start_sampler.<locals>.on_gc",
        "garbage collection (lands on the gc callback)",
    ),
]


def profile_report(result: LevelResult, top: int = 15) -> str:
    profile = result.profile
    leaf, inclusive = Counter(profile["leaf"]), Counter(profile["inclusive"])
    total = max(1, profile["samples"])
    sat = result.saturation or {}
    lines = [
        f"### profile: {result.mode}, {result.rooms} rooms ({profile['samples']} samples of 1 ms CPU, "
        f"in an extra saturation phase)\n"
    ]
    packages = Counter()
    for name, n in leaf.items():
        path = name.split(":", 1)[0]
        packages[path.split("/", 1)[0] if "/" in path else path] += n
    lines.append(
        "self time by package: "
        + ", ".join(f"{package} {100 * n / total:.0f} %" for package, n in packages.most_common(12))
        + "\n"
    )
    package_counts = Counter(profile.get("packages", {}))
    package_counts["json/"] = sum(
        n for name, n in inclusive.items() if name.startswith("stdlib/json/__init__.py:")
    )
    rows = []
    for key, label in PROFILE_KEYS:
        if key.endswith("/"):
            n = package_counts.get(key, 0) or package_counts.get(key[:-1], 0)
        else:
            n = inclusive.get(key, 0)
        if n:
            depth = (len(label) - len(label.lstrip())) // 2
            rows.append(
                [
                    "· " * depth + label.lstrip(),
                    f"{100 * n / total:.1f}",
                    fmt(sat.get("cpu_us", math.nan) * n / total, 0),
                ]
            )
    lines.append(
        markdown_table(["where (inclusive)", "% of worker CPU", "≈ µs per message"], rows, align="lrr")
    )
    lines.append("")
    lines.append(
        markdown_table(
            ["self (leaf) function", "% of worker CPU"],
            [[f"`{name}`", f"{100 * n / total:.1f}"] for name, n in leaf.most_common(top)],
        )
    )
    return "\n".join(lines)


# =================================================================================================


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve-threading", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=MODES)
    parser.add_argument("--rooms", type=int, nargs="*", default=[10, 100, 500])
    parser.add_argument("--light-rate", type=float, default=100, help="total messages/s, light load")
    parser.add_argument("--light-seconds", type=float, default=10)
    parser.add_argument("--saturation-seconds", type=float, default=15)
    parser.add_argument(
        "--inflight",
        type=int,
        default=64,
        help="saturation: messages in flight in total (at least one per socket)",
    )
    parser.add_argument("--drain-seconds", type=float, default=10)
    parser.add_argument("--sdp-every", type=int, default=8, help="every n-th message is a 4 KB SDP")
    parser.add_argument("--connect-concurrency", type=int, default=16)
    parser.add_argument("--connect-seconds", type=float, default=180, help="cap for connecting a level")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate, as browsers do")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="gevent/baseline, first round: an extra, uncounted saturation phase with a sampling profiler",
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole plan, modes interleaved")
    parser.add_argument("--json", metavar="FILE", help="also write one object per mode and room count")
    parser.add_argument(
        "--relay-server",
        choices=("aiohttp", "uvicorn"),
        default="aiohttp",
        help="asyncio/asyncio2: the server under the python-socketio AsyncServer ",
    )
    parser.add_argument(
        "--gc-threshold",
        type=int,
        metavar="N",
        help="gevent, gevent2, baseline, asyncio: the servers' young-generation GC threshold "
        "(gc.set_threshold(N, ...); Python's default is 700, wsgi.py's and the asyncio relay's 50,000)",
    )
    parser.add_argument(
        "--placement",
        choices=("split", "together"),
        default="split",
        help="gevent2/asyncio2: every citizen on the first process and every clerk on the second "
        "(split, the worst case), or both sides of each call on one process (together)",
    )
    parser.add_argument(
        "--redis-db",
        type=int,
        default=13,
        help="gevent2/asyncio2: the Redis database (on 127.0.0.1:6379) of their message queue; flushed",
    )
    parser.add_argument(
        "--idle-sockets",
        type=int,
        default=0,
        metavar="N",
        help="after the rooms, N citizens sit in waiting rooms (connected, silent) through the traffic",
    )
    args = parser.parse_args()
    if args.serve_threading:
        serve_threading(args.serve_threading)
        return

    # One descriptor per client socket here and one per socket in the server (which inherits the
    # limit), plus files, database and Redis connections.
    needed = 2 * max(args.rooms) + args.idle_sockets + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, needed, 8192)), hard))
    if hard < needed:
        print(f"warning: open files limited to {hard} (`ulimit -Hn`), {needed} needed", file=sys.stderr)

    print_header(__doc__.splitlines()[0])
    print(
        f"database: {args.db}; payloads: {CANDIDATE_BYTES} B candidates, {SDP_BYTES} B SDP every "
        f"{args.sdp_every}th message; permessage-deflate {'offered' if args.deflate else 'not offered'}; "
        f"CALL_SIGNAL_RATE = CALL_SIGNAL_BURST = {SIGNAL_LIMIT}; RATELIMIT_ENABLED=false\n",
        flush=True,
    )
    results: list[LevelResult] = []
    with tempfile.TemporaryDirectory(prefix="ventanilla-signaling-") as tmp_name:
        tmp = Path(tmp_name)
        if args.db == "postgres":
            database = fresh_postgres_database()
            url = database.__enter__()
        else:
            database, url = None, f"sqlite:///{tmp / 'bench.sqlite3'}"
        try:
            setup = prepare_database(url, tmp, max(args.rooms) + 1, args.idle_sockets)
            for round_number in range(args.rounds):
                for rooms in args.rooms:
                    for mode in args.modes:
                        print(
                            f"round {round_number + 1}/{args.rounds}: {mode}, {rooms} rooms…",
                            file=sys.stderr,
                            flush=True,
                        )
                        results.append(
                            run_one(
                                mode,
                                rooms,
                                round_number,
                                setup,
                                tmp,
                                args,
                                profile=args.profile and round_number == 0,
                            )
                        )
                        r = results[-1]
                        print(
                            f"  {r.sockets} sockets, "
                            f"{fmt((r.saturation or {}).get('rate', math.nan), 0)} msgs/s, "
                            f"lost {r.sent - r.received}",
                            file=sys.stderr,
                            flush=True,
                        )
        finally:
            if database is not None:
                database.__exit__(None, None, None)

    print(
        f"Light load: {args.light_rate:.0f} msgs/s in total for {args.light_seconds:.0f} s. Saturation: "
        f"closed loop, {RAMP_SECONDS:.0f} s ramp then {args.saturation_seconds:.0f} s measured. Latency: "
        f"one way, sender to receiver through the server. CPU: server processes' user+system from /proc "
        f"per message delivered at saturation (client: this process). KB per socket: (RSS with N "
        f"sockets − RSS with 0) / sockets.\n"
    )
    print(results_table(results))
    print()
    for line in details(results):
        print(line)
    print("\n## Ratios (msgs/s, CPU per message, KB per socket; > 1 means more)\n")
    print(comparison(results))
    for result in results:
        if result.profile:
            print()
            print(profile_report(result))
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nload average at the end: {load}")
    if args.json:
        Path(args.json).write_text(json.dumps(json_rows(results), indent=2) + "\n")


if __name__ == "__main__":
    main()
