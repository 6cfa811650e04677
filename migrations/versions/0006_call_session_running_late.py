"""call_session.late_minutes / late_noted_at: the clerk's "running late" notice

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 00:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("call_session") as batch_op:
        batch_op.add_column(sa.Column("late_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("late_noted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("call_session") as batch_op:
        batch_op.drop_column("late_noted_at")
        batch_op.drop_column("late_minutes")
