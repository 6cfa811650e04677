"""agency.publishes_open_data: the agency's monthly figures are published at /datos/<slug> (opt-in)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 07:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agency") as batch_op:
        batch_op.add_column(
            sa.Column("publishes_open_data", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("agency") as batch_op:
        batch_op.drop_column("publishes_open_data")
