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
