"""Servers for tests: the app in a thread on a free port, and production processes (gunicorn, boot.sh).

The in-process live server shares the test's clock (tests that use one let it tick). Production
processes are children: they always run on the real clock, whatever the test clock says.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
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
        self.port = port
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

    def wait_healthy(self, timeout: float = STARTUP_SECONDS) -> requests.Response:
        """Poll /healthz until it answers 200, the process dies, or `timeout` seconds run out."""
        deadline = time.monotonic() + timeout
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
        raise AssertionError(f"/healthz not healthy after {timeout}s: {last}{self.logs()}")

    def stop(self) -> None:
        stop_process_group(self.proc, timeout=8)


def stop_process_group(proc: subprocess.Popen, timeout: float = 10, how: int = signal.SIGTERM) -> None:
    """Stop a child started in its own session: `how` to its process group (SIGQUIT to the leader
    alone for nginx's graceful stop), then SIGKILL to the group after `timeout` seconds."""
    if proc.poll() is not None:
        return
    try:
        if how == signal.SIGQUIT:
            proc.send_signal(how)
        else:
            os.killpg(proc.pid, how)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a command from the project root and capture its output."""
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def program(name: str, path: str) -> str:
    """`path` when that program (or package file) is installed; otherwise skip (a laptop) or fail (CI,
    which installs it)."""
    import pytest

    if os.access(path, os.X_OK) or (path.endswith(".so") and os.path.exists(path)):
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
        """Until coturn answers a STUN Binding request on its port: a bound socket alone could be
        another process's that took the port between `free_udp_port()` and coturn's start."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"turnserver exited: {self.logs()}")
            if stun_answers("127.0.0.1", self.port):
                return
            time.sleep(0.1)  # the poll interval of a deadline-bound wait
        raise AssertionError(f"turnserver not answering STUN after {STARTUP_SECONDS}s: {self.logs()}")

    def logs(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-6000:]

    def stop(self) -> None:
        stop_process_group(self.proc)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stun_answers(host: str, port: int, wait: float = 0.5) -> bool:
    """Whether a STUN server at host:port answers a Binding request (RFC 5389) within `wait`
    seconds with a Binding success response to the same transaction."""
    transaction = os.urandom(12)
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(wait)
        try:
            sock.sendto(request, (host, port))
            answer = sock.recv(2048)
        except OSError:  # nothing there yet: a timeout, or ICMP port unreachable
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == transaction


# --- nginx ---------------------------------------------------------------------------------------

NGINX = "/usr/sbin/nginx"
DEPLOY = ROOT / "deploy"


def self_signed_certificate(folder: Path) -> Path:
    """A certificate for 127.0.0.1 in `folder`/fullchain.pem, its key in privkey.pem; the certificate."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem")],
        check=True,
        capture_output=True,
    )
    return folder / "fullchain.pem"


def _swap(text: str, old: str, new: str) -> str:
    """`text` with `old` replaced; fails when `old` is not there (the deployed file changed shape)."""
    assert old in text, f"deploy/nginx: {old!r} not found; update tests/support/servers.py"
    return text.replace(old, new)


class Nginx:
    """deploy/nginx.conf itself, run in `folder` in the foreground, with this machine's ports and paths:
    the HTTPS server in front of every upstream (as deployed) on `https_port`, and one more HTTPS
    server per upstream (`direct_ports[name]`) so that a test can choose the process a browser uses."""

    def __init__(self, folder: Path, upstreams: dict[str, int]):
        self.folder = folder
        self.certificate = self_signed_certificate(folder / "tls")
        self.https_port, self.http_port = free_port(), free_port()
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.direct_ports = {name: free_port() for name in upstreams}
        self.direct_urls = {name: f"https://127.0.0.1:{port}" for name, port in self.direct_ports.items()}
        self.access_log, self.error_log = folder / "access.log", folder / "error.log"
        config = folder / "nginx.conf"
        config.write_text(self._config(upstreams))
        # Debian's modules-enabled/*.conf load "modules/…so", relative to the prefix (-p folder).
        (folder / "modules").symlink_to("/usr/lib/nginx/modules")
        nginx = program("nginx", NGINX)
        program("libnginx-mod-http-brotli-static", "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")
        with open(folder / "nginx.stderr", "wb") as stderr:
            self.proc = subprocess.Popen(
                [nginx, "-p", str(folder), "-c", str(config), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        self._wait_listening()

    def _config(self, upstreams: dict[str, int]) -> str:
        folder = self.folder
        text = (DEPLOY / "nginx.conf").read_text()
        (first, first_port), (second, second_port) = list(upstreams.items())[:2]
        for old, new in [
            ("user www-data;", "user root;"),  # the test's files are root's
            ("pid /run/nginx.pid;", f"pid {folder}/nginx.pid;"),
            ("/var/log/nginx/", f"{folder}/"),
            ("server app1:8000", f"server 127.0.0.1:{first_port}"),
            ("server app2:8000", f"server 127.0.0.1:{second_port}"),
            ("listen 80;", f"listen 127.0.0.1:{self.http_port};"),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
            ("/etc/nginx/tls/", f"{folder}/tls/"),
            ("/etc/nginx/ventanilla/", f"{DEPLOY}/nginx/"),
            ("root /srv/ventanilla;", f"root {ROOT}/app;"),
            ("http {\n", "http {\n" + "".join(f"    {kind}_temp_path {folder}/{kind};\n" for kind in _TEMP)),
        ]:
            text = _swap(text, old, new)
        locations = (DEPLOY / "nginx" / "ventanilla-locations.conf").read_text()
        servers = []
        for name, port in upstreams.items():
            (folder / f"locations-{name}.conf").write_text(
                _swap(locations, "proxy_pass http://ventanilla;", f"proxy_pass http://ventanilla_{name};")
            )
            servers.append(
                f"    upstream ventanilla_{name} {{ server 127.0.0.1:{port}; keepalive 8; }}\n"
                f"    server {{\n        listen 127.0.0.1:{self.direct_ports[name]} ssl;\n"
                f"        ssl_certificate {folder}/tls/fullchain.pem;\n"
                f"        ssl_certificate_key {folder}/tls/privkey.pem;\n"
                f"        root {ROOT}/app;\n        include {folder}/locations-{name}.conf;\n    }}\n"
            )
        head, tail = text.rsplit("}", 1)
        return head + "".join(servers) + "}" + tail

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited: {self.logs()}")
            try:
                requests.get(f"{self.url}/healthz", verify=str(self.certificate), timeout=2)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)  # the poll interval of a deadline-bound wait
        raise AssertionError(f"nginx not answering after {STARTUP_SECONDS}s: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}:\n{path.read_text(errors='replace')[-4000:]}"
            for path in (self.folder / "nginx.stderr", self.error_log, self.access_log)
            if path.exists()
        )

    def stop(self) -> None:
        stop_process_group(self.proc, how=signal.SIGQUIT)  # graceful: finish the requests in flight


_TEMP = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


# --- Several production processes on one PostgreSQL and one Redis ---------------------------------


@contextlib.contextmanager
def shared_processes(names, pg_url: str, queue_url: str, tmp_path: Path, **settings):
    """Production gunicorn processes (one per name) sharing the PostgreSQL database at `pg_url` (emptied,
    migrated and seeded with the demo data first, emptied again after) and the Redis at `queue_url`
    (the Socket.IO message queue, flushed before and after). Yields ({name: server}, staff passwords)."""
    import redis
    import sqlalchemy as sa

    def empty_database():
        engine = sa.create_engine(pg_url)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()

    redis.Redis.from_url(queue_url).flushdb()
    empty_database()
    servers: dict[str, ProductionServer] = {}
    try:
        credentials = {}
        for name in names:
            folder = tmp_path / name
            folder.mkdir()
            port = free_port()
            env = production_env(folder, port)
            env.update(
                DATABASE_URL=pg_url,
                SOCKETIO_MESSAGE_QUEUE=queue_url,
                REDIS_URL=queue_url,
                RATELIMIT_ENABLED="false",
                SECRET_KEY="shared-secret-key-of-every-process",
                **settings,
            )
            if not credentials:
                # Seeding hashes passwords with argon2: minutes on a machine shared by several runs.
                for command in (["db", "upgrade"], ["seed-demo"]):
                    result = run([str(BIN / "flask"), "--app", "wsgi", *command], env, timeout=240)
                    assert result.returncode == 0, result.stdout + result.stderr
                credentials = {
                    line.split()[1]: line.split()[2]
                    for line in result.stdout.splitlines()
                    if ".demo.ventanilla.pr" in line
                }
            servers[name] = ProductionServer(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], env, folder, port
            )
        for server in servers.values():
            server.wait_healthy(timeout=60)  # two processes starting at once on a busy machine
        yield servers, credentials
    finally:
        for server in servers.values():
            server.stop()
        empty_database()
        redis.Redis.from_url(queue_url).flushdb()
