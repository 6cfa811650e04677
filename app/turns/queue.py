"""Same-day turns: take a turn, its place in line and estimated wait, call next, outcomes, check-in.

A queue is the turns of one service at one office on one agency-local day, in order of
`priority_at`, then id: the moment a phone turn was taken, or the start of an in-person
appointment for a visitor who checked in. The rules that must hold under concurrency are the
database's:

- Numbering: (service, day, number) is unique; a new turn inserts with the next number inside a
  savepoint and, if another request took that number meanwhile, tries the next. Numbers are dense,
  so "number > daily capacity" is the capacity rule.
- One turn in line per phone, service and day: `active_phone` holds the phone while the turn is
  waiting, being called or due a retry; (service, day, active_phone) is unique.
- Call next: one conditional UPDATE of the oldest callable turn, `WHERE status = <what we read>`;
  when another clerk got there first it changes no row and we read again.

Statuses: waiting → calling → attended | cancelled, or no_answer (back in line once, after
QUEUE_NO_ANSWER_RETRY_MINUTES) → calling → … → missed on the second no-answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import notifications, scheduling
from app.extensions import db, write_transaction
from app.i18n import regional_locale
from app.models import Appointment, Office, Service, Staff, Turn, utcnow
from app.security import staff_may_act_for
from app.tokens import new_token

UTC = dt.UTC
logger = logging.getLogger(__name__)

ACTIVE_STATUSES = ("waiting", "calling", "no_answer")
IN_LINE_STATUSES = ("waiting", "no_answer")  # in line, not being called right now
OUTCOMES = ("attended", "no_answer", "cancelled")
QUEUE_MODES = ("phone_turn", "in_person")

# One service time counts between these bounds, so a clerk who forgot to record an outcome for
# an hour does not make everyone's estimate an hour long.
SHORTEST_SERVICE_MINUTES = 1.0
LONGEST_SERVICE_MINUTES = 60.0
NEXT_OPENING_SEARCH_DAYS = 14

OUTCOME_LABELS = {
    "attended": _l("Attended"),
    "no_answer": _l("No answer"),
    "cancelled": _l("Turn cancelled"),
}


def setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


# --- Errors -------------------------------------------------------------------------------------


class TurnError(Exception):
    """A turn the rules refuse; `code` is stable, `message` is translated for the citizen or clerk."""

    status = 422

    def __init__(self, code: str, message: str, *, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class TurnsClosed(TurnError):
    """No turns now: closed today, outside hours, capacity reached or the wait past closing."""

    status = 409

    def __init__(self, code: str, message: str, next_opening: dt.datetime | None):
        super().__init__(code, message)
        self.next_opening = next_opening


class AlreadyInLine(TurnError):
    status = 409

    def __init__(self):
        super().__init__(
            "already_in_line",
            _(
                "This phone number already has a turn in line for this service today. Use the link "
                "of that turn to see it or cancel it."
            ),
        )


class TurnNotActive(TurnError):
    status = 409

    def __init__(self):
        super().__init__("not_active", _("This turn has changed meanwhile. Reload the page to see it."))


# --- Which services and offices give turns -----------------------------------------------------


def takeable_service(slug: str) -> Service | None:
    """The active phone-turn service with that slug (and an office whose hours it follows)."""
    service = db.session.scalar(
        sa.select(Service).where(Service.slug == slug, Service.active.is_(True), Service.mode == "phone_turn")
    )
    return service if service is not None and service.offices else None


def turn_office(service: Service) -> Office:
    """The office whose opening hours a phone-turn service follows (its first office)."""
    return service.offices[0]


def turn_prefix(service: Service) -> str:
    return (service.turn_prefix or service.slug[:1] or "T").upper()


def turn_code(service: Service, number: int) -> str:
    return f"{turn_prefix(service)}-{number:03d}"


# --- Opening hours ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opening:
    """One opening interval of a day, in UTC."""

    opens: dt.datetime
    closes: dt.datetime

    def contains(self, moment: dt.datetime) -> bool:
        return self.opens <= moment < self.closes


def openings(
    service: Service, office: Office, first_day: dt.date, days: int = 1
) -> list[tuple[dt.date, str | None, list[Opening]]]:
    """(day, closed reason, opening intervals) for each day: the office's hours, holidays, closures."""
    zone = scheduling.agency_zone(service)
    last_day = first_day + dt.timedelta(days=days - 1)
    # scheduling's own lookups, so turns and bookings read hours and closures the same way.
    hours = scheduling.hours_by_office([office.id])[office.id]
    closures = scheduling.closures_by_office(service.agency_id, [office.id], first_day, last_day)[office.id]
    result = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        reason = scheduling.closed_reason(
            day, observes_holidays=service.agency.observes_pr_holidays, closures=closures
        )
        intervals = (
            []
            if reason
            else [
                Opening(_at(day, opens, zone), _at(day, closes, zone))
                for opens, closes in sorted(hours.get(day.weekday(), []))
            ]
        )
        result.append((day, reason, intervals))
    return result


def next_opening(service: Service, office: Office, after: dt.datetime) -> dt.datetime | None:
    """The first moment, at or after `after`, that the office opens (within two weeks)."""
    first = after.astimezone(scheduling.agency_zone(service)).date()
    for _day, _reason, intervals in openings(service, office, first, NEXT_OPENING_SEARCH_DAYS):
        for interval in intervals:
            if interval.opens >= after:
                return interval.opens
    return None


def _at(day: dt.date, time: dt.time, zone) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(UTC)


def describe_moment(moment: dt.datetime, service: Service, now: dt.datetime) -> str:
    """ "today at 8:00 a. m.", "tomorrow at …" or "Monday, March 10, 2031 at …", in the page's language."""
    zone = scheduling.agency_zone(service)
    locale = regional_locale(str(get_locale() or "es"))
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    time = format_time(local, "short", locale=locale)
    if local.date() == today:
        return _("today at %(time)s", time=time)
    if local.date() == today + dt.timedelta(days=1):
        return _("tomorrow at %(time)s", time=time)
    return _("%(date)s at %(time)s", date=format_date(local, "full", locale=locale), time=time)


# --- Wait estimate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueLoad:
    """How fast a queue moves today: the average service time and the clerks serving it."""

    average_minutes: float
    measured: bool  # from today's calls; False: the service's slot length, before the first
    clerks: int
    being_called: int


@dataclass(frozen=True)
class WaitEstimate:
    minutes: float
    low: int
    high: int

    @classmethod
    def for_people_ahead(cls, load: QueueLoad, people_ahead: int) -> WaitEstimate:
        """Those ahead, plus half of those being called now, times the average, over the clerks."""
        minutes = (people_ahead + 0.5 * load.being_called) * load.average_minutes / load.clerks
        low = int(minutes * 0.75 // 5 * 5)
        high = max(low + 5, math.ceil(minutes * 1.25 / 5) * 5)
        return cls(minutes=minutes, low=low, high=high)

    @property
    def text(self) -> str:
        if self.low == 0:
            return _("less than %(high)s minutes", high=self.high)
        return _("between %(low)s and %(high)s minutes", low=self.low, high=self.high)


def queue_load(service: Service, office_id: int, day: dt.date, now: dt.datetime) -> QueueLoad:
    """Today's moving average of service times (called → finished) and the active clerks."""
    window = setting("QUEUE_AVERAGE_OVER", 10)
    rows = db.session.execute(
        sa.select(Turn.called_at, Turn.finished_at)
        .where(
            *_queue(service.id, office_id, day),
            Turn.status.in_(("attended", "missed")),
            Turn.called_at.is_not(None),
            Turn.finished_at.is_not(None),
        )
        .order_by(Turn.finished_at.desc())
        .limit(window)
    ).all()
    durations = [
        min(max((finished - called).total_seconds() / 60, SHORTEST_SERVICE_MINUTES), LONGEST_SERVICE_MINUTES)
        for called, finished in rows
    ]
    since = now - dt.timedelta(minutes=setting("QUEUE_ACTIVE_CLERK_MINUTES", 30))
    clerks = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Turn.clerk_id))).where(
            *_queue(service.id, office_id, day),
            Turn.clerk_id.is_not(None),
            sa.or_(Turn.status == "calling", Turn.called_at >= since),
        )
    )
    calling = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Turn)
        .where(*_queue(service.id, office_id, day), Turn.status == "calling")
    )
    return QueueLoad(
        average_minutes=sum(durations) / len(durations) if durations else float(service.slot_minutes),
        measured=bool(durations),
        clerks=max(clerks or 0, 1),
        being_called=calling or 0,
    )


# --- Where a turn stands ------------------------------------------------------------------------


def _queue(service_id: int, office_id: int | None, day: dt.date):
    return (Turn.service_id == service_id, Turn.office_id == office_id, Turn.day == day)


def _in_line(service_id: int, office_id: int | None, day: dt.date):
    return (*_queue(service_id, office_id, day), Turn.status.in_(IN_LINE_STATUSES))


LINE_ORDER = (Turn.priority_at, Turn.id)


def position(turn: Turn) -> int | None:
    """1 for the next to be called; None when the turn is not in line (called or finished)."""
    if turn.status not in IN_LINE_STATUSES:
        return None
    ahead = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Turn)
        .where(
            *_in_line(turn.service_id, turn.office_id, turn.day),
            Turn.id != turn.id,
            sa.or_(
                Turn.priority_at < turn.priority_at,
                sa.and_(Turn.priority_at == turn.priority_at, Turn.id < turn.id),
            ),
        )
    )
    return ahead + 1


def in_line(service_id: int, office_id: int | None, day: dt.date) -> list[Turn]:
    return list(
        db.session.scalars(sa.select(Turn).where(*_in_line(service_id, office_id, day)).order_by(*LINE_ORDER))
    )


def being_called(service_id: int, office_id: int | None, day: dt.date) -> list[Turn]:
    return list(
        db.session.scalars(
            sa.select(Turn)
            .where(*_queue(service_id, office_id, day), Turn.status == "calling")
            .order_by(Turn.called_at, Turn.id)
        )
    )


def count_in_line(service_id: int, office_id: int | None, day: dt.date) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Turn).where(*_in_line(service_id, office_id, day))
    )


@dataclass(frozen=True)
class TurnView:
    """What the status page shows: the turn, its place in line and the estimate."""

    turn: Turn
    position: int | None
    estimate: WaitEstimate | None
    expired: bool  # a turn of an earlier day that never finished

    @property
    def state(self) -> str:
        return "expired" if self.expired else self.turn.status


def view_turn(turn: Turn, now: dt.datetime | None = None) -> TurnView:
    now = now or utcnow()
    expired = turn.status in ACTIVE_STATUSES and turn.day < scheduling.today_for(turn.service, now)
    place = None if expired else position(turn)
    estimate = None
    if place is not None:
        load = queue_load(turn.service, turn.office_id, turn.day, now)
        estimate = WaitEstimate.for_people_ahead(load, place - 1)
    return TurnView(turn=turn, position=place, estimate=estimate, expired=expired)


# --- Taking a turn ------------------------------------------------------------------------------


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
    """Open now, today's capacity and the wait until closing; `closed` says why not, and until when."""
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
    return TurnsClosed(code, message, opening)


def take_turn(request_: TurnRequest, *, now: dt.datetime | None = None) -> TakenTurn:
    """Give the citizen the next number of today's line, or raise TurnsClosed / AlreadyInLine."""
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
        )
        _claim_number(turn, service, day, now, capacity=service.daily_capacity)
        _notify_second_in_line(service.id, office.id, day, now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    _publish(turn)
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


def _claim_number(
    turn: Turn, service: Service, day: dt.date, now: dt.datetime, *, capacity: int | None
) -> None:
    """Insert `turn` with the next free number of the day; raise when capacity is reached."""
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


# --- The citizen's own changes ------------------------------------------------------------------


def cancel_turn(turn: Turn, *, now: dt.datetime | None = None) -> None:
    """The citizen leaves the line (idempotent once cancelled)."""
    now = now or utcnow()
    if turn.status == "cancelled":
        return
    write_transaction()
    result = db.session.execute(
        sa.update(Turn)
        .where(Turn.id == turn.id, Turn.status.in_(ACTIVE_STATUSES))
        .values(status="cancelled", active_phone=None, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise TurnNotActive()
    _after_change(turn, now)


def can_move_back(turn: Turn) -> bool:
    return turn.status == "waiting" and not turn.moved_back


def move_back(turn: Turn, *, now: dt.datetime | None = None) -> None:
    """ "Not available right now": once per turn, the turn goes to the end of the line."""
    now = now or utcnow()
    if not can_move_back(turn):
        raise TurnError("move_back_used", _("You can move your turn back only once, while it is waiting."))
    write_transaction()
    last = db.session.scalar(
        sa.select(sa.func.max(Turn.priority_at)).where(*_in_line(turn.service_id, turn.office_id, turn.day))
    )
    end_of_line = max(now, last + dt.timedelta(microseconds=1)) if last else now
    result = db.session.execute(
        sa.update(Turn)
        .where(Turn.id == turn.id, Turn.status == "waiting", Turn.moved_back.is_(False))
        .values(moved_back=True, priority_at=end_of_line)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise TurnNotActive()
    _after_change(turn, now)


# --- The clerk's console ------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRef:
    service: Service
    office: Office

    @property
    def key(self) -> tuple[int, int]:
        return self.service.id, self.office.id


def queue_for(service_id: int, office_id: int) -> QueueRef | None:
    """The queue of a phone-turn or in-person service at one of its offices, or None."""
    service = db.session.get(Service, service_id)
    if service is None or service.mode not in QUEUE_MODES:
        return None
    office = next((office for office in service.offices if office.id == office_id), None)
    if office is None or (service.mode == "phone_turn" and office.id != turn_office(service).id):
        return None
    return QueueRef(service=service, office=office)


def queues_for_staff(staff: Staff) -> list[QueueRef]:
    """The queues a clerk may serve: their agency's phone-turn services and in-person offices."""
    query = sa.select(Service).where(Service.active.is_(True), Service.mode.in_(QUEUE_MODES))
    if staff.role != "superadmin":
        query = query.where(Service.agency_id == staff.agency_id)
    queues = []
    for service in db.session.scalars(query.order_by(Service.agency_id, Service.id)):
        offices = (
            [turn_office(service)] if service.mode == "phone_turn" and service.offices else service.offices
        )
        queues.extend(QueueRef(service=service, office=office) for office in offices)
    return queues


def current_calls(queue: QueueRef, clerk: Staff, now: dt.datetime | None = None) -> list[Turn]:
    day = scheduling.today_for(queue.service, now or utcnow())
    return [turn for turn in being_called(*queue.key, day) if turn.clerk_id == clerk.id]


def call_next(queue: QueueRef, clerk: Staff, *, now: dt.datetime | None = None) -> Turn | None:
    """Give the clerk the first callable turn of the line, atomically; None when nobody waits.

    Two clerks pressing at once read the same oldest turn; the UPDATE only changes it while it is
    still in the status we read, so one of them gets it and the other reads again.
    """
    now = now or utcnow()
    service_id, office_id = queue.key
    day = scheduling.today_for(queue.service, now)
    write_transaction()
    if current_calls(queue, clerk, now):
        db.session.commit()
        raise TurnError(
            "finish_current",
            _("Record the outcome of your current call before calling the next turn."),
            status=409,
        )
    for _attempt in range(100):
        candidate = db.session.execute(
            sa.select(Turn.id, Turn.status)
            .where(
                *_queue(service_id, office_id, day),
                sa.or_(
                    Turn.status == "waiting", sa.and_(Turn.status == "no_answer", Turn.priority_at <= now)
                ),
            )
            .order_by(*LINE_ORDER)
            .limit(1)
        ).first()
        if candidate is None:
            db.session.commit()
            return None
        result = db.session.execute(
            sa.update(Turn)
            .where(Turn.id == candidate.id, Turn.status == candidate.status)
            .values(status="calling", clerk_id=clerk.id, called_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            break
    else:
        db.session.rollback()
        raise TurnError(
            "busy", _("The line is changing quickly. Please press “Call next” again."), status=409
        )
    turn = db.session.get(Turn, candidate.id, populate_existing=True)
    notifications.queue_turn_sms(turn, "called", f"turn:{turn.id}:called:{turn.no_answer_count}", now)
    _after_change(turn, now)
    return turn


def record_outcome(
    turn: Turn, clerk: Staff, outcome: str, note: str = "", *, now: dt.datetime | None = None
) -> None:
    """Close a call: attended, cancelled, or no answer (back in line once after a delay, then missed)."""
    now = now or utcnow()
    if outcome not in OUTCOMES:
        raise TurnError("outcome", _("Choose the outcome of the call."))
    values: dict = {"note": (note or "").strip()[:500] or turn.note, "clerk_id": clerk.id}
    if outcome == "no_answer" and turn.no_answer_count == 0:
        retry = now + dt.timedelta(minutes=setting("QUEUE_NO_ANSWER_RETRY_MINUTES", 10))
        values.update(status="no_answer", no_answer_count=1, priority_at=retry)
    else:
        final = {"attended": "attended", "cancelled": "cancelled", "no_answer": "missed"}[outcome]
        values.update(
            status=final,
            finished_at=now,
            active_phone=None,
            no_answer_count=turn.no_answer_count + (outcome == "no_answer"),
        )
    write_transaction()
    result = db.session.execute(
        sa.update(Turn)
        .where(Turn.id == turn.id, Turn.status == "calling")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise TurnNotActive()
    if turn.appointment_id is not None:
        _settle_appointment(turn.appointment_id, values["status"], clerk, now)
    _after_change(turn, now)


def _settle_appointment(appointment_id: int, turn_status: str, clerk: Staff, now: dt.datetime) -> None:
    """A checked-in visitor's appointment follows the turn's outcome."""
    values = {
        "attended": dict(status="completed", outcome="completed"),
        "missed": dict(status="no_show", outcome="no_show"),
        "cancelled": dict(status="cancelled", seat=None, citizen_seat=None, cancelled_at=now),
    }.get(turn_status)
    if values is None:
        return
    db.session.execute(
        sa.update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status == "checked_in")
        .values(clerk_id=clerk.id, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )


# --- In-person check-in -------------------------------------------------------------------------


def appointments_to_check_in(
    staff: Staff, query: str = "", *, now: dt.datetime | None = None, limit: int = 50
) -> list[Appointment]:
    """Today's booked in-person appointments of the clerk's agency, by reference or name."""
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
        )
        .order_by(Appointment.start_at, Appointment.id)
    )
    if staff.role != "superadmin":
        statement = statement.where(Service.agency_id == staff.agency_id)
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
    """The visitor arrived: the appointment is checked in and joins its office's line by its time."""
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
        _claim_number(turn, service, day, now, capacity=None)
        _notify_second_in_line(service.id, appointment.office_id, day, now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    db.session.refresh(appointment)
    _publish(turn)
    return turn


# --- Messages and live updates ------------------------------------------------------------------


def _after_change(turn: Turn, now: dt.datetime) -> None:
    """Commit a queue change, tell whoever became second in line, and push the live updates."""
    _notify_second_in_line(turn.service_id, turn.office_id, turn.day, now)
    db.session.commit()
    db.session.refresh(turn)
    _publish(turn)


def _notify_second_in_line(service_id: int, office_id: int | None, day: dt.date, now: dt.datetime) -> None:
    db.session.flush()
    first_two = db.session.scalars(
        sa.select(Turn).where(*_in_line(service_id, office_id, day)).order_by(*LINE_ORDER).limit(2)
    ).all()
    if len(first_two) == 2:
        notifications.queue_turn_sms(first_two[1], "second", f"turn:{first_two[1].id}:second", now)


def _publish(turn: Turn) -> None:
    from app.turns.events import publish_queue_change

    try:
        publish_queue_change(turn.service_id, turn.office_id, turn.id, turn.status)
    except Exception:  # the change is committed; live pages catch up on their next refresh
        logger.exception("Turns: could not push the update of turn %s", turn.id)
