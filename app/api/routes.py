"""The /api/v1 endpoints: the same domain functions as the booking pages, answered in JSON.

Errors are JSON too: 404/405/413/429 come from app/errors.py (every /api/ path), refused input is
422 with one message per field, and a refused booking maps its BookingError's code and status.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app import proof_of_work, scheduling
from app.api import bp, schemas
from app.api.openapi import openapi_document
from app.appointments import BookingError, SlotFull, book_appointment, cancel_appointment
from app.errors import ERROR_TEXT
from app.extensions import db, limiter
from app.links import appointment_links
from app.models import Agency, Service
from app.web import bookable_service_or_404, manage_appointment_or_404


def _setting(name: str, default: str):
    return lambda: current_app.config.get(name, default)


# Per client address. Reads share one budget across the API; each write route has its own.
read_limit = limiter.shared_limit(_setting("API_READ_RATE_LIMIT", "120 per minute"), scope="api-read")
write_limit = _setting("API_WRITE_RATE_LIMIT", "20 per hour")


@bp.after_request
def no_store(response):
    # Availability changes by the second, and appointment answers carry tokens and file names.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(schemas.ValidationFailed)
def validation_failed(error: schemas.ValidationFailed):
    return jsonify(error="validation", message=str(ERROR_TEXT[422][1]), fields=error.fields), 422


@bp.errorhandler(BookingError)
def booking_refused(error: BookingError):
    return jsonify(booking_error_body(error)), error.status


def booking_error_body(error: BookingError) -> dict:
    """Any BookingError by its own code, status and field; a 422 looks like every other 422."""
    fields = {error.field: error.message} if error.field else {}
    if error.status == 422:
        return {"error": "validation", "message": error.message, "fields": fields}
    return {"error": error.code, "message": error.message, **({"fields": fields} if fields else {})}


@bp.get("/agencies")
@read_limit
def agencies():
    rows = db.session.scalars(sa.select(Agency).order_by(Agency.name_es)).all()
    return jsonify(agencies=[schemas.agency_json(agency) for agency in rows])


@bp.get("/services")
@read_limit
def services():
    query = (
        sa.select(Service)
        .join(Service.agency)
        .where(Service.active.is_(True))
        .options(selectinload(Service.open_offices), selectinload(Service.requirements))
        .order_by(Agency.name_es, Service.id)
    )
    if "agency" in request.args:
        agency = db.session.scalar(sa.select(Agency).where(Agency.slug == request.args["agency"]))
        if agency is None:
            abort(404, _("There is no agency with that name."))
        query = query.where(Service.agency_id == agency.id)
    return jsonify(services=[schemas.service_json(service) for service in db.session.scalars(query)])


@bp.get("/services/<slug>/availability")
@read_limit
def availability(slug: str):
    service = bookable_service_or_404(slug)
    first_day, days, office = schemas.parse_availability_query(request.args, service)
    zone = scheduling.agency_zone(service)
    calendar = scheduling.available_days(service, first_day, days, office=office)
    return jsonify(
        service=service.slug,
        timezone=service.agency.timezone,
        days=[schemas.day_json(day, zone) for day in calendar],
    )


@bp.post("/appointments")
@limiter.limit(write_limit)
def book():
    booking = schemas.parse_booking_form(request.form, request.files)
    schemas.spend_proof_of_work(request.form)  # once the rest is valid: a refused form keeps it
    zone = scheduling.agency_zone(booking.service)
    try:
        result = book_appointment(booking)
    except SlotFull as full:
        body = booking_error_body(full)
        body["alternatives"] = [schemas.slot_json(slot, zone) for slot in full.alternatives]
        return jsonify(body), full.status
    appointment = result.appointment
    links = appointment_links(result.join_token, result.manage_token)
    return jsonify(
        reference=appointment.reference,
        service=booking.service.slug,
        office=appointment.office_id,
        start=schemas.local_iso(appointment.start_at, zone),
        end=schemas.local_iso(appointment.end_at, zone),
        status=appointment.status,
        join_url=links["join_url"],
        manage_url=links["manage_url"],
    ), 201


@bp.get("/proof-of-work/challenge")
@read_limit
def proof_of_work_challenge():
    return jsonify(proof_of_work.new_challenge())


@bp.get("/appointments/<token>")
@read_limit
def appointment(token: str):
    return jsonify(schemas.appointment_json(manage_appointment_or_404(token)))


@bp.delete("/appointments/<token>")
@limiter.limit(write_limit)
def cancel(token: str):
    appointment = manage_appointment_or_404(token)
    cancel_appointment(appointment)  # already cancelled: nothing to do; too late: TooLate (409)
    return jsonify(schemas.appointment_json(appointment))


@bp.get("/openapi.json")
@read_limit
def openapi():
    return jsonify(openapi_document())
