"""The clerk's side of one appointment: documents as page images, identity, outcome, results.

Every route is for staff of the appointment's agency. The citizen's PDFs reach the clerk only as
server-rendered page images (`app.rendering`), each view written to the audit log. The identity
check and the outcome belong to the clerk who took the appointment (or an administrator); when
nobody has taken it yet — a no-show, or a call by phone instead of video — the first clerk to act
takes it, decided by one UPDATE so that two clerks acting at once get one winner.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from app import audit, notifications
from app.documents import (
    DEFAULT_WIDTH,
    WIDTHS,
    DocumentError,
    RenderError,
    read_pdf_upload,
    render_page,
    upload_store,
)
from app.errors import wants_json
from app.extensions import db, write_transaction
from app.main.routes import safe_next
from app.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, Document, Staff, utcnow
from app.security import staff_may_act_for, staff_required
from app.staff import bp

log = logging.getLogger(__name__)

OUTCOME_LABELS = {
    "completed": _l("Completed"),
    "needs_in_person": _l("An in-person visit is needed"),
    "documents_missing": _l("Documents are missing"),
    "no_show": _l("Did not attend"),
    "technical_failure": _l("Technical failure"),
    "phone_fallback": _l("Attended by phone"),
}
# What the outcome means for the citizen, in the e-mail and on the page after the call.
OUTCOME_EXPLANATIONS = {
    "completed": _l("Your request was processed."),
    "needs_in_person": _l("To finish your request, you need to visit an office in person."),
    "documents_missing": _l("Your request could not be finished because some documents are missing."),
    "no_show": _l(
        "We did not see you at the time of your appointment. If you still need this "
        "service, book a new appointment."
    ),
    "technical_failure": _l(
        "A technical problem ended the call. We are sorry. If your request "
        "was not finished, book a new appointment."
    ),
    "phone_fallback": _l("The clerk attended you by phone."),
}
# The status is the appointment's life (is it over?), the outcome is how it went. Every outcome
# but a no-show ends an appointment the citizen did attend — a technical failure too: the time
# was used, the call is over, and the outcome says why it did not finish.
OUTCOME_STATUS = {
    "completed": "completed",
    "needs_in_person": "completed",
    "documents_missing": "completed",
    "no_show": "no_show",
    "technical_failure": "completed",
    "phone_fallback": "completed",
}
MAX_OUTCOME_MESSAGE = 2000
REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9-]{1,20}")
MAX_RESULT_DOCUMENTS = 10


@dataclass(frozen=True)
class ResultRequirement:
    """What a result document is checked against, like a service's DocumentRequirement."""

    code: str = "result"
    max_pages: int = 20


RESULT_REQUIREMENT = ResultRequirement()


# --- rules --------------------------------------------------------------------------------------


class ClerkActionError(Exception):
    """An action the appointment's state refuses; `message` is translated, `status` the HTTP code."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.message = message
        self.status = status


def _not_yours(appointment: Appointment) -> ClerkActionError:
    name = appointment.clerk.name if appointment.clerk else "?"
    return ClerkActionError(
        _(
            "This appointment is in the hands of %(name)s. Only that clerk or an administrator can do this.",
            name=name,
        )
    )


def _in_charge(staff: Staff):
    """SQL condition: `staff` holds the appointment, nobody does yet, or `staff` is an administrator."""
    if staff.has_role("admin"):
        return sa.true()
    return sa.or_(Appointment.clerk_id.is_(None), Appointment.clerk_id == staff.id)


def verify_identity(appointment: Appointment, staff: Staff, now: dt.datetime | None = None) -> bool:
    """Record that `staff` checked the citizen's face against the licence; False if already recorded."""
    now = now or utcnow()
    write_transaction()
    result = db.session.execute(
        sa.update(Appointment)
        .where(
            Appointment.id == appointment.id,
            Appointment.status == "in_call",
            Appointment.identity_verified_at.is_(None),
            _in_charge(staff),
        )
        .values(identity_verified_by_id=staff.id, identity_verified_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(appointment)
        if appointment.identity_verified_at is not None:
            return False
        if appointment.status != "in_call":
            raise ClerkActionError(_("The identity can be verified only during the video call."))
        raise _not_yours(appointment)
    audit.record_for_appointment("appointment.identity_verified", appointment, staff)
    db.session.commit()
    db.session.refresh(appointment)
    return True


def record_outcome(
    appointment: Appointment, staff: Staff, outcome: str, message: str, now: dt.datetime | None = None
) -> None:
    """Close the appointment with `outcome`: status, call record, audit and the citizen's e-mail.

    The slot seat stays held (the time was used); the citizen's place among their upcoming
    appointments is given back, so someone told to come back can book again at once.
    """
    from app.call.sessions import end_session

    now = now or utcnow()
    if outcome not in OUTCOME_STATUS:
        raise ValueError(f"unknown outcome {outcome!r}")
    if outcome == "no_show" and now < appointment.start_at:
        raise ClerkActionError(_("An appointment cannot be marked as not attended before it starts."))
    write_transaction()
    result = db.session.execute(
        sa.update(Appointment)
        .where(
            Appointment.id == appointment.id,
            Appointment.outcome.is_(None),
            Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES),
            _in_charge(staff),
        )
        .values(
            outcome=outcome,
            outcome_message=message or None,
            status=OUTCOME_STATUS[outcome],
            citizen_seat=None,
            clerk_id=sa.func.coalesce(Appointment.clerk_id, staff.id),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(appointment)
        if appointment.status == "cancelled":
            raise ClerkActionError(_("This appointment was cancelled."))
        if appointment.outcome or appointment.status not in ACTIVE_APPOINTMENT_STATUSES:
            raise ClerkActionError(_("This appointment already has an outcome."))
        raise _not_yours(appointment)
    db.session.refresh(appointment)
    end_session(appointment, outcome, now)
    audit.record_for_appointment("appointment.outcome", appointment, staff, outcome=outcome)
    notifications.cancel_pending(appointment)
    notifications.queue_outcome(appointment)
    db.session.commit()


def attach_result(appointment: Appointment, staff: Staff, storage) -> Document:
    """Store a result PDF for the citizen, validated like any upload, and tell them by e-mail.

    Raises DocumentError (the file) or ClerkActionError (the appointment's state).
    """
    if appointment.status == "cancelled":
        raise ClerkActionError(_("This appointment was cancelled."))
    db.session.commit()  # no transaction stays open while the child process checks the file
    upload = read_pdf_upload(storage, RESULT_REQUIREMENT)
    if upload is None:
        raise ClerkActionError(_("Choose a PDF file to upload."), status=422)
    store = upload_store()
    key = store.save(upload.data)
    try:
        write_transaction()
        results = db.session.scalar(
            sa.select(sa.func.count(Document.id)).where(
                Document.appointment_id == appointment.id,
                Document.source == "clerk",
                Document.purged_at.is_(None),
            )
        )
        if results >= MAX_RESULT_DOCUMENTS:
            raise ClerkActionError(
                _(
                    "This appointment already has %(count)s documents from the agency, the most it can have.",
                    count=MAX_RESULT_DOCUMENTS,
                )
            )
        document = Document(
            appointment_id=appointment.id,
            requirement_code=RESULT_REQUIREMENT.code,
            source="clerk",
            original_name=upload.filename[:255],
            size_bytes=upload.size,
            pages=upload.pages,
            sha256=upload.sha256,
            storage_key=key,
        )
        db.session.add(document)
        db.session.flush()
        audit.record_for_appointment(
            "document.result_attached", appointment, staff, document=document.id, pages=upload.pages
        )
        notifications.queue_result_ready(appointment, document.id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        store.delete(key)
        raise
    return document


# --- forms --------------------------------------------------------------------------------------


class OutcomeForm(FlaskForm):
    outcome = RadioField(
        _l("Outcome"),
        choices=[SelectChoice(code, label) for code, label in OUTCOME_LABELS.items()],
        validate_choice=False,
        validators=[InputRequired(_l("Choose the outcome of the appointment."))],
    )
    message = TextAreaField(
        _l("Message to the citizen"),
        validators=[Length(max=MAX_OUTCOME_MESSAGE, message=_l("Write at most %(max)d characters."))],
    )

    def validate_outcome(self, field):
        if field.data not in OUTCOME_LABELS:
            raise ValidationError(_("Choose the outcome of the appointment."))

    def validate_message(self, field):
        field.data = (field.data or "").strip()
        if self.outcome.data == "documents_missing" and not field.data:
            raise ValidationError(_("Tell the citizen which documents are missing."))


# --- routes -------------------------------------------------------------------------------------


@bp.app_context_processor
def outcome_words():
    return {
        "outcome_labels": OUTCOME_LABELS,
        "outcome_explanations": OUTCOME_EXPLANATIONS,
        "result_max_pages": RESULT_REQUIREMENT.max_pages,
    }


def appointment_for_staff(reference: str) -> Appointment:
    """The appointment with that reference, if the signed-in staff member acts for its agency."""
    if not REFERENCE_PATTERN.fullmatch(reference):
        abort(404)
    appointment = db.session.scalar(sa.select(Appointment).where(Appointment.reference == reference.upper()))
    # Another agency's appointment looks like no appointment at all, as on the call screen.
    if appointment is None or not staff_may_act_for(current_user, appointment.service.agency_id):
        abort(404)
    return appointment


def _page(appointment: Appointment, status: int = 200, **context):
    return render_template(
        "staff/appointment.html", appointment=appointment, agency=appointment.service.agency, **context
    ), status


def _refused(appointment: Appointment, message: str, status: int, **context):
    if wants_json():
        return jsonify(error="conflict" if status == 409 else "validation", message=message), status
    return _page(appointment, status, error=message, **context)


def _done(message: str, location: str, **data):
    if wants_json():
        return jsonify(message=message, **data)
    flash(message, "info")
    return redirect(location)


def _back(appointment: Appointment) -> str:
    """Where the panel's form came from (the call screen or this page), never another site."""
    default = url_for("staff.appointment_detail", reference=appointment.reference)
    return safe_next(request.form.get("next"), default)


@bp.get("/appointments/<reference>")
@staff_required("clerk")
def appointment_detail(reference: str):
    return _page(appointment_for_staff(reference))


@bp.get("/appointments/<reference>/documents/<int:document_id>/pages/<int:page>.png")
@staff_required("clerk")
def document_page(reference: str, document_id: int, page: int):
    appointment = appointment_for_staff(reference)
    document = next((d for d in appointment.documents if d.id == document_id and d.purged_at is None), None)
    if document is None or not 1 <= page <= document.pages:
        abort(404)
    width = request.args.get("w", str(DEFAULT_WIDTH))
    if not width.isdigit() or int(width) not in WIDTHS:
        abort(404)
    storage_key, document_id, source = document.storage_key, document.id, document.source
    db.session.commit()  # no transaction stays open while the child process renders
    try:
        png = render_page(storage_key, page, int(width))
    except RenderError as error:
        abort(404 if error.code == "missing" else 422, error.message)
    write_transaction()  # SQLite: take the write lock first, so parallel page loads queue up
    audit.record_for_appointment(
        "document.viewed", appointment, current_user, document=document_id, page=page, source=source
    )
    db.session.commit()
    response = make_response(png)
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "private, no-store"  # every view goes to the audit log
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.post("/appointments/<reference>/identity")
@staff_required("clerk")
def identity(reference: str):
    appointment = appointment_for_staff(reference)
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
    appointment = appointment_for_staff(reference)
    form = OutcomeForm()
    if not form.validate_on_submit():
        first = next(iter(form.errors.values()), [_("Check the outcome form.")])[0]
        return _refused(appointment, str(first), 422, outcome_form=form)
    try:
        record_outcome(appointment, current_user, form.outcome.data, form.message.data)
    except ClerkActionError as error:
        return _refused(appointment, error.message, error.status, outcome_form=form)
    try:
        from app.call.events import end_call

        end_call(appointment)
    except Exception:  # the outcome is saved; a browser that missed the news sees it on reload
        log.exception("could not tell the call's browsers that %s ended", appointment.reference)
    return _done(
        _(
            "Outcome saved for %(reference)s. The citizen will get an e-mail.",
            reference=appointment.reference,
        ),
        url_for("staff.console"),
        outcome=appointment.outcome,
        status=appointment.status,
    )


@bp.post("/appointments/<reference>/results")
@staff_required("clerk")
def results(reference: str):
    appointment = appointment_for_staff(reference)
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
