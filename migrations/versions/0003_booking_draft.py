"""booking drafts: a booking in progress lives on the server, the cookie holds only its key

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 23:10:00

"""

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "booking_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_draft")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_booking_draft_key_hash")),
    )
    with op.batch_alter_table("booking_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_draft_expires_at"), ["expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("booking_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_draft_expires_at"))
    op.drop_table("booking_draft")
