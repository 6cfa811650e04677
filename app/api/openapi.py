"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

Built from the same constants the code uses (modes, statuses, languages, limits), so it cannot
drift from them; tests check it validates, that it lists exactly the blueprint's routes, and that
real answers match its schemas.
"""

from __future__ import annotations

from functools import cache

from app.api.schemas import DEFAULT_DAYS, LICENCE_NUMBER_MAX, MAX_DAYS, MAX_ID
from app.models import AGENCY_KINDS, APPOINTMENT_STATUSES, LANGUAGES, SERVICE_MODES
from app.proof_of_work import MAX_PAYLOAD_CHARS
from app.scheduling import CALENDAR_YEARS
from app.tokens import MAX_TOKEN_LENGTH

# What the server reads, no more: anything else is a 404 (paths) or a 422 (query and form).
# A control character anywhere in a path or query value is refused before any route runs.
SLUG = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$"}
OFFICE_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TOKEN = {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH, "pattern": "^[A-Za-z0-9_-]+$"}

DATE_TIME = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 / RFC 3339 in the agency's time zone, with its UTC offset.",
    "examples": ["2031-03-04T09:00:00-04:00"],
}


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _object(properties: dict, required: list[str] | None = None, **extra) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


def _parameter(name: str, where: str, schema: dict, description: str | None = None) -> dict:
    """A parameter; path parameters are required, the others optional."""
    parameter = {"name": name, "in": where, "required": where == "path", "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error_schema(slugs: list[str], description: str, *, required=(), **properties) -> dict:
    return _object(
        {
            "error": {"type": "string", "enum": slugs},
            "message": {"type": "string", "description": "For people, in the language of Accept-Language."},
            **properties,
        },
        required=["error", "message", *required],
        description=description,
    )


FIELDS = {
    "type": "object",
    "additionalProperties": {"type": "string"},
    "description": "One translated message per refused field, by field name (a document's "
    "field name is its requirement code).",
}

SCHEMAS = {
    "Bilingual": _object(
        {lang: {"type": "string"} for lang in LANGUAGES}, description="The same text in Spanish and English."
    ),
    "Agency": _object(
        {
            "slug": {"type": "string"},
            "name": _ref("schemas", "Bilingual"),
            "kind": {"type": "string", "enum": list(AGENCY_KINDS)},
            "timezone": {"type": "string", "description": "IANA time zone, e.g. America/Puerto_Rico."},
        }
    ),
    "Office": _object(
        {
            "id": {"type": "integer"},
            "slug": {"type": "string"},
            "name": _ref("schemas", "Bilingual"),
            "remote": {"type": "boolean", "description": "True for the virtual office of video services."},
            "address": {"type": ["string", "null"]},
        }
    ),
    "DocumentRequirement": _object(
        {
            "code": {"type": "string", "description": "The name of the file field when booking."},
            "label": _ref("schemas", "Bilingual"),
            "required": {"type": "boolean"},
            "max_pages": {"type": "integer", "minimum": 1},
        }
    ),
    "Service": _object(
        {
            "slug": {"type": "string"},
            "agency": {"type": "string", "description": "The agency's slug."},
            "name": _ref("schemas", "Bilingual"),
            "description": _ref("schemas", "Bilingual"),
            "mode": {
                "type": "string",
                "enum": list(SERVICE_MODES),
                "description": "phone_turn services are same-day turns: they have no availability "
                "and cannot be booked here.",
            },
            "slot_minutes": {"type": "integer", "minimum": 1},
            "offices": {"type": "array", "items": _ref("schemas", "Office")},
            "documents": {"type": "array", "items": _ref("schemas", "DocumentRequirement")},
            "asks_licence_number": {"type": "boolean"},
        }
    ),
    "Slot": _object(
        {
            "start": DATE_TIME,
            "end": DATE_TIME,
            "office": {"type": "integer", "description": "The office's id."},
            "remaining": {"type": "integer", "minimum": 1, "description": "Seats still free."},
        }
    ),
    "Day": _object(
        {
            "date": {"type": "string", "format": "date", "description": "The agency's local date."},
            "closed_reason": {
                "type": ["string", "null"],
                "description": "Holiday or closure, translated; null on an open day.",
            },
            "slots": {
                "type": "array",
                "items": _ref("schemas", "Slot"),
                "description": "Only slots with free seats, in time order.",
            },
        }
    ),
    "Availability": _object(
        {
            "service": {"type": "string"},
            "timezone": {"type": "string"},
            "days": {"type": "array", "items": _ref("schemas", "Day")},
        }
    ),
    "BookingForm": {
        "type": "object",
        "required": ["service", "start", "name", "email", "phone"],
        "properties": {
            "service": {**SLUG, "description": "The service's slug (video or in_person)."},
            "start": {**DATE_TIME, "description": "A slot's start, as given by the availability."},
            "office": {
                **OFFICE_ID,
                "description": "The office's id; required when the service has several offices.",
            },
            "name": {"type": "string", "minLength": 2, "maxLength": 120},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "phone": {
                "type": "string",
                "description": "Local numbers are read as Puerto Rico's.",
                "examples": ["787-555-0100", "+17875550100"],
            },
            "language": {
                "type": "string",
                "enum": list(LANGUAGES),
                "default": "es",
                "description": "The language of the confirmation and reminders.",
            },
            "licence_number": {
                "type": "string",
                "maxLength": LICENCE_NUMBER_MAX,
                "description": "Required when the service asks_licence_number.",
            },
            "altcha": {
                "type": "string",
                "maxLength": MAX_PAYLOAD_CHARS,
                "description": "Proof of work, required when the server has it on (production's "
                "default): a challenge from GET /proof-of-work/challenge, solved (ALTCHA proof of "
                "work v2, e.g. with the altcha library's solve_challenge), as the base64 of "
                '{"challenge": ..., "solution": {"counter": ..., "derivedKey": ...}}. '
                "Each challenge is accepted once, until it expires; missing, invalid, expired or "
                "used: 422 with fields.altcha.",
            },
        },
        "additionalProperties": {
            "type": "string",
            "contentMediaType": "application/pdf",
            "description": "One PDF file per document requirement, in a field named by the "
            "requirement's code (e.g. licence_front); required ones must be sent.",
        },
    },
    "Booked": _object(
        {
            "reference": {"type": "string", "examples": ["DTOP-7K3M9Q"]},
            "service": {"type": "string"},
            "office": {"type": "integer"},
            "start": DATE_TIME,
            "end": DATE_TIME,
            "status": {"type": "string", "enum": list(APPOINTMENT_STATUSES)},
            "join_url": {
                "type": ["string", "null"],
                "format": "uri",
                "description": "The video call link (…/call/<join token>); null in person.",
            },
            "manage_url": {
                "type": "string",
                "format": "uri",
                "description": "The citizen's page (…/manage/<token>). The token at its end "
                "also opens /api/v1/appointments/{token}.",
            },
        }
    ),
    "Appointment": _object(
        {
            "reference": {"type": "string"},
            "service": {"type": "string"},
            "office": {"type": "integer"},
            "start": DATE_TIME,
            "end": DATE_TIME,
            "status": {"type": "string", "enum": list(APPOINTMENT_STATUSES)},
            "changeable": {
                "type": "boolean",
                "description": "Whether it can still be cancelled (not started yet).",
            },
            "documents": {
                "type": "array",
                "items": _object(
                    {
                        "requirement": {"type": "string"},
                        "name": {"type": "string", "description": "The file's name as uploaded."},
                        "pages": {"type": "integer", "minimum": 1},
                    }
                ),
            },
        }
    ),
    "Error": _error_schema(
        ["bad_request", "not_found", "method_not_allowed", "too_large", "rate_limited", "server_error"],
        "A request the API could not serve.",
    ),
    "ValidationError": _error_schema(
        ["validation"], "Refused input: every bad field at once.", required=["fields"], fields=FIELDS
    ),
    "SlotFull": _error_schema(
        ["slot_full"],
        "The last seat was just taken; alternatives are the nearest free slots.",
        required=["alternatives"],
        alternatives={"type": "array", "items": _ref("schemas", "Slot")},
    ),
    "CitizenLimit": _error_schema(
        ["citizen_limit"], "This email already holds an upcoming appointment for the service.", fields=FIELDS
    ),
    "DailyCap": _error_schema(
        ["daily_cap"],
        "The service took today as many bookings as it takes from this email's domain "
        "(fields.email) or from this phone number (fields.phone).",
        fields=FIELDS,
    ),
    "ProofOfWorkChallenge": _object(
        {
            "parameters": {
                "type": "object",
                "description": "ALTCHA proof of work v2 parameters (algorithm, nonce, salt, cost, "
                "keyLength, keyPrefix, expiresAt).",
            },
            "signature": {"type": "string", "description": "The server's HMAC of the parameters."},
        },
        description="A challenge to solve before booking; it expires at parameters.expiresAt.",
    ),
    "TooLate": _error_schema(
        ["too_late"], "The appointment has started or is over: it can no longer be changed."
    ),
}

RESPONSES = {
    "NotFound": _json(_ref("schemas", "Error"), "Unknown service, agency or appointment link."),
    "ValidationFailed": _json(_ref("schemas", "ValidationError"), "Refused input."),
    "TooLarge": _json(_ref("schemas", "Error"), "The request is larger than the server accepts."),
    "RateLimited": _json(_ref("schemas", "Error"), "Too many requests from this address; wait and retry."),
    "ServerError": _json(_ref("schemas", "Error"), "Nothing was changed; retry later."),
}

PARAMETERS = {
    "AcceptLanguage": _parameter(
        "Accept-Language",
        "header",
        {"type": "string", "examples": ["es", "en-US,en;q=0.9"]},
        "The language of messages and closure reasons: es (default) or en.",
    ),
    "Token": _parameter("token", "path", TOKEN, "The manage token: the last part of manage_url."),
}


def _operation(operation_id: str, summary: str, responses: dict, *, parameters=(), **extra) -> dict:
    return {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [_ref("parameters", "AcceptLanguage"), *parameters],
        "responses": {
            **responses,
            "429": _ref("responses", "RateLimited"),
            "500": _ref("responses", "ServerError"),
        },
        **extra,
    }


PATHS = {
    "/agencies": {
        "get": _operation(
            "listAgencies",
            "Agencies",
            {
                "200": _json(
                    _object({"agencies": {"type": "array", "items": _ref("schemas", "Agency")}}),
                    "Every agency.",
                ),
            },
        )
    },
    "/services": {
        "get": _operation(
            "listServices",
            "Active services, with offices and documents",
            {
                "200": _json(
                    _object({"services": {"type": "array", "items": _ref("schemas", "Service")}}),
                    "The active services (phone_turn ones included, with their mode).",
                ),
                "404": _ref("responses", "NotFound"),
            },
            parameters=[_parameter("agency", "query", SLUG, "Only this agency's services (its slug).")],
        )
    },
    "/services/{slug}/availability": {
        "get": _operation(
            "getAvailability",
            "Free slots of a bookable service, day by day",
            {
                "200": _json(_ref("schemas", "Availability"), "One entry per day asked for."),
                "404": _ref("responses", "NotFound"),
                "422": _ref("responses", "ValidationFailed"),
            },
            parameters=[
                _parameter("slug", "path", SLUG),
                _parameter(
                    "from",
                    "query",
                    {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "First day (YYYY-MM-DD); today in the agency's time zone by default. Days "
                    f"more than {CALENDAR_YEARS} years from this year are refused (422); days "
                    "outside the service's booking window simply have no free slots.",
                ),
                _parameter(
                    "days",
                    "query",
                    {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": DEFAULT_DAYS},
                ),
                _parameter(
                    "office",
                    "query",
                    OFFICE_ID,
                    "Only this office (its id); all of the service's offices by default.",
                ),
            ],
        )
    },
    "/appointments": {
        "post": _operation(
            "bookAppointment",
            "Book a slot, with the required documents",
            {
                "201": _json(_ref("schemas", "Booked"), "Booked; the confirmation email is on its way."),
                "409": _json(
                    {
                        "oneOf": [
                            _ref("schemas", "SlotFull"),
                            _ref("schemas", "CitizenLimit"),
                            _ref("schemas", "DailyCap"),
                        ]
                    },
                    "The slot filled up meanwhile, this email already has an upcoming "
                    "appointment for the service, or today's cap for its domain or phone is reached.",
                ),
                "413": _ref("responses", "TooLarge"),
                "422": _ref("responses", "ValidationFailed"),
            },
            requestBody={
                "required": True,
                "content": {"multipart/form-data": {"schema": _ref("schemas", "BookingForm")}},
            },
        )
    },
    "/proof-of-work/challenge": {
        "get": _operation(
            "getProofOfWorkChallenge",
            "A proof-of-work challenge to solve before booking (see BookingForm.altcha)",
            {"200": _json(_ref("schemas", "ProofOfWorkChallenge"), "A new signed challenge.")},
        )
    },
    "/appointments/{token}": {
        "get": _operation(
            "getAppointment",
            "An appointment, by its manage token",
            {
                "200": _json(_ref("schemas", "Appointment"), "The appointment."),
                "404": _ref("responses", "NotFound"),
            },
            parameters=[_ref("parameters", "Token")],
        ),
        "delete": _operation(
            "cancelAppointment",
            "Cancel (idempotent): the seat is free at once",
            {
                "200": _json(_ref("schemas", "Appointment"), "Cancelled (or already was)."),
                "404": _ref("responses", "NotFound"),
                "409": _json(_ref("schemas", "TooLate"), "Too late to cancel online."),
            },
            parameters=[_ref("parameters", "Token")],
        ),
    },
    "/openapi.json": {
        "get": _operation(
            "getOpenApi",
            "This document",
            {
                "200": {
                    "description": "The OpenAPI 3.1 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
            },
        )
    },
}


@cache
def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ventanilla API",
            "version": "1.0.0",
            "description": (
                "Book video or in-person appointments with Puerto Rico's public agencies: for "
                "kiosks, mobile apps and agency systems. No login: an appointment is reached with "
                "the manage token at the end of its manage_url. Messages follow Accept-Language "
                "(Spanish by default). Requests are rate-limited per client address."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "responses": RESPONSES, "parameters": PARAMETERS},
    }
