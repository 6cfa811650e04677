"""Changes an administrator makes that touch booked citizens: previewed, never silent (issue 11).

A closure, shorter hours, fewer seats, or a service or office taken out of service can leave booked
appointments outside what the agency now offers; a closure from today, or a phone-turn service or
an office taken out of service, also leaves today's same-day turns still in line, and hours that
close today earlier leave those whose estimated call falls after the new closing. Such a change is
saved only with the admin's decision about exactly the appointments and turns it affects, as they
stand inside the write transaction:

- no decision yet, or a decision about a different set (someone booked since the preview) →
  `ChoiceNeeded`, nothing saved, and the page shows the list and the choice;
- "keep": the appointments stay valid (availability simply offers no new slot there), the turns
  stay in line;
- "cancel": each is cancelled, its seat or place in line freed, and the citizen is told through the
  outbox (an e-mail for an appointment, an SMS for a turn), in their language, with the admin's
  message; each cancellation is audited.

The caller (app.administration, app.closures, app.service_admin) computes what a change affects —
that rule differs per kind of change — and calls `settle` before its commit. A preview names each
item by `preview_key`: an appointment by its id, a turn by "t" and its id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app import audit, notifications
from app.appointments import mark_cancelled
from app.extensions import db
from app.models import Agency, Appointment, Service, Staff, Turn, utcnow
from app.queue.changes import lines_changed, take_out_of_line
from app.queue.line import ACTIVE_STATUSES, LINE_ORDER

KEEP, CANCEL = "keep", "cancel"


@dataclasses.dataclass(frozen=True)
class Decision:
    """What the admin chose about the appointments and turns the preview listed (their keys)."""

    action: str
    previewed: frozenset[str]
    message_es: str = ""
    message_en: str = ""

    def message_for(self, language: str) -> str:
        return self.message_en if language == "en" else self.message_es


class ChoiceNeeded(Exception):
    """The change affects booked appointments or turns in line the admin has not decided about:
    nothing was saved."""

    def __init__(self, affected: list[Appointment | Turn]):
        super().__init__(f"{len(affected)} booked appointment(s) or turn(s) affected")
        self.affected = affected


def preview_key(item: Appointment | Turn) -> str:
    """How a preview names an affected appointment (its id) or turn ("t" and its id)."""
    return f"t{item.id}" if isinstance(item, Turn) else str(item.id)


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


def in_line_today(agency_id: int, *conditions, now: dt.datetime | None = None) -> list[Turn]:
    """The agency's same-day phone turns of today (its local day) still in line — waiting, being
    called, due a retry — that match `conditions` (SQL expressions on Turn), in line order.
    Read-only."""
    timezone = db.session.scalar(sa.select(Agency.timezone).where(Agency.id == agency_id))
    today = (now or utcnow()).astimezone(ZoneInfo(timezone)).date()
    query = (
        sa.select(Turn)
        .join(Service, Service.id == Turn.service_id)
        .where(
            Service.agency_id == agency_id,
            Turn.day == today,
            Turn.appointment_id.is_(None),  # a check-in is the appointment's, previewed as such
            Turn.status.in_(ACTIVE_STATUSES),
            *conditions,
        )
        .order_by(Turn.service_id, *LINE_ORDER)
    )
    return list(db.session.scalars(query))


def listed(agency_id: int, keys: frozenset[str]) -> list[Appointment | Turn]:
    """The appointments and turns of a preview (their keys, from a form) that are still booked ahead
    or in line today, of this agency only: to show the list again beside a refused choice.
    Read-only."""
    ids = sorted(int(key) for key in keys if key.isdigit())
    turn_ids = sorted(int(key[1:]) for key in keys if key.startswith("t"))
    appointments = booked_ahead(agency_id, Appointment.id.in_(ids)) if ids else []
    return appointments + (in_line_today(agency_id, Turn.id.in_(turn_ids)) if turn_ids else [])


def settle(
    affected: list[Appointment | Turn],
    decision: Decision | None,
    actor: Staff,
    *,
    change: str,
    now: dt.datetime | None = None,
) -> int:
    """Apply the admin's decision to `affected` (appointments and turns) inside the caller's
    transaction (never commits); returns how many were cancelled. Raises ChoiceNeeded when
    something is affected and the decision is missing or was made about another set; the caller
    then rolls back."""
    if not affected:
        return 0
    if decision is None or decision.previewed != frozenset(map(preview_key, affected)):
        raise ChoiceNeeded(affected)
    now = now or utcnow()
    cancelled, turns_cancelled = 0, []
    for item in affected:
        if isinstance(item, Turn):
            if _settle_turn(item, decision, actor, change, now):
                turns_cancelled.append(item)
        elif decision.action == KEEP:
            audit.record_for_appointment("appointment.kept_after_change", item, actor, change=change)
        else:
            cancelled += _cancel(item, decision, actor, change, now)
    if turns_cancelled:
        lines_changed(turns_cancelled, now)
    return cancelled + len(turns_cancelled)


def _cancel(appointment: Appointment, decision: Decision, actor: Staff, change: str, now: dt.datetime) -> int:
    if not mark_cancelled(appointment, "booked", now, cancelled_by="agency"):
        return 0  # it changed under the lock the caller holds: not possible, but never twice
    message = decision.message_for(appointment.language)
    notifications.queue_cancellation(appointment, reason=message)
    audit.record_for_appointment(
        "appointment.cancelled_by_agency", appointment, actor, change=change, message=message
    )
    return 1


def _settle_turn(turn: Turn, decision: Decision, actor: Staff, change: str, now: dt.datetime) -> int:
    about = {"actor": actor, "agency_id": turn.service.agency_id, "object_type": "turn", "object_id": turn.id}
    if decision.action == KEEP:
        audit.record("turn.kept_after_change", **about, change=change)
        return 0
    if not take_out_of_line(turn, now):
        return 0  # attended or left since the preview, under the caller's lock: nothing to tell
    db.session.refresh(turn)
    message = decision.message_for(turn.language)
    notifications.queue_turn_sms(turn, "cancelled", f"turn:{turn.id}:cancelled", now, reason=message)
    audit.record("turn.cancelled_by_agency", **about, change=change, message=message)
    return 1
