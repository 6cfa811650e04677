"""Tokens never reach a log line (issue #9, item 7): the production access and error logs, the
development server's request log and the app's own error log all cut them out."""

from __future__ import annotations

import logging
import re
import secrets

import pytest
import requests
from flask import request

from log_redaction import redact
from tests.support.servers import BIN, ProductionServer, free_port, production_env, run


def token() -> str:
    return secrets.token_urlsafe(32)


@pytest.mark.parametrize(
    "line, kept",
    [
        ('"GET /manage/{t} HTTP/1.1" 200', '"GET /manage/[token] HTTP/1.1" 200'),
        ("GET /manage/{t}/results/4", "GET /manage/[token]/results/4"),
        ("POST /call/{t}/phone-request", "POST /call/[token]/phone-request"),
        ("GET /call/{t}/survey", "GET /call/[token]/survey"),
        ("GET /turns/status/{t}/cancel", "GET /turns/status/[token]/cancel"),
        ("GET /call/ice-servers?token={t}&x=1", "GET /call/ice-servers?token=[token]&x=1"),
        ("DELETE /api/v1/appointments/{t}", "DELETE /api/v1/appointments/[token]"),
        ("GET /staff/password/reset?token={t}", "GET /staff/password/reset?token=[token]"),
        ("GET /api/v1/appointments/openapi.json", "GET /api/v1/appointments/openapi.json"),
        ("GET /call/check", "GET /call/check"),
        ("GET /services/renovacion-licencia", "GET /services/renovacion-licencia"),
    ],
)
def test_link_tokens_are_cut_out_of_a_log_line(line, kept):
    assert redact(line.format(t=token())) == kept


@pytest.mark.clock(tick=True)
def test_the_development_server_and_the_app_log_no_token(app, live_server, caplog):
    secret = token()
    with caplog.at_level(logging.INFO):
        requests.get(f"{live_server.url}/manage/{secret}", timeout=10)
        requests.get(f"{live_server.url}/turns/status/{secret}", timeout=10)
        with app.test_request_context(f"/call/{secret}"):
            app.logger.error("unhandled error on %s %s", request.method, request.path)
    assert "/manage/[token]" in caplog.text and "/call/[token]" in caplog.text
    assert secret not in caplog.text


@pytest.mark.real_clock
def test_gunicorn_access_and_error_logs_carry_no_token(tmp_path):
    port = free_port()
    env = production_env(tmp_path, port)
    upgrade = run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env)
    assert upgrade.returncode == 0, upgrade.stderr
    server = ProductionServer(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], env, tmp_path, port
    )
    secret = token()
    try:
        server.wait_healthy()
        referer = {"Referer": f"{server.base_url}/manage/{secret}"}
        for path in (
            f"/manage/{secret}",
            f"/call/{secret}",
            f"/turns/status/{secret}",
            f"/call/{secret}/survey",
        ):
            requests.get(server.base_url + path, headers=referer, timeout=10)
        requests.get(f"{server.base_url}/call/ice-servers", params={"token": secret}, timeout=10)
    finally:
        server.stop()
    logs = server.stdout_path.read_text() + server.stderr_path.read_text()
    assert "/manage/[token]" in logs and "/turns/status/[token]" in logs, logs[-3000:]
    assert secret not in logs
    # The access log names each request's id, as the response did (app/request_log.py).
    assert re.search(r'"GET /manage/\[token\] HTTP/1\.1" 404 .* [0-9a-f]{32}$', logs, re.MULTILINE), logs[
        -3000:
    ]
