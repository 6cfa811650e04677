"""app.opening_hours and app.closures on SQLite and PostgreSQL: the week is replaced in one
versioned write, closures are ranges that scheduling reads day by day, overlaps of one scope are
refused (the pages' tests are in tests/test_admin_hours.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app import scheduling
from app.accounts import create_staff
from app.administration import AdminInputError, StaleVersion
from app.closures import create_closure, delete_closure
from app.extensions import db
from app.models import Agency, AuditEvent, Closure, Office, OpeningHours, Service
from app.opening_hours import HoursRefused, office_week, save_opening_hours

T = dt.time

# Saves of the week audited (creating the test's accounts is audited too).
hours_changes = (
    sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "office.hours_changed")
)


def make_office(app) -> None:
    with app.app_context():
        agency = Agency(slug="uno", name_es="Agencia uno", name_en="Agency one")
        office = Office(agency=agency, slug="centro", name_es="Centro", name_en="Centre", address="Calle 1")
        office.hours = [OpeningHours(weekday=day, opens_at=T(8), closes_at=T(16)) for day in range(5)]
        service = Service(
            agency=agency, slug="visita", name_es="Visita", name_en="Visit", mode="in_person", slot_minutes=30
        )
        service.offices.append(office)
        db.session.add_all([agency, office, service])
        db.session.commit()
        create_staff("admin@uno.pr", "Admin Uno", "una clave bastante larga", "admin", "uno")


def loaded():
    from app.models import Staff

    office = db.session.scalar(sa.select(Office))
    return office, db.session.scalar(sa.select(Staff))


def test_the_week_is_replaced_in_one_versioned_write(any_db_app):
    make_office(any_db_app)
    with any_db_app.test_request_context():
        office, admin = loaded()
        week = {day: [(T(8), T(12)), None, (T(13), T(16))] for day in range(5)}
        assert save_opening_hours(office, week, 1, admin) is True
        office, admin = loaded()
        assert office.hours_version == 2 and office.version == 1
        assert office_week(office)[0] == [(T(8), T(12)), (T(13), T(16))] and office_week(office)[6] == []
        with pytest.raises(StaleVersion):
            save_opening_hours(office, {0: [(T(9), T(12))]}, 1, admin)
        with pytest.raises(HoursRefused) as refused:
            save_opening_hours(office, {0: [(T(8), T(12)), (T(11), T(13)), (T(14), T(14, 15))]}, 2, admin)
        assert set(refused.value.problems) == {(0, 1, "opens"), (0, 2, "closes")}
        assert office_week(loaded()[0])[0] == [(T(8), T(12)), (T(13), T(16))]
        assert db.session.scalar(hours_changes) == 1


def test_closures_are_ranges_and_one_scope_never_overlaps_itself(any_db_app):
    make_office(any_db_app)
    with any_db_app.test_request_context():
        office, admin = loaded()
        agency = office.agency
        reasons = {"reason_es": "Pintura", "reason_en": "Painting"}
        first = {"first_day": dt.date(2031, 3, 10), "last_day": dt.date(2031, 3, 12), **reasons}
        create_closure(agency, office, first, admin)
        with pytest.raises(AdminInputError):
            create_closure(agency, office, {**first, "first_day": dt.date(2031, 3, 12)}, admin)
        whole = {"first_day": dt.date(2031, 3, 12), "last_day": dt.date(2031, 3, 13)}
        create_closure(agency, None, {**whole, "reason_es": "Feriado", "reason_en": "Holiday"}, admin)
        days = scheduling.closures_by_office(
            agency.id, [office.id], dt.date(2031, 3, 9), dt.date(2031, 3, 14)
        )
        assert days[office.id] == {
            dt.date(2031, 3, 10): "Pintura",
            dt.date(2031, 3, 11): "Pintura",
            dt.date(2031, 3, 12): "Pintura",
            dt.date(2031, 3, 13): "Feriado",
        }
        for closure in list(db.session.scalars(sa.select(Closure))):
            delete_closure(closure, loaded()[1])
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0
