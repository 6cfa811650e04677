"""Units of work you can see: a transaction boundary never commits someone else's pending writes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import PendingWrites, after_commit, db, end_read_transaction, write_transaction
from app.models import Agency


def agency(slug: str = "prueba") -> Agency:
    return Agency(slug=slug, name_es="Agencia de prueba", name_en="Test agency", kind="agency")


def agencies() -> list[str]:
    return list(db.session.scalars(sa.select(Agency.slug)))


@pytest.mark.parametrize("boundary", [write_transaction, end_read_transaction])
def test_a_boundary_refuses_to_commit_a_pending_insert_and_nothing_is_stored(app, boundary):
    with app.app_context():
        db.session.add(agency())
        with pytest.raises(PendingWrites):
            boundary()
        db.session.rollback()
        assert agencies() == []


@pytest.mark.parametrize("boundary", [write_transaction, end_read_transaction])
def test_a_boundary_refuses_writes_already_flushed(app, boundary):
    with app.app_context():
        db.session.add(agency())
        db.session.flush()  # the INSERT ran, but nobody committed it
        with pytest.raises(PendingWrites):
            boundary()
        db.session.rollback()
        assert agencies() == []


def test_a_boundary_refuses_a_pending_change_to_a_loaded_row(app):
    with app.app_context():
        db.session.add(agency())
        db.session.commit()
        db.session.scalar(sa.select(Agency)).name_en = "Changed"
        with pytest.raises(PendingWrites):
            write_transaction()
        db.session.rollback()
        assert db.session.scalar(sa.select(Agency.name_en)) == "Test agency"


def test_a_read_only_transaction_ends_and_a_writer_starts(any_db_app):
    with any_db_app.app_context():
        assert agencies() == []  # a read: the session's transaction is open
        write_transaction()
        db.session.add(agency())
        db.session.commit()
        end_read_transaction()  # nothing pending after a commit
        assert agencies() == ["prueba"]


def test_an_assignment_that_changes_nothing_is_not_a_pending_write(app):
    with app.app_context():
        db.session.add(agency())
        db.session.commit()
        row = db.session.scalar(sa.select(Agency))
        row.name_en = row.name_en
        write_transaction()
        db.session.rollback()


def test_after_commit_runs_once_on_commit_never_on_rollback_and_a_failure_keeps_the_commit(app, caplog):
    said = []
    with app.app_context():
        write_transaction()
        db.session.add(agency("descartada"))
        after_commit(lambda: said.append("rolled back"))
        db.session.rollback()
        write_transaction()
        db.session.add(agency())
        after_commit(lambda: said.append("committed"))
        after_commit(lambda: 1 / 0)
        db.session.commit()
        db.session.commit()  # a later commit does not repeat it
        assert said == ["committed"] and agencies() == ["prueba"]
    assert "ZeroDivisionError" in caplog.text
