"""edges: rules, segments and program reloads

Revision ID: 0014
Revises: 0013

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "member_segments",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_segments_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", "source", "segment", name=op.f("pk_member_segments")),
    )
    op.create_index("ix_member_segments_segment", "member_segments", ["segment"], unique=False)
    op.create_table(
        "rule_budgets",
        sa.Column("rule_code", sa.String(length=64), nullable=False),
        sa.Column("spent_points", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("spent_points >= 0", name=op.f("ck_rule_budgets_spent_not_negative")),
        sa.PrimaryKeyConstraint("rule_code", name=op.f("pk_rule_budgets")),
    )


def downgrade() -> None:
    op.drop_table("rule_budgets")
    op.drop_index("ix_member_segments_segment", table_name="member_segments")
    op.drop_table("member_segments")
