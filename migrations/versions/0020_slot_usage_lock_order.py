"""slot_usage_count() on PostgreSQL locks both counters of a move in key order

Two reschedules swapping slots at the same instant each held their old slot's counter and waited
for the other's: a deadlock, which PostgreSQL ended by failing one of them. The trigger function
(app.models.SLOT_USAGE_TRIGGERS) now locks the old and the new slot's rows in one order first.
SQLite has one writer at a time and is unchanged.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 09:00:00

"""

from alembic import op

from app.models import SLOT_USAGE_TRIGGERS

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in SLOT_USAGE_TRIGGERS["postgresql"]:
            op.execute(statement)


def downgrade():
    """The lock order changes no counter and no column: the function stays as it is."""
