"""The citizen booking flow: service → (office) → date → time → details and documents → review.

Works without JavaScript. What the citizen chose and typed so far is a draft on the server
(app.booking_drafts): the signed session cookie, which anyone holding the browser can read, holds
only the draft's random key (`session["booking_draft"]`). Validated uploads wait in the staging
area until the booking is made; the confirmation shows the links once.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app import scheduling
from app.appointments import (
    BookingError,
    BookingRequest,
    CitizenLimitReached,
    DailyCapReached,
    SlotFull,
    book_appointment,
    check_citizen_limit,
    check_daily_caps,
    office_for,
)
from app.booking import bp
from app.booking.forms import ConfirmForm, details_form_for
from app.booking.uploads import collect_uploads, staged_documents, staged_summary
from app.booking_drafts import load_draft, save_draft, take_confirmation
from app.documents import discard_staged
from app.extensions import db, limiter
from app.links import appointment_links
from app.models import Appointment, Service
from app.month_calendar import month_grid
from app.web import bookable_service_or_404, no_store, parse_day, parse_month, parse_start
from config import LANGUAGES

STEPS = ("service", "date", "time", "details", "review")
DRAFT_KEY = "booking_draft"


@bp.after_request
def personal_pages_are_not_cached(response):
    """The flow shows the citizen's details and, once, their links: no cache may keep a copy."""
    return no_store(response)


def booking_state(service: Service) -> dict:
    """This citizen's choices for `service` (a new booking of another service starts afresh)."""
    state = load_draft(session.get(DRAFT_KEY))
    if not state or state.get("service") != service.slug:
        state = {"service": service.slug}
    return state


def save_state(state: dict) -> None:
    """Keep `state` on the server; the cookie learns only the draft's key."""
    session[DRAFT_KEY] = save_draft(session.get(DRAFT_KEY), state)


def chosen_office(service: Service, state: dict):
    office = office_for(service, state.get("office"))
    if office is None:
        abort(redirect(url_for("booking.start", slug=service.slug)))
    return office


def chosen_start(state: dict) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(state["start"])
    except (KeyError, TypeError, ValueError):
        return None


def render_step(template: str, service: Service, step: str, status: int = 200, **context):
    return render_template(
        template,
        service=service,
        agency=service.agency,
        steps=STEPS,
        step=step,
        step_number=STEPS.index(step) + 1,
        **context,
    ), status


@bp.route("/<slug>", methods=["GET", "POST"])
def start(slug: str):
    service = bookable_service_or_404(slug)
    state = booking_state(service)
    if request.method == "POST":
        office = office_for(service, request.form.get("office", type=int))
        if office is None:
            return render_step(
                "booking/start.html", service, "service", 422, error=_("Choose an office."), state=state
            )
        state["office"] = office.id
        state.pop("start", None)
        save_state(state)
        return redirect(url_for("booking.calendar", slug=slug))
    return render_step("booking/start.html", service, "service", state=state)


@bp.get("/<slug>/calendar")
def calendar(slug: str):
    service = bookable_service_or_404(slug)
    state = booking_state(service)
    office = chosen_office(service, state)
    today = scheduling.today_for(service)
    month = parse_month(request.args.get("month"), default=today.replace(day=1))
    if month is None:
        abort(404)
    grid = month_grid(service, office, month, today)
    return render_step(
        "booking/calendar.html",
        service,
        "date",
        office=office,
        grid=grid,
        day_url=lambda day: url_for("booking.times", slug=slug, day=day.isoformat()),
        month_url=lambda first: url_for("booking.calendar", slug=slug, month=first.strftime("%Y-%m")),
    )


@bp.route("/<slug>/times", methods=["GET", "POST"])
def times(slug: str):
    service = bookable_service_or_404(slug)
    state = booking_state(service)
    office = chosen_office(service, state)
    day = parse_day(request.values.get("day"))
    if day is None:
        abort(404)
    availability = scheduling.available_days(service, day, 1, office=office)[0]
    if request.method == "POST":
        start = parse_start(request.form.get("start"))
        if start is not None and any(slot.start == start for slot in availability.free_slots):
            state["start"] = start.isoformat()
            save_state(state)
            # Coming from the review's "Change": back there, everything else as it was.
            return redirect(url_for("booking.review" if "details" in state else "booking.details", slug=slug))
        return render_step(
            "booking/times.html",
            service,
            "time",
            422,
            office=office,
            availability=availability,
            day=day,
            error=_("Choose one of the available times."),
        )
    return render_step(
        "booking/times.html", service, "time", office=office, availability=availability, day=day
    )


@bp.route("/<slug>/details", methods=["GET", "POST"])
def details(slug: str):
    service = bookable_service_or_404(slug)
    state = booking_state(service)
    office = chosen_office(service, state)
    start = chosen_start(state)
    if start is None:
        return redirect(url_for("booking.calendar", slug=slug))
    if request.method == "GET":
        form = details_form_for(service)
        # Messages in the language the citizen is reading in, until they choose otherwise.
        form.process(data=state.get("details") or {"language": str(get_locale() or LANGUAGES[0])})
        return details_page(service, state, form, office=office, start=start)
    form = details_form_for(service, formdata=request.form)
    fields_ok = form.validate()
    document_errors = collect_uploads(service, state)  # keeps every valid file, even if a field is wrong
    save_state(state)
    status = 422 if not fields_ok or document_errors else citizen_limit_status(service, form)
    if status is not None:
        return details_page(
            service, state, form, status, office=office, start=start, document_errors=document_errors
        )
    state["details"] = {
        name: form[name].data for name in ("name", "email", "phone", "licence_number", "language")
    }
    save_state(state)
    return redirect(url_for("booking.review", slug=slug))


def details_page(service: Service, state: dict, form, status: int = 200, **context):
    """The details step, with the chosen time and the files already uploaded."""
    return render_step(
        "booking/details.html", service, "details", status, form=form, staged=staged_summary(state), **context
    )


def citizen_limit_status(service: Service, form) -> int | None:
    """409, with the message on its field, when this e-mail may not book the service again or
    today's cap for its domain or for the phone is reached."""
    try:
        check_citizen_limit(service, form.email.data)
        check_daily_caps(service, form.email.data, form.phone.data)
    except (CitizenLimitReached, DailyCapReached) as refused:
        field = form[refused.field]
        field.errors = [*field.errors, refused.message]
        return refused.status
    return None


@bp.route("/<slug>/review", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def review(slug: str):
    service = bookable_service_or_404(slug)
    state = booking_state(service)
    office = chosen_office(service, state)
    start = chosen_start(state)
    if start is None or "details" not in state:
        return redirect(url_for("booking.details", slug=slug))
    form = ConfirmForm()
    context = dict(
        form=form, office=office, start=start, details=state["details"], staged=staged_summary(state)
    )
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_step("booking/review.html", service, "review", status, **context)
    try:
        result = book_appointment(booking_request(service, office, start, state))
    except SlotFull as full:
        state.pop("start", None)
        save_state(state)
        return render_step("booking/review.html", service, "review", 409, slot_full=full, **context)
    except BookingError as error:
        return render_step(
            "booking/review.html", service, "review", error.status, booking_error=error, **context
        )
    finish_booking(state, result)
    return redirect(url_for("booking.confirmation"))


def booking_request(service: Service, office, start: dt.datetime, state: dict) -> BookingRequest:
    """The booking the citizen reviewed: their choices, details and staged documents."""
    details = state["details"]
    return BookingRequest(
        service=service,
        office=office,
        start=start,
        language=details["language"],
        name=details["name"],
        email=details["email"],
        phone=details["phone"],
        licence_number=details.get("licence_number"),
        documents=staged_documents(service, state),
    )


def finish_booking(state: dict, result) -> None:
    """Drop the staged files and the flow's state; keep what the confirmation page shows once."""
    for token in state.get("staged", {}).values():
        discard_staged(token)
    confirmation = {
        "appointment_id": result.appointment.id,
        "join_token": result.join_token,
        "manage_token": result.manage_token,
    }
    save_state({"confirmation": confirmation})


@bp.post("/<slug>/alternative")
def choose_alternative(slug: str):
    """After "slot just taken": take one of the offered times and go back to the review."""
    service = bookable_service_or_404(slug)
    state = booking_state(service)
    office = chosen_office(service, state)
    start = parse_start(request.form.get("start"))
    if start is None or scheduling.find_slot(service, office, start) is None:
        flash(_("That time is not available for booking. Please choose another one."), "error")
        return redirect(url_for("booking.calendar", slug=slug))
    state["start"] = start.isoformat()
    save_state(state)
    return redirect(url_for("booking.review", slug=slug))


@bp.get("/confirmation")
def confirmation():
    """The booked appointment; its links only the first time (a shared computer keeps no copy)."""
    data = take_confirmation(session.get(DRAFT_KEY))
    appointment = db.session.get(Appointment, data["appointment_id"]) if data else None
    if appointment is None:
        return redirect(url_for("main.home"))
    links = {}
    if data.get("manage_token"):
        links = appointment_links(data.get("join_token"), data["manage_token"])
    return render_template(
        "booking/confirmation.html",
        appointment=appointment,
        service=appointment.service,
        agency=appointment.service.agency,
        links_shown=not links,
        **links,
    )
