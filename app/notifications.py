"""The outbox of citizen messages: e-mail (and SMS, prepared), the .ics, reminders, sending.

Messages are queued in the same transaction as the change that causes them (a booking, a new
time, a cancellation) and sent later by `send_due` (`flask send-due`, or the background sender).

Citizen links carry tokens that the database keeps only as hashes, so the links are rendered into
the bodies when a message is queued. Once a message is finished — sent, failed for good, or
cancelled — its bodies and attachments are scrubbed (subject, recipient, kind, status and times
stay), so the tokens do not linger in the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import smtplib
import ssl
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime as email_date
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import click
import icalendar
import sqlalchemy as sa
from babel.dates import format_date, format_time, get_timezone_name
from flask import Flask, current_app, render_template
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _

from app.extensions import db, socketio, write_transaction
from app.i18n import regional_locale
from app.models import Appointment, OutboxMessage, utcnow
from app.outcomes import OUTCOME_EXPLANATIONS, OUTCOME_LABELS

logger = logging.getLogger(__name__)

REMINDERS = (("reminder_24h", dt.timedelta(hours=24)), ("reminder_1h", dt.timedelta(hours=1)))
REMINDER_KINDS = tuple(kind for kind, _before in REMINDERS)
MAX_ATTEMPTS = 5
RETRY_DELAYS = tuple(dt.timedelta(minutes=m) for m in (1, 5, 30, 120))
# A claimed message is not due again for this long, far longer than a send takes (SMTP gives up
# on a silent server after 30 s): a sender that dies mid-send only delays its message.
CLAIM_LEASE = dt.timedelta(minutes=10)
SMTP_TIMEOUT_SECONDS = 30
SCRUBBED = {"body_text": "", "body_html": None, "attachments": []}


# --- What a message says ------------------------------------------------------------------------


def appointment_ics(
    appointment: Appointment, join_url: str | None, lang: str, *, manage_url: str | None = None
) -> bytes:
    """The appointment as an iCalendar event (UTC times, 1-hour alarm), its text in `lang`."""
    with force_locale(lang):
        service, agency = appointment.service, appointment.service.agency
        summary = f"{service.localized('name', lang)} — {agency.localized('name', lang)}"
        lines = [_("Reference") + ": " + appointment.reference]
        prepare = _what_to_have_ready(appointment, lang)
        if prepare:
            lines += ["", _("What to have ready") + ":"] + [f"- {item}" for item in prepare]
        if join_url:
            lines += ["", _("Join the video call") + ": " + join_url]
        if manage_url:
            lines += ["", _("Change or cancel your appointment") + ": " + manage_url]

        event = icalendar.Event()
        event.add("uid", f"{appointment.reference}@ventanilla")
        event.add("dtstamp", utcnow())
        event.add("dtstart", appointment.start_at)
        event.add("dtend", appointment.end_at)
        event.add("summary", summary)
        event.add("location", _where(appointment, lang, join_url))
        event.add("description", "\n".join(lines))
        if join_url:
            event.add("url", join_url)
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", dt.timedelta(hours=-1))
        event.add_component(alarm)

    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//Ventanilla//Appointments//{lang.upper()}")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    return calendar.to_ical()


def render_email(
    appointment: Appointment, kind: str, *, join_url: str | None = None, manage_url: str | None = None
) -> tuple[str, str, str]:
    """(subject, text, html) of an appointment e-mail, in the citizen's language."""
    lang = appointment.language
    template = "reminder" if kind in REMINDER_KINDS else kind
    with force_locale(lang):
        context = _email_context(appointment, lang, join_url, manage_url)
        context.update(kind=kind, subject=_subject(kind, appointment.reference))
        text = render_template(f"email/{template}.txt", **context)
        html = render_template(f"email/{template}.html", **context)
    return context["subject"], text, html


def _subject(kind: str, reference: str) -> str:
    if kind == "confirmation":
        return _("Appointment confirmed: %(reference)s", reference=reference)
    if kind == "rescheduled":
        return _("New date and time for your appointment %(reference)s", reference=reference)
    if kind == "reminder_24h":
        return _("Reminder: your appointment %(reference)s is tomorrow", reference=reference)
    if kind == "reminder_1h":
        return _("Reminder: your appointment %(reference)s starts in one hour", reference=reference)
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
        "timezone_name": get_timezone_name(zone, "long", locale=locale),
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


# --- Queueing -----------------------------------------------------------------------------------


def queue_appointment_messages(
    appointment: Appointment, join_url: str | None, manage_url: str, *, kind: str = "confirmation"
) -> list[OutboxMessage]:
    """Queue the e-mail sent now (with the .ics) and the reminders 24 h and 1 h before.

    The links are rendered into the bodies now, since their tokens are stored only hashed; the
    bodies are scrubbed once each message is finished (see the module docstring).
    Adds to the session without committing: the caller commits with the booking. Reminders
    whose time has passed are skipped; a message whose `dedupe_key` is already queued is not
    queued again. `kind="rescheduled"` first cancels everything still pending for the old time
    (its time and join link are out of date).
    """
    if kind not in ("confirmation", "rescheduled"):
        raise ValueError(f"kind must be 'confirmation' or 'rescheduled', not {kind!r}")
    if kind == "rescheduled":
        _cancel_pending_kinds(appointment, REMINDER_KINDS + ("confirmation", "rescheduled"))
    now = utcnow()
    ics = appointment_ics(appointment, join_url, appointment.language, manage_url=manage_url)
    attachment = {
        "filename": f"{appointment.reference}.ics",
        "content_type": "text/calendar",
        "content_base64": base64.b64encode(ics).decode("ascii"),
    }
    plan = [(kind, now, [attachment])] + [
        (reminder, appointment.start_at - before, [])
        for reminder, before in REMINDERS
        if appointment.start_at - before > now
    ]
    queued = []
    for message_kind, send_after, attachments in plan:
        message = _queue_email(
            appointment, message_kind, send_after, attachments, join_url=join_url, manage_url=manage_url
        )
        if message is not None:
            queued.append(message)
    return queued


def queue_cancellation(appointment: Appointment) -> OutboxMessage | None:
    """Queue the "your appointment is cancelled" e-mail (no links) and drop pending reminders."""
    cancel_pending(appointment)
    return _queue_email(appointment, "cancellation", utcnow(), [])


def cancel_pending(appointment: Appointment) -> int:
    """Mark the appointment's pending reminders `cancelled` (and scrub them); returns how many."""
    return _cancel_pending_kinds(appointment, REMINDER_KINDS)


def _cancel_pending_kinds(appointment: Appointment, kinds: tuple[str, ...]) -> int:
    if appointment.id is None:
        return 0
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.appointment_id == appointment.id,
            OutboxMessage.status == "pending",
            OutboxMessage.kind.in_(kinds),
        )
        .values(status="cancelled", **SCRUBBED)
    )
    return result.rowcount


def _queue_email(
    appointment: Appointment,
    kind: str,
    send_after: dt.datetime,
    attachments: list[dict[str, str]],
    *,
    join_url: str | None = None,
    manage_url: str | None = None,
) -> OutboxMessage | None:
    if appointment.id is None:
        db.session.flush()
    key = f"appt:{appointment.id}:{kind}:{appointment.start_at.isoformat()}"
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
    # A cancelled message comes back when the appointment returns to that time; and every
    # move is news (with a new join link), even back to a time already announced once.
    if message is not None and message.status != "cancelled" and kind != "rescheduled":
        return None
    subject, text, html = render_email(appointment, kind, join_url=join_url, manage_url=manage_url)
    if message is None:
        message = OutboxMessage(dedupe_key=key, channel="email", appointment_id=appointment.id)
        db.session.add(message)
    message.recipient = appointment.citizen_email
    message.language = appointment.language
    message.kind = kind
    message.subject = subject[:200]
    message.body_text, message.body_html, message.attachments = text, html, attachments
    message.send_after, message.status, message.attempts = send_after, "pending", 0
    message.last_error, message.sent_at = None, None
    return message


# --- Senders ------------------------------------------------------------------------------------


class EmailSender(Protocol):
    def send(self, message: OutboxMessage) -> None:
        """Deliver the message or raise; the outbox retries on any exception."""


class SmsSender(Protocol):
    def send(self, message: OutboxMessage) -> None:
        """Deliver the message or raise; the outbox retries on any exception."""


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """The outbox message as MIME: plain text, an HTML alternative, then the attachments."""
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = sender
    email["To"] = message.recipient
    email["Date"] = email_date(utcnow())
    email["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "localhost")
    email["Content-Language"] = message.language
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    for attachment in message.attachments or []:
        maintype, _slash, subtype = attachment["content_type"].partition("/")
        email.add_attachment(
            base64.b64decode(attachment["content_base64"]),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
        )
    return email


class SmtpEmailSender:
    """Sends through an SMTP server: STARTTLS when `use_tls`, login when a username is set."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        use_tls: bool = True,
        username: str | None = None,
        password: str | None = None,
    ):
        self.host, self.port, self.sender = host, port, sender
        self.use_tls, self.username, self.password = use_tls, username, password

    @classmethod
    def from_config(cls, config) -> SmtpEmailSender:
        return cls(
            config["MAIL_SERVER"],
            config["MAIL_PORT"],
            sender=config["MAIL_DEFAULT_SENDER"],
            use_tls=config["MAIL_USE_TLS"],
            username=config["MAIL_USERNAME"],
            password=config["MAIL_PASSWORD"],
        )

    def send(self, message: OutboxMessage) -> None:
        email = build_email(message, self.sender)
        with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if self.use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(email)


class FileEmailSender:
    """Writes each message as an .eml file (owner-only: the links in it are personal)."""

    def __init__(self, directory: str | Path, *, sender: str):
        self.directory, self.sender = Path(directory), sender

    def send(self, message: OutboxMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{utcnow():%Y%m%dT%H%M%SZ}-{message.id}-{message.kind}.eml"
        data = build_email(message, self.sender).as_bytes()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        logger.info("E-mail to %s saved as %s (no MAIL_SERVER configured)", message.recipient, path)


class ConsoleSmsSender:
    """Logs each SMS instead of sending it, until an SMS gateway is configured."""

    def send(self, message: OutboxMessage) -> None:
        logger.info("SMS to %s (%s): %s", message.recipient, message.kind, message.body_text)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an error: the bearer token never follows it elsewhere


class WebhookSmsSender:
    """POSTs each SMS as JSON to an HTTP endpoint: an SMS gateway, or a small adapter in front of one.

    Body: {"id", "to" (E.164), "text", "language", "kind"}; `id` is stable across retries, so the
    receiver can drop a repeat (delivery is at least once). Any 2xx is success; anything else
    (including a redirect) raises and the outbox retries.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10):
        if not url.startswith(("https://", "http://")):
            raise ValueError("SMS_WEBHOOK_URL must be an http:// or https:// address")
        self.url, self.token, self.timeout = url, token, timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def send(self, message: OutboxMessage) -> None:
        body = json.dumps(
            {
                "id": message.id,
                "to": message.recipient,
                "text": message.body_text,
                "language": message.language,
                "kind": message.kind,
            }
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "Ventanilla"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with self._opener.open(request, timeout=self.timeout) as response:  # raises on 4xx/5xx
            if not 200 <= response.status < 300:
                raise RuntimeError(f"SMS webhook answered {response.status}")


def sms_sender_from_config(config) -> SmsSender:
    """The HTTP webhook when SMS_WEBHOOK_URL is set; otherwise the console (log) sender."""
    if config.get("SMS_WEBHOOK_URL"):
        return WebhookSmsSender(
            config["SMS_WEBHOOK_URL"],
            token=config.get("SMS_WEBHOOK_TOKEN") or None,
            timeout=float(config.get("SMS_WEBHOOK_TIMEOUT_SECONDS", 10)),
        )
    return ConsoleSmsSender()


def email_sender_from_config(config) -> EmailSender:
    """SMTP when MAIL_SERVER is set; otherwise .eml files under OUTBOX_DIR."""
    if config.get("MAIL_SERVER"):
        return SmtpEmailSender.from_config(config)
    return FileEmailSender(config["OUTBOX_DIR"], sender=config["MAIL_DEFAULT_SENDER"])


# --- Sending ------------------------------------------------------------------------------------


@dataclass
class SendReport:
    """What one `send_due` run did: sent, failed for good, or scheduled for another try."""

    sent: int = 0
    failed: int = 0
    retried: int = 0


def send_due(
    now: dt.datetime | None = None,
    limit: int = 100,
    *,
    email_sender: EmailSender | None = None,
    sms_sender: SmsSender | None = None,
) -> SendReport:
    """Send up to `limit` pending messages whose time has come; commits as it goes.

    Each message is claimed first in its own committed transaction (attempts + 1, not due again
    for `CLAIM_LEASE`), so concurrent senders never send one message twice. A failure is
    retried after 1, 5, 30, 120 minutes; the fifth failure marks the message `failed`. A sent
    or failed message is scrubbed. Delivery is at least once: should the database fail right
    after a send, that message goes again when its lease ends.
    """
    clock = (lambda: now) if now is not None else utcnow
    senders = {
        "email": email_sender or email_sender_from_config(current_app.config),
        "sms": sms_sender or sms_sender_from_config(current_app.config),
    }
    due_ids = db.session.scalars(
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.send_after <= clock())
        .order_by(OutboxMessage.send_after, OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()  # end the read before writing (a SQLite reader cannot become a writer)

    report = SendReport()
    for message_id in due_ids:
        message = _claim(message_id, clock())
        if message is None:
            continue  # another sender has it, or it was cancelled meanwhile
        try:
            senders[message.channel].send(message)
        except Exception as error:  # any failure of the transport is retried
            logger.warning(
                "Outbox message %s (%s) not sent, attempt %s: %r",
                message.id,
                message.kind,
                message.attempts,
                error,
            )
            if _record_failure(message, error, clock()):
                report.failed += 1
            else:
                report.retried += 1
        else:
            _finish(message.id, status="sent", sent_at=clock(), last_error=None)
            report.sent += 1
    return report


def _claim(message_id: int, now: dt.datetime) -> OutboxMessage | None:
    """Take the message for this sender, committed; a detached copy to send, or None."""
    write_transaction()  # SQLite: take the write lock first, so senders queue up, never deadlock
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id, OutboxMessage.status == "pending", OutboxMessage.send_after <= now
        )
        .values(attempts=OutboxMessage.attempts + 1, send_after=now + CLAIM_LEASE)
        .execution_options(synchronize_session=False)
    )
    copy = None
    if result.rowcount == 1:
        row = db.session.get(OutboxMessage, message_id, populate_existing=True)
        # A transient copy: the session's own objects stay as they are for the caller.
        copy = OutboxMessage(
            **{attr.key: getattr(row, attr.key) for attr in sa.inspect(OutboxMessage).column_attrs}
        )
    db.session.commit()
    return copy


def _record_failure(message: OutboxMessage, error: Exception, now: dt.datetime) -> bool:
    """Schedule the retry, or give up after MAX_ATTEMPTS; True when the message failed for good."""
    last_error = f"{type(error).__name__}: {error}"[:2000]
    # Only while still pending: a reminder cancelled during the attempt stays cancelled.
    if message.attempts >= MAX_ATTEMPTS:
        _finish(message.id, status="failed", last_error=last_error, only_pending=True)
        return True
    delay = RETRY_DELAYS[min(message.attempts, len(RETRY_DELAYS)) - 1]
    _finish(message.id, send_after=now + delay, last_error=last_error, scrub=False, only_pending=True)
    return False


def _finish(message_id: int, *, scrub: bool = True, only_pending: bool = False, **values) -> None:
    write_transaction()
    statement = sa.update(OutboxMessage).where(OutboxMessage.id == message_id)
    if only_pending:
        statement = statement.where(OutboxMessage.status == "pending")
    db.session.execute(statement.values(**values, **(SCRUBBED if scrub else {})))
    db.session.commit()


@click.command("send-due")
@click.option("--limit", default=100, show_default=True, help="Most messages to send in this run.")
@with_appcontext
def send_due_command(limit: int) -> None:
    """Send the queued e-mails and SMS whose time has come."""
    report = send_due(limit=limit)
    if not (report.sent or report.retried or report.failed):
        click.echo("No messages due.")
        return
    click.echo(f"Sent {report.sent}; will retry {report.retried}; failed for good {report.failed}.")


# --- Background sender --------------------------------------------------------------------------


class BackgroundSender:
    """The handle of a running background sender; `stop()` ends it after its current sleep."""

    def __init__(self, app: Flask, interval: float):
        self.app, self.interval, self.stopped = app, interval, False
        self.task = None

    def stop(self) -> None:
        self.stopped = True

    def run(self) -> None:
        while not self.stopped:
            socketio.sleep(self.interval)
            if self.stopped:
                break
            try:
                with self.app.app_context():
                    report = send_due()
                if report.sent or report.retried or report.failed:
                    logger.info(
                        "Outbox: sent %s, will retry %s, failed %s",
                        report.sent,
                        report.retried,
                        report.failed,
                    )
            except Exception:  # a database hiccup must not end the loop
                logger.exception("Outbox: send_due failed; trying again in %s s", self.interval)


def start_background_sender(app: Flask) -> BackgroundSender | None:
    """Run send_due every OUTBOX_SEND_INTERVAL_SECONDS (0 = off) as a Socket.IO background task."""
    interval = app.config.get("OUTBOX_SEND_INTERVAL_SECONDS") or 0
    if interval <= 0:
        return None
    sender = BackgroundSender(app, interval)
    sender.task = socketio.start_background_task(sender.run)
    logger.info("Outbox: background sender every %s s", interval)
    return sender


# --- After the call: the outcome and the agency's result documents ------------------------------
# Kept apart from `render_email`/`_queue_email`, whose subjects cover the booking kinds only.

AFTER_CALL_KINDS = ("outcome", "result_ready")


def queue_outcome(appointment: Appointment) -> OutboxMessage | None:
    """Queue the "how your appointment ended" e-mail (outcome and the clerk's message); the caller commits."""
    return _queue_after_call(appointment, "outcome", f"appt:{appointment.id}:outcome")


def queue_result_ready(appointment: Appointment, document_id: int) -> OutboxMessage | None:
    """Queue "the agency left you a document"; none while such an e-mail is still waiting to go."""
    pending = db.session.scalar(
        sa.select(OutboxMessage.id).where(
            OutboxMessage.appointment_id == appointment.id,
            OutboxMessage.kind == "result_ready",
            OutboxMessage.status == "pending",
        )
    )
    if pending is not None:
        return None  # the e-mail not yet sent already tells them to look at the appointment page
    return _queue_after_call(appointment, "result_ready", f"appt:{appointment.id}:result_ready:{document_id}")


def render_after_call_email(appointment: Appointment, kind: str) -> tuple[str, str, str]:
    """(subject, text, html) of an after-call e-mail, in the citizen's language."""
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


def _queue_after_call(appointment: Appointment, kind: str, key: str) -> OutboxMessage | None:
    if db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
        return None
    subject, text, html = render_after_call_email(appointment, kind)
    message = OutboxMessage(
        dedupe_key=key,
        channel="email",
        appointment_id=appointment.id,
        recipient=appointment.citizen_email,
        language=appointment.language,
        kind=kind,
        subject=subject[:200],
        body_text=text,
        body_html=html,
        attachments=[],
        send_after=utcnow(),
        status="pending",
        attempts=0,
    )
    db.session.add(message)
    return message
