"""SQL for mall products and their stock adjustments, orders, coupons and donations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from jifen.domain.orders import OrderState
from jifen.storage.rows import from_row, newest_first, to_row
from jifen.storage.tables import (
    coupons,
    donations,
    mall_orders,
    mall_products,
    members,
    stock_adjustments,
    stock_holds,
)

LIVE_ORDER_STATUSES = (OrderState.PAID, OrderState.FULFILLED)
"""Orders that count toward a member's per-product limit (not cancelled or refunded)."""


class MallRowTaken(Exception):
    """A concurrent request stored this order or donation id first (the UoW is spoilt)."""


@dataclass(frozen=True, slots=True)
class Product:
    """A mall product as stored: its price, what is left to sell, and when it is on sale."""

    sku: str
    name: str
    kind: str
    price_points: int
    cash_fen: int
    stock: int
    per_member_limit: int | None
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    coupon_valid_days: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class StockAdjustment:
    """A relative change of a product's stock as stored; `id` is the caller's."""

    id: str
    sku: str
    change: int
    stock_after: int
    reason: str
    actor: str
    at: datetime
    request_hash: str


@dataclass(frozen=True, slots=True)
class MallOrder:
    """A mall order as stored."""

    id: str
    member_id: int
    sku: str
    quantity: int
    points: int
    cash_fen: int
    status: str
    request_hash: str
    transaction_id: int | None
    fulfilment: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StockHold:
    """Units taken off sale for an order whose payment has not settled yet: not a sale."""

    order_id: str
    sku: str
    quantity: int
    member_id: int
    request_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Coupon:
    """A coupon or voucher code held by a member."""

    code: str
    type: str
    member_id: int
    source: str
    issued_at: datetime
    valid_until: date
    used_at: datetime | None
    used_by: str | None


@dataclass(frozen=True, slots=True)
class Donation:
    """Points a member gave to a charity, with the receipt number."""

    id: str
    member_id: int
    charity: str
    points: int
    receipt_no: str
    transaction_id: int
    at: datetime


def _order(row: Any) -> MallOrder:
    return MallOrder(
        row.id,
        row.member_id,
        row.sku,
        row.quantity,
        row.points,
        row.cash_fen,
        row.status,
        row.request_hash,
        row.transaction_id,
        dict(row.fulfilment or {}),
        row.created_at,
        row.updated_at,
    )


class MallRepository:
    """Mall products, orders, coupons and donations."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _insert(self, statement: Any, table: str, key: str = "id") -> None:
        try:
            self.connection.execute(statement)
        except IntegrityError as error:
            # Both databases name the violated key: "pk_<table>" or "<table>.<key>".
            message = str(error.orig)
            if f"pk_{table}" in message or f"{table}.{key}" in message:
                raise MallRowTaken(table) from error
            raise

    # -- products ------------------------------------------------------------------------------
    def get_product(self, sku: str) -> Product | None:
        """A product by sku (active or not), read without a lock."""
        row = self.connection.execute(select(mall_products).where(mall_products.c.sku == sku))
        found = row.first()
        return None if found is None else from_row(Product, found)

    def put_product(self, product: Product) -> None:
        """Insert the product, or replace every field of the one with its sku."""
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        values = {
            "sku": product.sku,
            "name": product.name,
            "kind": product.kind,
            "price_points": product.price_points,
            "cash_fen": product.cash_fen,
            "stock": product.stock,
            "per_member_limit": product.per_member_limit,
            "sale_starts_at": product.sale_starts_at,
            "sale_ends_at": product.sale_ends_at,
            "coupon_valid_days": product.coupon_valid_days,
            "active": product.active,
        }
        statement = dialect.insert(mall_products).values(**values)
        self.connection.execute(
            statement.on_conflict_do_update(
                index_elements=["sku"], set_={k: v for k, v in values.items() if k != "sku"}
            )
        )

    def active_products(self) -> list[Product]:
        """Every product on offer, by sku."""
        query = (
            select(mall_products)
            .where(mall_products.c.active.is_(True))
            .order_by(mall_products.c.sku)
        )
        return [from_row(Product, r) for r in self.connection.execute(query)]

    def take_stock(self, sku: str, quantity: int) -> bool:
        """Take `quantity` units if that many are left; False (nothing taken) otherwise.

        One conditional UPDATE: on PostgreSQL it locks the product row until the transaction
        ends, and a waiting order re-checks `stock >= quantity` against the committed stock, so
        concurrent orders can never take more than there is.
        """
        result = self.connection.execute(
            update(mall_products)
            .where(and_(mall_products.c.sku == sku, mall_products.c.stock >= quantity))
            .values(stock=mall_products.c.stock - quantity)
        )
        return result.rowcount == 1

    def add_stock(self, sku: str, change: int) -> bool:
        """Add `change` (either sign) to the stock unless it would go below 0; False then."""
        result = self.connection.execute(
            update(mall_products)
            .where(and_(mall_products.c.sku == sku, mall_products.c.stock + change >= 0))
            .values(stock=mall_products.c.stock + change)
        )
        return result.rowcount == 1

    def get_stock_adjustment(self, adjustment_id: str) -> StockAdjustment | None:
        """A stock adjustment by the caller's id."""
        query = select(stock_adjustments).where(stock_adjustments.c.id == adjustment_id)
        row = self.connection.execute(query).first()
        return None if row is None else from_row(StockAdjustment, row)

    def insert_stock_adjustment(self, adjustment: StockAdjustment) -> None:
        """Record a stock adjustment; `MallRowTaken` if its id is already used."""
        self._insert(insert(stock_adjustments).values(**to_row(adjustment)), "stock_adjustments")

    def stock_adjustments_of(
        self, sku: str, *, before: tuple[datetime, str] | None, limit: int
    ) -> list[StockAdjustment]:
        """The product's stock adjustments, newest first, from after the position `before`."""
        a = stock_adjustments.c
        query = newest_first(
            select(stock_adjustments).where(a.sku == sku), a.at, a.id, before=before, limit=limit
        )
        return [from_row(StockAdjustment, row) for row in self.connection.execute(query)]

    def return_stock(self, sku: str, quantity: int) -> None:
        """Put `quantity` units back on sale (a cancelled order)."""
        self.connection.execute(
            update(mall_products)
            .where(mall_products.c.sku == sku)
            .values(stock=mall_products.c.stock + quantity)
        )

    # -- holds ---------------------------------------------------------------------------------
    def hold_stock(self, hold: StockHold) -> bool:
        """Record the hold and take its units off sale; False (nothing done) if too few are left.

        The row goes in first, so an order id that holds units already fails (`MallRowTaken`)
        before the product row is touched; the stock comes last, so the product row is locked
        for as short a time as can be before the caller commits.
        """
        self._insert(insert(stock_holds).values(**to_row(hold)), "stock_holds", key="order_id")
        if self.take_stock(hold.sku, hold.quantity):
            return True
        self.delete_hold(hold.order_id)
        return False

    def get_hold(self, order_id: str, *, lock: bool = False) -> StockHold | None:
        """An order's hold; `lock` holds its row until the transaction ends."""
        query = select(stock_holds).where(stock_holds.c.order_id == order_id)
        row = self.connection.execute(query.with_for_update() if lock else query).first()
        return None if row is None else from_row(StockHold, row)

    def delete_hold(self, order_id: str) -> None:
        """Forget a hold: its order now has the units, or they went back on sale."""
        self.connection.execute(delete(stock_holds).where(stock_holds.c.order_id == order_id))

    def release_hold(self, hold: StockHold) -> None:
        """Put a hold's units back on sale and forget it; the caller has locked its row."""
        self.return_stock(hold.sku, hold.quantity)
        self.delete_hold(hold.order_id)

    def release_stale_holds(self, *, before: datetime) -> list[StockHold]:
        """Release every hold taken before `before`, skipping those an order is paying for now."""
        query = (
            select(stock_holds)
            .where(stock_holds.c.created_at < before)
            .order_by(stock_holds.c.order_id)
            .with_for_update(skip_locked=True)
        )
        holds = [from_row(StockHold, row) for row in self.connection.execute(query)]
        units: dict[str, int] = {}
        for hold in holds:
            units[hold.sku] = units.get(hold.sku, 0) + hold.quantity
        for sku in sorted(units):  # products locked in one order, as two sweeps would take them
            self.return_stock(sku, units[sku])
        ids = [hold.order_id for hold in holds]
        self.connection.execute(delete(stock_holds).where(stock_holds.c.order_id.in_(ids)))
        return holds

    # -- orders --------------------------------------------------------------------------------
    def get_order(self, order_id: str, *, lock: bool = False) -> MallOrder | None:
        """An order by id; `lock` holds its row until the transaction ends."""
        query = select(mall_orders).where(mall_orders.c.id == order_id)
        row = self.connection.execute(query.with_for_update() if lock else query).first()
        return None if row is None else _order(row)

    def orders_of(
        self, member_id: int, *, before: tuple[datetime, str] | None, limit: int
    ) -> list[MallOrder]:
        """The member's orders, newest first, from after the position `before`."""
        o = mall_orders.c
        query = select(mall_orders).where(o.member_id == member_id)
        query = newest_first(query, o.created_at, o.id, before=before, limit=limit)
        return [_order(row) for row in self.connection.execute(query)]

    def units_bought(self, member_id: int, sku: str) -> int:
        """Units of a product the member holds in orders that are not cancelled or refunded."""
        query = select(func.coalesce(func.sum(mall_orders.c.quantity), 0)).where(
            and_(
                mall_orders.c.member_id == member_id,
                mall_orders.c.sku == sku,
                mall_orders.c.status.in_(LIVE_ORDER_STATUSES),
            )
        )
        return int(self.connection.execute(query).scalar_one())

    def insert_order(self, order: MallOrder) -> None:
        """Store a new order; `MallRowTaken` if its id is already used."""
        self._insert(
            insert(mall_orders).values(**to_row(order)),
            "mall_orders",
        )

    def update_order(
        self, order_id: str, *, status: str, fulfilment: dict[str, Any], at: datetime
    ) -> None:
        """Move an order (locked by the caller) to `status` with its new fulfilment record."""
        self.connection.execute(
            update(mall_orders)
            .where(mall_orders.c.id == order_id)
            .values(status=status, fulfilment=fulfilment, updated_at=at)
        )

    # -- coupons -------------------------------------------------------------------------------
    def lock_member(self, member_id: int) -> bool:
        """Hold the member's row (FOR NO KEY UPDATE: inserts that reference it still pass).

        Serialises grants of coupons to one member; False if there is no such member.
        """
        query = (
            select(members.c.id).where(members.c.id == member_id).with_for_update(key_share=True)
        )
        return self.connection.execute(query).first() is not None

    def get_coupon(self, code: str) -> Coupon | None:
        """A coupon by code."""
        row = self.connection.execute(select(coupons).where(coupons.c.code == code)).first()
        return None if row is None else from_row(Coupon, row)

    def taken_codes(self, codes: list[str]) -> set[str]:
        """Which of these codes are already issued."""
        query = select(coupons.c.code).where(coupons.c.code.in_(codes))
        return set(self.connection.execute(query).scalars())

    def insert_coupons(self, issued: list[Coupon]) -> None:
        """Store newly issued coupons."""
        self.connection.execute(
            insert(coupons),
            [
                {
                    "code": c.code,
                    "type": c.type,
                    "member_id": c.member_id,
                    "source": c.source,
                    "issued_at": c.issued_at,
                    "valid_until": c.valid_until,
                }
                for c in issued
            ],
        )

    def coupons_of(self, member_id: int, *, source: str | None = None) -> list[Coupon]:
        """A member's coupons (those from one `source` if given), newest first."""
        condition = coupons.c.member_id == member_id
        if source is not None:
            condition = and_(condition, coupons.c.source == source)
        query = (
            select(coupons).where(condition).order_by(coupons.c.issued_at.desc(), coupons.c.code)
        )
        return [from_row(Coupon, r) for r in self.connection.execute(query)]

    def coupon_page(
        self, member_id: int, *, before: tuple[datetime, str] | None, limit: int
    ) -> list[Coupon]:
        """The member's coupons, newest first, from after the position `before`."""
        c = coupons.c
        query = select(coupons).where(c.member_id == member_id)
        query = newest_first(query, c.issued_at, c.code, before=before, limit=limit)
        return [from_row(Coupon, row) for row in self.connection.execute(query)]

    def coupons_issued_by(self, member_id: int, sources: Sequence[str]) -> list[Coupon]:
        """The member's coupons from any of `sources` (orders, grants), oldest code first."""
        c = coupons.c
        query = select(coupons).where(c.member_id == member_id, c.source.in_(list(sources)))
        return [from_row(Coupon, row) for row in self.connection.execute(query.order_by(c.code))]

    def coupons_from(self, source: str) -> list[Coupon]:
        """Every member's coupons from one `source` (a grant's id, an order), oldest first."""
        query = select(coupons).where(coupons.c.source == source).order_by(coupons.c.code)
        return [from_row(Coupon, r) for r in self.connection.execute(query)]

    def use_coupon(self, code: str, *, at: datetime, used_by: str) -> bool:
        """Mark an unused coupon used; False if it was used already (by anyone)."""
        result = self.connection.execute(
            update(coupons)
            .where(and_(coupons.c.code == code, coupons.c.used_at.is_(None)))
            .values(used_at=at, used_by=used_by)
        )
        return result.rowcount == 1

    # -- donations -----------------------------------------------------------------------------
    def get_donation(self, donation_id: str) -> Donation | None:
        """A donation by the caller's id."""
        query = select(donations).where(donations.c.id == donation_id)
        row = self.connection.execute(query).first()
        if row is None:
            return None
        return Donation(
            row.id,
            row.member_id,
            row.charity,
            row.points,
            row.receipt_no,
            row.transaction_id,
            row.at,
        )

    def insert_donation(self, donation: Donation) -> None:
        """Store a donation; `MallRowTaken` if its id is already used."""
        self._insert(
            insert(donations).values(**to_row(donation)),
            "donations",
        )
