"""campaigns: campaigns, budgets and control groups

Revision ID: 0007
Revises: 0006

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("effect", sa.JSON(), nullable=False),
        sa.Column("control_percent", sa.Integer(), nullable=False),
        sa.Column("budget_points", sa.BigInteger(), nullable=False),
        sa.Column("spent_points", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "spent_points >= 0 AND spent_points <= budget_points",
            name=op.f("ck_campaigns_within_budget"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index("ix_campaigns_status_window", ["status", "starts_at"], unique=False)

    op.create_table(
        "campaign_trips",
        sa.Column("id", ID, nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("arm", sa.String(length=8), nullable=False),
        sa.Column("fare_fen", sa.BigInteger(), nullable=False),
        sa.Column("base_points", sa.BigInteger(), nullable=False),
        sa.Column("bonus_points", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", ID, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_trips_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_campaign_trips_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_campaign_trips_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_trips")),
        sa.UniqueConstraint("campaign_id", "event_id", name="uq_campaign_trips_event"),
    )
    with op.batch_alter_table("campaign_trips", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_trips_campaign_member", ["campaign_id", "member_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_trips", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_trips_campaign_member")
    op.drop_table("campaign_trips")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_status_window")
    op.drop_table("campaigns")
