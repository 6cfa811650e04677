"""staff invitations and the staff version

staff_invitation: an e-mailed single-use link (only the token's hash) inviting someone to an
agency's staff with a role; the account is created when the invitee chooses a password.
staff.version: raised by every administration change of an account (role, active), so a form
filled in against an older state is refused.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 05:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "staff_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("role IN ('clerk', 'admin', 'superadmin')", name=op.f("ck_staff_invitation_role")),
        sa.CheckConstraint("language IN ('es', 'en')", name=op.f("ck_staff_invitation_language")),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name="fk_staff_invitation_agency_id_agency"),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["staff.id"], name="fk_staff_invitation_invited_by_id_staff", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staff_invitation"),
        sa.UniqueConstraint("token_hash", name="uq_staff_invitation_token_hash"),
    )
    op.create_index("ix_staff_invitation_agency_id", "staff_invitation", ["agency_id"])
    op.create_index("ix_staff_invitation_email", "staff_invitation", ["email"])


def downgrade():
    op.drop_index("ix_staff_invitation_email", table_name="staff_invitation")
    op.drop_index("ix_staff_invitation_agency_id", table_name="staff_invitation")
    op.drop_table("staff_invitation")
    with op.batch_alter_table("staff") as batch_op:
        batch_op.drop_column("version")
