"""The line: which turns make up a queue, which of them wait and in what order, and which queues
exist for a clerk. Everything here only reads.

A queue is the turns of one service at one office on one agency-local day. Its line is the turns
in it that wait to be called (`IN_LINE_STATUSES`), in order of `priority_at`, then id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import Office, Service, Staff, Turn
from app.security import staff_agency_filter

ACTIVE_STATUSES = ("waiting", "calling", "no_answer")
IN_LINE_STATUSES = ("waiting", "no_answer")  # in line, not being called right now
QUEUE_MODES = ("phone_turn", "in_person")
LINE_ORDER = (Turn.priority_at, Turn.id)


def setting(name: str, default: int) -> int:
    """A whole-number queue setting (QUEUE_…) from the app's config. No database access."""
    return int(current_app.config.get(name, default))


def queue_clauses(service_id: int, office_id: int | None, day: dt.date):
    """The WHERE clauses that pick one queue's turns. No database access."""
    return (Turn.service_id == service_id, Turn.office_id == office_id, Turn.day == day)


def in_line_clauses(service_id: int, office_id: int | None, day: dt.date):
    """The WHERE clauses that pick the turns waiting in one queue's line. No database access."""
    return (*queue_clauses(service_id, office_id, day), Turn.status.in_(IN_LINE_STATUSES))


# --- Which queues there are ---------------------------------------------------------------------


def turn_office(service: Service) -> Office:
    """The office whose opening hours a phone-turn service follows (its first office). Read-only."""
    return service.open_offices[0]


@dataclass(frozen=True)
class QueueRef:
    service: Service
    office: Office

    @property
    def key(self) -> tuple[int, int]:
        return self.service.id, self.office.id


def queue_for(service_id: int, office_id: int) -> QueueRef | None:
    """The queue of a phone-turn or in-person service at one of its offices, or None. Read-only."""
    service = db.session.get(Service, service_id)
    if service is None or service.mode not in QUEUE_MODES:
        return None
    office = next((office for office in service.open_offices if office.id == office_id), None)
    if office is None or (service.mode == "phone_turn" and office.id != turn_office(service).id):
        return None
    return QueueRef(service=service, office=office)


def queues_for_staff(staff: Staff) -> list[QueueRef]:
    """The queues a clerk may serve: their agency's phone-turn services and in-person offices.

    Read-only.
    """
    query = sa.select(Service).where(
        Service.active.is_(True), Service.mode.in_(QUEUE_MODES), staff_agency_filter(staff, Service.agency_id)
    )
    queues = []
    for service in db.session.scalars(query.order_by(Service.agency_id, Service.id)):
        offices = service.open_offices
        if service.mode == "phone_turn" and offices:
            offices = [turn_office(service)]
        queues.extend(QueueRef(service=service, office=office) for office in offices)
    return queues


# --- Where a turn stands ------------------------------------------------------------------------


def position(turn: Turn) -> int | None:
    """1 for the next to be called; None when the turn is not in line (called or finished). Read-only."""
    if turn.status not in IN_LINE_STATUSES:
        return None
    ahead = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Turn)
        .where(
            *in_line_clauses(turn.service_id, turn.office_id, turn.day),
            Turn.id != turn.id,
            sa.or_(
                Turn.priority_at < turn.priority_at,
                sa.and_(Turn.priority_at == turn.priority_at, Turn.id < turn.id),
            ),
        )
    )
    return ahead + 1


def in_line(service_id: int, office_id: int | None, day: dt.date) -> list[Turn]:
    """The turns waiting in line, in the order they will be called. Read-only."""
    return list(
        db.session.scalars(
            sa.select(Turn).where(*in_line_clauses(service_id, office_id, day)).order_by(*LINE_ORDER)
        )
    )


def being_called(service_id: int, office_id: int | None, day: dt.date) -> list[Turn]:
    """The turns being called right now, the longest-called first. Read-only."""
    return list(
        db.session.scalars(
            sa.select(Turn)
            .where(*queue_clauses(service_id, office_id, day), Turn.status == "calling")
            .order_by(Turn.called_at, Turn.id)
        )
    )


def count_in_line(service_id: int, office_id: int | None, day: dt.date) -> int:
    """How many turns wait in line. Read-only."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Turn).where(*in_line_clauses(service_id, office_id, day))
    )
