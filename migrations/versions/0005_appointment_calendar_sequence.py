"""appointment calendar sequence and page join token

calendar_sequence: the .ics SEQUENCE, raised at each new time, at a cancellation and when the
links are sent again; page_join_token_hash: the join link of the manage page's "Join" button.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.add_column(sa.Column("calendar_sequence", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("page_join_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_appointment_page_join_token_hash", ["page_join_token_hash"])


def downgrade():
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.drop_constraint("uq_appointment_page_join_token_hash", type_="unique")
        batch_op.drop_column("page_join_token_hash")
        batch_op.drop_column("calendar_sequence")
