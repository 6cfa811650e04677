"""what the reports need: who cancelled, audio-only calls, the wait a turn was told

appointment.cancelled_by: "citizen" (manage link, API) or "agency" (staff at the counter);
cancellations before this migration count as the citizen's unless the audit log holds the
counter's record. call_session.audio_only: the call connected without the citizen's video.
turn.estimated_wait_minutes: the estimate shown when the turn was taken. An index on
appointment.start_at serves the agency-wide reports (the slot index leads with the service).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 05:30:00

"""

import sqlalchemy as sa
from alembic import op

from app.models import SLOT_USAGE_TRIGGERS

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _restore_slot_usage_triggers():
    """SQLite's batch mode rebuilds `appointment` as a new table, and its triggers (0012) go with
    the old one: create them again."""
    if op.get_bind().dialect.name == "sqlite":
        for name in ("slot_usage_insert", "slot_usage_update", "slot_usage_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in SLOT_USAGE_TRIGGERS["sqlite"]:
            op.execute(statement)


def upgrade():
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.add_column(sa.Column("cancelled_by", sa.String(length=10), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_appointment_cancelled_by"),
            "cancelled_by IS NULL OR cancelled_by IN ('citizen', 'agency')",
        )
        batch_op.create_index("ix_appointment_start_at", ["start_at"])
    _restore_slot_usage_triggers()
    op.execute("UPDATE appointment SET cancelled_by = 'citizen' WHERE status = 'cancelled'")
    op.execute(
        "UPDATE appointment SET cancelled_by = 'agency' WHERE status = 'cancelled' AND id IN "
        "(SELECT object_id FROM audit_event WHERE object_type = 'appointment' "
        "AND action = 'appointment.cancelled_at_counter')"
    )
    with op.batch_alter_table("call_session") as batch_op:
        batch_op.add_column(sa.Column("audio_only", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("turn") as batch_op:
        batch_op.add_column(sa.Column("estimated_wait_minutes", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("turn") as batch_op:
        batch_op.drop_column("estimated_wait_minutes")
    with op.batch_alter_table("call_session") as batch_op:
        batch_op.drop_column("audio_only")
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.drop_index("ix_appointment_start_at")
        batch_op.drop_constraint(op.f("ck_appointment_cancelled_by"), type_="check")
        batch_op.drop_column("cancelled_by")
    _restore_slot_usage_triggers()
