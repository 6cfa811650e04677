"""Staff login, logout and the console home (today's agenda)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.extensions import db, limiter
from app.main.routes import safe_next
from app.models import Appointment, Service
from app.security import staff_required
from app.staff import bp
from app.staff.auth import authenticate
from app.staff.forms import LoginForm


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.console"))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        staff = authenticate(form.email.data, form.password.data)
        if staff is not None:
            login_user(staff)
            return redirect(safe_next(request.args.get("next"), url_for("staff.console")))
        error = _("Invalid email or password.")
        status = 401
    elif request.method == "POST":
        error = _("Enter your email and password.")
        status = 422
    return render_template("staff/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("staff.login"))


@bp.get("/")
@staff_required("clerk")
def console():
    agency = current_user.agency
    zone = ZoneInfo(agency.timezone if agency else current_app.config["DEFAULT_TIMEZONE"])
    today = dt.datetime.now(zone).date()
    start = dt.datetime.combine(today, dt.time.min, zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, zone)
    query = (
        sa.select(Appointment)
        .join(Service)
        .where(Appointment.start_at >= start, Appointment.start_at < end)
        .order_by(Appointment.start_at)
    )
    if current_user.role != "superadmin":
        query = query.where(Service.agency_id == current_user.agency_id)
    appointments = db.session.scalars(query).all()
    return render_template("staff/console.html", appointments=appointments, today=today,
                           timezone=str(zone))
