"""Shared fixtures: the test clock, app/client/runner on SQLite, pg_app on PostgreSQL, live_server,
browser/page, redis_url, and the turns' app. Plain helpers live in tests/support/.

On a developer's machine, tests whose service (PostgreSQL, Redis, Chromium) is missing are skipped
with a reason; in CI (CI=true) they fail instead, so a missing service can never pass silently.
"""

from __future__ import annotations

import os
import shutil
import uuid

import flask_migrate
import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.support.apps import build_app
from tests.support.browser import AXE_SOURCE, CHROMIUM, CHROMIUM_ARGS, open_page
from tests.support.clock import ENV_VAR, PR, Clock, default_now
from tests.support.servers import ROOT, start_live_server
from tests.support.turns import clear_translation_cache, compile_turns_translations
from tests.support.two_factor import CODE_PAGE, current_code, enrol_required_roles

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require(service: str, reason: str):
    """Skip on a laptop without `service`; fail in CI, where it must be present."""
    if IN_CI:
        pytest.fail(f"{service} is required in CI: {reason}", pytrace=False)
    pytest.skip(f"{service} not available: {reason}")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "clock(at=None, tick=False): run the test with the clock at `at` (aware datetime; default "
        "VENTANILLA_TEST_NOW or tests.support.clock.DEFAULT_NOW), frozen or ticking",
    )
    config.addinivalue_line(
        "markers", "real_clock: leave the clock alone (tests whose child processes check the time)"
    )
    try:
        default_now()
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None


def pytest_report_header(config):
    now = default_now()
    source = ENV_VAR if os.environ.get(ENV_VAR, "").strip() else "default"
    return (
        f"test clock: {now.isoformat()} = {now.astimezone(PR):%A %Y-%m-%d %H:%M:%S} in Puerto Rico ({source})"
    )


def pytest_sessionstart(session):
    """Compile the translation catalogs (the .mo files are build output, not committed)."""
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "-q", "compile", "-d", str(ROOT / "app" / "translations")])


# --- The clock ----------------------------------------------------------------------------------

# These run servers, threads or browsers: a frozen clock would stop every timeout in the process
# that is measured with time.time() (connection pools, Socket.IO pings), so they need tick=True.
NEEDS_A_TICKING_CLOCK = {"live_server", "browser", "page", "phone_page", "playwright"}


@pytest.fixture(scope="session", autouse=True)
def _temporary_folders_on_the_real_clock(tmp_path_factory):
    """pytest's temporary folders are created and aged by the real clock, before any test moves it."""
    tmp_path_factory.getbasetemp()


@pytest.fixture(autouse=True)
def clock(request):
    """Every test runs at a fixed instant: `clock.now`, `clock.now = …`, `clock.advance(hours=1)`.

    Frozen at VENTANILLA_TEST_NOW or DEFAULT_NOW (a Wednesday, 10:00 in Puerto Rico) unless the
    test is marked `@pytest.mark.clock(at=instant, tick=True)`; `@pytest.mark.real_clock` leaves
    time alone (the fixture is then None).
    """
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    marker = request.node.get_closest_marker("clock")
    options = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        options.setdefault("at", marker.args[0])
    at, tick = options.pop("at", None) or default_now(), options.pop("tick", False)
    if options:
        raise pytest.UsageError(f"unknown clock marker options: {sorted(options)}")
    if not tick and NEEDS_A_TICKING_CLOCK & set(request.fixturenames):
        pytest.fail(
            f"{request.node.nodeid} uses a live server or a browser: mark it @pytest.mark.clock(tick=True)",
            pytrace=False,
        )
    with Clock(at, tick=tick) as running:
        yield running


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
    """A SQLite file with the demo data, seeded once (argon2 hashing is slow on purpose); its admins
    and superadmins have two-factor sign-in with tests.support.two_factor.KNOWN_SECRET."""
    from app.demo import seed_demo

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    template = build_app(path.parent, f"sqlite:///{path}")
    with template.app_context():
        db.create_all()
        report = seed_demo()
        enrol_required_roles()  # as if each admin had set up an app at their first sign-in
        db.engine.dispose()
    return path, {email: password for email, _role, password in report.credentials}


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
        """The password, then the code for an account with two-factor sign-in: the last response."""
        password = password if password is not None else self.credentials[email]
        response = self.client.post("/staff/login", data={"email": email, "password": password})
        if response.status_code == 302 and response.headers["Location"].endswith(CODE_PAGE):
            code = current_code(self.client.application, email)
            response = self.client.post(CODE_PAGE, data={"code": code})
        return response

    def logout(self):
        return self.client.post("/staff/logout")


@pytest.fixture
def auth(client, seeded):
    return AuthActions(client, seeded)


# --- Same-day turns -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def turns_translations(tmp_path_factory) -> str:
    """The project's catalogs plus pending-turns.json, compiled (until it is merged into the .po)."""
    return compile_turns_translations(tmp_path_factory.mktemp("translations"))


@pytest.fixture
def turns_app(tmp_path, turns_translations):
    """`app`, reading the turn strings' Spanish from pending-turns.json too. The turn modules
    use it as their `app` (a three-line local fixture), so `seeded`, `client`… build on it."""
    app = build_app(
        tmp_path, f"sqlite:///{tmp_path / 'test.sqlite3'}", BABEL_TRANSLATION_DIRECTORIES=turns_translations
    )
    clear_translation_cache()
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()
    clear_translation_cache()


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


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_app(request, tmp_path):
    """The app on a database built by the migrations alone (no create_all)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    app = build_app(tmp_path, url)
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        if request.param == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_app(request):
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


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


@pytest.fixture
def live_server(app):
    server = start_live_server(app)
    yield server
    server.stop()


# --- Browser ------------------------------------------------------------------------------------


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
