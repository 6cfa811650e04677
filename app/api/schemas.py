"""What the API reads and writes: query strings and forms into domain objects, models into JSON.

Every rule is the domain's: contact details go through `app.citizens`, PDFs through
`read_pdf_upload`, slots through `scheduling`. This module only collects the answers, so that a
client learns about every bad field in one response instead of one per attempt.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from app import proof_of_work, scheduling
from app.appointments import BookingRequest, bookable_service, can_change, office_for
from app.citizens import ContactError, clean_name, has_control_characters, parse_email, parse_phone
from app.documents import DocumentError, UploadedPdf, read_pdf_upload, requirement_specs
from app.models import LANGUAGES, Agency, Appointment, DocumentRequirement, Office, Service
from app.web import parse_start

DEFAULT_DAYS = 14
MAX_DAYS = 62
MAX_ID = 99_999  # the largest office id read from a query or form (five digits)
LICENCE_NUMBER_MAX = Appointment.__table__.c.licence_number.type.length
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ValidationFailed(Exception):
    """Input the API refuses; `fields` maps each bad field to a translated message."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


# --- reading requests ---------------------------------------------------------------------------


def service_for_booking(slug: str | None) -> Service | None:
    """The active video or in-person service with that slug (the booking pages' rule), or None."""
    if has_control_characters(slug):
        return None
    return bookable_service(slug or "")


def parse_availability_query(args: Mapping[str, str], service: Service):
    """(first day, number of days, office or None for all) from ?from=&days=&office=."""
    fields: dict[str, str] = {}
    first_day = scheduling.today_for(service)
    if "from" in args:
        first_day = _parse_date(args["from"])
        if first_day is None:
            fields["from"] = _("Enter a date as YYYY-MM-DD, for example 2031-03-04.")
        elif not scheduling.within_calendar(first_day):
            fields["from"] = _(
                "Enter a date within %(years)s years of today.", years=scheduling.CALENDAR_YEARS
            )
    days = _parse_int(args.get("days", str(DEFAULT_DAYS)))
    if days is None or not 1 <= days <= MAX_DAYS:
        fields["days"] = _("Enter a number of days from 1 to %(max)s.", max=MAX_DAYS)
    office = None
    if "office" in args:
        office = _offering_office(service, args["office"])
        if office is None:
            fields["office"] = _("This service is not offered at that office.")
    if fields:
        raise ValidationFailed(fields)
    return first_day, days, office


def parse_booking_form(form: MultiDict, files: MultiDict) -> BookingRequest:
    """A complete BookingRequest from the multipart form, or ValidationFailed naming every bad field."""
    fields: dict[str, str] = {}
    service = service_for_booking(form.get("service"))
    if service is None:
        fields["service"] = (
            _("There is no service with that name.") if form.get("service") else _("Choose a service.")
        )
    office = _booking_office(service, form.get("office"), fields) if service else None
    start, slot = parse_start(form.get("start")), None
    if start is None:
        fields["start"] = _(
            "Enter the start time in ISO 8601 with its UTC offset, for example 2031-03-04T09:00:00-04:00."
        )
    elif office is not None and (slot := scheduling.find_slot(service, office, start)) is None:
        fields["start"] = _("That time is not available for booking. Please choose another one.")

    name = _contact(form, "name", clean_name, _("Enter your full name."), fields)
    email = _contact(form, "email", parse_email, _("Enter your email address."), fields)
    phone = _contact(form, "phone", parse_phone, _("Enter a phone number."), fields)
    language = _language(form, fields)
    licence_number = _licence_number(service, form, fields)
    documents = _documents(service, files, fields) if service else []

    if fields:
        raise ValidationFailed(fields)
    return BookingRequest(
        service=service,
        office=office,
        start=start,
        name=name,
        email=email,
        phone=phone,
        language=language,
        licence_number=licence_number or None,
        documents=documents,
        slot=slot,
    )


def spend_proof_of_work(form: MultiDict) -> None:
    """Spend the form's proof-of-work solution (commits it as used), or ValidationFailed on `altcha`."""
    try:
        proof_of_work.spend(form.get(proof_of_work.FIELD))
    except proof_of_work.ProofOfWorkRefused as refused:
        raise ValidationFailed({proof_of_work.FIELD: refused.message}) from None


def _language(form: MultiDict, fields: dict[str, str]) -> str:
    language = form.get("language") or LANGUAGES[0]
    if language not in LANGUAGES:
        fields["language"] = _("Choose the language for messages: es (Spanish) or en (English).")
    return language


def _licence_number(service: Service | None, form: MultiDict, fields: dict[str, str]) -> str:
    licence_number = " ".join((form.get("licence_number") or "").split())
    if has_control_characters(licence_number):
        fields["licence_number"] = _("Remove the special characters from this field.")
    elif service is not None and service.asks_licence_number and not licence_number:
        fields["licence_number"] = _("Enter your driver's licence number.")
    elif len(licence_number) > LICENCE_NUMBER_MAX:
        fields["licence_number"] = _(
            "The licence number can have at most %(max)s characters.", max=LICENCE_NUMBER_MAX
        )
    return licence_number


def _parse_date(value: str) -> dt.date | None:
    if not ISO_DATE.fullmatch(value or ""):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _parse_int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= len(str(MAX_ID)) else None


def _offering_office(service: Service, value: str | None) -> Office | None:
    office_id = _parse_int(value)
    return office_for(service, office_id) if office_id is not None else None


def _booking_office(service: Service, value: str | None, fields: dict[str, str]) -> Office | None:
    if not value:
        office = office_for(service, None)  # the only office, when there is just one
        if office is None:
            fields["office"] = _("Choose an office.")
        return office
    office = _offering_office(service, value)
    if office is None:
        fields["office"] = _("This service is not offered at that office.")
    return office


def _contact(
    form: MultiDict, field: str, parse: Callable[[str], str], missing: str, fields: dict[str, str]
) -> str:
    value = (form.get(field) or "").strip()
    if not value:
        fields[field] = missing
        return ""
    try:
        return parse(value)
    except ContactError as error:
        fields[field] = str(error)
        return ""


def _documents(service: Service, files: MultiDict, fields: dict[str, str]) -> list[UploadedPdf]:
    """Every requirement's file checked (all of them, so each refusal is reported at once)."""
    # Ends the transaction before the PDF checks (a form with no file has none to wait for).
    requirements = requirement_specs(service, checks_follow=any(files.values()))
    codes = {requirement.code for requirement in requirements}
    for name in files:
        if name not in codes:
            fields[name] = _("This service does not ask for that document.")
    uploads = []
    for requirement in requirements:
        try:
            upload = read_pdf_upload(files.get(requirement.code), requirement)
        except DocumentError as error:
            fields[requirement.code] = error.message
            continue
        if upload is not None:
            uploads.append(upload)
        elif requirement.required:
            fields[requirement.code] = _("Please upload: %(document)s.", document=requirement.label)
    return uploads


# --- writing responses --------------------------------------------------------------------------


def bilingual(model, field: str) -> dict[str, str]:
    return {lang: model.localized(field, lang) for lang in LANGUAGES}


def local_iso(moment: dt.datetime, zone: ZoneInfo) -> str:
    """2031-03-04T09:00:00-04:00: the agency's wall-clock time with its UTC offset."""
    return moment.astimezone(zone).isoformat(timespec="seconds")


def agency_json(agency: Agency) -> dict:
    return {
        "slug": agency.slug,
        "name": bilingual(agency, "name"),
        "kind": agency.kind,
        "timezone": agency.timezone,
    }


def office_json(office: Office) -> dict:
    return {
        "id": office.id,
        "slug": office.slug,
        "name": bilingual(office, "name"),
        "remote": office.is_remote,
        "address": office.address,
    }


def requirement_json(requirement: DocumentRequirement) -> dict:
    return {
        "code": requirement.code,
        "label": bilingual(requirement, "label"),
        "required": requirement.required,
        "max_pages": requirement.max_pages,
    }


def service_json(service: Service) -> dict:
    return {
        "slug": service.slug,
        "agency": service.agency.slug,
        "name": bilingual(service, "name"),
        "description": bilingual(service, "description"),
        "mode": service.mode,
        "slot_minutes": service.slot_minutes,
        "offices": [office_json(office) for office in service.open_offices],
        "documents": [requirement_json(requirement) for requirement in service.requirements],
        "asks_licence_number": service.asks_licence_number,
    }


def slot_json(slot: scheduling.Slot, zone: ZoneInfo) -> dict:
    return {
        "start": local_iso(slot.start, zone),
        "end": local_iso(slot.end, zone),
        "office": slot.office_id,
        "remaining": slot.remaining,
    }


def day_json(day: scheduling.DayAvailability, zone: ZoneInfo) -> dict:
    return {
        "date": day.day.isoformat(),
        "closed_reason": day.closed_reason,
        "slots": [slot_json(slot, zone) for slot in day.free_slots],
    }


def appointment_json(appointment: Appointment) -> dict:
    zone = scheduling.agency_zone(appointment.service)
    documents = [
        document
        for document in appointment.documents
        if document.source == "citizen" and document.purged_at is None
    ]
    return {
        "reference": appointment.reference,
        "service": appointment.service.slug,
        "office": appointment.office_id,
        "start": local_iso(appointment.start_at, zone),
        "end": local_iso(appointment.end_at, zone),
        "status": appointment.status,
        "changeable": can_change(appointment),
        "documents": [
            {
                "requirement": document.requirement_code,
                "name": document.original_name,
                "pages": document.pages,
            }
            for document in documents
        ],
    }
