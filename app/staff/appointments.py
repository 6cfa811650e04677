"""The clerk's panel for one appointment: documents as page images, identity, outcome, results.

Every route is for staff of the appointment's agency (another agency's appointment is a 404).
The rules are the domain's: `app.documents.access` (the audited page and page images), `app.identity`,
`app.outcomes` (closing an appointment) and `app.results`. Each action answers with a redirect
and a flash message, or with JSON when the call screen's script asks for it.
"""

from __future__ import annotations

import logging

from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.calls import live, sessions
from app.closing import ClerkActionError, close_appointment
from app.documents import DEFAULT_WIDTH, DocumentError, RenderError
from app.documents.access import DocumentNotFound, appointment_shown_to_staff, page_image_for_staff
from app.errors import wants_json
from app.identity import verify_identity
from app.models import Appointment
from app.outcomes import OUTCOME_EXPLANATIONS, OUTCOME_LABELS
from app.results import RESULT_REQUIREMENT, attach_result
from app.staff import bp
from app.staff.forms import OutcomeForm
from app.web import safe_next, staff_appointment_or_404, staff_required

log = logging.getLogger(__name__)


@bp.app_context_processor
def outcome_words():
    return {
        "outcome_labels": OUTCOME_LABELS,
        "outcome_explanations": OUTCOME_EXPLANATIONS,
        "result_max_pages": RESULT_REQUIREMENT.max_pages,
    }


def _page(appointment: Appointment, status: int = 200, **context):
    return render_template(
        "staff/appointment.html",
        appointment=appointment,
        agency=appointment.service.agency,
        assignable_clerks=sessions.clerks_for(appointment),
        **context,
    ), status


def _refused(appointment: Appointment, message: str, status: int, fields: dict | None = None, **context):
    """The panel again with the error, or JSON with the message and one message per refused field."""
    if wants_json():
        body = {"error": "conflict" if status == 409 else "validation", "message": message}
        if fields:
            body["fields"] = {name: str(messages[0]) for name, messages in fields.items()}
        return jsonify(body), status
    return _page(appointment, status, error=message, **context)


def _done(message: str, location: str, *, shown_next: bool = False, **data):
    """A redirect with the message, or JSON; `shown_next`: the script goes on to `location`, which
    shows the message (the call screen, after the outcome)."""
    if wants_json():
        if shown_next:
            flash(message, "info")
        return jsonify(message=message, location=location, **data)
    flash(message, "info")
    return redirect(location)


def _back(appointment: Appointment) -> str:
    """Where the panel's form came from (the call screen or this page), never another site."""
    default = url_for("staff.appointment_detail", reference=appointment.reference)
    return safe_next(request.form.get("next"), default)


@bp.get("/appointments/<reference>")
@staff_required("clerk")
def appointment_detail(reference: str):
    appointment = staff_appointment_or_404(reference)
    appointment_shown_to_staff(appointment, current_user)
    return _page(appointment)


@bp.get("/appointments/<reference>/documents/<int:document_id>/pages/<int:page>.png")
@staff_required("clerk")
def document_page(reference: str, document_id: int, page: int):
    appointment = staff_appointment_or_404(reference)
    width = request.args.get("w", str(DEFAULT_WIDTH))
    try:
        png = page_image_for_staff(appointment, current_user, document_id, page, int(width[:5] or 0))
    except (DocumentNotFound, ValueError):  # ValueError: a width that is not a number
        abort(404)
    except RenderError as error:
        abort(404 if error.code == "missing" else 422, error.message)
    response = make_response(png)  # no-store, like every staff page: every view goes to the audit log
    response.headers["Content-Type"] = "image/png"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.post("/appointments/<reference>/identity")
@staff_required("clerk")
def identity(reference: str):
    appointment = staff_appointment_or_404(reference)
    try:
        recorded = verify_identity(appointment, current_user)
    except ClerkActionError as error:
        return _refused(appointment, error.message, error.status)
    message = (
        _("Identity verified against the licence.") if recorded else _("The identity was already verified.")
    )
    return _done(
        message,
        _back(appointment),
        verified_by=appointment.identity_verified_by.name,
        verified_at=appointment.identity_verified_at.isoformat(),
    )


@bp.post("/appointments/<reference>/outcome")
@staff_required("clerk")
def outcome(reference: str):
    appointment = staff_appointment_or_404(reference)
    form = OutcomeForm()
    if not form.validate_on_submit():
        first = next(iter(form.errors.values()), [_("Check the outcome form.")])[0]
        return _refused(appointment, str(first), 422, fields=form.errors, outcome_form=form)
    try:
        close_appointment(appointment, current_user, form.outcome.data, form.message.data)
    except ClerkActionError as error:
        return _refused(appointment, error.message, error.status, outcome_form=form)
    try:
        live.end_call(appointment)
    except Exception:  # the outcome is saved; a browser that missed the news sees it on reload
        log.exception("could not tell the call's browsers that %s ended", appointment.reference)
    message = _(
        "Outcome saved for %(reference)s. The citizen will get an e-mail.", reference=appointment.reference
    )
    return _done(
        message,
        url_for("staff.console"),
        shown_next=True,
        outcome=appointment.outcome,
        status=appointment.status,
    )


@bp.post("/appointments/<reference>/results")
@staff_required("clerk")
def results(reference: str):
    appointment = staff_appointment_or_404(reference)
    try:
        document = attach_result(appointment, current_user, request.files.get("document"))
    except DocumentError as error:
        return _refused(appointment, error.message, 422, results_error=error.message)
    except ClerkActionError as error:
        return _refused(appointment, error.message, error.status, results_error=error.message)
    return _done(
        _("“%(name)s” is ready for the citizen, who will get an e-mail.", name=document.original_name),
        _back(appointment),
        document=document.id,
    )
