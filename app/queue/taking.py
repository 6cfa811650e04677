"""Taking a turn: which services give turns, whether one gives them now (open, capacity, the wait
before closing), and the next number of the day, claimed safely under concurrency.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from app import scheduling
from app.extensions import db, write_transaction
from app.i18n import end_sentence
from app.models import Office, Service, Turn, utcnow
from app.queue.changes import notify_second_in_line
from app.queue.errors import AlreadyInLine, TurnError, TurnsClosed
from app.queue.estimate import WaitEstimate, queue_load
from app.queue.hours import describe_moment, next_opening, openings
from app.queue.line import count_in_line, turn_office
from app.queue.live import publish_turn_change
from app.tokens import new_token


def takeable_service(slug: str) -> Service | None:
    """The active phone-turn service with that slug (and an office whose hours it follows). Read-only."""
    service = db.session.scalar(
        sa.select(Service).where(Service.slug == slug, Service.active.is_(True), Service.mode == "phone_turn")
    )
    return service if service is not None and service.open_offices else None


def turn_prefix(service: Service) -> str:
    """The letter of the service's turn numbers ("R" in R-001). No database access."""
    return (service.turn_prefix or service.slug[:1] or "T").upper()


def turn_code(service: Service, number: int) -> str:
    """The code the citizen sees and hears: "R-001". No database access."""
    return f"{turn_prefix(service)}-{number:03d}"


@dataclass
class TurnRequest:
    service: Service
    name: str
    phone: str  # E.164, from citizens.parse_phone
    reason: str = ""
    language: str = "es"


@dataclass
class TakenTurn:
    turn: Turn
    token: str


@dataclass(frozen=True)
class Availability:
    """Whether a phone-turn service gives turns now, and the wait a new turn would have."""

    closed: TurnsClosed | None
    people_in_line: int
    estimate: WaitEstimate | None


def availability(service: Service, now: dt.datetime | None = None) -> Availability:
    """Open now, today's capacity and the wait until closing; `closed` says why not, and until when.

    Read-only.
    """
    now = now or utcnow()
    office = turn_office(service)
    day = scheduling.today_for(service, now)
    zone = scheduling.agency_zone(service)
    _day, reason, intervals = openings(service, office, day)[0]
    if reason:
        after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return Availability(_closed("closed_today", service, office, now, after, reason=reason), 0, None)
    current = next((interval for interval in intervals if interval.contains(now)), None)
    if current is None:
        return Availability(_closed("outside_hours", service, office, now, now), 0, None)
    people = count_in_line(service.id, office.id, day)
    estimate = WaitEstimate.for_people_ahead(queue_load(service, office.id, day, now), people)
    if service.daily_capacity is not None and _last_number(service.id, day) >= service.daily_capacity:
        after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return Availability(_closed("capacity", service, office, now, after), people, estimate)
    if now + dt.timedelta(minutes=estimate.minutes) > current.closes:
        return Availability(_closed("past_closing", service, office, now, current.closes), people, estimate)
    return Availability(None, people, estimate)


def _closed(
    code: str,
    service: Service,
    office: Office,
    now: dt.datetime,
    after: dt.datetime,
    reason: str | None = None,
) -> TurnsClosed:
    opening = next_opening(service, office, after)
    when = describe_moment(opening, service, now) if opening else None
    if code == "closed_today":
        message = (
            _("No turns are given today (%(reason)s). Turns open again %(when)s.", reason=reason, when=when)
            if when
            else _("No turns are given today (%(reason)s).", reason=reason)
        )
    elif code == "outside_hours":
        message = (
            _("This service is not giving turns right now. Turns open %(when)s.", when=when)
            if when
            else _("This service is not giving turns right now.")
        )
    elif code == "capacity":
        message = (
            _("All of today's turns have been given. Turns open again %(when)s.", when=when)
            if when
            else _("All of today's turns have been given.")
        )
    else:
        message = (
            _(
                "The wait would run past closing time, so no more turns are given now. Turns "
                "open again %(when)s.",
                when=when,
            )
            if when
            else _("The wait would run past closing time, so no more turns are given now.")
        )
    return TurnsClosed(code, end_sentence(message), opening)


def take_turn(request_: TurnRequest, *, now: dt.datetime | None = None) -> TakenTurn:
    """Give the citizen the next number of today's line, or raise TurnsClosed / AlreadyInLine.

    Takes the write lock; commits, or rolls back on any error.
    """
    now = now or utcnow()
    service = request_.service
    office = turn_office(service)
    write_transaction()  # SQLite: one writer at a time, so the rules below are read consistently
    try:
        state = availability(service, now)
        if state.closed is not None:
            raise state.closed
        day = scheduling.today_for(service, now)
        if _phone_in_line(service.id, day, request_.phone):
            raise AlreadyInLine()
        token, token_hash = new_token()
        turn = Turn(
            service=service,
            office_id=office.id,
            day=day,
            citizen_name=request_.name,
            citizen_phone=request_.phone,
            active_phone=request_.phone,
            reason=(request_.reason or "")[:500],
            language=request_.language,
            status="waiting",
            status_token_hash=token_hash,
            queued_at=now,
            priority_at=now,
            created_at=now,
            estimated_wait_minutes=round(state.estimate.minutes) if state.estimate else None,
        )
        claim_number(turn, service, day, now, capacity=service.daily_capacity)
        notify_second_in_line(service.id, office.id, day, now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    publish_turn_change(turn)
    return TakenTurn(turn=turn, token=token)


def _last_number(service_id: int, day: dt.date) -> int:
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(Turn.number), 0)).where(
            Turn.service_id == service_id, Turn.day == day
        )
    )


def _phone_in_line(service_id: int, day: dt.date, phone: str) -> bool:
    return (
        db.session.scalar(
            sa.select(Turn.id).where(
                Turn.service_id == service_id, Turn.day == day, Turn.active_phone == phone
            )
        )
        is not None
    )


def claim_number(
    turn: Turn, service: Service, day: dt.date, now: dt.datetime, *, capacity: int | None
) -> None:
    """Insert `turn` with the next free number of the day; raise when capacity is reached.

    Adds to the session, each try in a savepoint; the caller commits.
    """
    for _attempt in range(50):
        number = _last_number(service.id, day) + 1
        if capacity is not None and number > capacity:
            zone = scheduling.agency_zone(service)
            after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
            raise _closed("capacity", service, turn_office(service), now, after)
        turn.number, turn.code = number, turn_code(service, number)
        try:
            with db.session.begin_nested():
                db.session.add(turn)
            return
        except sa.exc.IntegrityError:
            # Another request took that number, or this phone got in line meanwhile.
            if turn.active_phone and _phone_in_line(service.id, day, turn.active_phone):
                raise AlreadyInLine() from None
    raise TurnError("busy", _("Many people are taking a turn at this moment. Please try again."), status=409)
