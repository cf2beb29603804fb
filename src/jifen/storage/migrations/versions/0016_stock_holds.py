"""flash sale: stock held for orders whose payment has not settled

Revision ID: 0016
Revises: 0015

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stock_holds",
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_stock_holds_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["mall_products.sku"], name=op.f("fk_stock_holds_sku_mall_products")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_stock_holds")),
    )
    with op.batch_alter_table("stock_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_holds_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stock_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_holds_created_at"))
    op.drop_table("stock_holds")
