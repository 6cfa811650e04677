"""The domain model: SQLAlchemy 2.0 typed models.

Times are stored in UTC (`UTCDateTime`) and shown in the agency's time zone. Rules that protect
data live in the schema: unique slugs and codes, foreign keys, allowed status values, and the
capacity rule — a booking holds one numbered seat of its slot, and a unique constraint on
(service, office, start, seat) lets the database, not Python, decide who gets the last seat.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask_babel import get_locale
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import flag_modified

from app.extensions import db
from config import LANGUAGES


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware datetime, always UTC in Python and in the database.

    SQLite has no time zone type, so values go in as naive UTC there; they come back aware.
    Naive datetimes are refused on the way in: they are a bug waiting to show up at DST.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Bilingual:
    """Models with `<field>_es` / `<field>_en` columns: `localized('name')` picks the current locale."""

    def localized(self, field: str, locale: str | None = None) -> str:
        lang = locale or str(get_locale() or "es")
        value = getattr(self, f"{field}_{lang}", None) if lang in ("es", "en") else None
        return value or getattr(self, f"{field}_es")


AGENCY_KINDS = ("agency", "corporation", "municipality")
SERVICE_MODES = ("video", "in_person", "phone_turn")
APPOINTMENT_STATUSES = ("booked", "checked_in", "in_call", "completed", "no_show", "cancelled")
APPOINTMENT_OUTCOMES = (
    "completed",
    "needs_in_person",
    "documents_missing",
    "no_show",
    "technical_failure",
    "phone_fallback",
)
TURN_STATUSES = ("waiting", "calling", "attended", "no_answer", "cancelled", "missed")
STAFF_ROLES = ("clerk", "admin", "superadmin")
# citizen: sent with the booking (or replaced before it); clerk: a result left for the citizen;
# follow_up: sent by the citizen after a "documents missing" outcome, beside what the clerk saw.
DOCUMENT_SOURCES = ("citizen", "clerk", "follow_up")
OUTBOX_CHANNELS = ("email", "sms")
OUTBOX_STATUSES = ("pending", "sent", "failed", "cancelled")
ACTIVE_APPOINTMENT_STATUSES = ("booked", "checked_in", "in_call")
# Who cancelled an appointment: the citizen (manage link, API) or the agency (its staff).
CANCELLED_BY = ("citizen", "agency")


class Agency(Bilingual, db.Model):
    __tablename__ = "agency"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", AGENCY_KINDS), name="kind"),
        sa.CheckConstraint(
            "document_retention_days IS NULL OR document_retention_days >= 1", name="document_retention_days"
        ),
        sa.CheckConstraint(
            "personal_data_retention_days IS NULL OR personal_data_retention_days >= 1",
            name="personal_data_retention_days",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_es: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20), default="agency")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="America/Puerto_Rico")
    observes_pr_holidays: Mapped[bool] = mapped_column(default=True)
    # Shown to citizens on the agency's pages; the banner only when it has text.
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(30))
    banner_es: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    banner_en: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    # Raised by every administration save: a form carrying an older value is refused (409).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Retention (app/retention.py): days after an appointment or turn ends until its documents go,
    # and until its citizen's personal data is anonymised. NULL: the site's RETENTION_* setting.
    document_retention_days: Mapped[int | None] = mapped_column()
    personal_data_retention_days: Mapped[int | None] = mapped_column()
    # Its monthly figures (no personal data, small counts suppressed) are public at /datos/<slug>.
    publishes_open_data: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    offices: Mapped[list[Office]] = relationship(back_populates="agency", order_by="Office.id")
    services: Mapped[list[Service]] = relationship(back_populates="agency", order_by="Service.id")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Agency {self.slug}>"


service_office = sa.Table(
    "service_office",
    db.Model.metadata,
    sa.Column("service_id", sa.ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("office_id", sa.ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
)


class Office(Bilingual, db.Model):
    __tablename__ = "office"
    __table_args__ = (sa.UniqueConstraint("agency_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(60))
    name_es: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    is_remote: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    municipality: Mapped[str | None] = mapped_column(sa.String(80))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Raised by every administration save: a form carrying an older value is refused (409).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # The same for the office's opening hours (app/opening_hours.py), edited on a page of their
    # own: saving the hours does not make an open form of the office's details stale.
    hours_version: Mapped[int] = mapped_column(default=1, server_default="1")

    agency: Mapped[Agency] = relationship(back_populates="offices")
    services: Mapped[list[Service]] = relationship(
        secondary=service_office, back_populates="offices", order_by="Service.id"
    )
    hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="office",
        cascade="all, delete-orphan",
        order_by="(OpeningHours.weekday, OpeningHours.opens_at)",
    )

    __mapper_args__ = {"version_id_col": version}


class Service(Bilingual, db.Model):
    __tablename__ = "service"
    __table_args__ = (
        sa.CheckConstraint(_in("mode", SERVICE_MODES), name="mode"),
        sa.CheckConstraint("slot_minutes > 0", name="slot_minutes_positive"),
        sa.CheckConstraint("capacity_per_slot > 0", name="capacity_positive"),
        sa.CheckConstraint("lead_time_minutes >= 0", name="lead_time_not_negative"),
        sa.CheckConstraint("horizon_days > 0", name="horizon_positive"),
        sa.CheckConstraint("daily_capacity IS NULL OR daily_capacity > 0", name="daily_capacity_positive"),
        sa.CheckConstraint(
            "daily_cap_per_domain IS NULL OR daily_cap_per_domain > 0", name="daily_cap_per_domain_positive"
        ),
        sa.CheckConstraint(
            "daily_cap_per_phone IS NULL OR daily_cap_per_phone > 0", name="daily_cap_per_phone_positive"
        ),
        # Turn numbers must tell an agency's queues apart; services without a prefix are NULL.
        sa.UniqueConstraint("agency_id", "turn_prefix"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name_es: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    description_es: Mapped[str] = mapped_column(sa.Text, default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    mode: Mapped[str] = mapped_column(sa.String(20))
    slot_minutes: Mapped[int] = mapped_column(default=20)
    capacity_per_slot: Mapped[int] = mapped_column(default=1)
    lead_time_minutes: Mapped[int] = mapped_column(default=120)
    horizon_days: Mapped[int] = mapped_column(default=30)
    daily_capacity: Mapped[int | None] = mapped_column()
    # Bookings a day per e-mail domain and per phone number (app/booking_caps.py); None: the
    # setting (BOOKING_DAILY_CAP_PER_DOMAIN, BOOKING_DAILY_CAP_PER_PHONE).
    daily_cap_per_domain: Mapped[int | None] = mapped_column()
    daily_cap_per_phone: Mapped[int | None] = mapped_column()
    turn_prefix: Mapped[str | None] = mapped_column(sa.String(4))
    asks_licence_number: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # Raised by every administration save, its offices' and document requirements' too: a form
    # carrying an older value is refused (409).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    agency: Mapped[Agency] = relationship(back_populates="services")
    offices: Mapped[list[Office]] = relationship(
        secondary=service_office, back_populates="services", order_by="Office.id"
    )
    # What citizens see and book: the offices offering the service that are open (active).
    open_offices: Mapped[list[Office]] = relationship(
        secondary=service_office,
        primaryjoin="Service.id == service_office.c.service_id",
        secondaryjoin="and_(Office.id == service_office.c.office_id, Office.active.is_(True))",
        order_by="Office.id",
        viewonly=True,
    )
    requirements: Mapped[list[DocumentRequirement]] = relationship(
        back_populates="service",
        cascade="all, delete-orphan",
        order_by="DocumentRequirement.position",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def office_ids(self) -> list[int]:
        """The ids of the offices offering the service (what the admin page edits and audits)."""
        return [office.id for office in self.offices]

    @office_ids.setter
    def office_ids(self, ids: list[int]) -> None:
        self.offices = [db.session.get(Office, office_id) for office_id in sorted(ids)]
        flag_modified(self, "agency_id")  # the row is written, so its version rises and is checked

    def __repr__(self) -> str:
        return f"<Service {self.slug} ({self.mode})>"


class DocumentRequirement(Bilingual, db.Model):
    __tablename__ = "document_requirement"
    __table_args__ = (
        sa.UniqueConstraint("service_id", "code"),
        sa.CheckConstraint("max_pages > 0", name="max_pages_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(40))
    label_es: Mapped[str] = mapped_column(sa.String(200))
    label_en: Mapped[str] = mapped_column(sa.String(200))
    required: Mapped[bool] = mapped_column(default=True)
    max_pages: Mapped[int] = mapped_column(default=10)
    position: Mapped[int] = mapped_column(default=0)

    service: Mapped[Service] = relationship(back_populates="requirements")


class OpeningHours(db.Model):
    """One opening interval of an office on a weekday (0 = Monday); split shifts are two rows."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        sa.UniqueConstraint("office_id", "weekday", "opens_at"),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        sa.CheckConstraint("opens_at < closes_at", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column()
    opens_at: Mapped[dt.time] = mapped_column(sa.Time)
    closes_at: Mapped[dt.time] = mapped_column(sa.Time)

    office: Mapped[Office] = relationship(back_populates="hours")


class Closure(Bilingual, db.Model):
    """Closed days, `first_day` to `last_day` (agency-local dates, both included), for one office or
    (office_id NULL) the whole agency; the reason is shown to citizens on the closed days."""

    __tablename__ = "closure"
    __table_args__ = (sa.CheckConstraint("first_day <= last_day", name="first_day_not_after_last_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id", ondelete="CASCADE"))
    first_day: Mapped[dt.date] = mapped_column(sa.Date)
    last_day: Mapped[dt.date] = mapped_column(sa.Date)
    reason_es: Mapped[str] = mapped_column(sa.String(200), default="")
    reason_en: Mapped[str] = mapped_column(sa.String(200), default="")

    office: Mapped[Office | None] = relationship()

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


class Staff(UserMixin, db.Model):
    __tablename__ = "staff"
    __table_args__ = (
        sa.CheckConstraint(_in("role", STAFF_ROLES), name="role"),
        sa.CheckConstraint("role = 'superadmin' OR agency_id IS NOT NULL", name="agency_unless_superadmin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20), default="clerk")
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Part of every session's id (get_id): raising it ends every session of the account at once.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Wrong passwords in a row, each within LOGIN_LOCKOUT_MINUTES of the one before (reset by a
    # sign-in); at LOGIN_LOCKOUT_FAILURES the account is locked until `locked_until`, whatever
    # password is given.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    last_failed_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Raised by every administration change (role, active): a form carrying an older value is
    # refused (409). Not the mapper's version column: signing in must not make an admin's form stale.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Two-factor sign-in (app.two_factor): the TOTP secret once confirmed, the one being set up
    # until its first code, and the last time step accepted (a code is never accepted twice).
    totp_secret: Mapped[str | None] = mapped_column(sa.String(32))
    totp_pending_secret: Mapped[str | None] = mapped_column(sa.String(32))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    agency: Mapped[Agency | None] = relationship()

    def get_id(self) -> str:
        """What the login session stores: the account and its session version ("12.3")."""
        return f"{self.id}.{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def has_role(self, role: str) -> bool:
        """True when this account's role is `role` or ranks above it."""
        return STAFF_ROLES.index(self.role) >= STAFF_ROLES.index(role)

    def __repr__(self) -> str:
        return f"<Staff {self.email} {self.role}>"


class Appointment(db.Model):
    __tablename__ = "appointment"
    __table_args__ = (
        # The capacity rule: a slot has seats 1..capacity; two bookings can never hold the same one.
        sa.UniqueConstraint("service_id", "office_id", "start_at", "seat", name="uq_appointment_seat"),
        sa.CheckConstraint("seat IS NULL OR seat >= 1", name="seat_positive"),
        sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
        sa.CheckConstraint(_in("status", APPOINTMENT_STATUSES), name="status"),
        sa.CheckConstraint("outcome IS NULL OR " + _in("outcome", APPOINTMENT_OUTCOMES), name="outcome"),
        sa.CheckConstraint(_in("language", LANGUAGES), name="language"),
        # A cancelled appointment gives its seat back; every other status holds one.
        sa.CheckConstraint("(status = 'cancelled') = (seat IS NULL)", name="seat_held_unless_cancelled"),
        # The per-citizen limit works like capacity: an upcoming appointment holds one of the
        # citizen's numbered places for that service (1..limit); finished ones give it back.
        sa.UniqueConstraint(
            "service_id", "citizen_email", "citizen_seat", name="uq_appointment_citizen_seat"
        ),
        sa.CheckConstraint("citizen_seat IS NULL OR citizen_seat >= 1", name="citizen_seat_positive"),
        sa.CheckConstraint(
            "cancelled_by IS NULL OR " + _in("cancelled_by", CANCELLED_BY), name="cancelled_by"
        ),
        sa.Index("ix_appointment_slot", "service_id", "start_at"),
        sa.Index("ix_appointment_start_at", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"))
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    seat: Mapped[int | None] = mapped_column()
    citizen_seat: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(20), default="booked")
    citizen_name: Mapped[str] = mapped_column(sa.String(120))
    citizen_email: Mapped[str] = mapped_column(sa.String(254), index=True)
    citizen_phone: Mapped[str] = mapped_column(sa.String(30))
    licence_number: Mapped[str | None] = mapped_column(sa.String(30))
    language: Mapped[str] = mapped_column(sa.String(2), default="es")
    join_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    manage_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The join link the manage page's "Join" button hands out; the e-mailed one keeps working.
    page_join_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    clerk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    outcome: Mapped[str | None] = mapped_column(sa.String(30))
    outcome_message: Mapped[str | None] = mapped_column(sa.Text)
    # When the outcome was recorded: the follow-up upload window counts from here.
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    identity_verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    identity_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(sa.String(10))
    # The .ics SEQUENCE: each new time or a cancellation raises it, so calendar apps apply the update.
    calendar_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    # When retention anonymised the citizen's data (app/retention.py); statistics stay.
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    service: Mapped[Service] = relationship()
    office: Mapped[Office] = relationship()
    clerk: Mapped[Staff | None] = relationship(foreign_keys=[clerk_id])
    identity_verified_by: Mapped[Staff | None] = relationship(foreign_keys=[identity_verified_by_id])
    documents: Mapped[list[Document]] = relationship(back_populates="appointment", order_by="Document.id")


class SlotUsage(db.Model):
    """Seats taken per slot (service, office, start): what availability reads instead of counting
    appointments, so a month's calendar costs the same with 100 or 100,000 bookings. Kept by the
    database itself (SLOT_USAGE_TRIGGERS on appointment: a seat taken counts +1, given back −1),
    so every path that books, cancels or moves an appointment keeps it right, and concurrent
    bookings of one slot serialise on its row. A migration that rebuilds `appointment` on SQLite
    (batch mode) must create the triggers again, as 0018 does (tests/test_slot_usage.py checks a
    schema built by the migrations)."""

    __tablename__ = "slot_usage"
    __table_args__ = (sa.CheckConstraint("taken >= 0", name="taken_not_negative"),)

    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), primary_key=True)
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"), primary_key=True)
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    taken: Mapped[int] = mapped_column(default=0)


_SLOT_KEY = "service_id = {row}.service_id AND office_id = {row}.office_id AND start_at = {row}.start_at"
_SLOT_COUNTED_COLUMNS = "seat, service_id, office_id, start_at"
SLOT_USAGE_TRIGGERS = {
    "sqlite": [
        """CREATE TRIGGER IF NOT EXISTS slot_usage_insert
AFTER INSERT ON appointment WHEN NEW.seat IS NOT NULL
BEGIN
  INSERT INTO slot_usage (service_id, office_id, start_at, taken)
  VALUES (NEW.service_id, NEW.office_id, NEW.start_at, 1)
  ON CONFLICT (service_id, office_id, start_at) DO UPDATE SET taken = taken + 1;
END""",
        f"""CREATE TRIGGER IF NOT EXISTS slot_usage_update
AFTER UPDATE OF {_SLOT_COUNTED_COLUMNS} ON appointment
BEGIN
  UPDATE slot_usage SET taken = taken - 1 WHERE OLD.seat IS NOT NULL AND {_SLOT_KEY.format(row="OLD")};
  INSERT INTO slot_usage (service_id, office_id, start_at, taken)
  SELECT NEW.service_id, NEW.office_id, NEW.start_at, 1 WHERE NEW.seat IS NOT NULL
  ON CONFLICT (service_id, office_id, start_at) DO UPDATE SET taken = taken + 1;
END""",
        f"""CREATE TRIGGER IF NOT EXISTS slot_usage_delete
AFTER DELETE ON appointment WHEN OLD.seat IS NOT NULL
BEGIN
  UPDATE slot_usage SET taken = taken - 1 WHERE {_SLOT_KEY.format(row="OLD")};
END""",
    ],
    "postgresql": [
        f"""CREATE OR REPLACE FUNCTION slot_usage_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.seat IS NOT NULL AND NEW.seat IS NOT NULL THEN
    -- A move changes two counters: lock both in key order first, or two moves in opposite
    -- directions at the same instant (each holding its old slot, waiting for the other's) deadlock.
    INSERT INTO slot_usage (service_id, office_id, start_at, taken)
    VALUES (NEW.service_id, NEW.office_id, NEW.start_at, 0) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM slot_usage
    WHERE ({_SLOT_KEY.format(row="OLD")}) OR ({_SLOT_KEY.format(row="NEW")})
    ORDER BY service_id, office_id, start_at FOR UPDATE;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    IF OLD.seat IS NOT NULL THEN
      UPDATE slot_usage SET taken = taken - 1 WHERE {_SLOT_KEY.format(row="OLD")};
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.seat IS NOT NULL THEN
      INSERT INTO slot_usage (service_id, office_id, start_at, taken)
      VALUES (NEW.service_id, NEW.office_id, NEW.start_at, 1)
      ON CONFLICT (service_id, office_id, start_at) DO UPDATE SET taken = slot_usage.taken + 1;
    END IF;
  END IF;
  RETURN NULL;
END $$""",
        "DROP TRIGGER IF EXISTS slot_usage_count ON appointment",
        f"""CREATE TRIGGER slot_usage_count
AFTER INSERT OR DELETE OR UPDATE OF {_SLOT_COUNTED_COLUMNS} ON appointment
FOR EACH ROW EXECUTE FUNCTION slot_usage_count()""",
    ],
}


@sa.event.listens_for(db.Model.metadata, "after_create")
def _create_slot_usage_triggers(_metadata, connection, **_kw) -> None:
    """`db.create_all()` (tests, `flask seed-demo` on a new file) gets the triggers the migration
    creates; again on a database that has them (create_all skips existing tables, not this)."""
    for statement in SLOT_USAGE_TRIGGERS.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


class Document(db.Model):
    __tablename__ = "document"
    __table_args__ = (
        sa.CheckConstraint(_in("source", DOCUMENT_SOURCES), name="source"),
        sa.CheckConstraint("size_bytes >= 0", name="size_not_negative"),
        sa.CheckConstraint("pages > 0", name="pages_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id"), index=True)
    requirement_code: Mapped[str] = mapped_column(sa.String(40))
    source: Mapped[str] = mapped_column(sa.String(10), default="citizen")
    original_name: Mapped[str] = mapped_column(sa.String(255))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    pages: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    appointment: Mapped[Appointment] = relationship(back_populates="documents")


class BookingDraft(db.Model):
    """A citizen's booking in progress: the choices, contact details and staged uploads, then the
    links until the confirmation page has shown them once. The browser's cookie holds only a random
    key, stored here as its hash; an untouched draft expires (`BOOKING_DRAFT_MINUTES`)."""

    __tablename__ = "booking_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class DailyBookingClaim(db.Model):
    """One of the numbered places a day's bookings of a service take per e-mail domain or phone
    number (`kind`): unique, so racing bookings cannot pass the cap. `key` is a keyed hash of the
    domain or number, never the address itself; rows of past days are deleted as bookings go."""

    __tablename__ = "daily_booking_claim"
    __table_args__ = (
        sa.UniqueConstraint("service_id", "day", "kind", "key", "place"),
        sa.CheckConstraint("kind IN ('domain', 'phone')", name="kind"),
        sa.CheckConstraint("place > 0", name="place_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    key: Mapped[str] = mapped_column(sa.String(64))
    place: Mapped[int] = mapped_column()


class SpentChallenge(db.Model):
    """A proof-of-work challenge already used (app/proof_of_work.py), kept until it expires so
    that its solution cannot be sent twice."""

    __tablename__ = "spent_challenge"

    nonce: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class Turn(db.Model):
    """A same-day place in a service's queue: a phone callback or an in-person check-in."""

    __tablename__ = "turn"
    __table_args__ = (
        sa.UniqueConstraint("service_id", "day", "number"),
        sa.CheckConstraint("number > 0", name="number_positive"),
        sa.CheckConstraint(_in("status", TURN_STATUSES), name="status"),
        sa.CheckConstraint(_in("language", LANGUAGES), name="language"),
        sa.Index("ix_turn_queue", "service_id", "day", "status"),
        # One turn in line per phone number, service and day: a phone turn holds its number in
        # `active_phone` while waiting, being called or due a retry, and gives it back when done.
        sa.UniqueConstraint("service_id", "day", "active_phone", name="uq_turn_active_phone"),
        sa.CheckConstraint(
            "active_phone IS NULL OR " + _in("status", ("waiting", "calling", "no_answer")),
            name="active_phone_only_while_active",
        ),
        # An appointment checks in once.
        sa.UniqueConstraint("appointment_id", name="uq_turn_appointment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("office.id"))
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment.id"))
    day: Mapped[dt.date] = mapped_column(sa.Date)
    number: Mapped[int] = mapped_column()
    code: Mapped[str] = mapped_column(sa.String(12))
    citizen_name: Mapped[str] = mapped_column(sa.String(120))
    citizen_phone: Mapped[str] = mapped_column(sa.String(30))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    language: Mapped[str] = mapped_column(sa.String(2), default="es")
    status: Mapped[str] = mapped_column(sa.String(20), default="waiting")
    status_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Place in line (earliest first, then id): queued_at for phone turns, the appointment's start
    # for in-person check-ins; moved later by "move me back" and by a no-answer retry.
    priority_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    active_phone: Mapped[str | None] = mapped_column(sa.String(30))
    called_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    clerk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    moved_back: Mapped[bool] = mapped_column(default=False)
    no_answer_count: Mapped[int] = mapped_column(default=0)
    # The wait the citizen was told when taking the turn (reports compare it with the real one).
    estimated_wait_minutes: Mapped[int | None] = mapped_column()
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When retention anonymised the citizen's data (app/retention.py); statistics stay.
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    service: Mapped[Service] = relationship()
    office: Mapped[Office | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    clerk: Mapped[Staff | None] = relationship()


class CallSession(db.Model):
    __tablename__ = "call_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id"), index=True)
    clerk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    waiting_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    admitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    connected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The call connected without the citizen's video (they chose "audio only" or had no camera).
    audio_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(sa.String(40))
    # The citizen asked to be phoned instead of the video call (the console shows the number).
    phone_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The clerk said they are running late: by about how many minutes, and when they said so.
    late_minutes: Mapped[int | None] = mapped_column()
    late_noted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    appointment: Mapped[Appointment] = relationship()


class SurveyResponse(db.Model):
    __tablename__ = "survey_response"
    __table_args__ = (sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointment.id"), unique=True)
    rating: Mapped[int] = mapped_column()
    comment: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(db.Model):
    """Who did what, when: document views, identity checks, logins, admin changes."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # The audit log's pages: an agency's entries newest first, and everything about one object
        # (an appointment's reference: who viewed its documents).
        sa.Index("ix_audit_event_agency_at", "agency_id", "at"),
        sa.Index("ix_audit_event_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(60))
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[int | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


# The audit log is append-only in the database itself (migration 0013): an UPDATE or DELETE of
# audit_event is refused by a trigger, except the one change retention makes (app/retention.py):
# blanking the address of a citizen's own action, with every other column unchanged. Created with
# the table by create_all too, so the tests' databases refuse what a migrated one refuses.
AUDIT_APPEND_ONLY_DDL = {
    "postgresql": (
        """
        CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                IF NEW.ip IS NULL AND ROW(NEW.id, NEW.at, NEW.actor_staff_id, NEW.agency_id, NEW.action,
                                          NEW.object_type, NEW.object_id, NEW.detail::text)
                    IS NOT DISTINCT FROM ROW(OLD.id, OLD.at, OLD.actor_staff_id, OLD.agency_id, OLD.action,
                                             OLD.object_type, OLD.object_id, OLD.detail::text) THEN
                    RETURN NEW;
                END IF;
            END IF;
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
                MESSAGE = 'audit_event is append-only: ' || TG_OP || ' refused';
        END;
        $$
        """,
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
    ),
    "sqlite": (
        """
        CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
        WHEN NEW.ip IS NOT NULL OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at
            OR NEW.actor_staff_id IS NOT OLD.actor_staff_id OR NEW.agency_id IS NOT OLD.agency_id
            OR NEW.action IS NOT OLD.action OR NEW.object_type IS NOT OLD.object_type
            OR NEW.object_id IS NOT OLD.object_id OR NEW.detail IS NOT OLD.detail
        BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END
        """,
        """
        CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END
        """,
    ),
}
for _dialect, _statements in AUDIT_APPEND_ONLY_DDL.items():
    for _statement in _statements:
        sa.event.listen(AuditEvent.__table__, "after_create", sa.DDL(_statement).execute_if(dialect=_dialect))


class OutboxMessage(db.Model):
    """An email or SMS waiting to be sent; `dedupe_key` keeps a reminder from being queued twice."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        sa.CheckConstraint(_in("channel", OUTBOX_CHANNELS), name="channel"),
        sa.CheckConstraint(_in("status", OUTBOX_STATUSES), name="status"),
        sa.CheckConstraint(_in("language", LANGUAGES), name="language"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.Index("ix_outbox_due", "status", "send_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(2), default="es")
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # An appointment e-mail is queued as what to say (links, reason, the appointment's time, office
    # and calendar sequence as they were) and rendered when sent; scrubbed with the bodies.
    intent: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    # Every cancel, reschedule and outcome looks up the appointment's pending messages.
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment.id"), index=True)
    turn_id: Mapped[int | None] = mapped_column(sa.ForeignKey("turn.id"))
    send_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PasswordReset(db.Model):
    """A single-use link that sets a staff member's password, stored as the hash of its token."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[Staff] = relationship()


class StaffInvitation(db.Model):
    """An e-mailed single-use link inviting someone to join an agency's staff with a role; the
    account is created when the invitee chooses a password. Only the token's hash is stored;
    re-sending replaces it (the earlier link stops working)."""

    __tablename__ = "staff_invitation"
    __table_args__ = (
        sa.CheckConstraint(_in("role", STAFF_ROLES), name="role"),
        sa.CheckConstraint(_in("language", LANGUAGES), name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[str] = mapped_column(sa.String(20))
    language: Mapped[str] = mapped_column(sa.String(2), default="es")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # accepted
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Raised by every re-send and revocation: a form carrying an older value is refused (409).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    agency: Mapped[Agency] = relationship()


class RecoveryCode(db.Model):
    """A single-use code that stands in for a staff member's authenticator, stored as its hash."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
