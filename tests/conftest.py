"""Shared fixtures: app/client/runner on SQLite, pg_app on PostgreSQL, live_server, browser/page, redis_url.

On a developer's machine, tests whose service (PostgreSQL, Redis, Chromium) is missing are skipped
with a reason; in CI (CI=true) they fail instead, so a missing service can never pass silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from config import TestingConfig

IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require(service: str, reason: str):
    """Skip on a laptop without `service`; fail in CI, where it must be present."""
    if IN_CI:
        pytest.fail(f"{service} is required in CI: {reason}", pytrace=False)
    pytest.skip(f"{service} not available: {reason}")


def make_config(**overrides) -> type[TestingConfig]:
    return type("TestConfig", (TestingConfig,), overrides)


def build_app(tmp_path: Path, database_url: str, **overrides):
    config = make_config(
        SQLALCHEMY_DATABASE_URI=database_url,
        UPLOAD_DIR=str(tmp_path / "uploads"),
        OUTBOX_DIR=str(tmp_path / "outbox"),
        **overrides,
    )
    return create_app(config)


# --- SQLite -------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path):
    """The app on a fresh SQLite file (a file, so a live server's threads share it).

    No app context stays pushed: each request gets its own, as in production (a shared one would
    leak per-request state such as the chosen language). Tests push one to touch the database.
    """
    app = build_app(tmp_path, f"sqlite:///{tmp_path / 'test.sqlite3'}")
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory):
    """A SQLite file with the demo data, seeded once (argon2 hashing is slow on purpose)."""
    from app.demo import seed_demo

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    template = build_app(path.parent, f"sqlite:///{path}")
    with template.app_context():
        db.create_all()
        report = seed_demo()
        db.engine.dispose()
    return path, {email: password for email, _role, password in report.credentials}


def demo_app(tmp_path: Path, demo_database, **overrides):
    """A separate app (with its own settings) on a private copy of the demo database."""
    path = tmp_path / "demo-copy.sqlite3"
    shutil.copyfile(demo_database[0], path)
    return build_app(tmp_path, f"sqlite:///{path}", **overrides)


@pytest.fixture
def seeded(app, demo_database):
    """The demo agencies, services and staff in this test's database; returns {email: password}."""
    source, credentials = demo_database
    with app.app_context():
        db.engine.dispose()
        shutil.copyfile(source, db.engine.url.database)
    return credentials


class AuthActions:
    def __init__(self, client, credentials):
        self.client = client
        self.credentials = credentials

    def login(self, email="clerk@dtop.demo.ventanilla.pr", password=None):
        password = password if password is not None else self.credentials[email]
        return self.client.post("/staff/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/staff/logout")


@pytest.fixture
def auth(client, seeded):
    return AuthActions(client, seeded)


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        require("PostgreSQL", f"cannot connect to {PG_ADMIN_URL}: {error.orig}")
    name = f"ventanilla_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_app(pg_url, tmp_path):
    """The app on the session's PostgreSQL database, with empty tables for each test."""
    app = build_app(tmp_path, pg_url)
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


# --- Redis --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        require("Redis", f"cannot connect to {REDIS_URL}: {error}")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


# --- Live server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


@pytest.fixture
def live_server(app):
    server = start_live_server(app)
    yield server
    server.stop()


# --- Browser ------------------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def playwright():
    """Playwright, for tests that launch a Chromium of their own (other flags)."""
    if not os.access(CHROMIUM, os.X_OK):
        require("Chromium", f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright):
    """Debian's Chromium driven by Playwright, fake camera and microphone, no network."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class PageErrors(list):
    """Console errors and uncaught exceptions seen on a page."""


def open_page(browser, **context_options):
    """A page in a fresh context; `page.errors` collects console errors and uncaught exceptions."""
    context = browser.new_context(**{"locale": "es-PR", **context_options})
    page = context.new_page()
    page.errors = PageErrors()
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


@pytest.fixture
def page(browser):
    """A desktop-sized page in Spanish."""
    page = open_page(browser, viewport={"width": 1280, "height": 900})
    yield page
    page.context.close()


@pytest.fixture
def phone_page(browser):
    """A page the size of a phone, with touch, in Spanish."""
    page = open_page(browser, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    yield page
    page.context.close()


AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_SOURCE.exists():
        require("axe-core", f"{AXE_SOURCE} is missing (npm ci)")
    return AXE_SOURCE.read_text()


@pytest.fixture
def axe(axe_source):
    """axe(page) -> the serious and critical accessibility violations on the page, as text."""

    def run(page) -> list[str]:
        # evaluate() runs outside the page's CSP, which rightly forbids injected inline scripts.
        page.evaluate(axe_source)
        result = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return [
            f"{v['impact']}: {v['id']} — {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result
            if v["impact"] in ("serious", "critical")
        ]

    return run


def pytest_sessionstart(session):
    """Compile the translation catalogs (the .mo files are build output, not committed)."""
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "-q", "compile", "-d", str(ROOT / "app" / "translations")])


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_app(request):
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
