"""analytics: daily rollups and KPIs

Revision ID: 0005
Revises: 0004

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "analytics_points_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "account", "kind", name=op.f("pk_analytics_points_daily")),
    )
    op.create_table(
        "analytics_member_days",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("earnings", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_analytics_member_days_member_id_members"),
        ),
        sa.PrimaryKeyConstraint("member_id", "day", name=op.f("pk_analytics_member_days")),
    )
    with op.batch_alter_table("analytics_member_days", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_member_days_day", ["day"], unique=False)
    op.create_table(
        "analytics_active_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("earners", sa.LargeBinary(), nullable=False),
        sa.Column("repeaters", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_analytics_active_months")),
    )
    op.create_table(
        "analytics_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_state")),
    )


def downgrade() -> None:
    op.drop_table("analytics_state")
    op.drop_table("analytics_active_months")
    with op.batch_alter_table("analytics_member_days", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_member_days_day")
    op.drop_table("analytics_member_days")
    op.drop_table("analytics_points_daily")
