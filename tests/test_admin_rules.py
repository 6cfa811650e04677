"""app.administration on SQLite and PostgreSQL: who administers what, the version check that turns
a lost update into a conflict, even for two saves racing past the first check."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import administration
from app.accounts import create_staff
from app.administration import StaleVersion, administered_agencies, may_administer, update_agency_settings
from app.extensions import db
from app.models import Agency, AuditEvent

PASSWORD = "una clave bastante larga"


def make_agencies(app):
    with app.app_context():
        for slug in ("uno", "dos"):
            db.session.add(Agency(slug=slug, name_es=f"Agencia {slug}", name_en=f"Agency {slug}"))
        db.session.commit()
        create_staff("admin@uno.pr", "Admin Uno", PASSWORD, "admin", "uno")
        create_staff("clerk@uno.pr", "Clerk Uno", PASSWORD, "clerk", "uno")
        create_staff("super@pr.pr", "Super", PASSWORD, "superadmin", None)


def settings(agency: Agency, **changes) -> dict:
    values = {field: getattr(agency, field) for field in administration.AGENCY_SETTINGS_FIELDS}
    values.update(changes)
    return values


def staff(email):
    from app.models import Staff

    return db.session.scalar(sa.select(Staff).where(Staff.email == email))


def agency(slug):
    return db.session.scalar(sa.select(Agency).where(Agency.slug == slug))


def test_admins_administer_their_agency_and_the_superadmin_every_agency(any_db_app):
    make_agencies(any_db_app)
    with any_db_app.app_context():
        uno, dos = agency("uno"), agency("dos")
        assert may_administer(staff("admin@uno.pr"), uno.id) and not may_administer(
            staff("admin@uno.pr"), dos.id
        )
        assert not may_administer(staff("clerk@uno.pr"), uno.id)
        assert may_administer(staff("super@pr.pr"), dos.id)
        assert [a.slug for a in administered_agencies(staff("admin@uno.pr"))] == ["uno"]
        assert administered_agencies(staff("clerk@uno.pr")) == []
        assert {a.slug for a in administered_agencies(staff("super@pr.pr"))} == {"uno", "dos"}


def test_a_save_raises_the_version_and_a_stale_one_is_refused(any_db_app):
    make_agencies(any_db_app)
    with any_db_app.app_context():
        uno, admin = agency("uno"), staff("admin@uno.pr")
        loaded = uno.version
        update_agency_settings(uno, settings(uno, banner_es="Primero"), loaded, admin)
        assert agency("uno").version == loaded + 1
        with pytest.raises(StaleVersion):
            update_agency_settings(agency("uno"), settings(agency("uno"), banner_es="Segundo"), loaded, admin)
        assert agency("uno").banner_es == "Primero"


def test_of_two_saves_racing_past_the_version_check_only_one_wins(pg_app, monkeypatch):
    """The second admin's UPDATE commits while the first is between its check and its commit: the
    first save's UPDATE matches no row of its version and is refused, nothing of it is kept."""
    make_agencies(pg_app)
    other = sa.create_engine(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    original_record = administration.audit.record

    def record_while_another_admin_saves(*args, **kwargs):
        with other.begin() as connection:
            connection.execute(
                sa.text("UPDATE agency SET banner_es = 'Otro', version = version + 1 WHERE slug = 'uno'")
            )
        return original_record(*args, **kwargs)

    monkeypatch.setattr(administration.audit, "record", record_while_another_admin_saves)
    with pg_app.app_context():
        uno = agency("uno")
        with pytest.raises(StaleVersion):
            update_agency_settings(uno, settings(uno, banner_es="Mío"), uno.version, staff("admin@uno.pr"))
        db.session.expire_all()
        assert agency("uno").banner_es == "Otro"
        changes = sa.select(sa.func.count()).where(AuditEvent.action == "agency.settings_changed")
        assert db.session.scalar(changes) == 0
    other.dispose()
