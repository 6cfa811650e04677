"""closures span a range of days; offices' hours carry a version of their own

closure.day becomes closure.first_day and closure.last_day (both included): an existing one-day
closure keeps its day as both. The unique (agency, office, day) goes: overlapping closures are
refused by app/closures.py, which can name the one in the way. office.hours_version: the version
the opening-hours page checks (409 on a stale form), apart from the office's own `version`.

Downgrade: each range is written back as one row per day (the reason repeated).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 00:00:00

"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("office") as batch_op:
        batch_op.add_column(sa.Column("hours_version", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("closure") as batch_op:
        batch_op.add_column(sa.Column("first_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_day", sa.Date(), nullable=True))
    op.execute("UPDATE closure SET first_day = day, last_day = day")
    with op.batch_alter_table("closure") as batch_op:
        batch_op.alter_column("first_day", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("last_day", existing_type=sa.Date(), nullable=False)
        batch_op.drop_constraint(op.f("uq_closure_agency_id_office_id_day"), type_="unique")
        batch_op.drop_column("day")
        batch_op.create_check_constraint(
            op.f("ck_closure_first_day_not_after_last_day"), "first_day <= last_day"
        )


def downgrade():
    connection = op.get_bind()
    closure = sa.table(
        "closure",
        sa.column("id", sa.Integer),
        sa.column("agency_id", sa.Integer),
        sa.column("office_id", sa.Integer),
        sa.column("first_day", sa.Date),
        sa.column("last_day", sa.Date),
        sa.column("reason_es", sa.String),
        sa.column("reason_en", sa.String),
    )
    ranges = connection.execute(sa.select(closure).where(closure.c.first_day < closure.c.last_day)).all()
    with op.batch_alter_table("closure") as batch_op:
        batch_op.drop_constraint(op.f("ck_closure_first_day_not_after_last_day"), type_="check")
        batch_op.add_column(sa.Column("day", sa.Date(), nullable=True))
    op.execute("UPDATE closure SET day = first_day")
    day_rows = sa.table(
        "closure",
        sa.column("agency_id", sa.Integer),
        sa.column("office_id", sa.Integer),
        sa.column("day", sa.Date),
        sa.column("first_day", sa.Date),
        sa.column("last_day", sa.Date),
        sa.column("reason_es", sa.String),
        sa.column("reason_en", sa.String),
    )
    for row in ranges:  # the first day is already in the row itself
        for offset in range(1, (row.last_day - row.first_day).days + 1):
            day = row.first_day + dt.timedelta(days=offset)
            connection.execute(
                day_rows.insert().values(
                    agency_id=row.agency_id,
                    office_id=row.office_id,
                    day=day,
                    first_day=day,
                    last_day=day,
                    reason_es=row.reason_es,
                    reason_en=row.reason_en,
                )
            )
    # Overlapping ranges of one office could give the same day twice: keep one of each.
    op.execute(
        "DELETE FROM closure WHERE id NOT IN (SELECT MIN(id) FROM closure GROUP BY agency_id, office_id, day)"
    )
    with op.batch_alter_table("closure") as batch_op:
        batch_op.alter_column("day", existing_type=sa.Date(), nullable=False)
        batch_op.drop_column("last_day")
        batch_op.drop_column("first_day")
        batch_op.create_unique_constraint(
            op.f("uq_closure_agency_id_office_id_day"), ["agency_id", "office_id", "day"]
        )
    with op.batch_alter_table("office") as batch_op:
        batch_op.drop_column("hours_version")
