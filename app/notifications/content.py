"""What a message says: the appointment e-mails and their .ics, the after-call e-mails, turn SMS.

Everything here renders in the citizen's language and reads the database only through the objects
it is given; none of it queues, sends or commits.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from babel.dates import format_date, format_time
from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from app.i18n import regional_locale, zone_label
from app.models import Appointment, Turn, utcnow
from app.outcomes import OUTCOME_EXPLANATIONS, OUTCOME_LABELS

# The reminders of an appointment, and how long before its start each one is sent.
REMINDERS = (("reminder_24h", dt.timedelta(hours=24)), ("reminder_1h", dt.timedelta(hours=1)))
REMINDER_KINDS = tuple(kind for kind, _before in REMINDERS)
# Kept apart from `render_email`, whose subjects cover the booking kinds only.
AFTER_CALL_KINDS = ("outcome", "result_ready")
# iTIP methods of the .ics: a booking or a new time (same UID, higher SEQUENCE), a cancellation.
CALENDAR_METHODS = ("REQUEST", "CANCEL")


# --- Staff e-mails (password reset, invitation) ------------------------------------------------


def render_staff_email(template: str, language: str, subject, **context: Any) -> tuple[str, str, str]:
    """(subject, text, html) of `email/<template>.txt|.html` in `language`; `subject` is a lazy
    string translated there. Read-only."""
    with force_locale(language):
        context.update(subject=str(subject), lang=language)
        text = render_template(f"email/{template}.txt", **context)
        html = render_template(f"email/{template}.html", **context)
    return context["subject"], text, html


# --- Appointment e-mails ------------------------------------------------------------------------


def appointment_ics(
    appointment: Appointment,
    join_url: str | None,
    lang: str,
    *,
    manage_url: str | None = None,
    method: str = "REQUEST",
    stamp: dt.datetime | None = None,
) -> bytes:
    """The appointment as an iCalendar event, its text in `lang`, made at `stamp` (now). Read-only.

    `method="REQUEST"` (a booking or a new time) or `"CANCEL"`: one UID per appointment and its
    `calendar_sequence`, with the site's sending address as ORGANIZER and the citizen as ATTENDEE,
    which is what calendar apps need to apply an update or a cancellation to the event they have.
    """
    if method not in CALENDAR_METHODS:
        raise ValueError(f"method must be one of {CALENDAR_METHODS}, not {method!r}")
    cancelled = method == "CANCEL"
    with force_locale(lang):
        service, agency = appointment.service, appointment.service.agency
        summary = f"{service.localized('name', lang)} — {agency.localized('name', lang)}"
        if cancelled:
            join_url = manage_url = None  # a cancelled appointment has no links to follow
        lines = [_("Reference") + ": " + appointment.reference]
        prepare = [] if cancelled else _what_to_have_ready(appointment, lang)
        if prepare:
            lines += ["", _("What to have ready") + ":"] + [f"- {item}" for item in prepare]
        if join_url:
            lines += ["", _("Join the video call") + ": " + join_url]
        if manage_url:
            lines += ["", _("Change or cancel your appointment") + ": " + manage_url]

        event = icalendar.Event()
        event.add("uid", f"{appointment.reference}@ventanilla")
        event.add("sequence", appointment.calendar_sequence or 0)
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("dtstamp", stamp or utcnow())
        event.add("dtstart", appointment.start_at)
        event.add("dtend", appointment.end_at)
        event.add("summary", summary)
        event.add("location", _where(appointment, lang, join_url))
        event.add("description", "\n".join(lines))
        event.add("organizer", _organizer(agency.localized("name", lang)))
        event.add("attendee", _attendee(appointment))
        if join_url:
            event.add("url", join_url)
        if not cancelled:
            alarm = icalendar.Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", summary)
            alarm.add("trigger", dt.timedelta(hours=-1))
            event.add_component(alarm)

    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//Ventanilla//Appointments//{lang.upper()}")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(event)
    return calendar.to_ical()


def _organizer(agency_name: str) -> icalendar.vCalAddress:
    """The address the e-mails come from: clients accept updates to an event from its organizer."""
    name, address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    organizer = icalendar.vCalAddress(f"mailto:{address or 'no-reply@localhost'}")
    organizer.params["cn"] = icalendar.vText(name or agency_name)
    return organizer


def _attendee(appointment: Appointment) -> icalendar.vCalAddress:
    # Accepted already, no reply wanted: the citizen booked it, and the organizer reads no mail.
    attendee = icalendar.vCalAddress(f"mailto:{appointment.citizen_email}")
    attendee.params.update(
        cn=icalendar.vText(appointment.citizen_name),
        role="REQ-PARTICIPANT",
        partstat="ACCEPTED",
        rsvp="FALSE",
    )
    return attendee


def calendar_content_type(method: str) -> str:
    """The MIME type of an .ics part: the iTIP method and the charset, as mail clients expect."""
    return f"text/calendar; method={method}; charset=UTF-8"


def render_email(
    appointment: Appointment,
    kind: str,
    *,
    join_url: str | None = None,
    manage_url: str | None = None,
    reason: str | None = None,
) -> tuple[str, str, str]:
    """(subject, text, html) of an appointment e-mail, in the citizen's language; `reason`: the
    agency's message on a cancellation it made. Read-only."""
    lang = appointment.language
    template = "reminder" if kind in REMINDER_KINDS else kind
    with force_locale(lang):
        context = _email_context(appointment, lang, join_url, manage_url)
        context.update(kind=kind, subject=_subject(kind, appointment.reference), reason=reason)
        text = render_template(f"email/{template}.txt", **context)
        html = render_template(f"email/{template}.html", **context)
    return context["subject"], text, html


def email_subject(kind: str, reference: str, lang: str) -> str:
    """The subject of an appointment e-mail in `lang`. Read-only."""
    with force_locale(lang):
        return _subject(kind, reference)


def _subject(kind: str, reference: str) -> str:
    if kind == "confirmation":
        return _("Appointment confirmed: %(reference)s", reference=reference)
    if kind == "rescheduled":
        return _("New date and time for your appointment %(reference)s", reference=reference)
    if kind == "reminder_24h":
        return _("Reminder: your appointment %(reference)s is tomorrow", reference=reference)
    if kind == "reminder_1h":
        return _("Reminder: your appointment %(reference)s starts in one hour", reference=reference)
    if kind == "links":
        return _("Your links for appointment %(reference)s", reference=reference)
    if kind == "cancellation":
        return _("Appointment cancelled: %(reference)s", reference=reference)
    raise ValueError(f"unknown message kind {kind!r}")


def _email_context(
    appointment: Appointment, lang: str, join_url: str | None, manage_url: str | None
) -> dict[str, Any]:
    service, office = appointment.service, appointment.office
    zone = ZoneInfo(service.agency.timezone)
    locale = regional_locale(lang)
    start = appointment.start_at.astimezone(zone)
    return {
        "lang": lang,
        "citizen_name": appointment.citizen_name,
        "reference": appointment.reference,
        "service_name": service.localized("name", lang),
        "agency_name": service.agency.localized("name", lang),
        "is_video": service.mode == "video",
        "office_name": office.localized("name", lang),
        "office_address": office.address,
        "date": format_date(start, "full", locale=locale),
        # Babel's narrow no-break space (U+202F) is missing from some mail fonts; U+00A0 is not.
        "time": format_time(start, "short", locale=locale).replace("\u202f", "\u00a0"),
        "timezone_name": zone_label(service.agency.timezone),
        "prepare": _what_to_have_ready(appointment, lang),
        "join_url": join_url,
        "manage_url": manage_url,
    }


def _what_to_have_ready(appointment: Appointment, lang: str) -> list[str]:
    """The service's documents (optional ones marked) and, for video, the camera note."""
    items = []
    for requirement in appointment.service.requirements:
        label = requirement.localized("label", lang)
        items.append(label if requirement.required else label + " (" + _("optional") + ")")
    if appointment.service.mode == "video":
        items.append(
            _("A phone or computer with a camera and a microphone, in a quiet place with a good connection.")
        )
    return items


def _where(appointment: Appointment, lang: str, join_url: str | None) -> str:
    if appointment.service.mode == "video":
        return join_url or _("Video call")
    office = appointment.office
    return ", ".join(part for part in (office.localized("name", lang), office.address) if part)


# --- After the call: the outcome and the agency's result documents ------------------------------


def render_after_call_email(appointment: Appointment, kind: str) -> tuple[str, str, str]:
    """(subject, text, html) of an after-call e-mail, in the citizen's language. Read-only."""
    if kind not in AFTER_CALL_KINDS:
        raise ValueError(f"unknown after-call message kind {kind!r}")
    lang = appointment.language
    with force_locale(lang):
        context = _email_context(appointment, lang, None, None)
        if kind == "outcome":
            subject = _("How your appointment %(reference)s ended", reference=appointment.reference)
            context.update(
                outcome_label=str(OUTCOME_LABELS.get(appointment.outcome, "")),
                outcome_explanation=str(OUTCOME_EXPLANATIONS.get(appointment.outcome, "")),
                outcome_message=appointment.outcome_message or "",
            )
        else:
            subject = _("The agency left you a document: %(reference)s", reference=appointment.reference)
        context.update(kind=kind, subject=subject)
        text = render_template(f"email/{kind}.txt", **context)
        html = render_template(f"email/{kind}.html", **context)
    return subject, text, html


def render_running_late(appointment: Appointment, minutes: int) -> tuple[str, str, str, str]:
    """(subject, text, html, SMS text) telling the citizen the clerk is running about `minutes`
    late, in their language. Read-only."""
    lang = appointment.language
    with force_locale(lang):
        context = _email_context(appointment, lang, None, None)
        subject = _("The clerk is running late: %(reference)s", reference=appointment.reference)
        late = ngettext(
            "The clerk is running about %(num)d minute late for your video appointment.",
            "The clerk is running about %(num)d minutes late for your video appointment.",
            minutes,
        )
        context.update(kind="running_late", subject=subject, late=late)
        text = render_template("email/running_late.txt", **context)
        html = render_template("email/running_late.html", **context)
        sms = _(
            "%(late)s Keep the waiting room open (%(reference)s).", late=late, reference=appointment.reference
        )
    return subject, text, html, sms


# --- To staff: a follow-up document arrived ------------------------------------------------------


def follow_up_notice_text(appointment: Appointment, requirement_code: str, page_url: str) -> tuple[str, str]:
    """(subject, text) telling a clerk that the citizen sent a follow-up document, in the site's
    default language (staff accounts have none). No citizen data beyond the reference. Read-only."""
    requirement = next((r for r in appointment.service.requirements if r.code == requirement_code), None)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        label = requirement.localized("label") if requirement else requirement_code
        subject = _("Follow-up document for appointment %(reference)s", reference=appointment.reference)
        text = "\n\n".join(
            [
                _(
                    "The citizen of appointment %(reference)s (%(service)s), closed as “%(outcome)s”, sent "
                    "a document from the appointment's page: %(document)s.",
                    reference=appointment.reference,
                    service=appointment.service.localized("name"),
                    outcome=OUTCOME_LABELS["documents_missing"],
                    document=label,
                ),
                _("See it under “Documents sent after the appointment” (sign in first):"),
                page_url,
            ]
        )
    return subject, text + "\n"


# --- Same-day turns -----------------------------------------------------------------------------


def turn_sms_text(turn: Turn, kind: str, reason: str = "") -> str:
    """The SMS for `kind` ("second", "called", or "cancelled" by the agency, with its `reason`) in
    the current locale. Read-only."""
    agency = turn.service.agency.localized("name")
    in_person = turn.appointment_id is not None
    if kind == "cancelled":
        cancelled = _(
            "%(agency)s: your turn %(code)s for today was cancelled.", agency=agency, code=turn.code
        )
        return f"{cancelled} {reason}".strip()
    if kind == "second":
        return _(
            "%(agency)s: your turn %(code)s is second in line. Please be ready.",
            agency=agency,
            code=turn.code,
        )
    if in_person:
        office = turn.office.localized("name") if turn.office else ""
        return _(
            "%(agency)s: it is your turn %(code)s. Please come to the counter at %(office)s now.",
            agency=agency,
            code=turn.code,
            office=office,
        )
    return _(
        "%(agency)s: it is your turn %(code)s. A clerk is calling you now; please answer your phone.",
        agency=agency,
        code=turn.code,
    )
