"""Headers every page carries: a CSP that lets scripts talk only to this site and reports
violations, and no caching of pages that show a citizen's or an appointment's details."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment
from app.tokens import new_token
from tests.support.signaling import make_appointment

CLERK = "clerk@dtop.demo.ventanilla.pr"


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[-1] for part in policy.split("; ")}


def test_scripts_may_connect_only_to_this_site_and_violations_are_reported(client, seeded):
    response = client.get("/")
    policy = directives(response)
    assert policy["connect-src"] == "'self'"  # no ws:/wss: to any host
    assert policy["report-uri"] == "/csp-report" and policy["report-to"] == "csp"
    assert response.headers["Reporting-Endpoints"] == 'csp="/csp-report"'


def test_a_csp_report_is_logged_without_the_token_in_the_page_address(client, caplog):
    report = {
        "csp-report": {
            "document-uri": "https://citas.example/manage/SECRET-TOKEN-123?x=1",
            "effective-directive": "connect-src",
            "blocked-uri": "wss://evil.example/socket?k=SECRET-TOKEN-123",
        }
    }
    with caplog.at_level(logging.WARNING):
        response = client.post("/csp-report", data=json.dumps(report), content_type="application/csp-report")
    assert response.status_code == 204
    assert "connect-src blocked wss://evil.example on /manage" in caplog.text
    assert "SECRET-TOKEN" not in caplog.text


def test_the_reporting_api_form_is_accepted_too(client):
    reports = [{"type": "csp-violation", "body": {"effectiveDirective": "img-src", "blockedURL": "data"}}]
    response = client.post("/csp-report", data=json.dumps(reports), content_type="application/reports+json")
    assert response.status_code == 204


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"other": 1}', b"{" + b" " * 20000 + b"}"])
def test_a_malformed_csp_report_is_a_400(client, body):
    assert client.post("/csp-report", data=body, content_type="application/csp-report").status_code == 400


def manage_token(app) -> str:
    token, token_hash = new_token()
    with app.app_context():
        appointment = db.session.scalar(sa.select(Appointment))
        appointment.manage_token_hash = token_hash
        db.session.commit()
    return token


def test_pages_with_personal_data_are_never_cached(app, client, auth):
    reference, join_token = make_appointment(app, status="in_call", clerk_email=CLERK)
    pages = [f"/manage/{manage_token(app)}", f"/call/{join_token}"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"], url
    auth.login(CLERK)
    for url in ("/staff/", f"/staff/appointments/{reference}", f"/staff/call/{reference}", "/staff/queue/"):
        response = client.get(url)
        assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"], url


def test_public_pages_may_be_cached(client, seeded):
    assert "Cache-Control" not in client.get("/").headers
