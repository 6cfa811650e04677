"""Queueing messages in the outbox: an appointment's e-mails and reminders, the after-call
e-mails, turn SMS, and staff e-mails (password reset, invitation).

Every function here adds to the caller's session and never commits: a message is queued in the
same transaction as the change that causes it. Each message has a `dedupe_key`, so the same
news is not queued twice.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from app.extensions import db
from app.links import staff_appointment_url
from app.models import Appointment, Document, OutboxMessage, Staff, Turn, utcnow
from app.notifications.content import (
    REMINDER_KINDS,
    REMINDERS,
    email_subject,
    follow_up_notice_text,
    render_after_call_email,
    render_running_late,
    turn_sms_text,
)
from app.notifications.intents import appointment_intent

# What a finished message keeps: its bodies and attachments carry the citizen's links.
SCRUBBED = {"body_text": "", "body_html": None, "attachments": [], "intent": None}


# --- Appointment e-mails ------------------------------------------------------------------------


def queue_appointment_messages(
    appointment: Appointment, join_url: str | None, manage_url: str, *, kind: str = "confirmation"
) -> list[OutboxMessage]:
    """Queue the e-mail sent now (with the .ics) and the reminders 24 h and 1 h before.

    Each is queued as its intent (see `appointment_intent`) and rendered when it is sent; the
    links ride along until then, since their tokens are stored only hashed, and are scrubbed once
    the message is finished (see the package docstring).
    Adds to the session without committing: the caller commits with the booking. Reminders
    whose time has passed are skipped; a message whose `dedupe_key` is already queued is not
    queued again. `kind="rescheduled"` (a new time) and `kind="links"` (fresh links asked for
    with "find my appointment") first cancel everything still pending: its time or links are out
    of date.
    """
    if kind not in ("confirmation", "rescheduled", "links"):
        raise ValueError(f"kind must be 'confirmation', 'rescheduled' or 'links', not {kind!r}")
    if kind != "confirmation":
        _cancel_pending_kinds(appointment, REMINDER_KINDS + ("confirmation", "rescheduled", "links"))
    now = utcnow()
    plan = [(kind, now, "REQUEST")] + [
        (reminder, appointment.start_at - before, None)
        for reminder, before in REMINDERS
        if appointment.start_at - before > now
    ]
    if appointment.id is None:
        db.session.flush()
    existing = _queued_by_key(appointment, [message_kind for message_kind, _after, _method in plan])
    queued = []
    for message_kind, send_after, calendar in plan:
        message = _queue_email(
            appointment,
            message_kind,
            send_after,
            calendar,
            existing,
            join_url=join_url,
            manage_url=manage_url,
        )
        if message is not None:
            queued.append(message)
    return queued


def queue_manage_link(appointment: Appointment, manage_url: str) -> OutboxMessage | None:
    """Queue the "your links" e-mail with the manage link alone (an appointment no longer booked).

    Adds to the session; the caller commits.
    """
    return _queue_email(appointment, "links", utcnow(), None, manage_url=manage_url)


def queue_cancellation(appointment: Appointment, *, reason: str | None = None) -> OutboxMessage | None:
    """Queue the "your appointment is cancelled" e-mail (no links, an .ics that removes the event
    from the citizen's calendar) and drop pending reminders. `reason`: the agency's message when it
    is the agency that cancels (in the citizen's language).

    Adds to the session; the caller commits.
    """
    cancel_pending(appointment)
    return _queue_email(appointment, "cancellation", utcnow(), "CANCEL", reason=reason)


def cancel_pending(appointment: Appointment) -> int:
    """Mark the appointment's pending reminders `cancelled` (and scrub them); returns how many.

    Updates in the session; the caller commits.
    """
    return _cancel_pending_kinds(appointment, REMINDER_KINDS)


def _cancel_pending_kinds(appointment: Appointment, kinds: tuple[str, ...]) -> int:
    if appointment.id is None:
        return 0
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.appointment_id == appointment.id,
            OutboxMessage.status == "pending",
            OutboxMessage.kind.in_(kinds),
        )
        .values(status="cancelled", **SCRUBBED)
    )
    return result.rowcount


def _dedupe_key(appointment: Appointment, kind: str) -> str:
    return f"appt:{appointment.id}:{kind}:{appointment.start_at.isoformat()}"


def _queued_by_key(appointment: Appointment, kinds: list[str]) -> dict[str, OutboxMessage]:
    """The appointment's messages already queued under these kinds' keys, in one query."""
    keys = [_dedupe_key(appointment, kind) for kind in kinds]
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.in_(keys)))
    return {row.dedupe_key: row for row in rows}


def _queue_email(
    appointment: Appointment,
    kind: str,
    send_after: dt.datetime,
    calendar: str | None,
    existing: dict[str, OutboxMessage] | None = None,
    *,
    join_url: str | None = None,
    manage_url: str | None = None,
    reason: str | None = None,
) -> OutboxMessage | None:
    if appointment.id is None:
        db.session.flush()
    key = _dedupe_key(appointment, kind)
    if existing is None:
        existing = _queued_by_key(appointment, [kind])
    message = existing.get(key)
    # A cancelled message comes back when the appointment returns to that time; and every
    # move is news (with a new join link), even back to a time already announced once, as is
    # every set of fresh links.
    if message is not None and message.status != "cancelled" and kind not in ("rescheduled", "links"):
        return None
    if message is None:
        message = OutboxMessage(dedupe_key=key, channel="email", appointment_id=appointment.id)
        db.session.add(message)
    message.recipient = appointment.citizen_email
    message.language = appointment.language
    message.kind = kind
    message.subject = email_subject(kind, appointment.reference, appointment.language)[:200]
    message.body_text, message.body_html, message.attachments = "", None, []
    message.intent = appointment_intent(
        appointment, calendar=calendar, join_url=join_url, manage_url=manage_url, reason=reason
    )
    message.send_after, message.status, message.attempts = send_after, "pending", 0
    message.last_error, message.sent_at = None, None
    return message


# --- Staff e-mails ---------------------------------------------------------------------------------


def queue_staff_email(
    recipient: str, language: str, kind: str, rendered: tuple[str, str, str], send_after: dt.datetime
) -> OutboxMessage:
    """Add an e-mail to a staff member (or an invitee) to the caller's session (no commit);
    `rendered` is content.render_staff_email's."""
    subject, text, html = rendered
    message = OutboxMessage(
        channel="email",
        recipient=recipient,
        language=language,
        kind=kind,
        subject=subject[:200],
        body_text=text,
        body_html=html,
        attachments=[],
        send_after=send_after,
    )
    db.session.add(message)
    return message


# --- After the call: the outcome and the agency's result documents ------------------------------


def queue_outcome(appointment: Appointment) -> OutboxMessage | None:
    """Queue the "how your appointment ended" e-mail (outcome and the clerk's message).

    Adds to the session; the caller commits.
    """
    return _queue_after_call(appointment, "outcome", f"appt:{appointment.id}:outcome")


def queue_result_ready(appointment: Appointment, document_id: int) -> OutboxMessage | None:
    """Queue "the agency left you a document"; none while such an e-mail is still waiting to go.

    Adds to the session; the caller commits.
    """
    pending = db.session.scalar(
        sa.select(OutboxMessage.id).where(
            OutboxMessage.appointment_id == appointment.id,
            OutboxMessage.kind == "result_ready",
            OutboxMessage.status == "pending",
        )
    )
    if pending is not None:
        return None  # the e-mail not yet sent already tells them to look at the appointment page
    return _queue_after_call(appointment, "result_ready", f"appt:{appointment.id}:result_ready:{document_id}")


def _queue_after_call(appointment: Appointment, kind: str, key: str) -> OutboxMessage | None:
    if db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
        return None
    subject, text, html = render_after_call_email(appointment, kind)
    message = OutboxMessage(
        dedupe_key=key,
        channel="email",
        appointment_id=appointment.id,
        recipient=appointment.citizen_email,
        language=appointment.language,
        kind=kind,
        subject=subject[:200],
        body_text=text,
        body_html=html,
        attachments=[],
        send_after=utcnow(),
        status="pending",
        attempts=0,
    )
    db.session.add(message)
    return message


def queue_running_late(appointment: Appointment, minutes: int, now: dt.datetime) -> None:
    """Queue the "the clerk is running late" e-mail and SMS, in the citizen's language.

    Adds to the session; the caller commits.
    """
    subject, text, html, sms = render_running_late(appointment, minutes)
    common = dict(appointment_id=appointment.id, language=appointment.language, kind="running_late")
    common.update(send_after=now, status="pending", attempts=0)
    key = f"appt:{appointment.id}:running_late:{now.isoformat()}"
    db.session.add(
        OutboxMessage(
            **common, dedupe_key=key, channel="email", recipient=appointment.citizen_email,
            subject=subject[:200], body_text=text, body_html=html, attachments=[],
        )
    )  # fmt: skip
    db.session.add(
        OutboxMessage(
            **common, dedupe_key=key + ":sms", channel="sms", recipient=appointment.citizen_phone,
            subject="", body_text=sms,
        )
    )  # fmt: skip


# --- To staff: a follow-up document arrived ------------------------------------------------------


def queue_follow_up_notice(appointment: Appointment, document: Document) -> list[OutboxMessage]:
    """Queue "the citizen sent a follow-up document" to the clerk who recorded the outcome, or, when
    that account is gone or disabled, to the agency's active administrators.

    Adds to the session; the caller commits.
    """
    subject, text = follow_up_notice_text(
        appointment, document.requirement_code, staff_appointment_url(appointment.reference)
    )
    clerk = appointment.clerk
    if clerk is not None and clerk.active:
        recipients = [clerk]
    else:
        recipients = list(
            db.session.scalars(
                sa.select(Staff).where(
                    Staff.agency_id == appointment.service.agency_id,
                    Staff.role == "admin",
                    Staff.active.is_(True),
                )
            )
        )
    messages = []
    for staff in recipients:
        message = OutboxMessage(
            dedupe_key=f"appt:{appointment.id}:follow_up:{document.id}:{staff.id}",
            channel="email",
            appointment_id=appointment.id,
            recipient=staff.email,
            language=current_app.config["BABEL_DEFAULT_LOCALE"],
            kind="follow_up_document",
            subject=subject[:200],
            body_text=text,
            body_html=None,
            attachments=[],
            send_after=utcnow(),
            status="pending",
            attempts=0,
        )
        db.session.add(message)
        messages.append(message)
    return messages


# --- Same-day turns -----------------------------------------------------------------------------


def queue_turn_sms(turn: Turn, kind: str, dedupe_key: str, now: dt.datetime, reason: str = "") -> None:
    """Queue an SMS to the citizen in their language; once per `dedupe_key`, even under races.
    `reason`: the agency's words, for a turn it cancelled.

    Adds to the session inside a savepoint (a concurrent duplicate rolls back only that); the
    caller commits.
    """
    if db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return
    with force_locale(turn.language):
        body = turn_sms_text(turn, kind, reason)
    try:
        with db.session.begin_nested():
            db.session.add(
                OutboxMessage(
                    channel="sms",
                    recipient=turn.citizen_phone,
                    language=turn.language,
                    kind=f"turn_{kind}",
                    subject="",
                    body_text=body,
                    dedupe_key=dedupe_key,
                    turn_id=turn.id,
                    send_after=now,
                )
            )
    except sa.exc.IntegrityError:
        pass  # the same message was queued by a concurrent change
