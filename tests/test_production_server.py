"""The production path without Docker: gunicorn + gevent, boot.sh, and the SECRET_KEY guard.

Each test starts real processes from the project root with a production environment pointing at a
throwaway SQLite database under tmp_path (tests/support/servers.py). No conftest fixtures but the
clock's: the children run on the real clock whatever the test clock says, and nothing here books
or checks a window, so these tests leave the clock alone (`real_clock`).
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import socketio

from tests.support import pdf_factory
from tests.support.booking import availability_query
from tests.support.raw_sockets import RawSocket
from tests.support.servers import BIN, ProductionServer, free_port, production_env, run

pytestmark = pytest.mark.real_clock


def _assert_html_home(server: ProductionServer) -> None:
    response = requests.get(f"{server.base_url}/", timeout=5)
    assert response.status_code == 200, f"GET / -> {response.status_code}{server.logs()}"
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html" in response.text.lower()
    # The Server header names no version an attacker could look up.
    assert not any(c.isdigit() for c in response.headers.get("Server", "")), response.headers["Server"]


def test_gunicorn_gevent_serves_pages_and_socketio(tmp_path):
    port = free_port()
    env = production_env(tmp_path, port)
    upgrade = run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env)
    assert upgrade.returncode == 0, f"db upgrade failed:\n{upgrade.stdout}\n{upgrade.stderr}"

    server = ProductionServer(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], env, tmp_path, port
    )
    try:
        health = server.wait_healthy()
        assert health.json() == {"status": "ok", "database": "ok"}, server.logs()
        _assert_html_home(server)

        # Socket.IO answers over a WebSocket: the default namespace is not one of the app's.
        client = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError, match="failed to connect"):
            client.connect(server.base_url, transports=["websocket"], wait_timeout=10)

        # Really the gevent worker (gunicorn.conf.py), not a sync fallback.
        assert "Using worker: gevent" in server.stderr_path.read_text(errors="replace"), server.logs()
    finally:
        server.stop()


def test_boot_script_migrates_then_serves(tmp_path):
    port = free_port()
    env = production_env(tmp_path, port)
    assert not (tmp_path / "db.sqlite3").exists()

    server = ProductionServer(["./boot.sh"], env, tmp_path, port)
    try:
        health = server.wait_healthy()
        assert health.json() == {"status": "ok", "database": "ok"}, server.logs()
        _assert_html_home(server)  # the home page queries the tables: the migration ran
    finally:
        server.stop()


def test_production_refuses_to_start_without_secret_key(tmp_path):
    env = production_env(tmp_path, free_port())
    del env["SECRET_KEY"]
    result = run([sys.executable, "-c", "from app import create_app; create_app()"], env)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "SECRET_KEY" in result.stderr, result.stderr


def test_production_refuses_to_start_without_public_base_url(tmp_path):
    """E-mailed links must not follow the Host header of whoever made the request."""
    env = production_env(tmp_path, free_port())
    del env["PUBLIC_BASE_URL"]
    result = run([sys.executable, "-c", "from app import create_app; create_app()"], env)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "PUBLIC_BASE_URL" in result.stderr, result.stderr


def test_one_flooding_socket_does_not_stop_the_worker(tmp_path):
    """Issue 9, item 1: a socket sending events as fast as it can kept the gevent worker from
    answering /healthz for 34 s, and gunicorn killed it with every call on it. Now the socket is
    cut off and pages keep being served (the 20 s bound only catches the hang, it times nothing)."""
    port = free_port()
    env = production_env(tmp_path, port)
    server = ProductionServer(["./boot.sh"], env, tmp_path, port)
    try:
        server.wait_healthy()
        raw = RawSocket(server.base_url)
        raw.send("0")  # join the default namespace (it used to be open to anyone), then flood it
        flooding = threading.Thread(target=raw.flood, args=('2["signal",{"candidate":null}]', 200_000))
        flooding.start()
        for _ in range(5):
            assert requests.get(f"{server.base_url}/healthz", timeout=20).status_code == 200, server.logs()
        assert raw.closed_by_server(), server.logs()
        flooding.join(timeout=60)
        assert "WORKER TIMEOUT" not in server.stderr_path.read_text(errors="replace"), server.logs()
    finally:
        server.stop()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_gunicorn_gevent_checks_uploads_with_a_pool_of_checkers(tmp_path):
    port = free_port()
    env = production_env(tmp_path, port)
    env["PROOF_OF_WORK"] = "false"  # on in production; this test books through the API without a browser
    for command in (["db", "upgrade"], ["seed-demo"]):
        done = run([str(BIN / "flask"), "--app", "wsgi", *command], env)
        assert done.returncode == 0, f"{command} failed:\n{done.stderr[-2000:]}"
    server = ProductionServer(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], env, tmp_path, port
    )
    try:
        server.wait_healthy()
        (worker,) = _children(server.proc.pid)
        assert _children(worker) == []  # nothing started before the first PDF
        service = "certificacion-individuo"
        days = requests.get(
            f"{server.base_url}/api/v1/services/{service}/availability",
            params=availability_query(days=14),
            timeout=10,
        ).json()["days"]
        start = next(day["slots"][0]["start"] for day in days if day["slots"])

        def book(pdf: bytes, email: str) -> requests.Response:
            form = {"service": service, "start": start, "name": "Ana Rivera", "email": email}
            form.update(phone="787-555-0100", licence_number="1234567")
            files = {"licence_front": ("licencia.pdf", pdf, "application/pdf")}
            return requests.post(f"{server.base_url}/api/v1/appointments", data=form, files=files, timeout=30)

        hostile = pdf_factory.javascript_open_action()
        with ThreadPoolExecutor(6) as clients:
            refused = list(clients.map(book, [hostile] * 6, [f"ana{n}@example.com" for n in range(6)]))
        assert [r.status_code for r in refused] == [422] * 6, server.logs()
        assert all("JavaScript" in r.json()["fields"]["licence_front"] for r in refused)
        checkers = _children(worker)
        assert len(checkers) == 2, checkers  # PDF_CHECK_CONCURRENCY, reused by all six
        booked = book(pdf_factory.one_page(), "rosa@example.com")
        assert booked.status_code == 201, booked.text[:500]
        assert sorted(_children(worker)) == sorted(checkers)
    finally:
        server.stop()
