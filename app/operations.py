"""Readiness of this process for traffic (/readyz): what it depends on, each checked for real.

`/healthz` says the process is alive and reaches its database (for the container's health check);
`/readyz` is for a load balancer deciding where to send requests: the database, Redis when a
setting points at it (the Socket.IO message queue, rate limits), and an upload store that
accepts a write.
"""

from __future__ import annotations

import redis
import sqlalchemy as sa
from flask import current_app

from app.documents.store import StoreUnavailable, upload_store
from app.extensions import db

REDIS_TIMEOUT_SECONDS = 2


def readiness(config) -> dict[str, str]:
    """{"database": "ok" | "unavailable", "redis": ..., "uploads": ...}; read-only but for one
    probe file written to the upload store and deleted again."""
    checks = {"database": _database()}
    redis_urls = set(_redis_urls(config))
    if redis_urls:
        checks["redis"] = "ok" if all(_redis(url) for url in redis_urls) else "unavailable"
    checks["uploads"] = _uploads()
    return checks


def _database() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return "ok"
    except sa.exc.SQLAlchemyError as error:
        current_app.logger.warning("readiness: database unavailable: %s", error)
        db.session.rollback()
        return "unavailable"


def _redis_urls(config):
    for key in ("REDIS_URL", "SOCKETIO_MESSAGE_QUEUE", "RATELIMIT_STORAGE_URI"):
        url = config.get(key)
        if url and url.startswith(("redis://", "rediss://", "unix://")):
            yield url


def _redis(url: str) -> bool:
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError as error:
        current_app.logger.warning("readiness: redis unavailable: %s", type(error).__name__)
        return False


def _uploads() -> str:
    store = upload_store()
    try:
        store.delete(store.save(b""))
        return "ok"
    except (StoreUnavailable, OSError) as error:
        current_app.logger.warning("readiness: upload store refuses writes: %s", type(error).__name__)
        return "unavailable"
