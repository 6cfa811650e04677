"""The video call's rules: who may join when, the waiting room, admitting, and the call record.

`CallSession` keeps the times a clerk needs afterwards (waiting since, admitted, connected,
ended, why). Admitting is decided by the database: one UPDATE that only succeeds while nobody
else holds the appointment, so two clerks clicking "Admit" at once get one winner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from app import audit, metrics
from app.extensions import db, write_transaction
from app.models import Appointment, CallSession, Staff, utcnow
from app.notifications import queue_running_late
from app.security import staff_may_act_for

CLOSED_STATUSES = ("completed", "no_show", "cancelled")


@dataclass(frozen=True)
class JoinWindow:
    state: str  # "early" | "open" | "passed" | "cancelled" | "finished"
    opens_at: dt.datetime
    closes_at: dt.datetime
    seconds_to_open: int = 0  # by the server's clock: a page counts down from this, not its own clock

    @property
    def is_open(self) -> bool:
        return self.state == "open"


def join_window(appointment: Appointment, now: dt.datetime | None = None) -> JoinWindow:
    """When the join link works: from a while before the start until the end plus a grace period.

    Read-only.
    """
    now = now or utcnow()
    opens = appointment.start_at - dt.timedelta(minutes=current_app.config["CALL_JOIN_OPENS_MINUTES"])
    closes = appointment.end_at + dt.timedelta(minutes=current_app.config["CALL_JOIN_GRACE_MINUTES"])
    if appointment.status == "cancelled":
        state = "cancelled"
    elif appointment.status in CLOSED_STATUSES:
        state = "finished"
    elif now < opens:
        state = "early"
    elif now > closes and appointment.status != "in_call":
        state = "passed"
    else:
        state = "open"
    seconds_to_open = max(0, int((opens - now).total_seconds()))
    return JoinWindow(state=state, opens_at=opens, closes_at=closes, seconds_to_open=seconds_to_open)


def open_session(appointment: Appointment) -> CallSession | None:
    """The appointment's call record that has not ended, if any. Read-only."""
    return db.session.scalar(
        sa.select(CallSession)
        .where(CallSession.appointment_id == appointment.id, CallSession.ended_at.is_(None))
        .order_by(CallSession.id.desc())
    )


def mark_waiting(appointment: Appointment, now: dt.datetime | None = None) -> CallSession:
    """The citizen arrived in the waiting room (again, after a reload: the first time counts).

    Takes the write lock; commits.
    """
    write_transaction()
    session = open_session(appointment)
    if session is None:
        session = CallSession(appointment_id=appointment.id, waiting_since=now or utcnow())
        db.session.add(session)
    elif session.waiting_since is None:
        session.waiting_since = now or utcnow()
    db.session.commit()
    return session


READY_STATUSES = ("booked", "checked_in")


def may_get_ready(appointment: Appointment, staff: Staff, now: dt.datetime | None = None) -> bool:
    """Whether `staff` may open the call screen of a citizen not yet admitted (the "ready" state,
    its socket on standby): a video appointment of `staff`'s agency, of today in the agency's time
    zone, still waiting for its call, and not given to another clerk. Read-only."""
    service = appointment.service
    zone = ZoneInfo(service.agency.timezone or current_app.config["DEFAULT_TIMEZONE"])
    today = (now or utcnow()).astimezone(zone).date()
    return (
        service.mode == "video"
        and staff_may_act_for(staff, service.agency_id)
        and appointment.status in READY_STATUSES
        and appointment.clerk_id in (None, staff.id)
        and appointment.start_at.astimezone(zone).date() == today
    )


class AlreadyAdmitted(Exception):
    def __init__(self, clerk: Staff | None):
        super().__init__("appointment already admitted")
        self.clerk = clerk


def admit(appointment: Appointment, clerk: Staff, now: dt.datetime | None = None) -> CallSession:
    """Assign the appointment to `clerk` and open the call (audited the first time); raises
    AlreadyAdmitted if another won.

    Takes the write lock; commits (rolls back when another clerk won).
    """
    now = now or utcnow()
    write_transaction()
    result = db.session.execute(
        sa.update(Appointment)
        .where(
            Appointment.id == appointment.id,
            Appointment.status.in_(("booked", "checked_in", "in_call")),
            sa.or_(Appointment.clerk_id.is_(None), Appointment.clerk_id == clerk.id),
        )
        .values(clerk_id=clerk.id, status="in_call", updated_at=now)
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(appointment)
        raise AlreadyAdmitted(appointment.clerk)
    session = open_session(appointment) or CallSession(appointment_id=appointment.id)
    session.clerk_id = clerk.id
    if session.admitted_at is None:  # not again for the same clerk's second tab or a re-admit
        session.admitted_at = now
        audit.record_for_appointment("call.admitted", appointment, clerk)
    db.session.add(session)
    db.session.commit()
    db.session.refresh(appointment)
    return session


def elapsed_seconds(appointment: Appointment, now: dt.datetime | None = None) -> int:
    """Seconds since the clerk admitted the citizen to the open call (0 before). Read-only."""
    session = open_session(appointment)
    if session is None or session.admitted_at is None:
        return 0
    return max(0, int(((now or utcnow()) - session.admitted_at).total_seconds()))


def mark_connected(
    appointment: Appointment, now: dt.datetime | None = None, *, audio_only: bool = False
) -> None:
    """The clerk's browser reports the peer connection is up (the first time counts), and whether
    the citizen's video is missing (an audio-only call). Commits."""
    write_transaction()
    session = open_session(appointment)
    if session is not None and session.connected_at is None:
        session.connected_at = now or utcnow()
        session.audio_only = audio_only
        if session.admitted_at is not None:
            metrics.TIME_TO_CONNECT.observe((session.connected_at - session.admitted_at).total_seconds())
    db.session.commit()


def end_session(appointment: Appointment, reason: str, now: dt.datetime | None = None) -> None:
    """Close the open call record, if any, with why it ended. Adds to the session; the caller commits."""
    session = open_session(appointment)
    if session is not None:
        session.ended_at = now or utcnow()
        session.end_reason = reason[:40]


def request_phone_call(appointment: Appointment, now: dt.datetime | None = None) -> None:
    """The citizen cannot use a camera and asks to be phoned instead (shown on the console).

    Kept on the call record (opened if there is none yet) and in the audit log. Takes the write
    lock; commits.
    """
    write_transaction()
    session = open_session(appointment)
    if session is None:
        session = CallSession(appointment_id=appointment.id)
        db.session.add(session)
    session.phone_requested_at = session.phone_requested_at or now or utcnow()
    audit.record_for_appointment("call.phone_requested", appointment)
    db.session.commit()


class CannotAssign(Exception):
    """The appointment is no longer waiting for its call (admitted, closed) or not a video one."""


def clerks_for(appointment: Appointment) -> list[Staff]:
    """The active clerks (and admins) of the appointment's agency, by name. Read-only."""
    return list(
        db.session.scalars(
            sa.select(Staff)
            .where(Staff.agency_id == appointment.service.agency_id, Staff.active.is_(True))
            .order_by(Staff.name, Staff.id)
        )
    )


def assign(appointment: Appointment, clerk: Staff | None, by: Staff, now: dt.datetime | None = None) -> None:
    """Give an upcoming video appointment to `clerk` (None: to whoever admits first); only that
    clerk can then admit it. Raises CannotAssign once it is admitted or closed. Takes the write
    lock; commits the change and its audit record."""
    write_transaction()
    previous = appointment.clerk_id
    result = db.session.execute(
        sa.update(Appointment)
        .where(Appointment.id == appointment.id, Appointment.status == "booked")
        .values(clerk_id=clerk.id if clerk else None, updated_at=now or utcnow())
    )
    if result.rowcount != 1 or appointment.service.mode != "video":
        db.session.rollback()
        raise CannotAssign()
    audit.record_for_appointment(
        "appointment.assigned", appointment, by, from_clerk=previous, to_clerk=clerk.id if clerk else None
    )
    db.session.commit()
    db.session.refresh(appointment)


LATE_MINUTES = (5, 10, 15, 30)
LATE_NOTICE_EVERY = dt.timedelta(minutes=2)


class TooSoon(Exception):
    """A running-late notice was sent moments ago: the citizen is not messaged twice in a row."""


def note_running_late(
    appointment: Appointment, staff: Staff, minutes: int, now: dt.datetime | None = None
) -> None:
    """The clerk is running about `minutes` late: kept on the call record (shown in the waiting
    room), e-mailed and texted to the citizen, audited. Raises TooSoon within LATE_NOTICE_EVERY of
    the last notice. Takes the write lock; commits."""
    if minutes not in LATE_MINUTES:
        raise ValueError(f"minutes must be one of {LATE_MINUTES}")
    now = now or utcnow()
    write_transaction()
    session = open_session(appointment)
    if session is None:
        session = CallSession(appointment_id=appointment.id)
        db.session.add(session)
    if session.late_noted_at is not None and now - session.late_noted_at < LATE_NOTICE_EVERY:
        db.session.rollback()
        raise TooSoon()
    session.late_minutes, session.late_noted_at = minutes, now
    queue_running_late(appointment, minutes, now)
    audit.record_for_appointment("call.running_late", appointment, staff, minutes=minutes)
    db.session.commit()


def running_late(appointment: Appointment) -> int | None:
    """The minutes of the clerk's running-late notice on the open call record, if any. Read-only."""
    session = open_session(appointment)
    return session.late_minutes if session is not None else None


def phone_requested(appointment: Appointment) -> bool:
    """Whether the citizen asked to be phoned instead, on any of its call records. Read-only."""
    return db.session.scalar(
        sa.select(
            sa.exists().where(
                CallSession.appointment_id == appointment.id, CallSession.phone_requested_at.is_not(None)
            )
        )
    )


def call_state(appointment: Appointment) -> dict:
    """What the clerk console shows for an appointment: not arrived, waiting since, in call, done.

    Read-only.
    """
    state = _state(appointment)
    state["phone_requested"] = phone_requested(appointment)
    return state


def _state(appointment: Appointment) -> dict:
    session = open_session(appointment)
    if appointment.status == "cancelled":
        return {"state": "cancelled"}
    if appointment.status in CLOSED_STATUSES:
        return {"state": "done", "outcome": appointment.outcome}
    if appointment.status == "in_call":
        return {"state": "in_call", "clerk": appointment.clerk.name if appointment.clerk else None}
    if session is not None and session.waiting_since is not None:
        return {"state": "waiting", "since": session.waiting_since.isoformat()}
    return {"state": "not_arrived"}
