"""The outbox: .ics, e-mails in the citizen's language and the agency's time, reminders, sending.

The appointments start at START, a fixed Tuesday; the clock is frozen three days before it, when
the confirmation is due and neither reminder is yet.
"""

import base64
import datetime as dt
import json
import re
import smtplib
import threading
import time
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path

import icalendar
import pytest
import sqlalchemy as sa

from app import notifications
from app.cli import send_due_command
from app.demo import seed_demo
from app.extensions import db
from app.models import Appointment, OutboxMessage, Service, utcnow
from app.notifications import (
    appointment_ics,
    build_email,
    cancel_pending,
    queue_appointment_messages,
    queue_cancellation,
    rendered,
    send_due,
    senders,
    start_background_sender,
)
from app.security import new_reference
from app.tokens import new_token
from config import DevelopmentConfig, ProductionConfig, TestingConfig
from tests.support.apps import build_app, demo_app
from tests.support.waiting import poll

UTC = dt.UTC
START = dt.datetime(2031, 3, 4, 13, 0, tzinfo=UTC)  # 9:00 a.m. in Puerto Rico (UTC-4, no DST)
BOOKED_AT = START - dt.timedelta(days=3)  # Saturday 1 March 2031, 9:00 a.m. in Puerto Rico
pytestmark = pytest.mark.clock(at=BOOKED_AT)
JOIN = "https://citas.example.pr/call/join-token-123"
MANAGE = "https://citas.example.pr/manage/manage-token-456"
ROOT = Path(__file__).resolve().parent.parent


def make_appointment(slug="certificacion-individuo", *, start=START, language="es", office=0):
    service = db.session.scalar(sa.select(Service).where(Service.slug == slug))
    appointment = Appointment(
        reference=new_reference(service.agency.slug),
        service=service,
        office=service.offices[office],
        start_at=start,
        end_at=start + dt.timedelta(minutes=service.slot_minutes),
        seat=1,
        citizen_name="Ana Rivera",
        citizen_email="ana@example.com",
        citizen_phone="+17875550100",
        language=language,
        manage_token_hash=new_token()[1],
        join_token_hash=new_token()[1],
    )
    db.session.add(appointment)
    db.session.flush()
    return appointment


def outbox(**filters) -> list[OutboxMessage]:
    """The matching messages as each would be sent now (an appointment e-mail queued as its intent
    rendered, as the sender does; the others as stored)."""
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.send_after)
    )
    return [rendered(row) for row in rows]


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
def demo(app, seeded):
    """An app context on the demo data (SQLite file)."""
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def any_demo(any_db_app):
    """An app context on the demo data, on SQLite and on PostgreSQL."""
    with any_db_app.app_context():
        seed_demo()
        yield any_db_app
        db.session.rollback()


class RecordingSender:
    def __init__(self, delay: float = 0.0):
        self.sent: list[int] = []
        self.delay = delay
        self._lock = threading.Lock()

    def send(self, message):
        time.sleep(self.delay)
        with self._lock:
            self.sent.append(message.id)


class FailingSender:
    def send(self, message):
        raise smtplib.SMTPServerDisconnected("mail server went away")


# --- .ics ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, summary",
    [
        ("es", "Certificación de individuo — Departamento de Transportación y Obras Públicas"),
        ("en", "Individual certification — Department of Transportation and Public Works"),
    ],
)
def test_ics_for_a_video_appointment_parses_back_with_utc_times_join_link_and_alarm(demo, lang, summary):
    appointment = make_appointment()
    calendar = icalendar.Calendar.from_ical(appointment_ics(appointment, JOIN, lang, manage_url=MANAGE))
    event = calendar.walk("VEVENT")[0]

    assert str(calendar["method"]) == "REQUEST" and "Ventanilla" in str(calendar["prodid"])
    assert str(event["uid"]) == f"{appointment.reference}@ventanilla"
    assert event.decoded("dtstart") == START and event.decoded("dtstart").utcoffset() == dt.timedelta(0)
    assert event.decoded("dtend") == START + dt.timedelta(minutes=20)
    assert isinstance(event.decoded("dtstamp"), dt.datetime)
    assert str(event["summary"]) == summary
    assert str(event["location"]) == JOIN
    description = str(event["description"])
    assert appointment.reference in description and JOIN in description and MANAGE in description
    licence = "Licencia de conducir (frente), en PDF" if lang == "es" else "Driver's licence (front), as PDF"
    assert licence in description
    alarm = event.walk("VALARM")[0]
    assert str(alarm["action"]) == "DISPLAY"
    assert alarm.decoded("trigger") == dt.timedelta(hours=-1)


def test_ics_for_an_in_person_appointment_gives_the_office_as_location(demo):
    appointment = make_appointment("renovacion-licencia", office=1)
    event = icalendar.Calendar.from_ical(appointment_ics(appointment, None, "en")).walk("VEVENT")[0]
    assert str(event["location"]) == "CESCO Bayamón, Avenida Demo 200, Bayamón, PR 00961"
    assert "url" not in event


# --- E-mails ------------------------------------------------------------------------------------


def test_confirmation_in_spanish_shows_puerto_rico_time_documents_and_both_links(demo):
    appointment = make_appointment(language="es")
    subject, text, html = notifications.render_email(
        appointment, "confirmation", join_url=JOIN, manage_url=MANAGE
    )
    text = plain(text)
    assert subject == f"Cita confirmada: {appointment.reference}"
    assert text.startswith("Hola, Ana Rivera:")
    assert f"Referencia: {appointment.reference}" in text
    assert "Fecha: martes, 4 de marzo de 2031" in text
    assert "9:00 a. m." in text
    assert "Dónde: Videollamada" in text
    assert "- Licencia de conducir (frente), en PDF" in text
    assert JOIN in text and MANAGE in text
    assert f'href="{JOIN}"' in html and f'href="{MANAGE}"' in html


def test_confirmation_in_english_shows_puerto_rico_time_and_both_links(demo):
    appointment = make_appointment(language="en")
    subject, text, html = notifications.render_email(
        appointment, "confirmation", join_url=JOIN, manage_url=MANAGE
    )
    text = plain(text)
    assert subject == f"Appointment confirmed: {appointment.reference}"
    assert "Tuesday, March 4, 2031" in text and "9:00 AM" in text
    assert "Where: Video call" in text
    assert "- Driver's licence (front), as PDF" in text
    assert "camera" in text
    assert JOIN in text and MANAGE in text
    assert '<html lang="en">' in html


def test_in_person_email_names_the_office_and_has_no_join_link(demo):
    appointment = make_appointment("renovacion-licencia", language="en", office=0)
    _subject, text, _html = notifications.render_email(
        appointment, "confirmation", join_url=None, manage_url=MANAGE
    )
    assert "CESCO San Juan (Barrio Obrero), Calle Demo 100, San Juan, PR 00917" in text
    assert "/call/" not in text and "camera" not in text
    assert MANAGE in text


@pytest.mark.parametrize(
    "kind", ["confirmation", "rescheduled", "reminder_24h", "reminder_1h", "cancellation"]
)
def test_html_emails_are_simple_and_accessible(demo, kind):
    appointment = make_appointment(language="es")
    _subject, _text, html = notifications.render_email(appointment, kind, join_url=JOIN, manage_url=MANAGE)
    assert '<html lang="es">' in html and "<title>" in html and "<h1>" in html
    assert "style" not in html and "<script" not in html and "<img" not in html


def test_names_are_escaped_in_html_but_not_in_text(demo):
    appointment = make_appointment(language="en")
    appointment.citizen_name = "Ana <b>"
    _subject, text, html = notifications.render_email(
        appointment, "confirmation", join_url=JOIN, manage_url=MANAGE
    )
    assert "Ana &lt;b&gt;" in html and "Ana <b>" in text


# --- Queueing -----------------------------------------------------------------------------------


def test_confirmation_and_two_reminders_are_queued_with_the_ics(any_demo):
    appointment = make_appointment()
    queued = queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()

    confirmation, day_before, hour_before = outbox(appointment_id=appointment.id)
    assert [m.kind for m in queued] == ["confirmation", "reminder_24h", "reminder_1h"]
    assert confirmation.kind == "confirmation" and confirmation.send_after <= utcnow()
    assert day_before.kind == "reminder_24h" and day_before.send_after == START - dt.timedelta(hours=24)
    assert hour_before.kind == "reminder_1h" and hour_before.send_after == START - dt.timedelta(hours=1)
    assert all(m.status == "pending" and m.recipient == "ana@example.com" for m in queued)
    assert confirmation.dedupe_key == f"appt:{appointment.id}:confirmation:{START.isoformat()}"
    assert [a["filename"] for a in confirmation.attachments] == [f"{appointment.reference}.ics"]
    assert confirmation.attachments[0]["content_type"] == "text/calendar; method=REQUEST; charset=UTF-8"
    assert day_before.attachments == []
    assert JOIN in hour_before.body_text and MANAGE in hour_before.body_text


def test_reminders_whose_time_has_passed_are_skipped(demo):
    soon = make_appointment(start=utcnow() + dt.timedelta(minutes=30))
    in_two_hours = make_appointment(start=utcnow() + dt.timedelta(hours=2))
    assert [m.kind for m in queue_appointment_messages(soon, JOIN, MANAGE)] == ["confirmation"]
    assert [m.kind for m in queue_appointment_messages(in_two_hours, JOIN, MANAGE)] == [
        "confirmation",
        "reminder_1h",
    ]


def test_queueing_twice_does_not_duplicate(any_demo):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()
    assert queue_appointment_messages(appointment, JOIN, MANAGE) == []
    db.session.commit()
    assert len(outbox(appointment_id=appointment.id)) == 3


def test_cancel_pending_cancels_and_scrubs_only_the_reminders(any_demo):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()
    assert cancel_pending(appointment) == 2
    db.session.commit()
    statuses = {m.kind: (m.status, m.body_text) for m in outbox(appointment_id=appointment.id)}
    assert statuses["reminder_24h"] == ("cancelled", "") and statuses["reminder_1h"] == ("cancelled", "")
    assert statuses["confirmation"][0] == "pending"
    assert cancel_pending(appointment) == 0


def test_cancellation_email_has_no_links_and_drops_reminders(demo):
    appointment = make_appointment(language="en")
    queue_appointment_messages(appointment, JOIN, MANAGE)
    message = rendered(queue_cancellation(appointment))
    db.session.commit()
    assert message.kind == "cancellation"
    assert message.subject == f"Appointment cancelled: {appointment.reference}"
    assert "/manage/" not in message.body_text and "/call/" not in message.body_text
    assert "/manage/" not in message.body_html
    assert {m.kind for m in outbox(appointment_id=appointment.id, status="pending")} == {
        "confirmation",
        "cancellation",
    }
    assert queue_cancellation(appointment) is None


# --- Queued as the intent, written when sent -----------------------------------------------------


def written_at_queueing(appointment, kind, *, join_url=None, manage_url=None, reason=None, method=None):
    """(subject, text, html, .ics or None) as the outbox wrote them into the row before intents."""
    subject, text, html = notifications.render_email(
        appointment, kind, join_url=join_url, manage_url=manage_url, reason=reason
    )
    ics = None
    if method:
        links = {} if method == "CANCEL" else {"join_url": join_url, "manage_url": manage_url}
        ics = appointment_ics(
            appointment,
            links.get("join_url"),
            appointment.language,
            manage_url=links.get("manage_url"),
            method=method,
        )
    return subject, text, html, ics


def as_sent(message):
    ics = message.attachments[0]["content_base64"] if message.attachments else None
    return message.subject, message.body_text, message.body_html, ics and base64.b64decode(ics)


@pytest.mark.parametrize("slug, language", [("certificacion-individuo", "es"), ("renovacion-licencia", "en")])
def test_every_appointment_email_is_written_at_sending_as_it_was_at_queueing(demo, slug, language):
    appointment = make_appointment(slug, language=language)
    join = JOIN if slug == "certificacion-individuo" else None
    queue_appointment_messages(appointment, join, MANAGE)
    expected = {
        kind: written_at_queueing(
            appointment,
            kind,
            join_url=join,
            manage_url=MANAGE,
            method="REQUEST" if kind == "confirmation" else None,
        )
        for kind in ("confirmation", "reminder_24h", "reminder_1h")
    }
    db.session.commit()
    queued = {m.kind: m for m in db.session.scalars(sa.select(OutboxMessage))}
    assert all(m.body_text == "" and m.intent for m in queued.values())  # nothing written yet
    for kind, message in queued.items():
        assert as_sent(rendered(message)) == expected[kind], kind

    cancellation = queue_cancellation(appointment, reason="Cerramos por inventario.")
    expected = written_at_queueing(
        appointment, "cancellation", reason="Cerramos por inventario.", method="CANCEL"
    )
    db.session.commit()
    assert as_sent(rendered(cancellation)) == expected


def test_a_confirmation_sent_after_a_cancellation_still_says_what_it_said_when_queued(demo):
    appointment = make_appointment(language="en")
    queue_appointment_messages(appointment, JOIN, MANAGE)
    expected = written_at_queueing(
        appointment, "confirmation", join_url=JOIN, manage_url=MANAGE, method="REQUEST"
    )
    db.session.commit()
    move(appointment, START + dt.timedelta(days=2))  # what a later change may do to the row
    appointment.calendar_sequence = 1
    db.session.commit()

    (confirmation,) = outbox(kind="confirmation")
    assert as_sent(confirmation) == expected


def test_the_intent_and_its_links_are_scrubbed_once_sent_and_never_logged(demo, caplog):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()
    sender = MimeRecordingSender()
    with caplog.at_level("DEBUG"):
        assert send_due(email_sender=sender).sent == 1
    db.session.expire_all()
    row = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
    assert row.status == "sent" and row.intent is None and row.body_text == ""
    assert "join-token-123" not in caplog.text and "manage-token-456" not in caplog.text
    pending = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    assert all(JOIN in m.intent["join_url"] for m in pending)  # kept until each is sent


def test_an_email_whose_appointment_is_gone_is_retried_like_a_failed_send(demo):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()
    db.session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.kind == "confirmation").values(appointment_id=None)
    )
    db.session.commit()
    report = send_due(email_sender=MimeRecordingSender())
    assert (report.sent, report.retried) == (0, 1)


def move(appointment, start):
    appointment.start_at, appointment.end_at = start, start + dt.timedelta(minutes=20)


def test_rescheduling_replaces_the_reminders_and_unsent_messages_of_the_old_time(demo):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()
    later = START + dt.timedelta(days=1)
    move(appointment, later)
    queued = queue_appointment_messages(appointment, JOIN + "-new", MANAGE, kind="rescheduled")
    db.session.commit()

    assert [m.kind for m in queued] == ["rescheduled", "reminder_24h", "reminder_1h"]
    pending = outbox(appointment_id=appointment.id, status="pending")
    assert sorted((m.kind, m.send_after) for m in pending if m.kind != "rescheduled") == [
        ("reminder_1h", later - dt.timedelta(hours=1)),
        ("reminder_24h", later - dt.timedelta(hours=24)),
    ]
    assert all(JOIN + "-new" in m.body_text for m in pending)
    assert {m.kind for m in outbox(appointment_id=appointment.id, status="cancelled")} == {
        "confirmation",
        "reminder_24h",
        "reminder_1h",
    }  # old time, old join link


def test_moving_back_to_an_earlier_time_queues_its_messages_again(any_demo):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    later = START + dt.timedelta(days=1)
    move(appointment, later)
    queue_appointment_messages(appointment, JOIN + "-2", MANAGE, kind="rescheduled")
    db.session.commit()
    send_due(email_sender=RecordingSender())  # the "new time" e-mail for `later` goes out
    move(appointment, START)
    queue_appointment_messages(appointment, JOIN + "-3", MANAGE, kind="rescheduled")
    move(appointment, later)
    queued = queue_appointment_messages(appointment, JOIN + "-4", MANAGE, kind="rescheduled")
    db.session.commit()

    assert [m.kind for m in queued] == ["rescheduled", "reminder_24h", "reminder_1h"]
    pending = outbox(appointment_id=appointment.id, status="pending")
    assert sorted(m.kind for m in pending) == ["reminder_1h", "reminder_24h", "rescheduled"]
    assert all(JOIN + "-4" in m.body_text and later.isoformat() in m.dedupe_key for m in pending)


# --- Sending ------------------------------------------------------------------------------------


def test_send_due_writes_eml_files_with_the_ics_marks_sent_and_scrubs(any_demo):
    appointment = make_appointment(language="es")
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()

    report = send_due()

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    files = sorted(Path(any_demo.config["OUTBOX_DIR"]).glob("*.eml"))
    assert len(files) == 1
    with files[0].open("rb") as file:
        message = BytesParser(policy=default_policy).parse(file)
    assert message["To"] == "ana@example.com" and appointment.reference in message["Subject"]
    assert JOIN in message.get_body(("plain",)).get_content()
    assert MANAGE in message.get_body(("html",)).get_content()
    (ics,) = list(message.iter_attachments())
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_filename() == f"{appointment.reference}.ics"
    event = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert event.decoded("dtstart") == START

    confirmation = outbox(kind="confirmation")[0]
    assert confirmation.status == "sent" and confirmation.sent_at is not None
    assert (confirmation.body_text, confirmation.body_html, confirmation.attachments) == ("", None, [])
    assert confirmation.subject and confirmation.recipient == "ana@example.com"


def test_messages_not_yet_due_are_left_untouched(demo):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()
    before = {m.id: (m.status, m.attempts, m.send_after, m.body_text) for m in outbox(status="pending")}

    send_due(email_sender=RecordingSender())

    reminders = outbox(status="pending")
    assert [m.kind for m in reminders] == ["reminder_24h", "reminder_1h"]
    assert all((m.status, m.attempts, m.send_after, m.body_text) == before[m.id] for m in reminders)

    sender = RecordingSender()
    report = send_due(now=START - dt.timedelta(minutes=59), email_sender=sender)
    assert report.sent == 2 and sorted(sender.sent) == sorted(before)[1:]


def test_a_failing_sender_retries_with_backoff_then_gives_up_after_five_attempts(any_demo):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()
    now = utcnow()

    delays = []
    for attempt in range(1, 5):
        report = send_due(now=now, email_sender=FailingSender())
        assert (report.sent, report.retried, report.failed) == (0, 1, 0)
        (message,) = outbox(kind="confirmation")
        assert message.status == "pending" and message.attempts == attempt
        assert "mail server went away" in message.last_error
        delays.append(message.send_after - now)
        assert (
            send_due(now=message.send_after - dt.timedelta(seconds=1), email_sender=FailingSender()).retried
            == 0
        )  # not due before its retry time
        now = message.send_after
    assert delays == [dt.timedelta(minutes=m) for m in (1, 5, 30, 120)]

    report = send_due(now=now, email_sender=FailingSender())
    assert (report.sent, report.retried, report.failed) == (0, 0, 1)
    (message,) = outbox(kind="confirmation")
    assert message.status == "failed" and message.attempts == 5
    assert message.body_text == "" and message.attachments == []
    assert send_due(now=now + dt.timedelta(days=1), email_sender=FailingSender()).failed == 0


class MimeRecordingSender:
    """Builds each message's MIME as the SMTP sender would, and fails the first `failures` sends."""

    def __init__(self, failures: int = 0):
        self.message_ids: list[str] = []
        self.failures = failures

    def send(self, message):
        self.message_ids.append(build_email(message, "Ventanilla <no-reply@citas.example>")["Message-ID"])
        if len(self.message_ids) <= self.failures:
            raise smtplib.SMTPServerDisconnected("dropped after the DATA command")


def test_a_resent_email_keeps_its_message_id_so_the_receiver_can_drop_the_repeat(any_demo):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()
    (confirmation,) = outbox(kind="confirmation")
    sender = MimeRecordingSender(failures=1)
    now = utcnow()
    assert send_due(now=now, email_sender=sender).retried == 1
    assert send_due(now=now + dt.timedelta(minutes=2), email_sender=sender).sent == 1
    first, again = sender.message_ids
    assert first == again and first.endswith("@citas.example>")
    reminder = outbox(kind="reminder_24h")[0]
    assert build_email(reminder, "no-reply@citas.example")["Message-ID"] != first  # one id per message
    assert f".{confirmation.id}." in first


def test_cancelled_reminders_are_never_sent(demo):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    cancel_pending(appointment)
    db.session.commit()
    sender = RecordingSender()
    send_due(now=START, email_sender=sender)
    assert [m.kind for m in outbox(status="sent")] == ["confirmation"]
    assert len(sender.sent) == 1


def test_two_senders_at_once_send_each_message_exactly_once(any_demo):
    app = any_demo
    db.session.add_all(
        [
            OutboxMessage(
                channel="email",
                recipient=f"c{n}@example.com",
                kind="test",
                subject=f"#{n}",
                body_text="hello",
                send_after=utcnow() - dt.timedelta(minutes=1),
            )
            for n in range(30)
        ]
    )
    db.session.commit()
    ids = sorted(db.session.scalars(sa.select(OutboxMessage.id)))
    db.session.commit()  # an open SQLite read transaction would hold the senders' commits back
    sender = RecordingSender(delay=0.002)
    barrier = threading.Barrier(3)
    reports, errors = [], []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                reports.append(send_due(email_sender=sender))
        except Exception as error:  # surfaced below; a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert sorted(sender.sent) == ids
    assert sum(report.sent for report in reports) == len(ids)
    rows = outbox()
    assert all(m.status == "sent" and m.attempts == 1 for m in rows)


def test_send_due_command_reports_what_it_did(demo, runner):
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()

    result = runner.invoke(send_due_command)
    assert result.exit_code == 0, result.output
    assert "Sent 1" in result.output
    assert len(list(Path(demo.config["OUTBOX_DIR"]).glob("*.eml"))) == 1

    again = runner.invoke(send_due_command)
    assert again.exit_code == 0 and "No messages due" in again.output


def test_smtp_sender_uses_starttls_login_and_sends_text_html_and_ics(demo, monkeypatch):
    calls = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            calls.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self, context):
            calls.append(("starttls",))

        def login(self, username, password):
            calls.append(("login", username, password))

        def send_message(self, message):
            calls.append(("send", message))

    monkeypatch.setattr(senders.smtplib, "SMTP", FakeSMTP)
    demo.config.update(
        MAIL_SERVER="smtp.example.pr",
        MAIL_PORT=2525,
        MAIL_USERNAME="u",
        MAIL_PASSWORD="p",
        MAIL_DEFAULT_SENDER="Ventanilla <citas@example.pr>",
    )
    appointment = make_appointment(language="en")
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()

    assert send_due().sent == 1
    assert [c[0] for c in calls] == ["connect", "starttls", "login", "send"]
    assert calls[0] == ("connect", "smtp.example.pr", 2525) and calls[2] == ("login", "u", "p")
    message = calls[3][1]
    assert message["From"] == "Ventanilla <citas@example.pr>"
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    assert [a.get_filename() for a in message.iter_attachments()] == [f"{appointment.reference}.ics"]
    assert not list(Path(demo.config["OUTBOX_DIR"]).glob("*.eml"))


def test_background_sender_is_off_by_default_and_sends_when_enabled(demo):
    assert start_background_sender(demo) is None
    appointment = make_appointment()
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()

    demo.config["OUTBOX_SEND_INTERVAL_SECONDS"] = 0.05
    sender = start_background_sender(demo)
    try:
        # rollback(): let the sender's SQLite commit through while we wait
        poll(lambda: db.session.rollback() or outbox(status="sent"), timeout=10, interval=0.05)
    finally:
        sender.stop()
        sender.task.join(timeout=5)
    assert [m.kind for m in outbox(status="sent")] == ["confirmation"]


# --- Translations -------------------------------------------------------------------------------


def test_every_notification_string_has_a_spanish_translation_in_the_catalog_or_pending():
    from babel.messages.extract import extract_from_dir, extract_from_file
    from babel.messages.pofile import read_po

    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    strings = {
        m[1]
        for path in sorted((ROOT / "app" / "notifications").glob("*.py"))
        for m in extract_from_file("python", path, keywords=keywords)
    }
    strings |= {
        m[2]
        for m in extract_from_dir(
            str(ROOT / "app" / "templates" / "email"),
            keywords=keywords,
            method_map=[("**.txt", "jinja2"), ("**.html", "jinja2")],
        )
    }
    with open(ROOT / "app" / "translations" / "es" / "LC_MESSAGES" / "messages.po", "rb") as file:
        catalog = read_po(file, locale="es")
    pending_path = ROOT / "app" / "translations" / "pending-notifications.json"
    pending = json.loads(pending_path.read_text()) if pending_path.exists() else {}

    def spanish(msgid):
        return (catalog[msgid].string if msgid in catalog else "") or pending.get(msgid, "")

    missing = sorted(s for s in strings if not spanish(s))
    assert not missing, f"no Spanish translation for: {missing}"
    for msgid in strings:
        assert set(re.findall(r"%\(\w+\)s", msgid)) == set(re.findall(r"%\(\w+\)s", spanish(msgid))), msgid


@pytest.mark.parametrize(("lang", "zone"), [("es", "hora de Puerto Rico"), ("en", "Puerto Rico time")])
def test_emails_name_the_time_zone_as_the_web_pages_do(demo, lang, zone):
    appointment = make_appointment(language=lang)
    _subject, text, html = notifications.render_email(
        appointment, "confirmation", join_url=JOIN, manage_url=MANAGE
    )
    assert f"({zone})" in plain(text) and f"({zone})" in html
    assert "Atlántico" not in text and "Atlantic" not in text


def test_the_ics_attachment_says_its_charset(any_demo):
    appointment = make_appointment(language="es")
    queue_appointment_messages(appointment, JOIN, MANAGE)
    db.session.commit()
    send_due()
    (file,) = Path(any_demo.config["OUTBOX_DIR"]).glob("*.eml")
    with file.open("rb") as handle:
        (ics,) = BytesParser(policy=default_policy).parse(handle).iter_attachments()
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_content_charset() == "utf-8"
    assert "Obras Públicas" in ics.get_content()  # non-ASCII text decodes as written


def test_development_sends_due_e_mail_from_inside_the_app_tests_and_production_do_not():
    assert 0 < DevelopmentConfig.OUTBOX_SEND_INTERVAL_SECONDS <= 2  # `make run` alone writes .eml files
    assert TestingConfig.OUTBOX_SEND_INTERVAL_SECONDS == 0  # a test turns it on when it wants it
    assert ProductionConfig.OUTBOX_SEND_INTERVAL_SECONDS == 0  # production runs `flask send-due`


def test_an_app_with_the_development_interval_writes_the_confirmation_by_itself(tmp_path, demo_database):
    app = demo_app(
        tmp_path, demo_database, OUTBOX_SEND_INTERVAL_SECONDS=DevelopmentConfig.OUTBOX_SEND_INTERVAL_SECONDS
    )
    assert app.extensions["outbox_sender"] is None  # commands such as `flask db upgrade` start none
    assert app.test_client().get("/healthz").status_code == 200
    sender = app.extensions["outbox_sender"]
    try:
        with app.app_context():
            queue_appointment_messages(make_appointment(), JOIN, MANAGE)
            db.session.commit()
        poll(lambda: list(Path(app.config["OUTBOX_DIR"]).glob("*.eml")), timeout=15, interval=0.1)
    finally:
        sender.stop()
        sender.task.join(timeout=5)
    test_app = build_app(tmp_path / "off", "sqlite://")
    test_app.test_client().get("/healthz")
    assert test_app.extensions["outbox_sender"] is None


def test_without_gateways_messages_are_saved_owner_only_and_the_log_has_no_address_or_text(
    app, seeded, tmp_path, caplog, clock
):
    """The default senders (no MAIL_SERVER, no SMS_WEBHOOK_URL) keep the personal parts in files
    only their owner reads; the log line names the message, never the recipient or the text."""
    import logging
    import stat

    from app.models import OutboxMessage
    from app.notifications import FileEmailSender, FileSmsSender

    with app.app_context():
        sms = OutboxMessage(id=41, channel="sms", kind="turn_called", recipient="+17875550123")
        sms.body_text = "Le toca: https://ventanilla.example/turno/SECRETTOKEN"
        email = OutboxMessage(id=42, channel="email", kind="confirmation", recipient="ana@example.com")
        email.subject, email.body_text, email.body_html, email.attachments = "Cita", "SECRETTOKEN", None, []
        email.language, email.created_at = "es", clock.now
        with caplog.at_level(logging.INFO):
            FileSmsSender(tmp_path / "outbox").send(sms)
            FileEmailSender(tmp_path / "outbox", sender="noreply@example.com").send(email)

    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (sms_file,) = [path for path in files if path.name.endswith(".sms.txt")]
    assert "+17875550123" in sms_file.read_text() and "SECRETTOKEN" in sms_file.read_text()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "41" in logged and "42" in logged
    for secret in ("+17875550123", "ana@example.com", "SECRETTOKEN"):
        assert secret not in logged
