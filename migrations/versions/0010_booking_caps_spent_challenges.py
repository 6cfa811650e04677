"""daily booking caps per e-mail domain and phone, spent proof-of-work challenges

service.daily_cap_per_domain / daily_cap_per_phone: None means the setting's default;
daily_booking_claim: the numbered places a day's bookings take per domain or phone (unique);
spent_challenge: proof-of-work challenges already used, kept until they expire.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 23:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service") as batch_op:
        batch_op.add_column(sa.Column("daily_cap_per_domain", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("daily_cap_per_phone", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "daily_cap_per_domain_positive", "daily_cap_per_domain IS NULL OR daily_cap_per_domain > 0"
        )
        batch_op.create_check_constraint(
            "daily_cap_per_phone_positive", "daily_cap_per_phone IS NULL OR daily_cap_per_phone > 0"
        )
    op.create_table(
        "daily_booking_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("place", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('domain', 'phone')", name=op.f("ck_daily_booking_claim_kind")),
        sa.CheckConstraint("place > 0", name=op.f("ck_daily_booking_claim_place_positive")),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_daily_booking_claim_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_booking_claim")),
        sa.UniqueConstraint(
            "service_id", "day", "kind", "key", "place", name=op.f("uq_daily_booking_claim_service_id_day_kind_key_place")
        ),
    )
    with op.batch_alter_table("daily_booking_claim") as batch_op:
        batch_op.create_index(batch_op.f("ix_daily_booking_claim_day"), ["day"], unique=False)
    op.create_table(
        "spent_challenge",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_spent_challenge")),
    )
    with op.batch_alter_table("spent_challenge") as batch_op:
        batch_op.create_index(batch_op.f("ix_spent_challenge_expires_at"), ["expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("spent_challenge") as batch_op:
        batch_op.drop_index(batch_op.f("ix_spent_challenge_expires_at"))
    op.drop_table("spent_challenge")
    with op.batch_alter_table("daily_booking_claim") as batch_op:
        batch_op.drop_index(batch_op.f("ix_daily_booking_claim_day"))
    op.drop_table("daily_booking_claim")
    with op.batch_alter_table("service") as batch_op:
        batch_op.drop_constraint("daily_cap_per_phone_positive", type_="check")
        batch_op.drop_constraint("daily_cap_per_domain_positive", type_="check")
        batch_op.drop_column("daily_cap_per_phone")
        batch_op.drop_column("daily_cap_per_domain")
