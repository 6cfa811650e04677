"""The production path without Docker: gunicorn + gevent, boot.sh, and the SECRET_KEY guard.

Each test starts real processes from the project root with a production environment pointing at a
throwaway SQLite database under tmp_path. Self-contained on purpose: no conftest fixtures.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's flask, gunicorn, python live next to it
STARTUP_SECONDS = 20

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _production_env(tmp_path: Path, port: int) -> dict[str, str]:
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


class Server:
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
            time.sleep(0.2)
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


def _run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _assert_html_home(server: Server) -> None:
    response = requests.get(f"{server.base_url}/", timeout=5)
    assert response.status_code == 200, f"GET / -> {response.status_code}{server.logs()}"
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html" in response.text.lower()


def test_gunicorn_gevent_serves_pages_and_socketio(tmp_path):
    port = _free_port()
    env = _production_env(tmp_path, port)
    upgrade = _run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env)
    assert upgrade.returncode == 0, f"db upgrade failed:\n{upgrade.stdout}\n{upgrade.stderr}"

    server = Server([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], env, tmp_path, port)
    try:
        health = server.wait_healthy()
        assert health.json() == {"status": "ok", "database": "ok"}, server.logs()
        _assert_html_home(server)

        client = socketio.Client(reconnection=False)
        try:
            client.connect(server.base_url, transports=["websocket"], wait_timeout=10)
            assert client.connected, server.logs()
            assert client.transport() == "websocket"
            assert client.get_sid("/") is not None
        except socketio.exceptions.ConnectionError as error:
            raise AssertionError(f"Socket.IO connect failed: {error!r}{server.logs()}") from error
        finally:
            client.disconnect()

        # Really the gevent worker (gunicorn.conf.py), not a sync fallback.
        assert "Using worker: gevent" in server.stderr_path.read_text(errors="replace"), server.logs()
    finally:
        server.stop()


def test_boot_script_migrates_then_serves(tmp_path):
    port = _free_port()
    env = _production_env(tmp_path, port)
    assert not (tmp_path / "db.sqlite3").exists()

    server = Server(["./boot.sh"], env, tmp_path, port)
    try:
        health = server.wait_healthy()
        assert health.json() == {"status": "ok", "database": "ok"}, server.logs()
        _assert_html_home(server)  # the home page queries the tables: the migration ran
    finally:
        server.stop()


def test_production_refuses_to_start_without_secret_key(tmp_path):
    env = _production_env(tmp_path, _free_port())
    del env["SECRET_KEY"]
    result = _run([sys.executable, "-c", "from app import create_app; create_app()"], env)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "SECRET_KEY" in result.stderr, result.stderr


def test_production_refuses_to_start_without_public_base_url(tmp_path):
    """E-mailed links must not follow the Host header of whoever made the request."""
    env = _production_env(tmp_path, _free_port())
    del env["PUBLIC_BASE_URL"]
    result = _run([sys.executable, "-c", "from app import create_app; create_app()"], env)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "PUBLIC_BASE_URL" in result.stderr, result.stderr
