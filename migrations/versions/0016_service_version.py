"""service: optimistic version column (two admins editing one service: the second save is refused),
and a turn prefix unique in its agency

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 05:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_unique_constraint(op.f("uq_service_agency_id_turn_prefix"), ["agency_id", "turn_prefix"])


def downgrade():
    with op.batch_alter_table("service") as batch_op:
        batch_op.drop_constraint(op.f("uq_service_agency_id_turn_prefix"), type_="unique")
        batch_op.drop_column("version")
