"""Two deployments on one Redis (staging beside production, two agencies on one host) keep their
state apart: call rooms, staff sockets, the Socket.IO channel and rate limits are all named after
the deployment (REDIS_PREFIX, by default a digest of its database), while every process of one
deployment agrees on the name."""

from __future__ import annotations

import shutil

import pytest
import redis

from app.calls.presence import RedisDirectory
from app.extensions import redis_prefix, socketio
from app.staff_sockets import RedisConnections
from tests.support.apps import build_app
from tests.support.servers import BIN, free_port, production_env, run
from tests.support.signaling import CLERK


def prefix_of(uri: str, **settings) -> str:
    return redis_prefix({"SQLALCHEMY_DATABASE_URI": uri, **settings})


def test_the_prefix_is_the_databases_whoever_connects_and_is_set_by_redis_prefix():
    production = "postgresql+psycopg://app:s3cret@db.internal:5432/ventanilla"
    assert prefix_of(production) == prefix_of("postgresql+psycopg://app:rotated@db.internal:5432/ventanilla")
    assert prefix_of(production).startswith("ventanilla-")
    assert prefix_of(production) != prefix_of("postgresql+psycopg://app:s3cret@db.internal:5432/staging")
    assert prefix_of(production) != prefix_of("postgresql+psycopg://app:s3cret@db2.internal:5432/ventanilla")
    assert prefix_of("sqlite:////srv/a/ventanilla.sqlite3") != prefix_of(
        "sqlite:////srv/b/ventanilla.sqlite3"
    )
    assert prefix_of(production, REDIS_PREFIX="cesco-prod") == "cesco-prod"
    assert "s3cret" not in prefix_of(production)


def test_two_deployments_on_one_redis_do_not_see_each_others_call_rooms_or_staff_sockets(redis_url):
    production, staging = (
        prefix_of("sqlite:////srv/prod.sqlite3"),
        prefix_of("sqlite:////srv/staging.sqlite3"),
    )
    # Appointment 7 exists in both databases: each deployment's room is its own.
    RedisDirectory(redis_url, production).claim(7, "citizen", "sid-of-a-production-citizen")
    assert RedisDirectory(redis_url, staging).entries(7) == {}
    assert RedisDirectory(redis_url, production).entries(7)["citizen"] == "sid-of-a-production-citizen"

    RedisConnections(redis_url, production).add(3, "/call", "sid-of-a-production-clerk")
    assert RedisConnections(redis_url, staging).take(3) == set()
    assert RedisConnections(redis_url, production).take(3) == {("/call", "sid-of-a-production-clerk")}


@pytest.fixture
def restore_socketio():
    """Flask-SocketIO keeps the message queue's client manager in its options across `init_app`
    calls: drop it afterwards, so the next test's app has no queue (its test client refuses one)."""
    options = dict(socketio.server_options)
    yield
    socketio.server_options.clear()
    socketio.server_options.update(options)


def test_socket_messages_go_out_on_the_deployments_own_channel(tmp_path, redis_url, restore_socketio):
    app = build_app(tmp_path, f"sqlite:///{tmp_path / 'a.sqlite3'}", SOCKETIO_MESSAGE_QUEUE=redis_url)
    listener = redis.Redis.from_url(redis_url).pubsub()
    listener.psubscribe("*")
    assert listener.get_message(timeout=5)["type"] == "psubscribe"
    try:
        with app.app_context():
            socketio.emit("ping-for-the-test", {"n": 1}, to="nobody", namespace="/call")
        message = listener.get_message(timeout=5)
        assert message is not None and message["type"] == "pmessage"
        assert message["channel"].decode() == f"{app.config['REDIS_PREFIX']}:socketio"
        assert app.config["REDIS_PREFIX"] == prefix_of(app.config["SQLALCHEMY_DATABASE_URI"])
    finally:
        listener.close()


# One process of a deployment: three wrong passwords for the same account, from the same address.
WRONG_PASSWORDS = """
from wsgi import app
app.config["WTF_CSRF_ENABLED"] = False  # a test client, not a browser with the form's token
client = app.test_client()
print([client.post("/staff/login", data={"email": %r, "password": "wrong"}).status_code for _ in range(3)])
"""


@pytest.mark.real_clock
def test_a_login_limit_is_shared_by_a_deployments_processes_and_no_other(tmp_path, demo_database, redis_url):
    """Flask-Limiter keeps one key prefix per process, so each deployment's process is its own."""

    def process_of(deployment: str) -> str:
        folder = tmp_path / deployment
        folder.mkdir(exist_ok=True)
        database = folder / "ventanilla.sqlite3"
        if not database.exists():
            shutil.copyfile(demo_database[0], database)
        env = production_env(folder, free_port())
        env.update(
            DATABASE_URL=f"sqlite:///{database}",
            RATELIMIT_STORAGE_URI=redis_url,
            LOGIN_RATE_LIMIT="2 per hour",  # opens at the first attempt: no process start outlasts it
            LOG_FORMAT="text",
        )
        done = run([str(BIN / "python"), "-c", WRONG_PASSWORDS % CLERK], env)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    assert process_of("staging") == "[401, 401, 429]"
    assert process_of("staging") == "[429, 429, 429]"  # another process of the same deployment
    assert process_of("production") == "[401, 401, 429]"  # same address and account, its own count
