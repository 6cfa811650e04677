"""The audit log: one helper writes every record (who, what, which object, from where).

Records join the caller's transaction and are committed with the change they describe; this
module never commits. The address is the request's (after ProxyFix, the citizen's), when there
is a request.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from app.extensions import db
from app.models import Appointment, AuditEvent, Staff


def record(
    action: str,
    *,
    actor: Staff | None = None,
    agency_id: int | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit record to the session (the caller commits)."""
    event = AuditEvent(
        action=action,
        actor_staff_id=actor.id if actor is not None else None,
        agency_id=agency_id,
        object_type=object_type,
        object_id=object_id,
        ip=request.remote_addr if has_request_context() else None,
        detail=detail,
    )
    db.session.add(event)
    return event


def record_for_appointment(action: str, appointment: Appointment, actor: Staff | None = None, **detail: Any):
    """An audit record about one appointment, filed under its agency (the caller commits)."""
    return record(
        action,
        actor=actor,
        agency_id=appointment.service.agency_id,
        object_type="appointment",
        object_id=appointment.id,
        **detail,
    )
