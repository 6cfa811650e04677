"""Public pages: the service catalogue, language choice, health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, current_app, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app import metrics, operations
from app.extensions import csrf, db, limiter
from app.main import bp
from app.models import Agency, Service, utcnow
from app.reports import open_data
from app.security import CSP_REPORT_PATH, MAX_CSP_REPORT_BYTES, csp_violations
from app.web import csv_download, safe_next


@bp.get("/")
def home():
    agencies = db.session.scalars(
        sa.select(Agency)
        .options(selectinload(Agency.services).selectinload(Service.requirements))
        .order_by(Agency.name_es)
    ).all()
    return render_template("main/home.html", agencies=agencies)


@bp.get("/agencies/<slug>")
def agency(slug: str):
    agency = db.session.scalar(sa.select(Agency).where(Agency.slug == slug))
    if agency is None:
        abort(404, _("There is no agency with that name."))
    return render_template("main/agency.html", agency=agency)


@bp.get("/services/<slug>")
def service(slug: str):
    service = db.session.scalar(sa.select(Service).where(Service.slug == slug, Service.active.is_(True)))
    if service is None:
        abort(404, _("There is no service with that name."))
    return render_template("main/service.html", service=service, agency=service.agency)


def _publishing_agency_or_404(slug: str) -> Agency:
    agency = open_data.published_agency(slug)
    if agency is None:
        abort(404, _("This agency does not publish open data."))
    return agency


@bp.get("/datos/<slug>")
def open_data_page(slug: str):
    """The agency's monthly figures per service, small counts suppressed (when it opted in)."""
    agency = _publishing_agency_or_404(slug)
    rows = open_data.open_data(agency)
    return render_template("main/open_data.html", agency=agency, rows=rows, columns=open_data.COLUMNS)


@bp.get("/datos/<slug>.csv")
def open_data_csv(slug: str):
    agency = _publishing_agency_or_404(slug)
    header = [_("Month"), _("Service"), *(str(label) for label in open_data.COLUMNS.values())]
    rows = [
        [row.month, row.service.localized("name"), *(row.values[key] for key in open_data.COLUMNS)]
        for row in open_data.open_data(agency)
    ]
    return csv_download(f"{agency.slug}-open-data.csv", header, rows)


@bp.get("/language/<code>")
def set_language(code: str):
    lang = code if code in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]
    response = redirect(safe_next(request.args.get("next")))
    response.set_cookie(
        current_app.config["LANGUAGE_COOKIE"],
        lang,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


@bp.post(CSP_REPORT_PATH)
@csrf.exempt  # browsers send reports without a session or a token
@limiter.limit("30 per minute")
def csp_report():
    """Content-Security-Policy violations reported by browsers, logged without tokens or URLs."""
    body = request.stream.read(MAX_CSP_REPORT_BYTES + 1)
    violations = csp_violations(body) if len(body) <= MAX_CSP_REPORT_BYTES else None
    if violations is None:
        abort(400)
    for violation in violations:
        current_app.logger.warning("CSP violation: %(directive)s blocked %(blocked)s on %(page)s", violation)
    return "", 204


@bp.get("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = "ok"
    except sa.exc.SQLAlchemyError as error:
        current_app.logger.warning("health check: database unavailable: %s", error)
        db.session.rollback()
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "degraded", database=database), status


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Ready for traffic: the database, Redis when configured, and a writable upload store."""
    checks = operations.readiness(current_app.config)
    ready = all(state == "ok" for state in checks.values())
    return jsonify(status="ready" if ready else "not ready", **checks), 200 if ready else 503


@bp.get("/metrics")
@limiter.exempt
def metrics_page():
    if not metrics.may_scrape(current_app.config, request.remote_addr, request.headers.get("Authorization")):
        abort(404)
    return Response(metrics.exposition(utcnow()), mimetype="text/plain; version=0.0.4")
