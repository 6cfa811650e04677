"""In-person arrivals: today's booked appointments a clerk can check in, checking one in (the
visitor joins the office's line by appointment time), and the appointment following its turn.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

import sqlalchemy as sa
from flask_babel import gettext as _

from app import scheduling
from app.extensions import db, write_transaction
from app.models import Appointment, Service, Staff, Turn, utcnow
from app.queue.changes import notify_second_in_line
from app.queue.errors import TurnError
from app.queue.live import publish_turn_change
from app.queue.taking import claim_number
from app.security import staff_agency_filter, staff_may_act_for
from app.tokens import new_token


def appointments_to_check_in(
    staff: Staff, query: str = "", *, now: dt.datetime | None = None, limit: int = 50
) -> list[Appointment]:
    """Today's booked in-person appointments of the clerk's agency, by reference or name. Read-only."""
    now = now or utcnow()
    query = " ".join((query or "").split())[:100]
    statement = (
        sa.select(Appointment)
        .join(Service, Appointment.service_id == Service.id)
        .where(
            Appointment.status == "booked",
            Service.mode == "in_person",
            # "Today" is each agency's own day: a day either side, then exactly.
            Appointment.start_at >= now - dt.timedelta(days=1),
            Appointment.start_at < now + dt.timedelta(days=1),
            staff_agency_filter(staff, Service.agency_id),
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    # Matched in Python, so "jose" finds "José" on SQLite too (its lower() is ASCII-only).
    found = [
        appointment
        for appointment in db.session.scalars(statement)
        if _is_today(appointment, now) and _matches(appointment, query)
    ]
    return found[:limit]


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _matches(appointment: Appointment, query: str) -> bool:
    if not query:
        return True
    wanted = _folded(query)
    if wanted.replace("-", "") in appointment.reference.casefold().replace("-", ""):
        return True
    name = _folded(appointment.citizen_name)
    return all(word in name for word in wanted.split())


def _is_today(appointment: Appointment, now: dt.datetime) -> bool:
    zone = scheduling.agency_zone(appointment.service)
    return appointment.start_at.astimezone(zone).date() == now.astimezone(zone).date()


def check_in(appointment: Appointment, clerk: Staff, *, now: dt.datetime | None = None) -> Turn:
    """The visitor arrived: the appointment is checked in and joins its office's line by its time.

    Takes the write lock; commits, or rolls back on any error.
    """
    now = now or utcnow()
    service = appointment.service
    if not staff_may_act_for(clerk, service.agency_id) or service.mode != "in_person":
        raise TurnError("not_allowed", _("This appointment cannot be checked in here."))
    if not _is_today(appointment, now):
        raise TurnError("not_today", _("Only today's appointments can be checked in."))
    day = scheduling.today_for(service, now)
    write_transaction()
    try:
        result = db.session.execute(
            sa.update(Appointment)
            .where(Appointment.id == appointment.id, Appointment.status == "booked")
            .values(status="checked_in", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise TurnError(
                "already_checked_in", _("This appointment is already checked in or closed."), status=409
            )
        _token, token_hash = new_token()  # check-ins are followed at the office, not by link
        turn = Turn(
            service=service,
            office_id=appointment.office_id,
            appointment_id=appointment.id,
            day=day,
            citizen_name=appointment.citizen_name,
            citizen_phone=appointment.citizen_phone,
            language=appointment.language,
            status="waiting",
            status_token_hash=token_hash,
            queued_at=now,
            priority_at=appointment.start_at,
            created_at=now,
        )
        claim_number(turn, service, day, now, capacity=None)
        notify_second_in_line(service.id, appointment.office_id, day, now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    db.session.refresh(appointment)
    publish_turn_change(turn)
    return turn
