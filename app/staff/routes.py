"""Staff login, logout, the console (today's agenda and video waiting room), admit, call screen."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.accounts import AccountLocked, authenticate, end_sessions
from app.agenda import todays_agenda
from app.calls import live, sessions
from app.calls.presence import rooms
from app.extensions import limiter
from app.i18n import zone_label
from app.models import utcnow
from app.staff import bp
from app.staff.forms import LoginForm
from app.templating import local_date, local_time
from app.web import safe_next, staff_appointment_or_404, staff_required, start_staff_session


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
        try:
            staff = authenticate(form.email.data, form.password.data)
        except AccountLocked as locked:
            return render_template("staff/login.html", form=form, error=_locked_message(locked)), 429
        if staff is not None:
            start_staff_session(staff)
            return redirect(safe_next(request.args.get("next"), url_for("staff.console")))
        error = _("Invalid email or password.")
        status = 401
    elif request.method == "POST":
        error = str(form.email.errors[0]) if form.email.errors else _("Enter your email and password.")
        status = 422
    return render_template("staff/login.html", form=form, error=error), status


def _locked_message(locked: AccountLocked) -> str:
    zone = ZoneInfo(locked.timezone or current_app.config["DEFAULT_TIMEZONE"])
    time, place = local_time(locked.until, locked.timezone), zone_label(locked.timezone)
    if locked.until.astimezone(zone).date() == utcnow().astimezone(zone).date():
        return _(
            "Too many wrong passwords: this account is locked until %(time)s (%(zone)s). "
            "Try again then, or reset your password.",
            time=time,
            zone=place,
        )
    return _(
        "Too many wrong passwords: this account is locked until %(date)s at %(time)s (%(zone)s). "
        "Try again then, or reset your password.",
        date=local_date(locked.until, locked.timezone, "long"),
        time=time,
        zone=place,
    )


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        end_sessions(current_user)  # a copy of this cookie, or another browser's, stops working
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("staff.login"))


@bp.get("/")
@staff_required("clerk")
def console():
    agenda = todays_agenda(current_user)
    for state in agenda.states.values():
        if state.get("since"):
            since = dt.datetime.fromisoformat(state["since"])
            state["since_time"] = local_time(since, agenda.timezone)
    return render_template(
        "staff/console.html",
        appointments=agenda.appointments,
        today=agenda.day,
        timezone=agenda.timezone,
        states=agenda.states,
        present=agenda.present,
        waiting_refs=agenda.waiting_references,
        late_minutes=sessions.LATE_MINUTES,
    )


@bp.post("/appointments/<reference>/admit")
@staff_required("clerk")
def admit(reference: str):
    appointment = staff_appointment_or_404(reference)
    if appointment.service.mode != "video":
        abort(404)
    if not rooms.citizen_present(appointment.id):
        flash(_("%(reference)s is not in the waiting room yet.", reference=appointment.reference), "error")
        return console(), 409
    try:
        sessions.admit(appointment, current_user)
    except sessions.AlreadyAdmitted as taken:
        name = taken.clerk.name if taken.clerk else _("another clerk")
        if appointment.status == "booked":  # not admitted: given to another clerk beforehand
            message = _("%(reference)s is for %(name)s: ask them, or give it to yourself on its page.")
        else:
            message = _("%(name)s already admitted %(reference)s.")
        flash(message % {"name": name, "reference": reference}, "error")
        return console(), 409
    live.tell_citizen_admitted(appointment)
    return redirect(url_for("staff.call_screen", reference=appointment.reference))


@bp.get("/call/<reference>")
@staff_required("clerk")
def call_screen(reference: str):
    appointment = staff_appointment_or_404(reference)
    if appointment.status != "in_call" or appointment.clerk_id != current_user.id:
        flash(_("Admit the citizen from the console first."), "info")
        return redirect(url_for("staff.console"))
    agency = appointment.service.agency
    return render_template(
        "staff/call.html", appointment=appointment, agency=agency, timezone=agency.timezone
    )
