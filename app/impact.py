"""Changes an administrator makes that touch booked citizens: previewed, never silent (issue 11).

A closure, shorter hours, fewer seats, or a service or office taken out of service can leave booked
appointments outside what the agency now offers. Such a change is saved only with the admin's
decision about exactly the appointments it affects, as they stand inside the write transaction:

- no decision yet, or a decision about a different set (someone booked since the preview) →
  `ChoiceNeeded`, nothing saved, and the page shows the list and the choice;
- "keep": the appointments stay valid (availability simply offers no new slot there);
- "cancel": each is cancelled, its seat freed, and the citizen is told by e-mail through the outbox,
  in their language, with the admin's message; each cancellation is audited.

The caller (app.administration) computes which appointments a change affects — that rule differs
per kind of change — and calls `settle` before its commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from app import audit, notifications
from app.appointments import mark_cancelled
from app.extensions import db
from app.models import Appointment, Service, Staff, utcnow

KEEP, CANCEL = "keep", "cancel"


@dataclasses.dataclass(frozen=True)
class Decision:
    """What the admin chose about the appointments the preview listed (their ids)."""

    action: str
    previewed: frozenset[int]
    message_es: str = ""
    message_en: str = ""

    def message_for(self, language: str) -> str:
        return self.message_en if language == "en" else self.message_es


class ChoiceNeeded(Exception):
    """The change affects booked appointments the admin has not decided about: nothing was saved."""

    def __init__(self, appointments: list[Appointment]):
        super().__init__(f"{len(appointments)} booked appointment(s) affected")
        self.appointments = appointments


def booked_ahead(agency_id: int, *conditions, now: dt.datetime | None = None) -> list[Appointment]:
    """The agency's booked appointments that have not started and match `conditions` (SQL
    expressions on Appointment), by start time. Read-only."""
    query = (
        sa.select(Appointment)
        .join(Service, Service.id == Appointment.service_id)
        .where(
            Service.agency_id == agency_id,
            Appointment.status == "booked",
            Appointment.start_at > (now or utcnow()),
            *conditions,
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    return list(db.session.scalars(query))


def listed(agency_id: int, ids: frozenset[int]) -> list[Appointment]:
    """The appointments of a preview (their ids, from a form) that are still booked ahead, of this
    agency only: to show the list again beside a refused choice. Read-only."""
    return booked_ahead(agency_id, Appointment.id.in_(sorted(ids))) if ids else []


def settle(
    affected: list[Appointment],
    decision: Decision | None,
    actor: Staff,
    *,
    change: str,
    now: dt.datetime | None = None,
) -> int:
    """Apply the admin's decision to `affected` inside the caller's transaction (never commits);
    returns how many were cancelled. Raises ChoiceNeeded when there are affected appointments and
    the decision is missing or was made about another set; the caller then rolls back."""
    if not affected:
        return 0
    if decision is None or decision.previewed != frozenset(a.id for a in affected):
        raise ChoiceNeeded(affected)
    if decision.action == KEEP:
        for appointment in affected:
            audit.record_for_appointment("appointment.kept_after_change", appointment, actor, change=change)
        return 0
    now = now or utcnow()
    return sum(_cancel(appointment, decision, actor, change, now) for appointment in affected)


def _cancel(appointment: Appointment, decision: Decision, actor: Staff, change: str, now: dt.datetime) -> int:
    if not mark_cancelled(appointment, "booked", now, cancelled_by="agency"):
        return 0  # it changed under the lock the caller holds: not possible, but never twice
    message = decision.message_for(appointment.language)
    notifications.queue_cancellation(appointment, reason=message)
    audit.record_for_appointment(
        "appointment.cancelled_by_agency", appointment, actor, change=change, message=message
    )
    return 1
