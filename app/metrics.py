"""Prometheus metrics of this process, served at /metrics to the addresses or token allowed.

Counters and histograms are recorded where things happen (requests here, PDF checks in
`app.documents.validation`, time to connect in `app.calls.sessions`); what the database or the
Socket.IO server already knows (citizens waiting, calls in progress, the outbox backlog, sockets
open per namespace) is read at scrape time instead of being tracked twice. One registry of the
app's own, so building several apps in one process (the tests) never registers a metric twice.
With several worker processes each serves its own counters: scrape each process, or run one.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import time

import sqlalchemy as sa
from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from app.extensions import db, socketio
from app.models import Appointment, CallSession, OutboxMessage

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "ventanilla_http_requests", "HTTP requests answered", ["endpoint", "method", "status"], registry=REGISTRY
)
REQUEST_SECONDS = Histogram(
    "ventanilla_http_request_seconds", "Time to answer an HTTP request", ["endpoint"], registry=REGISTRY
)
PDF_CHECKS = Counter(
    "ventanilla_pdf_checks",
    "Uploaded PDFs checked, by verdict ('ok' or why refused)",
    ["verdict"],
    registry=REGISTRY,
)
TIME_TO_CONNECT = Histogram(
    "ventanilla_call_time_to_connect_seconds",
    "From the clerk's admit to the peer connection being up",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60),
    registry=REGISTRY,
)
APPOINTMENTS = Gauge(
    "ventanilla_appointments_today",
    "Appointments starting today (UTC day), by status",
    ["status"],
    registry=REGISTRY,
)
WAITING = Gauge(
    "ventanilla_citizens_waiting", "Citizens in a video waiting room, not yet admitted", registry=REGISTRY
)
IN_CALL = Gauge("ventanilla_calls_in_progress", "Video appointments in a call", registry=REGISTRY)
OUTBOX = Gauge("ventanilla_outbox_backlog", "Messages waiting to be sent", registry=REGISTRY)
SOCKETS = Gauge(
    "ventanilla_sockets_open",
    "Socket.IO connections of this process, by namespace",
    ["namespace"],
    registry=REGISTRY,
)


def init_metrics(app: Flask) -> None:
    """Count every request by endpoint (never by path: paths carry tokens) and status."""

    @app.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count(response):
        endpoint = request.endpoint or "unmatched"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
        return response


def may_scrape(config, remote_addr: str | None, authorization: str | None) -> bool:
    """Whether this request may read /metrics: a bearer `METRICS_TOKEN`, or an allowed address."""
    token = config.get("METRICS_TOKEN")
    if token and authorization and hmac.compare_digest(authorization, f"Bearer {token}"):
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(allowed, strict=False) for allowed in config["METRICS_ALLOWED_IPS"]
    )


def exposition(now) -> bytes:
    """The metrics in Prometheus' text format, with what the database and sockets say now. Read-only."""
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = dict(
        db.session.execute(
            sa.select(Appointment.status, sa.func.count())
            .where(Appointment.start_at >= day_start, Appointment.start_at < day_start + dt.timedelta(days=1))
            .group_by(Appointment.status)
        ).all()
    )
    for status in ("booked", "checked_in", "in_call", "completed", "no_show", "cancelled"):
        APPOINTMENTS.labels(status).set(counts.get(status, 0))
    WAITING.set(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CallSession)
            .where(CallSession.waiting_since.is_not(None), CallSession.admitted_at.is_(None))
            .where(CallSession.ended_at.is_(None))
        )
    )
    IN_CALL.set(db.session.scalar(sa.select(sa.func.count()).where(Appointment.status == "in_call")))
    OUTBOX.set(db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.status == "pending")))
    server = socketio.server
    for namespace in server.namespace_handlers if server else ():
        SOCKETS.labels(namespace).set(sum(1 for _ in server.manager.get_participants(namespace, None)))
    return generate_latest(REGISTRY)
