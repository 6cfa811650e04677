"""Sending what is due: `send_due` (the `flask send-due` command) and the background sender.

Each message is claimed in its own committed transaction before it is sent, so several senders
never send one message twice; a sent or failed message is scrubbed (see the package docstring).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app

from app.extensions import db, socketio, write_transaction
from app.models import OutboxMessage, utcnow
from app.notifications.intents import rendered
from app.notifications.outbox import SCRUBBED
from app.notifications.senders import EmailSender, SmsSender, email_sender_from_config, sms_sender_from_config

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_DELAYS = tuple(dt.timedelta(minutes=m) for m in (1, 5, 30, 120))
# A claimed message is not due again for this long, far longer than a send takes (SMTP gives up
# on a silent server after 30 s): a sender that dies mid-send only delays its message.
CLAIM_LEASE = dt.timedelta(minutes=10)


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
    """Send up to `limit` pending messages whose time has come. Commits: the session first, then
    each message as it goes.

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
            senders[message.channel].send(rendered(message))
        except Exception as error:  # any failure of the transport (or of the rendering) is retried
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


# --- Background sender --------------------------------------------------------------------------


@dataclass
class PeriodicJob:
    """Work the in-app loop does every `every_seconds`, the first time `first_after_seconds` after
    it starts (default: one interval). `run()` opens its own app context."""

    name: str
    every_seconds: float
    run: Callable[[], object]
    first_after_seconds: float | None = None


class BackgroundSender:
    """The one in-app background loop: it sends what is due (`send_due`) and runs any other
    periodic job given to it (the retention purge), each on its own interval. `stop()` ends it
    after its current sleep."""

    def __init__(self, app: Flask, interval: float = 0, jobs: Sequence[PeriodicJob] = ()):
        self.app, self.stopped = app, False
        self.jobs = ([PeriodicJob("send-due", interval, self._send)] if interval > 0 else []) + list(jobs)
        self.interval = min((job.every_seconds for job in self.jobs), default=0)
        self.task = None

    def stop(self) -> None:
        self.stopped = True

    def run(self) -> None:
        # Time is counted in the loop's own sleeps, so the test clock (frozen) cannot stop it.
        elapsed = 0.0
        due = {
            id(job): job.every_seconds if job.first_after_seconds is None else job.first_after_seconds
            for job in self.jobs
        }
        while not self.stopped and self.jobs:
            wait = max(0.0, min(due.values()) - elapsed)
            socketio.sleep(wait)
            elapsed += wait
            if self.stopped:
                break
            for job in self.jobs:
                if due[id(job)] <= elapsed:
                    due[id(job)] = elapsed + job.every_seconds
                    self._run_job(job)

    def _run_job(self, job: PeriodicJob) -> None:
        try:
            job.run()
        except Exception:  # a database hiccup must not end the loop
            logger.exception("In-app %s failed; trying again in %s s", job.name, job.every_seconds)

    def _send(self) -> None:
        with self.app.app_context():
            report = send_due()
        if report.sent or report.retried or report.failed:
            logger.info(
                "Outbox: sent %s, will retry %s, failed %s", report.sent, report.retried, report.failed
            )


def start_background_sender(app: Flask, jobs: Sequence[PeriodicJob] = ()) -> BackgroundSender | None:
    """Run send_due every OUTBOX_SEND_INTERVAL_SECONDS (0 = off), and `jobs` on their intervals, as
    one Socket.IO background task; None when there is nothing to run.

    No database access here; each run of send_due (and of a job) commits as it goes.
    """
    interval = app.config.get("OUTBOX_SEND_INTERVAL_SECONDS") or 0
    sender = BackgroundSender(app, interval, jobs)
    if not sender.jobs:
        return None
    sender.task = socketio.start_background_task(sender.run)
    logger.info(
        "In-app loop: %s", ", ".join(f"{job.name} every {job.every_seconds} s" for job in sender.jobs)
    )
    return sender


def send_from_inside_the_app(app: Flask, *job_factories: Callable[[Flask], PeriodicJob | None]) -> None:
    """Start the in-app loop with the app's first request, when OUTBOX_SEND_INTERVAL_SECONDS is set
    (development's default) or a factory gives a job (e.g. the purge, PURGE_INTERVAL_HOURS); its
    handle is `app.extensions["outbox_sender"]`. The factories read the settings then.

    Waiting for a request keeps `flask db upgrade`, `seed-demo` and other commands from starting a
    loop of their own. No database access here.
    """
    app.extensions["outbox_sender"] = None
    lock = threading.Lock()
    started = False

    def start_once() -> None:
        nonlocal started
        if started:
            return
        with lock:
            if not started:
                jobs = [job for factory in job_factories if (job := factory(app)) is not None]
                app.extensions["outbox_sender"] = start_background_sender(app, jobs)
                started = True

    app.before_request(start_once)
