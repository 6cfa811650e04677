"""staff lockout and password reset links

staff.failed_logins, last_failed_login_at and locked_until: the temporary lockout after repeated wrong passwords;
password_reset: single-use links that set a staff member's password (only the token's hash).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 23:59:00

"""

import sqlalchemy as sa
from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff") as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_failed_login_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name="fk_password_reset_staff_id_staff", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_password_reset"),
        sa.UniqueConstraint("token_hash", name="uq_password_reset_token_hash"),
    )
    op.create_index("ix_password_reset_staff_id", "password_reset", ["staff_id"])


def downgrade():
    op.drop_index("ix_password_reset_staff_id", table_name="password_reset")
    op.drop_table("password_reset")
    with op.batch_alter_table("staff") as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("last_failed_login_at")
        batch_op.drop_column("failed_logins")
