"""The clerk's agenda beyond today: any day or week, narrowed by office, service and state, a
search across dates, reassigning an upcoming video appointment, and the "running late" notice
to a waiting citizen (issue 12, item 5).
Today's live console stays in `routes`."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import agenda
from app.calls import live, sessions
from app.extensions import db
from app.models import APPOINTMENT_STATUSES, Office, Service
from app.security import staff_agency_filter
from app.staff import bp
from app.web import parse_day, staff_appointment_or_404, staff_required


@bp.get("/agenda")
@staff_required("clerk")
def agenda_page():
    """`?day=YYYY-MM-DD&view=day|week&office=&service=&status=`; today by default."""
    timezone = agenda.agency_timezone(current_user)
    today = agenda.local_today(current_user)
    day = parse_day(request.args["day"]) if request.args.get("day") else today
    view = request.args.get("view", "day")
    if day is None or view not in ("day", "week"):
        abort(404)
    offices, services = _choices()
    filters, error = _filters(offices, services)
    first, end = agenda.week_of(day) if view == "week" else (day, day + dt.timedelta(days=1))
    appointments = [] if error else agenda.appointments_between(current_user, first, end, timezone, filters)
    by_day = agenda.by_local_day(appointments, first, end, timezone)
    step = dt.timedelta(days=7 if view == "week" else 1)
    page = dict(day=day, view=view, by_day=by_day, first=first, today=today, timezone=timezone)
    choices = dict(
        filters=filters, error=error, offices=offices, services=services, statuses=APPOINTMENT_STATUSES
    )
    return render_template(
        "staff/agenda.html", **page, **choices, previous=day - step, following=day + step
    ), 422 if error else 200


@bp.get("/search")
@staff_required("clerk")
def search_page():
    query = request.args.get("q", "").strip()
    if len(query) > agenda.MAX_QUERY_CHARS:
        message = _("Search for at most %(count)d characters.", count=agenda.MAX_QUERY_CHARS)
        return render_template("staff/search.html", query="", results=None, error=message), 422
    results = agenda.search(current_user, query) if query else None
    return render_template(
        "staff/search.html",
        query=query,
        results=results,
        error=None,
        timezone=agenda.agency_timezone(current_user),
        limit=agenda.SEARCH_LIMIT,
    )


def _choices() -> tuple[list[Office], list[Service]]:
    offices = db.session.scalars(
        sa.select(Office).where(staff_agency_filter(current_user, Office.agency_id)).order_by(Office.id)
    ).all()
    services = db.session.scalars(
        sa.select(Service).where(staff_agency_filter(current_user, Service.agency_id)).order_by(Service.id)
    ).all()
    return list(offices), list(services)


def _filters(offices: list[Office], services: list[Service]) -> tuple[agenda.Filters, str | None]:
    """The filters asked for, or the message saying which one is not among the choices."""
    office = _chosen(request.args.get("office"), {office.id for office in offices})
    service = _chosen(request.args.get("service"), {service.id for service in services})
    status = request.args.get("status") or None
    if office is False or service is False or (status is not None and status not in APPOINTMENT_STATUSES):
        return agenda.Filters(), _("Choose the office, service and state from the lists.")
    return agenda.Filters(office_id=office, service_id=service, status=status), None


def _chosen(value: str | None, allowed: set[int]) -> int | None | bool:
    """None when not asked for, the id when it is one of `allowed`, False otherwise."""
    if not value:
        return None
    return int(value) if value.isdigit() and int(value) in allowed else False


@bp.post("/appointments/<reference>/running-late")
@staff_required("clerk")
def running_late(reference: str):
    """Tell a citizen with a video appointment that the clerk is running about N minutes late."""
    appointment = staff_appointment_or_404(reference)
    minutes = request.form.get("minutes", "")
    if not minutes.isdigit() or int(minutes) not in sessions.LATE_MINUTES:
        abort(422, _("Choose how late you are from the list."))
    if appointment.service.mode != "video" or appointment.status != "booked":
        abort(409, _("Only a citizen still waiting for their video call can be told you are running late."))
    try:
        sessions.note_running_late(appointment, current_user, int(minutes))
    except sessions.TooSoon:
        abort(409, _("You told them moments ago; wait a couple of minutes before telling them again."))
    live.tell_citizen_running_late(appointment, int(minutes))
    flash(_("%(reference)s has been told you are running late.", reference=reference), "info")
    return redirect(url_for("staff.console"))


@bp.post("/appointments/<reference>/assign")
@staff_required("clerk")
def assign(reference: str):
    """Give an upcoming video appointment to one of the agency's clerks, or back to anyone."""
    appointment = staff_appointment_or_404(reference)
    chosen = request.form.get("clerk", "")
    clerks = {str(clerk.id): clerk for clerk in sessions.clerks_for(appointment)}
    if chosen and chosen not in clerks:
        abort(422, _("Choose a clerk of the agency from the list."))
    try:
        sessions.assign(appointment, clerks.get(chosen), current_user)
    except sessions.CannotAssign:
        abort(409, _("Only an upcoming video appointment, not yet admitted, can be given to another clerk."))
    clerk = clerks.get(chosen)
    flash(
        _("%(reference)s is now %(whom)s's.", reference=reference, whom=clerk.name)
        if clerk
        else _("Any clerk can now admit %(reference)s.", reference=reference),
        "info",
    )
    return redirect(url_for("staff.appointment_detail", reference=reference))
