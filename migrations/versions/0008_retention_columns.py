"""retention: per-agency retention days, and when an appointment or turn was anonymised

agency.document_retention_days / personal_data_retention_days: NULL means the site's
RETENTION_DOCUMENT_DAYS / RETENTION_PERSONAL_DATA_DAYS; appointment.anonymised_at and
turn.anonymised_at: when `flask purge` anonymised the citizen's data.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 23:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agency") as batch_op:
        batch_op.add_column(sa.Column("document_retention_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("personal_data_retention_days", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_agency_document_retention_days"),
            "document_retention_days IS NULL OR document_retention_days >= 1",
        )
        batch_op.create_check_constraint(
            op.f("ck_agency_personal_data_retention_days"),
            "personal_data_retention_days IS NULL OR personal_data_retention_days >= 1",
        )
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("turn") as batch_op:
        batch_op.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("turn") as batch_op:
        batch_op.drop_column("anonymised_at")
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.drop_column("anonymised_at")
    with op.batch_alter_table("agency") as batch_op:
        batch_op.drop_constraint(op.f("ck_agency_personal_data_retention_days"), type_="check")
        batch_op.drop_constraint(op.f("ck_agency_document_retention_days"), type_="check")
        batch_op.drop_column("personal_data_retention_days")
        batch_op.drop_column("document_retention_days")
