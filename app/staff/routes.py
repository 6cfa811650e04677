"""Staff login, logout, the console (today's agenda and video waiting room), admit, call screen."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.call import events as call_events
from app.call import sessions as call_sessions
from app.extensions import db, limiter
from app.main.routes import safe_next
from app.models import Appointment, Service
from app.security import staff_may_act_for, staff_required
from app.staff import bp
from app.staff.auth import authenticate
from app.staff.forms import LoginForm
from app.templating import local_time


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
    states = {a.id: call_sessions.call_state(a) for a in appointments if a.service.mode == "video"}
    for state in states.values():
        if state.get("since"):
            state["since_time"] = local_time(dt.datetime.fromisoformat(state["since"]), str(zone))
    present = {a.id for a in appointments if "citizen" in call_events.rooms.present(a.id)}
    waiting_refs = [
        a.reference
        for a in appointments
        if a.id in present and states.get(a.id, {}).get("state") == "waiting"
    ]
    return render_template(
        "staff/console.html",
        appointments=appointments,
        today=today,
        timezone=str(zone),
        states=states,
        present=present,
        waiting_refs=waiting_refs,
    )


def agency_appointment_or_404(reference: str) -> Appointment:
    """An appointment of the signed-in clerk's agency, by its public reference."""
    appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference[:20]))
    if appointment is None or not staff_may_act_for(current_user, appointment.service.agency_id):
        abort(404)
    return appointment


@bp.post("/appointments/<reference>/admit")
@staff_required("clerk")
def admit(reference: str):
    appointment = agency_appointment_or_404(reference)
    if appointment.service.mode != "video":
        abort(404)
    try:
        call_sessions.admit(appointment, current_user)
    except call_sessions.AlreadyAdmitted as taken:
        name = taken.clerk.name if taken.clerk else _("another clerk")
        flash(_("%(name)s already admitted %(reference)s.", name=name, reference=reference), "error")
        return console(), 409
    call_events.tell_citizen_admitted(appointment)
    return redirect(url_for("staff.call_screen", reference=reference))


@bp.get("/call/<reference>")
@staff_required("clerk")
def call_screen(reference: str):
    appointment = agency_appointment_or_404(reference)
    if appointment.status != "in_call" or appointment.clerk_id != current_user.id:
        flash(_("Admit the citizen from the console first."), "info")
        return redirect(url_for("staff.console"))
    return render_template(
        "staff/call.html",
        appointment=appointment,
        agency=appointment.service.agency,
        timezone=appointment.service.agency.timezone,
    )
