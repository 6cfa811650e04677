"""Tokens never reach a log line (issue #9, item 7): the production access and error logs, the
development server's request log and the app's own error log all cut them out."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets

import pytest
import requests
from flask import request

from app.extensions import db
from log_redaction import redact
from tests.support import pdf_factory
from tests.support.apps import build_app
from tests.support.booking import availability_query
from tests.support.clock import PR
from tests.support.servers import BIN, ProductionServer, free_port, production_env, run
from tests.support.turns import give_turn
from tests.support.waiting import poll


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


@pytest.mark.real_clock
def test_a_whole_journey_through_the_production_server_logs_no_token(tmp_path):
    """Issue 13, item 9: book (the API), open the manage link and its pages, the join link and its ICE
    servers, the API's appointment URL, a turn's status link; the in-app sender sends the e-mail
    and the SMS meanwhile. gunicorn's access and error logs and the app's JSON log carry none of
    the tokens (nor the citizen's e-mail address or phone number)."""
    port = free_port()
    env = production_env(tmp_path, port)
    env.update(PROOF_OF_WORK="false", OUTBOX_SEND_INTERVAL_SECONDS="1", RATELIMIT_ENABLED="false")
    for command in (["db", "upgrade"], ["seed-demo"]):
        done = run([str(BIN / "flask"), "--app", "wsgi", *command], env)
        assert done.returncode == 0, done.stderr[-2000:]
    turn_token = _take_a_turn(tmp_path, env["DATABASE_URL"])
    server = ProductionServer(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], env, tmp_path, port
    )
    try:
        server.wait_healthy(timeout=60)
        base = server.base_url
        booked = _book_by_api(base)
        manage_url, join_url = booked["manage_url"], booked["join_url"]
        manage_token, join_token = manage_url.rsplit("/", 1)[1], join_url.rsplit("/", 1)[1]
        browser = requests.Session()
        browser.headers["Referer"] = manage_url  # each page's own links are its referer
        for path in (
            f"/manage/{manage_token}",
            f"/manage/{manage_token}/reschedule",
            f"/call/{join_token}",
            f"/call/ice-servers?token={join_token}",
            f"/api/v1/appointments/{manage_token}",
            f"/turns/status/{turn_token}",
        ):
            assert browser.get(base + path, timeout=10).status_code < 500, path
        # The in-app sender sends the booking's e-mail (saved to the outbox folder: no MAIL_SERVER).
        outbox = tmp_path / "instance" / "outbox"
        assert poll(lambda: list(outbox.glob("*.eml")), timeout=30), server.logs()
    finally:
        server.stop()
    logs = server.stdout_path.read_text() + server.stderr_path.read_text()
    for secret in (manage_token, join_token, turn_token):
        assert secret not in logs, secret
    for redacted in (
        "/manage/[token]",
        "/call/[token]",
        "/turns/status/[token]",
        "/api/v1/appointments/[token]",
    ):
        assert redacted in logs, redacted
    assert "?token=[token]" in logs
    assert "ana.journey@example.com" not in logs and "5550142" not in logs


def _book_by_api(base: str) -> dict:
    service = "certificacion-individuo"
    days = requests.get(
        f"{base}/api/v1/services/{service}/availability", params=availability_query(days=14), timeout=10
    ).json()["days"]
    start = next(day["slots"][0]["start"] for day in days if day["slots"])
    form = {"service": service, "start": start, "name": "Ana Rivera", "email": "ana.journey@example.com"}
    form.update(phone="787-555-0142", licence_number="1234567")
    files = {"licence_front": ("licencia.pdf", pdf_factory.one_page(), "application/pdf")}
    booked = requests.post(f"{base}/api/v1/appointments", data=form, files=files, timeout=60)
    assert booked.status_code == 201, booked.text[:500]
    return booked.json()


def _take_a_turn(tmp_path, database_url: str) -> str:
    """A same-day turn on the demo phone line, taken for the next Wednesday at 10:00 in Puerto Rico
    (the line is open then, whenever this runs); its status token."""
    app = build_app(tmp_path / "turn", database_url)
    today = dt.datetime.now(PR)
    wednesday = today + dt.timedelta(days=(2 - today.weekday()) % 7 or 7)
    with app.app_context():
        taken = give_turn(phone="787-555-0142", now=wednesday.replace(hour=10, minute=0))
        db.engine.dispose()
    return taken.token
