"""The audit log is append-only in the database (migration 0013, app.models.AUDIT_APPEND_ONLY_DDL):
an UPDATE, DELETE or TRUNCATE of audit_event is refused, on PostgreSQL and on SQLite, whatever
code or SQL session tries it; the one change allowed is retention's blanking of a citizen's
address, so `flask purge` still works, on the migrated schema as on the models' own."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import audit, retention
from app.extensions import db
from app.models import AuditEvent
from tests.test_retention import build_world

REFUSED = "append-only"


def _event(**values) -> int:
    event = audit.record("document.viewed", object_type="appointment", object_id=7, page=1, **values)
    event.ip = "203.0.113.9"
    db.session.commit()
    return event.id


def _stored(event_id: int) -> tuple:
    row = db.session.execute(sa.select(AuditEvent.__table__).where(AuditEvent.id == event_id)).one()
    db.session.rollback()
    return tuple(row)


def _refused(statement) -> None:
    with pytest.raises(sa.exc.DBAPIError, match=REFUSED):
        db.session.execute(statement)
    db.session.rollback()


@pytest.mark.parametrize(
    "values",
    [
        {"action": "document.forged"},
        {"ip": "198.51.100.1"},
        {"detail": {}},
        {"at": sa.func.current_timestamp()},
        {"actor_staff_id": None, "agency_id": None, "ip": None, "object_id": 8},
    ],
    ids=["action", "address", "detail", "time", "address-blanked-and-object-changed"],
)
def test_an_audit_record_cannot_be_changed(any_db_app, values):
    with any_db_app.app_context():
        event_id = _event()
        before = _stored(event_id)
        _refused(sa.update(AuditEvent).where(AuditEvent.id == event_id).values(**values))
        assert _stored(event_id) == before


def test_an_audit_record_cannot_be_deleted(any_db_app):
    with any_db_app.app_context():
        event_id = _event()
        _refused(sa.delete(AuditEvent).where(AuditEvent.id == event_id))
        _refused(sa.text("DELETE FROM audit_event"))
        assert _stored(event_id)


def test_nor_changed_through_the_orm(any_db_app):
    with any_db_app.app_context():
        event_id = _event()
        event = db.session.get(AuditEvent, event_id)
        event.detail = {"page": 2}
        with pytest.raises(sa.exc.DBAPIError, match=REFUSED):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, event_id))
        with pytest.raises(sa.exc.DBAPIError, match=REFUSED):
            db.session.commit()
        db.session.rollback()
        assert _stored(event_id)[-1] == {"page": 1}


def test_the_table_cannot_be_emptied_at_once_on_postgresql(pg_app):
    with pg_app.app_context():
        event_id = _event()
        _refused(sa.text("TRUNCATE audit_event"))
        assert _stored(event_id)


def test_blanking_the_address_and_nothing_else_is_allowed(any_db_app):
    """What retention does to a citizen's own actions once their personal data is past its date."""
    with any_db_app.app_context():
        event_id = _event()
        before = _stored(event_id)
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event_id).values(ip=None))
        db.session.commit()
        after = _stored(event_id)
        ip = list(AuditEvent.__table__.columns.keys()).index("ip")
        assert after[ip] is None and before[ip] == "203.0.113.9"
        assert after[:ip] + after[ip + 1 :] == before[:ip] + before[ip + 1 :]


def test_the_migration_makes_the_log_append_only_and_purge_still_works(migrated_app):
    with migrated_app.app_context():
        world = build_world()
        citizens = sa.select(AuditEvent.id).where(AuditEvent.actor_staff_id.is_(None))
        event_ids = list(db.session.scalars(citizens))
        _refused(sa.update(AuditEvent).values(action="forged"))
        _refused(sa.delete(AuditEvent))
        report = retention.purge()
        assert report.appointments_anonymised == 4
        assert report.audit_addresses_removed == sum(
            1 for marker, gone in world.personal_gone.items() if gone and marker.startswith("203.0.")
        )
        # Nothing deleted: the citizens' records are all there, the runs' records added.
        assert set(event_ids) <= set(db.session.scalars(sa.select(AuditEvent.id)))
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "retention.run")) == 3
        db.session.rollback()
