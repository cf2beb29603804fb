"""accounting: breakage estimates and journals

Revision ID: 0006
Revises: 0005

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "breakage_estimates",
        sa.Column("id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("numerator", sa.BigInteger(), nullable=False),
        sa.Column("denominator", sa.BigInteger(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "rate_bps >= 0 AND rate_bps <= 10000", name=op.f("ck_breakage_estimates_rate_in_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breakage_estimates")),
        sa.UniqueConstraint("key", name=op.f("uq_breakage_estimates_key")),
        sa.UniqueConstraint("version", name=op.f("uq_breakage_estimates_version")),
    )
    with op.batch_alter_table("breakage_estimates", schema=None) as batch_op:
        batch_op.create_index("ix_breakage_estimates_as_of", ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("breakage_estimates", schema=None) as batch_op:
        batch_op.drop_index("ix_breakage_estimates_as_of")
    op.drop_table("breakage_estimates")
