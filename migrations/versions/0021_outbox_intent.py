"""outbox_message.intent: appointment e-mails are queued as what to say and rendered when sent

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.add_column(sa.Column("intent", sa.JSON(), nullable=True))


def downgrade():
    # An appointment e-mail still pending has no body without its intent: send what is due first.
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.drop_column("intent")
