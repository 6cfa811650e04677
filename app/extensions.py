"""Flask extensions, created here unbound and bound to the app in create_app()."""

import hashlib
import logging
import sqlite3
from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase, Session

# Constraint names are fixed so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
socketio = SocketIO()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)


def redis_prefix(config) -> str:
    """REDIS_PREFIX, or one derived from the database: the same for every process that uses the same
    database (its address and name; the user's password does not count), another for another."""
    if config.get("REDIS_PREFIX"):
        return config["REDIS_PREFIX"]
    url = sa.engine.make_url(config["SQLALCHEMY_DATABASE_URI"])
    where = f"{url.get_backend_name()}://{url.username or ''}@{url.host or ''}:{url.port or ''}"
    where += f"/{url.database or ''}"
    digest = hashlib.sha256(where.encode()).hexdigest()
    return f"ventanilla-{digest[:12]}"


def database_engine_options(config) -> dict:
    """SQLAlchemy engine options with the timeouts of the settings: PostgreSQL gives up connecting
    (also to a host that accepts the TCP connection and never answers), running one statement and
    waiting for a silent peer; every database gives up waiting for a pooled connection."""
    options = {**config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql"):
        connect_seconds = config["DB_CONNECT_TIMEOUT_SECONDS"]
        statement_ms = config["DB_STATEMENT_TIMEOUT_SECONDS"] * 1000
        options.setdefault("pool_timeout", config["DB_POOL_TIMEOUT_SECONDS"])
        options["connect_args"] = {
            "connect_timeout": connect_seconds,
            "options": f"-c statement_timeout={statement_ms}",
            # Unacknowledged data (a host that went silent mid-query) ends the connection.
            "tcp_user_timeout": statement_ms + connect_seconds * 1000,
            **options.get("connect_args", {}),
        }
    return options


# --- SQLite: real transactions ------------------------------------------------------------------
# pysqlite opens transactions lazily and in its own way, which breaks SAVEPOINTs and lets two
# writers deadlock on the upgrade from a read lock. We take over: no implicit BEGIN from the
# driver, an explicit BEGIN from SQLAlchemy, and BEGIN IMMEDIATE (take the write lock first)
# for the transactions that ask for it with `write_transaction()`. Foreign keys are off by
# default in SQLite; the schema relies on them.


@sa.event.listens_for(sa.Engine, "connect")
def _sqlite_on_connect(dbapi_connection, _record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()


@sa.event.listens_for(sa.Engine, "begin")
def _sqlite_on_begin(connection):
    if connection.dialect.name == "sqlite":
        immediate = connection.get_execution_options().get("sqlite_immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class PendingWrites(RuntimeError):
    """A transaction boundary was asked for while the session still held someone's writes."""


@sa.event.listens_for(Session, "after_flush")
def _remember_flushed_writes(session, _flush_context):
    if session.new or session.dirty or session.deleted:
        session.info["flushed_writes"] = True


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _forget_flushed_writes(session):
    session.info.pop("flushed_writes", None)


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction commits (not if it rolls back): for
    what must only be said of committed changes, such as a live push to the pages watching them.
    It runs without a transaction, so it must not touch the database; if it raises, the error is
    logged and the commit stands."""
    db.session.info.setdefault("after_commit", []).append(callback)


@sa.event.listens_for(Session, "after_commit")
def _run_after_commit(session):
    for callback in session.info.pop("after_commit", []):
        try:
            callback()
        except Exception:
            logging.getLogger(__name__).exception("After commit: %r failed", callback)


@sa.event.listens_for(Session, "after_rollback")
def _drop_after_commit(session):
    session.info.pop("after_commit", None)


def _refuse_pending_writes(what: str) -> None:
    session = db.session
    unflushed = session.new or session.deleted or any(session.is_modified(o) for o in session.dirty)
    if unflushed or session.info.get("flushed_writes"):
        raise PendingWrites(f"{what} while the session holds uncommitted writes; commit or roll back first")


def end_read_transaction() -> None:
    """End the session's current transaction, which must only have read (raises PendingWrites
    otherwise): before slow work such as a PDF check, so no connection stays checked out."""
    _refuse_pending_writes("end_read_transaction()")
    db.session.commit()


def write_transaction():
    """Start the session's transaction as a writer (SQLite: BEGIN IMMEDIATE; others: as usual).

    Call at the top of a function that reads and then writes under a rule (capacity, queues). An
    earlier read-only transaction of the session is ended first; pending writes are never
    committed on the caller's behalf: they raise PendingWrites.
    """
    end_read_transaction()
    return db.session.connection(execution_options={"sqlite_immediate": True})
