"""The proxy proven (issue 13, items 6 and 9): deploy/nginx.conf itself, with TLS, in front of two
production processes (gunicorn + gevent) sharing PostgreSQL and Redis.

- A video call across the two processes, in two real browsers, through nginx: the citizen through the
  deployed HTTPS server (either process), the clerk through a server block that reaches only the
  other one. Then the citizen's process is stopped with SIGTERM, as a deploy does: it hands its
  sockets over and exits well within its graceful timeout, and the citizen's browser reconnects
  through nginx to the process still running, where the call resumes.
- Static files come from nginx (the app processes never see them), compressed, cached for a year
  when their URL carries the file's hash.
- An upload just under MAX_CONTENT_LENGTH reaches the app and books; one byte over is refused by
  nginx with 413 before the app reads anything.
- No log line of nginx or of either process carries a citizen's token.
- Socket.IO beyond nginx's limits per client address (sockets held open, requests a second) is
  refused with 429 before it reaches an app process; another address, and pages, are not.

Child processes on the real clock (`real_clock`): the appointment is placed by it.
"""

from __future__ import annotations

import http.client
import re
import signal
import socket
import ssl
import time
from pathlib import Path

import pytest
import requests
import websocket

from config import Config
from tests.support import pdf_factory
from tests.support.apps import build_app
from tests.support.booking import availability_query
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT, log_in, open_page, wait_for_media
from tests.support.servers import Nginx, shared_processes
from tests.support.signaling import CLERK, make_appointment
from tests.support.waiting import poll

pytestmark = pytest.mark.real_clock

GRACEFUL_TIMEOUT = 30  # seconds the stopped process may take at most; it should need far less
NGINX_CONF = (Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf").read_text()
SOCKETS_PER_ADDRESS = int(re.search(r"^\s*limit_conn ventanilla_sockets (\d+);", NGINX_CONF, re.M).group(1))
SOCKET_REQUEST_BURST = int(re.search(r"zone=ventanilla_socket_requests burst=(\d+)", NGINX_CONF).group(1))
SOCKETS_OPEN = re.compile(r'^ventanilla_sockets_open\{namespace="/call"\} (\d+)', re.MULTILINE)


@pytest.fixture(scope="module")
def stack(pg_url, redis_url, tmp_path_factory):
    """Two app processes (a, b) behind nginx, started once for this module (the call test, which
    stops one of them, comes last); yields (nginx, {name: server}, staff passwords)."""
    tmp_path = tmp_path_factory.mktemp("stack")
    queue = redis_url.rsplit("/", 1)[0] + "/13"
    settings = {
        "PROOF_OF_WORK": "false",  # the upload test books through the API without a browser
        "TRUSTED_PROXY_COUNT": "1",
        "SESSION_COOKIE_SECURE": "true",  # HTTPS through nginx, as deployed
        "GUNICORN_GRACEFUL_TIMEOUT": str(GRACEFUL_TIMEOUT),
        # The upload test sends two 12.6 MB scans (a request just under MAX_CONTENT_LENGTH); the
        # machine is shared, so the checker gets time to spare.
        "PDF_MAX_BYTES": str(13 * 1024 * 1024),
        "PDF_CHECK_TIMEOUT_SECONDS": "60",
        "PDF_CHECK_CPU_SECONDS": "30",
        # The app's own limits per address (app/socket_guard.py) out of reach: here nginx's are tested.
        "SOCKET_UNAUTHENTICATED_PER_ADDRESS": "1000",
        "SOCKET_JOIN_TIMEOUT_SECONDS": "600",
    }
    with shared_processes(("a", "b"), pg_url, queue, tmp_path, **settings) as (servers, credentials):
        nginx = Nginx(tmp_path / "nginx", {name: server.port for name, server in servers.items()})
        try:
            yield nginx, servers, credentials
        finally:
            nginx.stop()


def call_sockets(server) -> int:
    """Socket.IO /call connections open on one process, from its /metrics (this machine may read it)."""
    text = requests.get(f"{server.base_url}/metrics", timeout=10).text
    found = SOCKETS_OPEN.search(text)
    return int(float(found.group(1))) if found else 0


def holder(servers) -> str | None:
    """The name of the one process that holds exactly one /call socket (the citizen's), if any."""
    counts = {name: call_sockets(server) for name, server in servers.items()}
    holding = [name for name, count in counts.items() if count == 1]
    return holding[0] if len(holding) == 1 and sum(counts.values()) == 1 else None


def all_logs(nginx, servers) -> str:
    texts = [
        path.read_text(errors="replace") for path in (nginx.access_log, nginx.error_log) if path.exists()
    ]
    for server in servers.values():
        texts += [
            server.stdout_path.read_text(errors="replace"),
            server.stderr_path.read_text(errors="replace"),
        ]
    return "\n".join(texts)


def test_static_files_come_from_nginx_compressed_and_cached(stack):
    nginx, servers, _ = stack
    home = requests.get(f"{nginx.url}/", verify=str(nginx.certificate), timeout=10)
    assert home.status_code == 200
    hashed = re.search(r'src="(/static/js/[^"]+\?v=[0-9a-f]+)"', home.text) or re.search(
        r'href="(/static/[^"]+\.css\?v=[0-9a-f]+)"', home.text
    )
    assert hashed, home.text[:2000]
    url = nginx.url + hashed.group(1)
    for encoding in ("br", "gzip"):
        response = requests.get(
            url, headers={"Accept-Encoding": encoding}, verify=str(nginx.certificate), timeout=10
        )
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    plain = requests.get(url.split("?")[0], verify=str(nginx.certificate), timeout=10)
    assert plain.headers["Cache-Control"] == "no-cache"  # no hash: revalidated
    for server in servers.values():
        assert "GET /static/" not in server.stdout_path.read_text(), server.logs()


def test_an_upload_just_under_the_limit_passes_and_one_over_gets_413(stack):
    nginx, servers, _ = stack
    limit = Config.MAX_CONTENT_LENGTH
    service = "certificaciones-vehiculos"  # two documents: a licence and a vehicle document
    verify = str(nginx.certificate)
    days = requests.get(
        f"{nginx.url}/api/v1/services/{service}/availability",
        params=availability_query(days=14),
        verify=verify,
        timeout=10,
    ).json()["days"]
    start = next(day["slots"][0]["start"] for day in days if day["slots"])
    form = {"service": service, "start": start, "name": "Ana Rivera", "email": "ana@example.com"}
    form.update(phone="787-555-0100", licence_number="1234567")
    # Two two-page phone scans of 12.6 MB (PDF_MAX_BYTES raised for them): a request just under the limit.
    scan = pdf_factory.scan_10mb(page_count=2, height=1750)
    files = {
        "licence_front": ("licencia.pdf", scan, "application/pdf"),
        "vehicle_document": ("registro.pdf", scan, "application/pdf"),
    }
    body_size = len(requests.Request("POST", nginx.url, data=form, files=files).prepare().body)
    assert limit - 1_500_000 < body_size <= limit, body_size
    booked = requests.post(
        f"{nginx.url}/api/v1/appointments", data=form, files=files, verify=verify, timeout=120
    )
    assert booked.status_code == 201, booked.text[:500]
    manage_token = booked.json()["manage_url"].rsplit("/", 1)[1]

    over = requests.post(
        f"{nginx.url}/api/v1/appointments",
        data=b"x" * (limit + 1),
        headers={"Content-Type": "application/octet-stream"},
        verify=verify,
        timeout=120,
    )
    assert over.status_code == 413
    assert "Archivo demasiado grande" in over.text and "File too large" in over.text
    # nginx refused it: the app logged one booking POST, the one that passed.
    posts = sum(
        server.stdout_path.read_text().count('"POST /api/v1/appointments ') for server in servers.values()
    )
    assert posts == 1

    # The API's appointment URL carries the manage token: no log has it.
    assert requests.get(f"{nginx.url}/api/v1/appointments/{manage_token}", verify=verify, timeout=10).ok
    assert manage_token not in all_logs(nginx, servers)
    assert "/api/v1/appointments/[token]" in nginx.access_log.read_text()


def nginx_socket(nginx, source: str = "127.0.0.1") -> websocket.WebSocket:
    """A raw Engine.IO WebSocket through nginx (TLS), from the loopback address `source`."""
    raw = socket.create_connection(("127.0.0.1", nginx.https_port), 10, (source, 0))
    tls = ssl.create_default_context(cafile=str(nginx.certificate))
    sock = tls.wrap_socket(raw, server_hostname="127.0.0.1")
    url = f"wss://127.0.0.1:{nginx.https_port}/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, timeout=10, socket=sock)
    assert ws.recv().startswith("0")  # Engine.IO OPEN: an app process answered
    return ws


def socket_io_request(nginx, source: str) -> int:
    """The status of one cheap Socket.IO request (a long-polling request for no session)."""
    connection = http.client.HTTPSConnection(
        "127.0.0.1",
        nginx.https_port,
        timeout=10,
        source_address=(source, 0),
        context=ssl.create_default_context(cafile=str(nginx.certificate)),
    )
    try:
        connection.request("GET", "/socket.io/?EIO=4&transport=polling&sid=none")
        return connection.getresponse().status
    finally:
        connection.close()


def test_nginx_refuses_sockets_one_address_holds_past_its_limit(stack):
    nginx, servers, _ = stack
    held = []
    try:
        for _ in range(SOCKETS_PER_ADDRESS):
            held.append(nginx_socket(nginx))
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            nginx_socket(nginx)
        assert refused.value.status_code == 429
        # Another address connects, and the first one's pages are not counted.
        nginx_socket(nginx, source="127.0.0.2").close()
        assert requests.get(f"{nginx.url}/healthz", verify=str(nginx.certificate), timeout=10).ok
    finally:
        for ws in held:
            ws.shutdown()
    # Once it holds fewer, the address connects again.
    assert poll(lambda: _connects(nginx), timeout=10)


def _connects(nginx) -> bool:
    try:
        nginx_socket(nginx).shutdown()
        return True
    except websocket.WebSocketBadStatusException:
        return False


def test_nginx_refuses_socket_io_requests_past_the_burst_of_one_address(stack):
    nginx, servers, _ = stack
    statuses = [socket_io_request(nginx, "127.0.0.3") for _ in range(SOCKET_REQUEST_BURST + 40)]
    # The app answers the burst (400: no such session); past it, nginx refuses most of the rest.
    assert 429 not in statuses[:SOCKET_REQUEST_BURST], statuses
    assert statuses.count(429) > 0, statuses
    assert set(statuses) == {400, 429}, statuses
    # Another address is answered by the app meanwhile.
    assert socket_io_request(nginx, "127.0.0.4") == 400


@pytest.mark.browser
def test_a_call_across_two_processes_through_nginx_survives_a_sigterm(stack, pg_url, tmp_path, playwright):
    nginx, servers, credentials = stack
    reference, token = make_appointment(build_app(tmp_path, pg_url))
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    citizen = open_page(browser, viewport={"width": 390, "height": 800}, ignore_https_errors=True)
    clerk = open_page(browser, viewport={"width": 1280, "height": 900}, ignore_https_errors=True)
    try:
        # The citizen through the deployed server: nginx picks the process.
        citizen.goto(f"{nginx.url}/call/{token}")
        citizen.wait_for_function(
            "() => !document.getElementById('enter-waiting-room').disabled", timeout=TIMEOUT
        )
        citizen.get_by_role("button", name="Entrar a la sala de espera").click()
        citizen.get_by_role("heading", name="Su funcionario le admitirá en breve").wait_for(timeout=TIMEOUT)
        assert poll(lambda: holder(servers), timeout=10), {n: call_sockets(s) for n, s in servers.items()}
        first = holder(servers)
        other = "b" if first == "a" else "a"

        # The clerk through a server block that reaches only the other process.
        log_in(clerk, nginx.direct_urls[other], CLERK, credentials[CLERK])
        admit_button = clerk.locator(f'tr[data-reference="{reference}"] .site-admit')
        admit_button.wait_for(state="visible", timeout=TIMEOUT)
        admit_button.click()
        wait_for_media(citizen)
        wait_for_media(clerk)
        assert call_sockets(servers[first]) == 1 and call_sockets(servers[other]) >= 1
        socket_before = citizen.evaluate("() => window.ventanillaCall.socket.id")

        # A deploy stops the citizen's process: SIGTERM to its gunicorn.
        stopped_at = time.monotonic()
        servers[first].proc.send_signal(signal.SIGTERM)
        servers[first].proc.wait(timeout=GRACEFUL_TIMEOUT + 10)
        took = time.monotonic() - stopped_at
        stderr = servers[first].stderr_path.read_text(errors="replace")
        assert servers[first].proc.returncode == 0, servers[first].logs()
        # It did not wait for its sockets to be killed at the graceful timeout: it handed them over.
        assert "Worker graceful timeout" not in stderr and took < GRACEFUL_TIMEOUT, (took, stderr[-3000:])

        # The citizen's browser reconnected, through nginx, to the process still running.
        reconnected = (
            "(before) => window.ventanillaCall.socket.connected && window.ventanillaCall.socket.id !== before"
        )
        citizen.wait_for_function(reconnected, arg=socket_before, timeout=TIMEOUT)
        assert poll(lambda: call_sockets(servers[other]) == 2, timeout=10), call_sockets(servers[other])
        wait_for_media(citizen)
        wait_for_media(clerk)
        assert citizen.errors == [] and clerk.errors == [], (citizen.errors, clerk.errors)
    finally:
        citizen.context.close()
        clerk.context.close()
        browser.close()

    # Every script and stylesheet the pages used came from nginx, none from the app processes.
    access = nginx.access_log.read_text()
    assert "/call/[token] HTTP/" in access, access[-2000:]
    for server in servers.values():
        assert "GET /static/" not in server.stdout_path.read_text(), server.logs()
    logs = all_logs(nginx, servers)
    assert token not in logs
