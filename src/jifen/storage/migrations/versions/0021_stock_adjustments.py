"""stock adjustments: every relative change of a product's stock, by the caller's id

Revision ID: 0021
Revises: 0020

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_adjustments",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("change", sa.BigInteger(), nullable=False),
        sa.Column("stock_after", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["sku"], ["mall_products.sku"], name=op.f("fk_stock_adjustments_sku_mall_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_adjustments")),
    )
    with op.batch_alter_table("stock_adjustments", schema=None) as batch_op:
        batch_op.create_index("ix_stock_adjustments_sku_at", ["sku", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stock_adjustments", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_adjustments_sku_at")
    op.drop_table("stock_adjustments")
