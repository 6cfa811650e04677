"""Staff login (the password, then a code when two-factor sign-in is due), logout, the console
(today's agenda and video waiting room), admit, call screen."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app import two_factor
from app.accounts import AccountLocked, authenticate, end_sessions, staff_for_session, verify_second_step
from app.agenda import todays_agenda
from app.calls import admission, sessions
from app.calls.ice import ice_config
from app.calls.presence import rooms
from app.documents.access import appointment_shown_to_staff
from app.extensions import limiter
from app.i18n import zone_label
from app.models import Staff, utcnow
from app.staff import bp
from app.staff.forms import CodeForm, LoginForm
from app.templating import local_date, local_time
from app.web import no_store, safe_next, staff_appointment_or_404, staff_required, start_staff_session

PENDING_KEY = "staff_pending"  # between the password and the second step: who, since when, where to


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# The password and the code share one per-address budget: a script cannot double its guesses.
sign_in_limit = limiter.shared_limit(_login_limit, scope="staff-sign-in", methods=["POST"])


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limit
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
            return render_template("staff/login.html", form=form, error=locked_message(locked)), 429
        if staff is not None:
            return _after_password(staff)
        error = _("Invalid email or password.")
        status = 401
    elif request.method == "POST":
        error = str(form.email.errors[0]) if form.email.errors else _("Enter your email and password.")
        status = 422
    return render_template("staff/login.html", form=form, error=error), status


def _after_password(staff: Staff):
    next_url = safe_next(request.args.get("next"), "")
    if not two_factor.second_step_due(staff):
        start_staff_session(staff)
        return redirect(next_url or url_for("staff.console"))
    begin_second_step(staff, next_url)
    return redirect(url_for("staff.login_code" if two_factor.enrolled(staff) else "staff.two_factor_enrol"))


def begin_second_step(staff: Staff, next_url: str = "") -> None:
    """The password was right but the account is not signed in: the session (signed, as ever)
    remembers only which account and session version, since when, and the page to go to."""
    session.clear()
    session[PENDING_KEY] = {"staff": staff.get_id(), "since": utcnow().timestamp(), "next": next_url}


def pending_staff() -> Staff | None:
    """The account halfway through signing in on this browser, for TWO_FACTOR_PENDING_MINUTES at
    most (and only while its sessions stand: a new password ends the step too)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    since, minutes = pending.get("since"), current_app.config["TWO_FACTOR_PENDING_MINUTES"]
    if not isinstance(since, int | float) or utcnow().timestamp() - since > minutes * 60:
        return None
    return staff_for_session(str(pending.get("staff", "")))


def finish_second_step(staff: Staff) -> str:
    """Sign the account in on this browser; the page the sign-in was headed for."""
    next_url = (session.get(PENDING_KEY) or {}).get("next")
    start_staff_session(staff)
    return safe_next(next_url, url_for("staff.console"))


def start_again():
    """No (or no longer a) pending sign-in: a stale page says so and goes back to the password;
    a POST that never had one is refused."""
    had_one = PENDING_KEY in session
    session.pop(PENDING_KEY, None)
    if request.method == "POST" and not had_one:
        abort(403)
    if had_one:
        flash(_("Signing in took too long. Enter your password again."), "info")
    return redirect(url_for("staff.login"))


@bp.route("/login/code", methods=["GET", "POST"])
@sign_in_limit
def login_code():
    staff = pending_staff()
    if staff is None:
        return start_again()
    if not two_factor.enrolled(staff):
        return redirect(url_for("staff.two_factor_enrol"))
    form = CodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            if verify_second_step(staff, form.code.data):
                return redirect(finish_second_step(staff))
        except AccountLocked as locked:
            session.pop(PENDING_KEY, None)
            return render_template("staff/login.html", form=LoginForm(), error=locked_message(locked)), 429
        error, status = _("That code is not right, or it was used already. Enter the newest one."), 401
    elif request.method == "POST":
        error, status = str(form.code.errors[0]), 422
    return render_template("staff/login_code.html", form=form, error=error), status


def locked_message(locked: AccountLocked) -> str:
    zone = ZoneInfo(locked.timezone or current_app.config["DEFAULT_TIMEZONE"])
    time, place = local_time(locked.until, locked.timezone), zone_label(locked.timezone)
    if locked.until.astimezone(zone).date() == utcnow().astimezone(zone).date():
        return _(
            "Too many wrong passwords or codes: this account is locked until %(time)s (%(zone)s). "
            "Try again then, or reset your password.",
            time=time,
            zone=place,
        )
    return _(
        "Too many wrong passwords or codes: this account is locked until %(date)s at %(time)s "
        "(%(zone)s). Try again then, or reset your password.",
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
    """Admit from the console (or the call screen without JavaScript): then the call screen."""
    appointment = staff_appointment_or_404(reference)
    try:
        admission.admit_waiting(appointment, current_user)
    except admission.CannotAdmit as refused:
        if refused.status == 404:
            abort(404)
        flash(refused.message, "error")
        return console(), refused.status
    return redirect(url_for("staff.call_screen", reference=appointment.reference))


@bp.get("/call/<reference>")
@staff_required("clerk")
def call_screen(reference: str):
    """The clerk's call: in progress, or "ready" (a citizen of today not yet admitted: camera,
    connection and socket prepared, Admit on the screen itself)."""
    appointment = staff_appointment_or_404(reference)
    in_call = appointment.status == "in_call" and appointment.clerk_id == current_user.id
    if not in_call and not sessions.may_get_ready(appointment, current_user):
        flash(_("Admit the citizen from the console first."), "info")
        return redirect(url_for("staff.console"))
    appointment_shown_to_staff(appointment, current_user)  # its panel: name, contact, licence number
    agency = appointment.service.agency
    return render_template(
        "staff/call.html",
        appointment=appointment,
        agency=agency,
        timezone=agency.timezone,
        ready=not in_call,
        present=rooms.citizen_present(appointment.id),
        # In the page, like the join page's: the connection is prepared without another request.
        ice=ice_config(f"staff-{current_user.id}"),
        keep_alive_seconds=keep_alive_seconds(),
    )


def keep_alive_seconds() -> int:
    """How often a call screen in a call tells the server the clerk is there: well within
    STAFF_IDLE_MINUTES, so a call longer than that does not sign the clerk out."""
    return max(30, min(300, current_app.config["STAFF_IDLE_MINUTES"] * 60 // 3))


@bp.post("/keep-alive")
def keep_alive():
    """A call screen in a call: the staff session stays signed in (the user loader counted this
    request). Anonymous or an expired session: 401, never a redirect to the sign-in page."""
    if not current_user.is_authenticated:
        return jsonify(ok=False, message=_("You were signed out. Sign in again.")), 401
    return no_store(jsonify(ok=True))
