"""A database that accepts connections but never answers (issue #9, item 3): /healthz says
"degraded" and pages answer the translated 503 page, instead of hanging every worker."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.support.apps import build_app

# How long the requests below may take before the test calls them hung: far above the one-second
# timeouts configured here, so it never judges speed, only that the app gives up on its own.
HUNG_AFTER_SECONDS = 60


@pytest.fixture
def silent_database():
    """A TCP port that accepts connections and never says a word (a wedged database host)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"postgresql+psycopg://postgres@127.0.0.1:{listener.getsockname()[1]}/ventanilla"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def answer_within_bound(client, path: str):
    result = {}
    worker = threading.Thread(target=lambda: result.update(response=client.get(path)), daemon=True)
    worker.start()
    worker.join(HUNG_AFTER_SECONDS)
    assert "response" in result, f"GET {path} hung on a silent database"
    return result["response"]


@pytest.mark.real_clock  # libpq's connect timeout runs on the real clock
def test_a_silent_database_makes_healthz_degraded_and_pages_a_translated_503(tmp_path, silent_database):
    app = build_app(tmp_path, silent_database, DB_CONNECT_TIMEOUT_SECONDS=1)
    client = app.test_client()
    health = answer_within_bound(client, "/healthz")
    assert health.status_code == 503 and health.get_json() == {
        "status": "degraded",
        "database": "unavailable",
    }
    page = answer_within_bound(client, "/")
    assert page.status_code == 503
    assert "El servicio no está disponible en este momento" in page.get_data(as_text=True)
    api = answer_within_bound(client, "/api/v1/agencies")
    assert api.status_code == 503 and api.get_json()["error"] == "unavailable"


def test_postgresql_connections_carry_connect_and_statement_timeouts(tmp_path):
    app = build_app(
        tmp_path,
        "postgresql+psycopg://postgres@127.0.0.1/x",
        DB_CONNECT_TIMEOUT_SECONDS=3,
        DB_STATEMENT_TIMEOUT_SECONDS=7,
    )
    connect_args = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    assert connect_args["connect_timeout"] == 3
    assert "statement_timeout=7000" in connect_args["options"]
