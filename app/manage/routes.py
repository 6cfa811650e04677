"""The citizen's manage link: view, cancel, reschedule, replace a document, download results."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from app import scheduling
from app.appointments import (
    BookingError,
    TooLate,
    can_change,
    cancel_appointment,
    new_time_for,
    reschedule_appointment,
)
from app.documents import replace_document
from app.documents.access import DocumentNotFound, open_result_for_citizen
from app.extensions import limiter
from app.follow_ups import FollowUpRefused, add_follow_up, follow_up_open, follow_up_until
from app.link_recovery import CallNotOpen, call_open, has_call, issue_page_join_token, resend_links
from app.links import join_url
from app.manage import bp
from app.manage.forms import CancelForm, FindAppointmentForm, ReplaceDocumentForm, RescheduleConfirmForm
from app.month_calendar import month_grid
from app.outcomes import OUTCOME_EXPLANATIONS, OUTCOME_LABELS
from app.web import manage_appointment_or_404, no_store, parse_day, parse_month, parse_start


def render_manage(template: str, appointment, token: str, status: int = 200, **context):
    return render_template(
        template,
        appointment=appointment,
        service=appointment.service,
        agency=appointment.service.agency,
        token=token,
        changeable=can_change(appointment),
        call_open=call_open(appointment),
        outcome_labels=OUTCOME_LABELS,
        outcome_explanations=OUTCOME_EXPLANATIONS,
        follow_up_open=follow_up_open(appointment),
        follow_up_until=follow_up_until(appointment),
        **context,
    ), status


def find_rate_limit() -> str:
    return current_app.config["FIND_APPOINTMENT_RATE_LIMIT"]


@bp.route("/find", methods=["GET", "POST"])
@limiter.limit(find_rate_limit, methods=["POST"])
def find():
    """Reference and e-mail in; fresh links e-mailed to the address on file, never shown here. The
    answer is the same whether or not they matched, so nobody learns who has an appointment."""
    form = FindAppointmentForm()
    if request.method == "GET":
        return render_template("manage/find.html", form=form)
    if not form.validate_on_submit():
        return render_template("manage/find.html", form=form), 422
    resend_links(form.reference.data, form.email.data)
    return render_template("manage/find.html", form=FindAppointmentForm(formdata=None), sent=True)


@bp.post("/<token>/join")
@limiter.limit("30 per minute")
def join(token: str):
    """The call from the manage page: a join link of its own, issued while the call is open."""
    appointment = manage_appointment_or_404(token)
    if not has_call(appointment):
        abort(404)
    try:
        call_token = issue_page_join_token(appointment)
    except CallNotOpen as error:
        return render_manage(
            "manage/view.html",
            appointment,
            token,
            error.status,
            cancel_form=CancelForm(),
            replace_form=ReplaceDocumentForm(),
            error=error.message,
        )
    return redirect(join_url(call_token))


@bp.get("/<token>")
@limiter.limit("60 per minute")
def view(token: str):
    appointment = manage_appointment_or_404(token)
    return render_manage(
        "manage/view.html", appointment, token, cancel_form=CancelForm(), replace_form=ReplaceDocumentForm()
    )


@bp.post("/<token>/cancel")
def cancel(token: str):
    appointment = manage_appointment_or_404(token)
    form = CancelForm()
    if not form.validate_on_submit():
        return render_manage(
            "manage/view.html", appointment, token, 422, cancel_form=form, replace_form=ReplaceDocumentForm()
        )
    try:
        cancel_appointment(appointment)
    except TooLate as error:
        return render_manage(
            "manage/view.html",
            appointment,
            token,
            error.status,
            cancel_form=form,
            replace_form=ReplaceDocumentForm(),
            error=error.message,
        )
    flash(_("Your appointment was cancelled. The time is free for someone else."), "info")
    return redirect(url_for("manage.view", token=token))


@bp.get("/<token>/reschedule")
def reschedule_calendar(token: str):
    appointment = manage_appointment_or_404(token)
    if not can_change(appointment):
        return redirect(url_for("manage.view", token=token))
    service = appointment.service
    today = scheduling.today_for(service)
    month = parse_month(request.args.get("month"), default=today.replace(day=1))
    if month is None:
        abort(404)
    grid = month_grid(service, appointment.office, month, today)
    return render_manage(
        "manage/reschedule_calendar.html",
        appointment,
        token,
        grid=grid,
        office=appointment.office,
        day_url=lambda day: url_for("manage.reschedule_times", token=token, day=day.isoformat()),
        month_url=lambda first: url_for(
            "manage.reschedule_calendar", token=token, month=first.strftime("%Y-%m")
        ),
    )


def render_times(appointment, token: str, day, status: int = 200, error: str | None = None):
    """The day's free times (as they are now) to move to, with an error when there is one."""
    availability = scheduling.available_days(appointment.service, day, 1, office=appointment.office)[0]
    return render_manage(
        "manage/reschedule_times.html",
        appointment,
        token,
        status,
        availability=availability,
        day=day,
        office=appointment.office,
        error=error,
    )


def local_day(appointment, start):
    return start.astimezone(scheduling.agency_zone(appointment.service)).date()


@bp.route("/<token>/reschedule/times", methods=["GET", "POST"])
def reschedule_times(token: str):
    """Choose a time; the next step shows it beside the current one and asks to confirm."""
    appointment = manage_appointment_or_404(token)
    if not can_change(appointment):
        return redirect(url_for("manage.view", token=token))
    day = parse_day(request.values.get("day"))
    if day is None:
        abort(404)
    if request.method == "GET":
        return render_times(appointment, token, day)
    start = parse_start(request.form.get("start"))
    if start is None:
        return render_times(appointment, token, day, 422, _("Choose one of the available times."))
    try:
        new_time_for(appointment, appointment.office, start)
    except BookingError as error:
        return render_times(appointment, token, day, error.status, error.message)
    return redirect(url_for("manage.reschedule_confirm", token=token, start=start.isoformat()))


@bp.get("/<token>/reschedule/confirm")
def reschedule_confirm(token: str):
    appointment = manage_appointment_or_404(token)
    if not can_change(appointment):
        return redirect(url_for("manage.view", token=token))
    start = parse_start(request.args.get("start"))
    if start is None:
        abort(404)
    try:
        slot = new_time_for(appointment, appointment.office, start)
    except BookingError as error:
        return render_times(appointment, token, local_day(appointment, start), error.status, error.message)
    form = RescheduleConfirmForm(start=slot.start.isoformat())
    return render_manage(
        "manage/reschedule_confirm.html",
        appointment,
        token,
        slot=slot,
        form=form,
        day=local_day(appointment, start),
    )


@bp.post("/<token>/reschedule/confirm")
def reschedule_confirmed(token: str):
    """Move the appointment to the confirmed time: the old time stays booked until this succeeds."""
    appointment = manage_appointment_or_404(token)
    if not can_change(appointment):
        return redirect(url_for("manage.view", token=token))
    form = RescheduleConfirmForm()
    start = parse_start(form.start.data)
    if not form.validate_on_submit() or start is None:
        return render_manage(
            "manage/view.html",
            appointment,
            token,
            422,
            cancel_form=CancelForm(),
            replace_form=ReplaceDocumentForm(),
            error=_("Choose one of the available times."),
        )
    try:
        reschedule_appointment(appointment, appointment.office, start, token)
    except BookingError as error:
        return render_times(appointment, token, local_day(appointment, start), error.status, error.message)
    flash(_("Your appointment was moved. We sent you an email with the new time."), "info")
    return redirect(url_for("manage.view", token=token))


@bp.post("/<token>/documents/<code>")
@limiter.limit("20 per hour")
def replace(token: str, code: str):
    appointment = manage_appointment_or_404(token)
    requirement = next((r for r in appointment.service.requirements if r.code == code), None)
    if requirement is None:
        abort(404)
    if not can_change(appointment):
        return render_manage(
            "manage/view.html",
            appointment,
            token,
            409,
            cancel_form=CancelForm(),
            replace_form=ReplaceDocumentForm(),
            error=TooLate().message,
        )
    form = ReplaceDocumentForm()
    error = None
    if form.validate_on_submit():
        error = replace_document(appointment, requirement, request.files.get("document"))
    else:
        error = _("The form expired. Please try again.")
    if error:
        return render_manage(
            "manage/view.html",
            appointment,
            token,
            422,
            cancel_form=CancelForm(),
            replace_form=form,
            error=error,
        )
    flash(_("Your document was replaced."), "info")
    return redirect(url_for("manage.view", token=token))


@bp.post("/<token>/follow-up/<code>")
@limiter.limit("20 per hour")
def follow_up(token: str, code: str):
    """After a "documents missing" outcome: a missing document, added beside the ones the clerk saw."""
    appointment = manage_appointment_or_404(token)
    requirement = next((r for r in appointment.service.requirements if r.code == code), None)
    if requirement is None:
        abort(404)
    form = ReplaceDocumentForm()
    try:
        if not form.validate_on_submit():
            raise FollowUpRefused(_("The form expired. Please try again."), 422)
        add_follow_up(appointment, requirement, request.files.get("document"))
    except FollowUpRefused as error:
        return render_manage(
            "manage/view.html",
            appointment,
            token,
            error.status,
            cancel_form=CancelForm(),
            replace_form=form,
            error=error.message,
        )
    flash(_("We received your document. The clerk who attended you was told and will review it."), "info")
    return redirect(url_for("manage.view", token=token))


@bp.get("/<token>/results/<int:document_id>")
@limiter.limit("60 per minute")
def result_download(token: str, document_id: int):
    """A document the agency left for the citizen (source "clerk"), as a PDF attachment."""
    appointment = manage_appointment_or_404(token)
    try:
        file, download_name = open_result_for_citizen(appointment, document_id)
    except DocumentNotFound:
        abort(404)
    response = send_file(
        file,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=download_name,
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return no_store(response)  # send_file set its own Cache-Control: replace it
