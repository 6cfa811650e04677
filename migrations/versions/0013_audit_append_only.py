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

The SQL is copied here on purpose (a migration is history): app/models.py holds the same
statements as AUDIT_APPEND_ONLY_DDL, which create_all runs, and tests/test_audit_append_only.py
checks both.

Revision ID: 0013_audit_append_only
Revises: 0012
Create Date: 2026-12-03 05:40:00

"""

from alembic import op

revision = "0013_audit_append_only"
down_revision = "0012"
branch_labels = None
depends_on = None

POSTGRESQL = (
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
)
SQLITE = (
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
)


def upgrade():
    op.create_index("ix_audit_event_agency_at", "audit_event", ["agency_id", "at"])
    op.create_index("ix_audit_event_object", "audit_event", ["object_type", "object_id"])
    dialect = op.get_bind().dialect.name
    for statement in {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(dialect, ()):
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
