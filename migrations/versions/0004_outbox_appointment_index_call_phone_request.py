"""outbox_message.appointment_id indexed; the phone-call request kept on the call session

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 23:30:00

Every cancel, reschedule and outcome filters the outbox on appointment_id, and the clerk's
console asked the audit log, per appointment and render, whether the citizen wanted a phone call.
Requests already in the audit log move onto the call sessions (a session is opened where there
was none yet); the audit records stay.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

REQUESTS = (
    "SELECT object_id AS appointment_id, MIN(at) AS requested_at FROM audit_event "
    "WHERE action = 'call.phone_requested' AND object_type = 'appointment' AND object_id IS NOT NULL "
    "GROUP BY object_id"
)


def upgrade():
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_message_appointment_id"), ["appointment_id"], unique=False)
    with op.batch_alter_table("call_session") as batch_op:
        batch_op.add_column(sa.Column("phone_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE call_session SET phone_requested_at = (SELECT r.requested_at FROM ("
        + REQUESTS
        + ") r WHERE r.appointment_id = call_session.appointment_id) "
        "WHERE appointment_id IN (SELECT object_id FROM audit_event "
        "WHERE action = 'call.phone_requested' AND object_type = 'appointment')"
    )
    op.execute(
        "INSERT INTO call_session (appointment_id, phone_requested_at) "
        "SELECT r.appointment_id, r.requested_at FROM (" + REQUESTS + ") r "
        "WHERE r.appointment_id IN (SELECT id FROM appointment) "
        "AND r.appointment_id NOT IN (SELECT appointment_id FROM call_session)"
    )


def downgrade():
    with op.batch_alter_table("call_session") as batch_op:
        batch_op.drop_column("phone_requested_at")
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_appointment_id"))
