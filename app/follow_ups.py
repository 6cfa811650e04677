"""Follow-up documents: after a "documents missing" outcome the citizen sends what was missing from
the manage page.

A follow-up is added beside the documents the clerk saw (source "follow_up"), never in their place.
It is checked like any upload, taken for `FOLLOW_UP_UPLOAD_DAYS` after the outcome (and never past
the manage link's own end), at most `FOLLOW_UP_MAX_DOCUMENTS` per appointment, and the clerk who
recorded the outcome is told by e-mail (app.notifications.queue_follow_up_notice).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from app import audit, notifications
from app.documents import DocumentError, RequirementSpec, read_pdf_upload, stored_until_committed
from app.extensions import db, end_read_transaction, write_transaction
from app.models import Appointment, Document, utcnow

FOLLOW_UP_OUTCOME = "documents_missing"


class FollowUpRefused(Exception):
    """A follow-up the appointment or the file refuses; `message` is translated, `status` the HTTP code."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


def follow_up_until(appointment: Appointment) -> dt.datetime | None:
    """Until when the appointment takes follow-up documents; None when it never does. Read-only."""
    if appointment.outcome != FOLLOW_UP_OUTCOME:
        return None
    closed_at = appointment.outcome_at or appointment.updated_at
    window_end = closed_at + dt.timedelta(days=current_app.config["FOLLOW_UP_UPLOAD_DAYS"])
    link_end = appointment.end_at + dt.timedelta(days=current_app.config["MANAGE_LINK_DAYS_AFTER"])
    return min(window_end, link_end)  # the page that takes them is gone after that


def follow_up_open(appointment: Appointment, now: dt.datetime | None = None) -> bool:
    """True while the citizen may send follow-up documents for this appointment. Read-only."""
    until = follow_up_until(appointment)
    return until is not None and (now or utcnow()) < until


def add_follow_up(appointment: Appointment, requirement, storage: FileStorage | None) -> Document:
    """Store the citizen's file for `requirement` as a follow-up and tell the clerk by e-mail.

    Raises FollowUpRefused (409 window closed or limit reached, 413 too large, 422 a refused file).
    Ends the read transaction before the file is checked; takes the write lock and commits.
    """
    _check_open(appointment)
    spec = RequirementSpec.of(requirement)
    end_read_transaction()  # no transaction stays open while the child process checks the file
    try:
        upload = read_pdf_upload(storage, spec)
    except DocumentError as error:
        raise FollowUpRefused(error.message, 413 if error.code == "too_large" else 422) from error
    if upload is None:
        raise FollowUpRefused(_("Choose a PDF file to upload."), 422)
    with stored_until_committed(upload.data) as (key,):
        write_transaction()
        _check_open(appointment)  # again, under the lock: the window or the limit may have passed
        document = upload.as_document(key, appointment_id=appointment.id, source="follow_up")
        db.session.add(document)
        db.session.flush()
        audit.record_for_appointment(
            "document.follow_up_added", appointment, document=document.id, requirement=spec.code
        )
        notifications.queue_follow_up_notice(appointment, document)
        db.session.commit()
    return document


def _check_open(appointment: Appointment) -> None:
    if appointment.outcome != FOLLOW_UP_OUTCOME:
        raise FollowUpRefused(_("This appointment does not take documents after it ended."), 409)
    if not follow_up_open(appointment):
        raise FollowUpRefused(
            _("The time to send the missing documents has passed: documents can no longer be sent here."), 409
        )
    sent = db.session.scalar(
        sa.select(sa.func.count(Document.id)).where(
            Document.appointment_id == appointment.id,
            Document.source == "follow_up",
            Document.purged_at.is_(None),
        )
    )
    limit = current_app.config["FOLLOW_UP_MAX_DOCUMENTS"]
    if sent >= limit:
        raise FollowUpRefused(
            _(
                "You already sent %(count)s documents for this appointment, the most it can take.",
                count=limit,
            ),
            409,
        )
