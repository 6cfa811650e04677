"""follow-up documents and the time of the outcome

document.source may be "follow_up": a document the citizen sent from the manage page after a
"documents missing" outcome, kept beside the ones the clerk saw. appointment.outcome_at: when the
outcome was recorded, from which the follow-up window counts; appointments closed before this
migration take their last update time.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 00:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.add_column(sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE appointment SET outcome_at = updated_at WHERE outcome IS NOT NULL")
    with op.batch_alter_table("document") as batch_op:
        batch_op.drop_constraint(op.f("ck_document_source"), type_="check")
        batch_op.create_check_constraint(op.f("ck_document_source"), "source IN ('citizen', 'clerk', 'follow_up')")


def downgrade():
    op.execute("DELETE FROM document WHERE source = 'follow_up'")
    with op.batch_alter_table("document") as batch_op:
        batch_op.drop_constraint(op.f("ck_document_source"), type_="check")
        batch_op.create_check_constraint(op.f("ck_document_source"), "source IN ('citizen', 'clerk')")
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.drop_column("outcome_at")
