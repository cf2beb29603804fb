"""The points mall: products, orders, stock held for unsettled orders, and coupons."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    true,
)

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

mall_products = Table(
    "mall_products",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False, server_default="goods"),  # goods | coupon
    Column("price_points", BigInteger, nullable=False),
    Column("cash_fen", BigInteger, nullable=False, server_default="0"),
    Column("stock", BigInteger, nullable=False),
    Column("per_member_limit", Integer, nullable=True),
    Column("sale_starts_at", UTCDateTime, nullable=True),
    Column("sale_ends_at", UTCDateTime, nullable=True),
    Column("coupon_valid_days", Integer, nullable=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    CheckConstraint("stock >= 0", name="stock_not_negative"),
    CheckConstraint("price_points >= 0", name="price_not_negative"),
)

mall_orders = Table(
    "mall_orders",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("sku", String(64), ForeignKey("mall_products.sku"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("cash_fen", BigInteger, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False),  # paid | fulfilled | cancelled | refunded
    Column("request_hash", String(64), nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("fulfilment", JSON, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_mall_orders_member_sku", "member_id", "sku"),
)

# Units taken off sale for a mall order whose payment has not settled yet (migration 0016). The
# order's first, short transaction inserts the row as it takes the stock; its payment deletes it
# as it stores the order; a failed payment, or the daily job for a row left behind, returns the
# units. Not a sale: listings, limits and reports read `mall_orders` only.
stock_holds = Table(
    "stock_holds",
    metadata,
    Column("order_id", String(200), primary_key=True),  # the caller's order id
    Column("sku", String(64), ForeignKey("mall_products.sku"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
)

coupons = Table(
    "coupons",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    # The order id or the benefit that issued it (indexed in migration 0015: a grant's id is
    # looked up across members).
    Column("source", String(200), nullable=False, index=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("used_by", String(200), nullable=True),  # the integrator's redemption id
)
