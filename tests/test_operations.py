"""Operations endpoints (issue 13, item 9): /readyz checks what the process depends on, and
/metrics serves Prometheus metrics to the allowed addresses or token only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from app.calls import sessions
from app.extensions import db
from app.models import Appointment
from tests.support.apps import build_app
from tests.support.booking import choose_slot, fill_details
from tests.support.signaling import CLERK, make_appointment

OUTSIDER = {"REMOTE_ADDR": "203.0.113.7"}


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample in Prometheus' text format, or None when it is not there."""
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_readyz_reports_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "database": "ok", "uploads": "ok"}


def test_readyz_is_not_ready_when_the_upload_store_refuses_writes(app, client):
    blocked = Path(app.config["UPLOAD_DIR"])
    blocked.rmdir()
    blocked.write_text("not a directory: every write under it fails")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["uploads"] == "unavailable" and response.json["status"] == "not ready"


def test_readyz_checks_redis_when_a_setting_points_at_it(tmp_path):
    app = build_app(
        tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0"
    )
    with app.app_context():
        db.create_all()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["redis"] == "unavailable"


def test_metrics_are_not_served_to_other_addresses(client):
    assert client.get("/metrics", environ_base=OUTSIDER).status_code == 404
    wrong = {"Authorization": "Bearer guess"}
    assert client.get("/metrics", environ_base=OUTSIDER, headers=wrong).status_code == 404


def test_metrics_with_the_token_from_anywhere(tmp_path):
    app = build_app(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", METRICS_TOKEN="s3cret-scrape-token")
    with app.app_context():
        db.create_all()
    response = app.test_client().get(
        "/metrics", environ_base=OUTSIDER, headers={"Authorization": "Bearer s3cret-scrape-token"}
    )
    assert response.status_code == 200 and "ventanilla_http_requests_total" in response.get_data(as_text=True)


def test_metrics_count_requests_by_endpoint_never_by_path(client):
    before = (
        sample(
            client.get("/metrics").get_data(as_text=True),
            "ventanilla_http_requests_total",
            endpoint="manage.view",
            method="GET",
            status="404",
        )
        or 0
    )
    client.get("/manage/some-secret-token-value")
    text = client.get("/metrics").get_data(as_text=True)
    assert "some-secret-token-value" not in text
    assert (
        sample(text, "ventanilla_http_requests_total", endpoint="manage.view", method="GET", status="404")
        == before + 1
    )


def test_metrics_count_pdf_checks_and_read_calls_and_the_outbox_from_the_database(app, client, seeded):
    text = client.get("/metrics").get_data(as_text=True)
    checked = sample(text, "ventanilla_pdf_checks_total", verdict="ok") or 0
    choose_slot(client, app)
    fill_details(client)
    make_appointment(app, status="in_call", clerk_email=CLERK, starts_in=dt.timedelta(minutes=30))
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "ventanilla_pdf_checks_total", verdict="ok") > checked  # one per PDF uploaded
    assert sample(text, "ventanilla_calls_in_progress") == 1
    assert sample(text, "ventanilla_appointments_today", status="in_call") == 1
    assert sample(text, "ventanilla_sockets_open", namespace="/call") == 0


def test_metrics_time_the_call_from_admit_to_connected(app, client, seeded):
    seconds = 1.5
    reference, _ = make_appointment(app, status="in_call", clerk_email=CLERK)
    before = (
        sample(client.get("/metrics").get_data(as_text=True), "ventanilla_call_time_to_connect_seconds_count")
        or 0
    )
    with app.app_context():
        appointment = db.session.scalar(db.select(Appointment).where(Appointment.reference == reference))
        admitted = dt.datetime.now(dt.UTC)
        sessions.mark_waiting(appointment, now=admitted - dt.timedelta(minutes=1))
        session = sessions.open_session(appointment)
        session.admitted_at = admitted
        db.session.commit()
        sessions.mark_connected(appointment, now=admitted + dt.timedelta(seconds=seconds))
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "ventanilla_call_time_to_connect_seconds_count") == before + 1
    assert sample(text, "ventanilla_call_time_to_connect_seconds_bucket", le="2.0") >= before + 1
