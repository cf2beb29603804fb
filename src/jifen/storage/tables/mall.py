"""The points mall: products and their stock adjustments, orders, stock held, and coupons."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

mall_products = sa.Table(
    "mall_products",
    metadata,
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, server_default="goods"),  # goods | coupon
    sa.Column("price_points", sa.BigInteger, nullable=False),
    sa.Column("cash_fen", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("stock", sa.BigInteger, nullable=False),
    sa.Column("per_member_limit", sa.Integer, nullable=True),
    sa.Column("sale_starts_at", UTCDateTime, nullable=True),
    sa.Column("sale_ends_at", UTCDateTime, nullable=True),
    sa.Column("coupon_valid_days", sa.Integer, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
    sa.CheckConstraint("price_points >= 0", name="price_not_negative"),
)

mall_orders = sa.Table(
    "mall_orders",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # the caller's id
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
    sa.Column("sku", sa.String(64), sa.ForeignKey("mall_products.sku"), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("cash_fen", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False),  # paid | fulfilled | cancelled | refunded
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("transaction_id", Id, sa.ForeignKey("ledger_transactions.id"), nullable=True),
    sa.Column("fulfilment", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_mall_orders_member_sku", "member_id", "sku"),
)

# Units taken off sale for a mall order whose payment has not settled yet (migration 0016). The
# order's first, short transaction inserts the row as it takes the stock; its payment deletes it
# as it stores the order; a failed payment, or the daily job for a row left behind, returns the
# units. Not a sale: listings, limits and reports read `mall_orders` only.
stock_holds = sa.Table(
    "stock_holds",
    metadata,
    sa.Column("order_id", sa.String(200), primary_key=True),  # the caller's order id
    sa.Column("sku", sa.String(64), sa.ForeignKey("mall_products.sku"), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
)

# Every relative change of a product's stock, append-only (migration 0021): `id` is the caller's
# idempotency key; the row, the stock change and its audit record commit together.
stock_adjustments = sa.Table(
    "stock_adjustments",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # the caller's id
    sa.Column("sku", sa.String(64), sa.ForeignKey("mall_products.sku"), nullable=False),
    sa.Column("change", sa.BigInteger, nullable=False),
    sa.Column("stock_after", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Index("ix_stock_adjustments_sku_at", "sku", "at"),
)

coupons = sa.Table(
    "coupons",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False, index=True),
    # The order id or the benefit that issued it (indexed in migration 0015: a grant's id is
    # looked up across members).
    sa.Column("source", sa.String(200), nullable=False, index=True),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("valid_until", sa.Date, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Column("used_by", sa.String(200), nullable=True),  # the integrator's redemption id
)
