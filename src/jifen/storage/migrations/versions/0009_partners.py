"""partners: partners, miles exchange and recommendations

Revision ID: 0009
Revises: 0008

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# -- partners ------------------------------------------------------------------------------------
def _upgrade_partners() -> None:
    op.create_table(
        "partners",
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("point_kind", sa.String(length=24), nullable=False),
        sa.Column("max_points_per_award", sa.BigInteger(), nullable=False),
        sa.Column("max_points_per_member_day", sa.BigInteger(), nullable=False),
        sa.Column("max_points_per_month", sa.BigInteger(), nullable=False),
        sa.Column("exchange_miles", sa.Integer(), nullable=True),
        sa.Column("exchange_points", sa.Integer(), nullable=True),
        sa.Column("min_miles", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("price_per_1000_points_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "max_points_per_award > 0 AND max_points_per_member_day > 0 "
            "AND max_points_per_month > 0",
            name=op.f("ck_partners_limits_positive"),
        ),
        sa.CheckConstraint(
            "(exchange_miles IS NULL AND exchange_points IS NULL)"
            " OR (exchange_miles > 0 AND exchange_points > 0)",
            name=op.f("ck_partners_rate_positive"),
        ),
        sa.CheckConstraint(
            "price_per_1000_points_fen >= 0", name=op.f("ck_partners_price_not_negative")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_partners")),
    )
    op.create_table(
        "partner_months",
        sa.Column("partner_code", sa.String(length=24), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("points", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("points >= 0", name=op.f("ck_partner_months_points_not_negative")),
        sa.ForeignKeyConstraint(
            ["partner_code"],
            ["partners.code"],
            name=op.f("fk_partner_months_partner_code_partners"),
        ),
        sa.PrimaryKeyConstraint("partner_code", "month", name=op.f("pk_partner_months")),
    )
    op.create_table(
        "partner_operations",
        sa.Column("id", ID, nullable=False),
        sa.Column("partner_code", sa.String(length=24), nullable=False),
        sa.Column("op_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("miles", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reverses_op_id", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_partner_operations_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["partner_code"],
            ["partners.code"],
            name=op.f("fk_partner_operations_partner_code_partners"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_partner_operations_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_operations")),
        sa.UniqueConstraint("partner_code", "op_id", name=op.f("uq_partner_operations_partner_op")),
    )
    with op.batch_alter_table("partner_operations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_partner_operations_partner_day", ["partner_code", "day"], unique=False
        )
        batch_op.create_index(
            "ix_partner_operations_member_day", ["member_id", "day"], unique=False
        )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_code", sa.String(length=24), nullable=True))


def _downgrade_partners() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("partner_code")
    with op.batch_alter_table("partner_operations", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_operations_member_day")
        batch_op.drop_index("ix_partner_operations_partner_day")
    op.drop_table("partner_operations")
    op.drop_table("partner_months")
    op.drop_table("partners")


# -- end of partners -----------------------------------------------------------------------------


def upgrade() -> None:
    _upgrade_partners()


def downgrade() -> None:
    _downgrade_partners()
