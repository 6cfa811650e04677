"""Appointment e-mails queued as what to say, and written when they are sent.

A booking used to render its three e-mails and the .ics in its own request (a third of its CPU).
Now the outbox row holds the intent: the links (until the message is finished, as the rendered
body held them before), the agency's reason for a cancellation, which .ics goes with it, and the
appointment's time, office and calendar sequence as they were when it was queued. `rendered`
writes the message from that when it is sent, in its language, exactly as it would have been
written at queueing time.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, Office, OutboxMessage, utcnow
from app.notifications.content import appointment_ics, calendar_content_type, render_email


def appointment_intent(
    appointment: Appointment,
    *,
    calendar: str | None,
    join_url: str | None = None,
    manage_url: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """What an appointment e-mail will say: `calendar` is the .ics method (REQUEST, CANCEL) or None
    for no .ics. No database access (the appointment is flushed, so it has its office id)."""
    return {
        "calendar": calendar,
        "join_url": join_url,
        "manage_url": manage_url,
        "reason": reason,
        "office_id": appointment.office_id,
        "start_at": appointment.start_at.isoformat(),
        "end_at": appointment.end_at.isoformat(),
        "calendar_sequence": appointment.calendar_sequence or 0,
        "queued_at": utcnow().isoformat(),
    }


class AppointmentAsQueued:
    """The appointment with the time, office and calendar sequence it had when a message was
    queued (a cancellation may follow a confirmation not yet sent); the rest as it is now."""

    def __init__(self, appointment: Appointment, intent: dict[str, Any]):
        self._appointment = appointment
        self.office = db.session.get(Office, intent["office_id"])
        self.start_at = dt.datetime.fromisoformat(intent["start_at"])
        self.end_at = dt.datetime.fromisoformat(intent["end_at"])
        self.calendar_sequence = intent["calendar_sequence"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._appointment, name)


def rendered(message: OutboxMessage) -> OutboxMessage:
    """The message as it is sent. One queued as an intent comes back as a transient copy with its
    bodies and .ics written now, in its language; any other is returned as it is. Reads the
    database; changes nothing (raises LookupError when its appointment is gone)."""
    intent = message.intent
    if not intent:
        return message
    appointment = db.session.get(Appointment, message.appointment_id) if message.appointment_id else None
    if appointment is None:
        raise LookupError(f"outbox message {message.id}: its appointment is gone")
    as_queued = AppointmentAsQueued(appointment, intent)
    join_url, manage_url = intent["join_url"], intent["manage_url"]
    _subject, text, html = render_email(
        as_queued, message.kind, join_url=join_url, manage_url=manage_url, reason=intent["reason"]
    )
    attachments = []
    if intent["calendar"]:
        method = intent["calendar"]
        ics = appointment_ics(
            as_queued,
            join_url,
            message.language,
            manage_url=manage_url,
            method=method,
            stamp=dt.datetime.fromisoformat(intent["queued_at"]),
        )
        attachments.append(
            {
                "filename": f"{appointment.reference}.ics",
                "content_type": calendar_content_type(method),
                "content_base64": base64.b64encode(ics).decode("ascii"),
            }
        )
    copy = OutboxMessage(
        **{attr.key: getattr(message, attr.key) for attr in sa.inspect(OutboxMessage).column_attrs}
    )
    copy.body_text, copy.body_html, copy.attachments = text, html, attachments
    return copy
