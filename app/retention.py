"""Retention: deleting documents and anonymising citizens on schedule (`flask purge`).

Per agency (`Agency.document_retention_days` / `personal_data_retention_days`, NULL = the site's
RETENTION_DOCUMENT_DAYS, 30, / RETENTION_PERSONAL_DATA_DAYS, 365), counted from the end of the
appointment (`end_at`) or of the turn (`finished_at`, else `queued_at`):

- after the document days, every stored file of the appointment goes: the citizen's uploads, the
  clerk's result documents and their cached page images; the Document row stays (pages, size,
  source: statistics) with `purged_at` set. Documents hold personal data too, so they never
  outlive the personal data limit.
- after the personal data days, the citizen's name, e-mail, phone, licence number and the free
  texts that may name them (the clerk's outcome message, the survey comment, the names of the
  uploaded files, a turn's reason and note) are blanked, `anonymised_at` is set, the outbox
  messages to them lose recipient and bodies (pending ones are cancelled; without MAIL_SERVER their
  saved .eml files go too), and the audit records
  of the citizen's own actions lose their address. Status, outcome, service, office, clerk, times,
  call records and survey ratings stay, so reports over the period add up as before. The
  appointment also gives back its place among the citizen's (`citizen_seat`), so anonymised rows
  sharing one blank e-mail never break the per-citizen unique constraint. Audit records are never
  deleted.

`purge()` also does the housekeeping of `flask purge-documents` (expired booking drafts, abandoned
staged uploads, page images older than a day, stored files no row names) and deletes the daily
booking caps' places of past days (keyed hashes of phone numbers and e-mail domains). It works in batches,
each in its own write transaction that claims its rows (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite:
the write lock), so two runs at once share the work and a second run finds nothing to do. Each
run writes one audit record with its counts, and one per agency that had work.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, fields

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from app import audit
from app.booking_caps import purge_past_claims
from app.booking_drafts import purge_expired_drafts
from app.documents import discard_renders, purge_orphan_documents, purge_renders, purge_staged, upload_store
from app.extensions import db, end_read_transaction, write_transaction
from app.models import (
    Agency,
    Appointment,
    AuditEvent,
    Document,
    OutboxMessage,
    Service,
    SurveyResponse,
    Turn,
    utcnow,
)
from app.notifications import SCRUBBED, PeriodicJob, saved_emails

log = logging.getLogger(__name__)

BATCH = 200
# How old abandoned staged uploads, cached page images and unnamed files must be to go (as the
# defaults of `flask purge-documents`).
HOUSEKEEPING_AGE = dt.timedelta(hours=24)
# The purge runs a minute after the in-app loop starts, then every PURGE_INTERVAL_HOURS.
FIRST_RUN_AFTER_SECONDS = 60
# The longest an agency may keep documents or personal data (ten years): a limit keeps the cutoff
# date computable and a typo (36500 for 365) visible.
MAX_RETENTION_DAYS = 3650


@dataclass(frozen=True)
class Policy:
    """How many days after an appointment or turn ends its documents and personal data stay."""

    document_days: int
    personal_data_days: int


def retention_errors(document_days: int | None, personal_data_days: int | None) -> dict[str, str]:
    """What is wrong with an agency's retention days (None: the site's setting), by field: each at
    least one day and at most MAX_RETENTION_DAYS, and documents (which hold personal data) kept
    no longer than personal data. Read-only."""
    errors = {}
    for name, days in (
        ("document_retention_days", document_days),
        ("personal_data_retention_days", personal_data_days),
    ):
        if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
            errors[name] = _l("Enter a number of days from 1 to %(max)d.", max=MAX_RETENTION_DAYS)
    if not errors:
        config = current_app.config
        documents = document_days or config["RETENTION_DOCUMENT_DAYS"]
        personal = personal_data_days or config["RETENTION_PERSONAL_DATA_DAYS"]
        if documents > personal:
            errors["document_retention_days"] = _l(
                "Documents hold personal data: keep them at most as long as personal data (%(days)d days).",
                days=personal,
            )
    return errors


def policy_for(agency) -> Policy:
    """The agency's retention, its NULL columns falling back to the settings. Read-only."""
    config = current_app.config
    personal = agency.personal_data_retention_days or config["RETENTION_PERSONAL_DATA_DAYS"]
    documents = agency.document_retention_days or config["RETENTION_DOCUMENT_DAYS"]
    return Policy(document_days=min(documents, personal), personal_data_days=personal)


@dataclass
class PurgeReport:
    """What one run did, counted once even when two runs overlap."""

    documents_deleted: int = 0
    page_images_deleted: int = 0
    appointments_anonymised: int = 0
    turns_anonymised: int = 0
    outbox_messages_anonymised: int = 0
    saved_emails_deleted: int = 0
    audit_addresses_removed: int = 0
    expired_drafts_deleted: int = 0
    staged_uploads_deleted: int = 0
    old_page_images_deleted: int = 0
    orphan_documents_deleted: int = 0
    past_booking_claims_deleted: int = 0

    def add(self, other: PurgeReport) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def counts(self) -> dict[str, int]:
        return asdict(self)

    def __bool__(self) -> bool:
        return any(self.counts().values())


def purge(now: dt.datetime | None = None) -> PurgeReport:
    """Delete the documents and anonymise the personal data past their agency's dates, do the
    housekeeping of purge-documents, and audit the run; returns the counts.

    Commits batch by batch (each a write transaction of its own), then the audit records; pending
    writes of the caller are refused (PendingWrites). Files are deleted inside the transaction that
    marks their rows, so a crash leaves at most a row whose file is already gone (the next run
    marks it).
    """
    now = now or utcnow()
    agencies = db.session.scalars(sa.select(Agency).order_by(Agency.id)).all()
    policies = [(agency.id, policy_for(agency)) for agency in agencies]
    end_read_transaction()
    per_agency: dict[int, PurgeReport] = {}
    for agency_id, policy in policies:
        report = per_agency[agency_id] = PurgeReport()
        _purge_documents(agency_id, now - dt.timedelta(days=policy.document_days), now, report)
        personal_cutoff = now - dt.timedelta(days=policy.personal_data_days)
        _anonymise_appointments(agency_id, personal_cutoff, now, report)
        _anonymise_turns(agency_id, personal_cutoff, now, report)
    total = PurgeReport()
    for report in per_agency.values():
        total.add(report)
    total.saved_emails_deleted = _delete_saved_emails()
    total.expired_drafts_deleted = purge_expired_drafts(now=now)
    total.staged_uploads_deleted = purge_staged(HOUSEKEEPING_AGE)
    total.old_page_images_deleted = purge_renders(HOUSEKEEPING_AGE)
    total.orphan_documents_deleted = purge_orphan_documents(HOUSEKEEPING_AGE)
    # Two days back: yesterday in every time zone has ended, and today's caps stay counted.
    total.past_booking_claims_deleted = purge_past_claims((now - 2 * HOUSEKEEPING_AGE).date())
    write_transaction()
    audit.record("retention.run", **total.counts())
    for agency_id, report in per_agency.items():
        if report:
            audit.record("retention.run", agency_id=agency_id, **report.counts())
    db.session.commit()
    return total


def _of_agency(agency_id: int, model) -> sa.ColumnElement[bool]:
    return model.service_id.in_(sa.select(Service.id).where(Service.agency_id == agency_id))


def _claim(statement: sa.Select) -> list:
    """Take the write lock and this batch's rows (rows another run holds are skipped); with none
    left, end the transaction at once (SQLite: give the write lock back)."""
    write_transaction()
    rows = db.session.execute(statement.limit(BATCH).with_for_update(skip_locked=True)).all()
    if not rows:
        db.session.commit()
    return rows


def _purge_documents(agency_id: int, cutoff: dt.datetime, now: dt.datetime, report: PurgeReport) -> None:
    ended = sa.select(Appointment.id).where(_of_agency(agency_id, Appointment), Appointment.end_at <= cutoff)
    store = upload_store()
    while rows := _claim(
        sa.select(Document.id, Document.storage_key)
        .where(Document.purged_at.is_(None), Document.appointment_id.in_(ended))
        .order_by(Document.id)
    ):
        for _id, key in rows:
            try:
                store.delete(key)
            except ValueError:  # a key the store could not have made names no file
                pass
            report.page_images_deleted += discard_renders(key)
        result = db.session.execute(
            sa.update(Document)
            .where(Document.id.in_([row.id for row in rows]), Document.purged_at.is_(None))
            .values(purged_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        report.documents_deleted += result.rowcount


def _anonymise_appointments(
    agency_id: int, cutoff: dt.datetime, now: dt.datetime, report: PurgeReport
) -> None:
    while ids := [
        row.id
        for row in _claim(
            sa.select(Appointment.id)
            .where(
                _of_agency(agency_id, Appointment),
                Appointment.end_at <= cutoff,
                Appointment.anonymised_at.is_(None),
            )
            .order_by(Appointment.id)
        )
    ]:
        result = db.session.execute(
            sa.update(Appointment)
            .where(Appointment.id.in_(ids), Appointment.anonymised_at.is_(None))
            .values(
                citizen_name="",
                citizen_email="",
                citizen_phone="",
                licence_number=None,
                outcome_message=None,
                citizen_seat=None,  # blank e-mails must not collide in uq_appointment_citizen_seat
                anonymised_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        report.appointments_anonymised += result.rowcount
        _blank(Document, Document.appointment_id.in_(ids), Document.original_name != "", original_name="")
        _blank(
            SurveyResponse, SurveyResponse.appointment_id.in_(ids), SurveyResponse.comment != "", comment=""
        )
        report.outbox_messages_anonymised += _anonymise_outbox(OutboxMessage.appointment_id.in_(ids))
        report.audit_addresses_removed += _blank(
            AuditEvent,
            AuditEvent.object_type == "appointment",
            AuditEvent.object_id.in_(ids),
            AuditEvent.actor_staff_id.is_(None),  # the citizen's own action: its address is theirs
            AuditEvent.ip.is_not(None),
            ip=None,
        )
        db.session.commit()


def _anonymise_turns(agency_id: int, cutoff: dt.datetime, now: dt.datetime, report: PurgeReport) -> None:
    ended_at = sa.func.coalesce(Turn.finished_at, Turn.queued_at)
    while ids := [
        row.id
        for row in _claim(
            sa.select(Turn.id)
            .where(_of_agency(agency_id, Turn), ended_at <= cutoff, Turn.anonymised_at.is_(None))
            .order_by(Turn.id)
        )
    ]:
        report.turns_anonymised += _blank(
            Turn,
            Turn.id.in_(ids),
            Turn.anonymised_at.is_(None),
            citizen_name="",
            citizen_phone="",
            active_phone=None,
            reason="",
            note="",
            anonymised_at=now,
        )
        report.outbox_messages_anonymised += _anonymise_outbox(OutboxMessage.turn_id.in_(ids))
        db.session.commit()


def _anonymise_outbox(which: sa.ColumnElement[bool]) -> int:
    """Blank the recipient, bodies and last error (an SMTP refusal names the address) of these
    messages; a pending one is cancelled."""
    still_pending = sa.case((OutboxMessage.status == "pending", "cancelled"), else_=OutboxMessage.status)
    return _blank(
        OutboxMessage,
        which,
        sa.or_(
            OutboxMessage.recipient != "",
            OutboxMessage.body_text != "",
            OutboxMessage.status == "pending",
            OutboxMessage.last_error.is_not(None),
        ),
        recipient="",
        last_error=None,
        status=still_pending,
        **SCRUBBED,
    )


def _delete_saved_emails() -> int:
    """Without MAIL_SERVER each e-mail is also an .eml file under OUTBOX_DIR: delete the files of
    anonymised messages (recipient blanked). Reads, ends the read, then deletes."""
    saved = saved_emails(current_app.config["OUTBOX_DIR"])
    ids = sorted(saved)
    anonymised: list[int] = []
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        anonymised += db.session.scalars(
            sa.select(OutboxMessage.id).where(OutboxMessage.id.in_(batch), OutboxMessage.recipient == "")
        )
    end_read_transaction()
    deleted = 0
    for message_id in anonymised:
        for path in saved[message_id]:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def _blank(model, *where: sa.ColumnElement[bool], **values) -> int:
    result = db.session.execute(
        sa.update(model).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    return result.rowcount


def background_job(app: Flask) -> PeriodicJob | None:
    """The purge as a job of the in-app loop, every PURGE_INTERVAL_HOURS (0 = off: run `flask purge`
    from cron). Its run opens an app context and commits as `purge` does."""
    hours = app.config.get("PURGE_INTERVAL_HOURS") or 0
    if hours <= 0:
        return None

    def run() -> None:
        with app.app_context():
            report = purge()
        if report:
            log.info("Retention purge: %s", report.counts())  # counts only

    return PeriodicJob("purge", hours * 3600, run, first_after_seconds=FIRST_RUN_AFTER_SECONDS)
