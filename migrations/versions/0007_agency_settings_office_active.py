"""agency settings shown to citizens (contact, banner), office active flag, optimistic versions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 23:55:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agency") as batch_op:
        batch_op.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("banner_es", sa.String(length=300), server_default="", nullable=False))
        batch_op.add_column(sa.Column("banner_en", sa.String(length=300), server_default="", nullable=False))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("office") as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade():
    with op.batch_alter_table("office") as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("active")
    with op.batch_alter_table("agency") as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("banner_en")
        batch_op.drop_column("banner_es")
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("contact_email")
