"""seats taken per slot, kept by triggers

slot_usage counts the seats taken in each (service, office, start) slot, so availability reads one
row per booked slot instead of counting appointments (issue 13, item 8). Triggers on appointment
keep it (app.models.SLOT_USAGE_TRIGGERS, the same statements `db.create_all()` runs); the table is
filled from the appointments holding a seat today.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 00:00:00

"""

import sqlalchemy as sa
from alembic import op

from app.models import SLOT_USAGE_TRIGGERS, UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "slot_usage",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.CheckConstraint("taken >= 0", name=op.f("ck_slot_usage_taken_not_negative")),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], name=op.f("fk_slot_usage_service_id_service")),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name=op.f("fk_slot_usage_office_id_office")),
        sa.PrimaryKeyConstraint("service_id", "office_id", "start_at", name=op.f("pk_slot_usage")),
    )
    op.execute(
        "INSERT INTO slot_usage (service_id, office_id, start_at, taken) "
        "SELECT service_id, office_id, start_at, COUNT(*) FROM appointment "
        "WHERE seat IS NOT NULL GROUP BY service_id, office_id, start_at"
    )
    for statement in SLOT_USAGE_TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS slot_usage_count ON appointment")
        op.execute("DROP FUNCTION IF EXISTS slot_usage_count()")
    else:
        for name in ("slot_usage_insert", "slot_usage_update", "slot_usage_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("slot_usage")
