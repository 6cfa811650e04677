"""Alembic migrations build the same schema as the models, on SQLite and on PostgreSQL."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db
from tests.support.apps import build_app


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # other tests' tables live here too: start from nothing
        connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


def test_upgrade_from_empty_matches_the_models(empty_database_url, tmp_path):
    app = build_app(tmp_path, empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            drift = compare_metadata(context, db.metadata)
        assert drift == [], f"models and migrations disagree: {drift}"
        downgrade(revision="base")
        tables = sa.inspect(db.engine).get_table_names()
        assert set(tables) <= {"alembic_version"}
        db.engine.dispose()
