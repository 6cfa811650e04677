"""Servers for tests: the app in a thread on a free port, and production processes (gunicorn, boot.sh).

The in-process live server shares the test's clock (tests that use one let it tick). Production
processes are children: they always run on the real clock, whatever the test clock says.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent  # the venv's flask, gunicorn, python live next to it
STARTUP_SECONDS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- In-process live server ---------------------------------------------------------------------


@dataclass
class LiveServer:
    app: object
    url: str
    _server: object
    _thread: threading.Thread

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=10)


def start_live_server(app) -> LiveServer:
    """Serve `app` (pages, API and Socket.IO, threading mode) from a thread on a free port."""
    assert app.config["SOCKETIO_ASYNC_MODE"] == "threading", "in-process live server runs threading mode"
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"live-server-{port}", daemon=True)
    thread.start()
    return LiveServer(app=app, url=f"http://127.0.0.1:{port}", _server=server, _thread=thread)


# --- Production processes -----------------------------------------------------------------------

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
)


def production_env(tmp_path: Path, port: int) -> dict[str, str]:
    """The environment of a production process on `port`, with a throwaway SQLite database."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    instance = tmp_path / "instance"
    env.update(
        VENTANILLA_ENV="production",
        SECRET_KEY="test-secret-key-for-production-server-tests",
        SESSION_COOKIE_SECURE="false",
        INSTANCE_DIR=str(instance),
        UPLOAD_DIR=str(instance / "uploads"),
        OUTBOX_DIR=str(instance / "outbox"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        BIND=f"127.0.0.1:{port}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        GUNICORN_GRACEFUL_TIMEOUT="3",  # quick teardown
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # boot.sh calls flask/gunicorn by name
        PYTHONUNBUFFERED="1",
    )
    return env


class ProductionServer:
    """A server process started in its own session, with output captured in files."""

    def __init__(self, args: list[str], env: dict[str, str], tmp_path: Path, port: int):
        self.base_url = f"http://127.0.0.1:{port}"
        self.stdout_path = tmp_path / "server.stdout"
        self.stderr_path = tmp_path / "server.stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group: the workers go down with it
            )

    def logs(self) -> str:
        def tail(path: Path) -> str:
            text = path.read_text(errors="replace") if path.exists() else ""
            return text[-6000:]

        return (
            f"\n--- server exit code: {self.proc.poll()}\n--- stderr:\n{tail(self.stderr_path)}"
            f"\n--- stdout:\n{tail(self.stdout_path)}"
        )

    def wait_healthy(self) -> requests.Response:
        """Poll /healthz until it answers 200, the process dies, or time runs out."""
        deadline = time.monotonic() + STARTUP_SECONDS
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited before it was healthy{self.logs()}")
            try:
                response = requests.get(f"{self.base_url}/healthz", timeout=2)
            except (requests.ConnectionError, requests.Timeout) as error:
                last = repr(error)
            else:
                if response.status_code == 200:
                    return response
                last = f"{response.status_code} {response.text[:200]}"
            time.sleep(0.2)  # the poll interval of a deadline-bound wait
        raise AssertionError(f"/healthz not healthy after {STARTUP_SECONDS}s: {last}{self.logs()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a command from the project root and capture its output."""
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def program(name: str, path: str) -> str:
    """`path` when that program is installed; otherwise skip (a laptop) or fail (CI, which installs it)."""
    import pytest

    if os.access(path, os.X_OK):
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required in CI: {path} is missing (.ci/run installs it)", pytrace=False)
    pytest.skip(f"{name} not available: {path} is missing (apt-get install {name})")


# --- coturn --------------------------------------------------------------------------------------

TURNSERVER = "/usr/bin/turnserver"


class TurnServer:
    """coturn on loopback with the shared-secret scheme the app mints credentials for (use-auth-secret),
    its configuration, database and log in `folder`; a child process, stopped by `stop()`."""

    def __init__(self, folder: Path, secret: str, realm: str = "ventanilla.test"):
        self.port = free_udp_port()
        self.url = f"turn:127.0.0.1:{self.port}?transport=udp"
        self.log_path = folder / "turnserver.log"
        relay_low = 40000 + (self.port % 200) * 100  # a relay port range of its own, away from others
        self.relay_ports = range(relay_low, relay_low + 100)
        config = folder / "turnserver.conf"
        config.write_text(
            "\n".join(
                [
                    "listening-ip=127.0.0.1",
                    "relay-ip=127.0.0.1",
                    f"listening-port={self.port}",
                    f"min-port={relay_low}",
                    f"max-port={relay_low + 99}",
                    "use-auth-secret",
                    f"static-auth-secret={secret}",
                    f"realm={realm}",
                    "fingerprint",
                    # Both browsers and the relays are on this machine: allow relaying between them.
                    "allow-loopback-peers",
                    "no-multicast-peers",
                    "no-tls",
                    "no-dtls",
                    "no-tcp-relay",
                    "no-cli",
                    f"userdb={folder / 'turndb'}",
                    f"pidfile={folder / 'turnserver.pid'}",
                    f"log-file={self.log_path}",
                    "simple-log",
                    "verbose",
                ]
            )
            + "\n"
        )
        self.proc = subprocess.Popen(
            [program("coturn", TURNSERVER), "-c", str(config), "--no-stdout-log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"turnserver exited: {self.logs()}")
            if f"127.0.0.1:{self.port}" in _udp_listeners():
                return
            time.sleep(0.1)  # the poll interval of a deadline-bound wait
        raise AssertionError(f"turnserver not listening after {STARTUP_SECONDS}s: {self.logs()}")

    def logs(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-6000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _udp_listeners() -> set[str]:
    """The IPv4 UDP sockets bound on this machine, as "address:port" (from /proc/net/udp)."""
    found = set()
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        address, port = line.split()[1].split(":")
        octets = [str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)]
        found.add(f"{'.'.join(octets)}:{int(port, 16)}")
    return found
