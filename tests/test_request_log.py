"""Request ids and JSON log lines (issue 13, item 9)."""

from __future__ import annotations

import io
import json

from flask import current_app

from app.request_log import log_handler
from tests.support.apps import build_app


def test_every_response_carries_a_request_id(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first.headers["X-Request-ID"]) == 32
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_the_proxys_request_id_is_kept_when_it_looks_like_one(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123_DEF.456"}).headers["X-Request-ID"] == (
        "abc-123_DEF.456"
    )
    forged = "x\r\nfake log line"
    assert client.get("/healthz", headers={"X-Request-ID": "short"}).headers["X-Request-ID"] != "short"
    assert (
        "fake"
        not in client.get("/", headers={"X-Request-ID": forged.replace("\r\n", " ")}).headers["X-Request-ID"]
    )


def test_json_log_lines_carry_the_request_id_and_no_token(app):
    stream = io.StringIO()
    handler = log_handler("json", stream)
    with app.test_request_context("/manage/x", headers={"X-Request-ID": "req-0001-abcd"}):
        app.preprocess_request()
        record = current_app.logger.makeRecord("app", 30, __file__, 1, "opened /manage/%s", ("A" * 43,), None)
        handler.handle(record)
    line = json.loads(stream.getvalue())
    assert line["request_id"] == "req-0001-abcd" and line["level"] == "WARNING"
    assert line["message"] == "opened /manage/[token]"
    assert "time" in line


def test_production_logs_json_by_default(tmp_path, monkeypatch):
    from config import ProductionConfig

    assert ProductionConfig.LOG_FORMAT == "json"
    app = build_app(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert app.config["LOG_FORMAT"] == "text"  # tests and development: plain lines
