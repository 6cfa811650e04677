"""appointment calendar sequence: the .ics SEQUENCE, raised at each new time and at a cancellation

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.add_column(sa.Column("calendar_sequence", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.drop_column("calendar_sequence")
