"""the audit log is append-only in the database, and indexed for its pages

Two indexes serve the audit log viewer (app/audit_log.py): an agency's entries newest first
(agency_id, at), and every entry about one object (object_type, object_id), which is how a search
by appointment reference finds who viewed the citizen's documents.

A trigger on audit_event refuses every UPDATE and DELETE (and, on PostgreSQL, TRUNCATE), so no
code path of the app, no bug and no stray SQL session of the app's role can rewrite or remove
what the audit log says. Raised as SQLSTATE 42501 (insufficient_privilege) on PostgreSQL, and
as an ABORT on SQLite.

One change stays allowed: retention (`flask purge`, app/retention.py) blanks the address of a
citizen's own actions once the citizen's personal data is past its date. The trigger lets an
UPDATE through only when it sets `ip` to NULL and leaves every other column as it was; anything
else is refused. (We keep recording citizens' addresses while their appointment is live: they
are what an investigation of abuse of a booking or a download needs.) Retention never deletes an
audit row.

On SQLite the same triggers exist, with one caveat: a later migration that rebuilds audit_event
with batch_alter_table ("move and copy") drops them, and must create them again.

The statements are app.models.AUDIT_APPEND_ONLY_DDL, the same ones `db.create_all()` runs (as
0012 does with the slot counters); tests/test_audit_append_only.py checks a migrated database and
a created one.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 05:40:00

"""

from alembic import op

from app.models import AUDIT_APPEND_ONLY_DDL

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_event_agency_at", "audit_event", ["agency_id", "at"])
    op.create_index("ix_audit_event_object", "audit_event", ["object_type", "object_id"])
    dialect = op.get_bind().dialect.name
    for statement in AUDIT_APPEND_ONLY_DDL.get(dialect, ()):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    op.drop_index("ix_audit_event_object", table_name="audit_event")
    op.drop_index("ix_audit_event_agency_at", table_name="audit_event")
