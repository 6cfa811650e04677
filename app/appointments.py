"""Booking rules shared by the pages and the API: book, find by token, cancel, reschedule.

Capacity, the per-citizen limit and the daily caps (app.booking_caps) are decided by the
database: each appointment claims a numbered seat of its slot (unique per service, office and
start) and a numbered place among the citizen's active appointments of that service (unique per
service and email). Two requests racing for the last seat both try to insert; the unique
constraint lets exactly one through and the other tries the next free number or, when there is
none, answers "slot just taken" with alternatives.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app import notifications, scheduling
from app.booking_caps import cap_reached, claim_daily_places, email_domain
from app.documents import UploadedPdf, stored_until_committed
from app.extensions import db, write_transaction
from app.links import appointment_links
from app.models import Appointment, Office, Service, utcnow
from app.security import new_reference
from app.tokens import new_token

UTC = dt.UTC


class BookingError(Exception):
    """A booking the rules refuse; `code` is stable for the API, `message` is translated."""

    status = 422

    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class SlotFull(BookingError):
    status = 409

    def __init__(self, alternatives: list[scheduling.Slot]):
        super().__init__("slot_full", _("This time was just taken. Please choose another one."))
        self.alternatives = alternatives


class CitizenLimitReached(BookingError):
    status = 409

    def __init__(self):
        super().__init__(
            "citizen_limit",
            _(
                "You already have an upcoming appointment for this service. Use the link in your "
                "confirmation email to change or cancel it."
            ),
            field="email",
        )


class DailyCapReached(BookingError):
    """The service took today as many bookings as it takes from this e-mail domain or phone number."""

    status = 409

    def __init__(self, kind: str, email: str):
        if kind == "domain":
            message = _(
                "Today this service has taken as many bookings as it takes from e-mail addresses at "
                "%(domain)s. Please try again tomorrow, or call the agency.",
                domain=email_domain(email),
            )
        else:
            message = _(
                "This phone number has already booked today as many appointments of this service as "
                "one number may. Please try again tomorrow, or call the agency."
            )
        super().__init__("daily_cap", message, field="email" if kind == "domain" else "phone")


class TooLate(BookingError):
    status = 409

    def __init__(self):
        super().__init__(
            "too_late",
            _("This appointment can no longer be changed online: its time has passed or is about to start."),
        )


@dataclass
class BookingRequest:
    service: Service
    office: Office
    start: dt.datetime
    name: str
    email: str
    phone: str
    language: str = "es"
    licence_number: str | None = None
    documents: list[UploadedPdf] = field(default_factory=list)
    # The bookable slot at `start` when the caller has just found it (the API's validation has):
    # book_appointment then does not look for it again. Capacity is decided by the database anyway.
    slot: scheduling.Slot | None = None


@dataclass
class BookingResult:
    appointment: Appointment
    join_token: str | None
    manage_token: str


BOOKABLE_MODES = ("video", "in_person")


def bookable_service(slug: str) -> Service | None:
    """The active service with that slug that citizens book a slot of (video or in person)."""
    return db.session.scalar(
        sa.select(Service).where(
            Service.slug == slug, Service.active.is_(True), Service.mode.in_(BOOKABLE_MODES)
        )
    )


def office_for(service: Service, office_id: int | None) -> Office | None:
    """The office where `service` is offered with that id; the only office when none is given."""
    if office_id is None:
        return service.open_offices[0] if len(service.open_offices) == 1 else None
    return next((office for office in service.open_offices if office.id == office_id), None)


def citizen_email(email: str) -> str:
    """An e-mail address as the per-citizen limit compares it."""
    return email.strip().lower()


def check_citizen_limit(service: Service, email: str, *, now: dt.datetime | None = None) -> None:
    """Raise CitizenLimitReached when `email` already holds as many upcoming appointments of
    `service` as one citizen may: asked early, so nobody fills the form in vain. Read-only; the
    booking itself is what decides (a unique constraint)."""
    held = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Appointment)
        .where(
            Appointment.service_id == service.id,
            Appointment.citizen_email == citizen_email(email),
            Appointment.citizen_seat.is_not(None),
            Appointment.end_at > (now or utcnow()),
        )
    )
    if held >= current_app.config["MAX_ACTIVE_APPOINTMENTS_PER_SERVICE"]:
        raise CitizenLimitReached()


def check_daily_caps(service: Service, email: str, phone: str, *, now: dt.datetime | None = None) -> None:
    """Raise DailyCapReached when today's cap for the e-mail's domain or for the phone is already
    reached: asked early, like the per-citizen limit. Read-only; the booking itself decides."""
    full = cap_reached(service, scheduling.today_for(service, now), email=email, phone=phone)
    if full:
        raise DailyCapReached(full, email)


def book_appointment(request: BookingRequest, *, now: dt.datetime | None = None) -> BookingResult:
    """Book a seat for the citizen, store their documents, queue the confirmation; all or nothing.

    The files are stored first, then the rows commit: a committed booking always has its files,
    and a crash in between leaves only files no row names, which `flask purge-documents` removes.
    Takes the write lock and commits (rolls back, and deletes the files no row names, on any error).
    """
    now = now or utcnow()
    service = request.service
    _check_documents(service, request.documents)
    slot = request.slot if _is_slot_at(request.slot, request) else None
    slot = slot or scheduling.find_slot(service, request.office, request.start, now=now)
    if slot is None:
        raise BookingError(
            "slot_unavailable",
            _("That time is not available for booking. Please choose another one."),
            field="start",
        )

    join_token, join_hash = new_token() if service.mode == "video" else (None, None)
    manage_token, manage_hash = new_token()
    email = citizen_email(request.email)
    today = scheduling.today_for(service, now)
    appointment = Appointment(
        reference=new_reference(service.agency.slug),
        service=service,
        # The ids as well (the office by its id alone): the write lock below ends the read
        # transaction, and with it what the session had loaded; the rules under it need only these.
        service_id=service.id,
        office_id=request.office.id,
        start_at=slot.start,
        end_at=slot.end,
        status="booked",
        citizen_name=request.name.strip(),
        citizen_email=email,
        citizen_phone=request.phone,
        licence_number=request.licence_number or None,
        language=request.language,
        join_token_hash=join_hash,
        manage_token_hash=manage_hash,
    )
    # Stored before the write lock (a large file takes a while); the rows are written under it.
    with stored_until_committed(*(document.data for document in request.documents)) as stored_keys:
        write_transaction()
        _release_finished_citizen_places(appointment.service_id, email, now)
        _claim_seats(appointment, service, request.office, now)
        full = claim_daily_places(service, today, email=email, phone=request.phone)
        if full:
            raise DailyCapReached(full, email)
        for document, key in zip(request.documents, stored_keys, strict=True):
            db.session.add(document.as_document(key, appointment=appointment))
        links = appointment_links(join_token, manage_token)
        notifications.queue_appointment_messages(appointment, links["join_url"], links["manage_url"])
        db.session.commit()
    return BookingResult(appointment=appointment, join_token=join_token, manage_token=manage_token)


def _is_slot_at(slot: scheduling.Slot | None, request: BookingRequest) -> bool:
    return slot is not None and slot.start == request.start and slot.office_id == request.office.id


def _check_documents(service: Service, documents: list[UploadedPdf]) -> None:
    given = {document.requirement_code for document in documents}
    known = {requirement.code for requirement in service.requirements}
    for requirement in service.requirements:
        if requirement.required and requirement.code not in given:
            raise BookingError(
                "document_missing",
                _("Please upload: %(document)s.", document=requirement.localized("label")),
                field=requirement.code,
            )
    unknown = given - known
    if unknown:
        raise BookingError(
            "document_unknown", _("This service does not ask for that document."), field=sorted(unknown)[0]
        )


def _release_finished_citizen_places(service_id: int, email: str, now: dt.datetime) -> None:
    """Appointments already over no longer count toward the citizen's limit."""
    db.session.execute(
        sa.update(Appointment)
        .where(
            Appointment.service_id == service_id,
            Appointment.citizen_email == email,
            Appointment.citizen_seat.is_not(None),
            Appointment.end_at <= now,
        )
        .values(citizen_seat=None)
    )


def _claim_seats(appointment: Appointment, service: Service, office: Office, now: dt.datetime) -> None:
    """Insert the appointment holding a free slot seat and a free citizen place, or raise."""
    limit = current_app.config["MAX_ACTIVE_APPOINTMENTS_PER_SERVICE"]
    for _attempt in range(service.capacity_per_slot + limit + 5):
        seat = _first_free(_used_seats(appointment), service.capacity_per_slot)
        if seat is None:
            raise SlotFull(
                scheduling.nearest_free_slots(service, appointment.start_at, office=office, now=now)
            )
        citizen_seat = _first_free(
            _used_citizen_seats(appointment.service_id, appointment.citizen_email), limit
        )
        if citizen_seat is None:
            raise CitizenLimitReached()
        appointment.seat, appointment.citizen_seat = seat, citizen_seat
        try:
            with db.session.begin_nested():
                db.session.add(appointment)
            return
        except sa.exc.IntegrityError:
            continue  # someone took that seat or place between our read and our insert
    raise SlotFull(scheduling.nearest_free_slots(service, appointment.start_at, office=office, now=now))


def _first_free(used: set[int], limit: int) -> int | None:
    """The lowest number of 1..limit not in `used`; None when `used` already holds `limit` numbers
    (those above a limit lowered since, kept by an admin, still count)."""
    if len(used) >= limit:
        return None
    return next((number for number in range(1, limit + 1) if number not in used), None)


def _used_seats(appointment: Appointment) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Appointment.seat).where(
                Appointment.service_id == appointment.service_id,
                Appointment.office_id == appointment.office_id,
                Appointment.start_at == appointment.start_at,
                Appointment.seat.is_not(None),
            )
        )
    )


def _used_citizen_seats(service_id: int, email: str) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Appointment.citizen_seat).where(
                Appointment.service_id == service_id,
                Appointment.citizen_email == email,
                Appointment.citizen_seat.is_not(None),
            )
        )
    )


# --- Managing an appointment with its token ------------------------------------------------------


def can_change(appointment: Appointment, now: dt.datetime | None = None) -> bool:
    """Cancel, reschedule and document replacement stop once the appointment has started."""
    return appointment.status == "booked" and (now or utcnow()) < appointment.start_at


def cancel_appointment(appointment: Appointment, *, now: dt.datetime | None = None) -> None:
    """Cancel and free the seat at once; pending reminders are dropped, a notice is sent.

    Takes the write lock; commits (rolls back when there is nothing to do or it is too late).
    """
    write_transaction()
    db.session.refresh(appointment)  # decide on the row as it is now, under the write lock
    if appointment.status == "cancelled":
        db.session.rollback()
        return
    if not can_change(appointment, now):
        db.session.rollback()
        raise TooLate()
    mark_cancelled(appointment, "booked", now or utcnow(), cancelled_by="citizen")
    notifications.queue_cancellation(appointment)
    db.session.commit()


def mark_cancelled(appointment: Appointment, from_status: str, now: dt.datetime, **values) -> bool:
    """Cancel the appointment if it is still `from_status`: seat and citizen place given back, the
    calendar sequence raised, pending reminders dropped (`values`: more columns to set). False,
    and nothing changed, when its status moved on meanwhile. Adds to the session; the caller
    commits (and queues whatever message the cancellation calls for)."""
    result = db.session.execute(
        sa.update(Appointment)
        .where(Appointment.id == appointment.id, Appointment.status == from_status)
        .values(
            status="cancelled",
            seat=None,
            citizen_seat=None,
            cancelled_at=now,
            calendar_sequence=Appointment.calendar_sequence + 1,
            updated_at=now,
            **values,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(appointment)
    notifications.cancel_pending(appointment)
    return True


def new_time_for(
    appointment: Appointment, office: Office, start: dt.datetime, *, now: dt.datetime | None = None
) -> scheduling.Slot:
    """The free slot the appointment may move to, or raise (TooLate, BookingError). Read-only.

    The confirm step asks this before showing the new time; `reschedule_appointment` again.
    """
    now = now or utcnow()
    if not can_change(appointment, now):
        raise TooLate()
    slot = scheduling.find_slot(appointment.service, office, start, now=now)
    if slot is None or (slot.start == appointment.start_at and office.id == appointment.office_id):
        raise BookingError(
            "slot_unavailable",
            _("That time is not available for booking. Please choose another one."),
            field="start",
        )
    return slot


def reschedule_appointment(
    appointment: Appointment,
    office: Office,
    start: dt.datetime,
    manage_token: str,
    *,
    now: dt.datetime | None = None,
) -> str | None:
    """Move to a new slot: the new seat is taken in the same statement that frees the old one.

    Returns the new join token (video): the old join link stops working, the new one is emailed
    with the manage link the citizen used (`manage_token`; it is stored only as a hash). Takes
    the write lock; commits (rolls back when the new slot is full, or when a cancel or a check-in
    got there first: the rule is checked again under the lock and in the UPDATE itself).
    """
    now = now or utcnow()
    service = appointment.service
    slot = new_time_for(appointment, office, start, now=now)
    write_transaction()
    db.session.refresh(appointment)  # decide on the row as it is now, under the write lock
    if not can_change(appointment, now):
        db.session.rollback()
        raise TooLate()
    for _attempt in range(service.capacity_per_slot + 5):
        taken = set(
            db.session.scalars(
                sa.select(Appointment.seat).where(
                    Appointment.service_id == service.id,
                    Appointment.office_id == office.id,
                    Appointment.start_at == slot.start,
                    Appointment.seat.is_not(None),
                )
            )
        )
        seat = _first_free(taken, service.capacity_per_slot)
        if seat is None:
            db.session.rollback()
            raise SlotFull(scheduling.nearest_free_slots(service, slot.start, office=office, now=now))
        try:
            with db.session.begin_nested():
                moved = db.session.execute(
                    sa.update(Appointment)
                    .where(
                        Appointment.id == appointment.id,
                        Appointment.status == "booked",
                        Appointment.start_at > now,
                    )
                    .values(
                        office_id=office.id,
                        start_at=slot.start,
                        end_at=slot.end,
                        seat=seat,
                        calendar_sequence=Appointment.calendar_sequence + 1,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
        except sa.exc.IntegrityError:
            continue
        if moved.rowcount != 1:  # PostgreSQL: a cancel or check-in committed since the refresh
            db.session.rollback()
            raise TooLate()
        break
    else:
        db.session.rollback()
        raise SlotFull(scheduling.nearest_free_slots(service, slot.start, office=office, now=now))
    db.session.refresh(appointment)
    join_token = None
    if service.mode == "video":
        join_token, appointment.join_token_hash = new_token()
        appointment.page_join_token_hash = None
    notifications.cancel_pending(appointment)
    links = appointment_links(join_token, manage_token)
    notifications.queue_appointment_messages(
        appointment, links["join_url"], links["manage_url"], kind="rescheduled"
    )
    db.session.commit()
    return join_token
