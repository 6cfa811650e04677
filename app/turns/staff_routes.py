"""The clerk's queue console: the line live, "call next", outcomes, and in-person check-in.

Every route needs a clerk (or above) and only shows the clerk's own agency; queue-console.js
refreshes the line when the server pushes a change, and every action is a plain form post.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import queue, scheduling
from app.models import utcnow
from app.outcomes import TURN_OUTCOME_LABELS
from app.turns import staff_bp
from app.turns.forms import ActionForm, OutcomeForm
from app.web import (
    staff_appointment_by_id_or_404,
    staff_queue_or_404,
    staff_required,
    staff_turn_or_404,
)


def _console_url(line: queue.QueueRef) -> str:
    return url_for("turns_staff.console", service_id=line.service.id, office_id=line.office.id)


@staff_bp.get("/")
@staff_required("clerk")
def index():
    lines = queue.queues_for_staff(current_user)
    now = utcnow()
    counts = {
        line.key: queue.count_in_line(*line.key, scheduling.today_for(line.service, now)) for line in lines
    }
    return render_template("turns_staff/index.html", lines=lines, counts=counts)


def render_console(line: queue.QueueRef, status: int = 200, **context):
    now = utcnow()
    day = scheduling.today_for(line.service, now)
    load = queue.queue_load(line.service, line.office.id, day, now)
    waiting = queue.in_line(*line.key, day)
    calling = queue.being_called(*line.key, day)
    mine = [turn for turn in calling if turn.clerk_id == current_user.id]
    return render_template(
        "turns_staff/console.html",
        line=line,
        service=line.service,
        agency=line.service.agency,
        day=day,
        now=now,
        load=load,
        waiting=waiting,
        mine=mine,
        others=[turn for turn in calling if turn.clerk_id != current_user.id],
        new_turn_estimate=queue.WaitEstimate.for_people_ahead(load, len(waiting)),
        outcome_form=context.pop("outcome_form", None) or OutcomeForm(formdata=None),
        action_form=ActionForm(formdata=None),
        timezone=line.service.agency.timezone,
        outcome_labels=TURN_OUTCOME_LABELS,
        retry_minutes=queue.setting("QUEUE_NO_ANSWER_RETRY_MINUTES", 10),
        **context,
    ), status


@staff_bp.get("/<int:service_id>/<int:office_id>")
@staff_required("clerk")
def console(service_id: int, office_id: int):
    return render_console(staff_queue_or_404(service_id, office_id))


@staff_bp.post("/<int:service_id>/<int:office_id>/call-next")
@staff_required("clerk")
def call_next(service_id: int, office_id: int):
    line = staff_queue_or_404(service_id, office_id)
    try:
        turn = queue.call_next(line, current_user)
    except queue.TurnError as error:
        return render_console(line, error.status, error=error.message)
    if turn is None:
        flash(_("Nobody is waiting in this line."), "info")
    return redirect(_console_url(line))


@staff_bp.post("/turn/<int:turn_id>/outcome")
@staff_required("clerk")
def outcome(turn_id: int):
    turn = staff_turn_or_404(turn_id)
    line = staff_queue_or_404(turn.service_id, turn.office_id or 0)
    form = OutcomeForm()
    if not form.validate():
        return render_console(line, 422, outcome_form=form, error=_("Choose the outcome of the call."))
    try:
        queue.record_outcome(turn, current_user, form.outcome.data, form.note.data or "")
    except queue.TurnError as error:
        return render_console(line, error.status, error=error.message)
    flash(_("Outcome saved for %(code)s.", code=turn.code), "info")
    return redirect(_console_url(line))


@staff_bp.get("/check-in")
@staff_required("clerk")
def check_in_search():
    query = request.args.get("q", "")[:100]
    found = queue.appointments_to_check_in(current_user, query)
    return render_template(
        "turns_staff/check_in.html", query=query, found=found, action_form=ActionForm(formdata=None)
    )


@staff_bp.post("/check-in/<int:appointment_id>")
@staff_required("clerk")
def check_in(appointment_id: int):
    appointment = staff_appointment_by_id_or_404(appointment_id)
    try:
        turn = queue.check_in(appointment, current_user)
    except queue.TurnError as error:
        query = request.form.get("q", "")[:100]
        return render_template(
            "turns_staff/check_in.html",
            query=query,
            error=error.message,
            found=queue.appointments_to_check_in(current_user, query),
            action_form=ActionForm(formdata=None),
        ), error.status
    flash(_("%(name)s is checked in with turn %(code)s.", name=turn.citizen_name, code=turn.code), "info")
    return redirect(url_for("turns_staff.console", service_id=turn.service_id, office_id=turn.office_id))
