"""A points-mall order (积分商城) on the in-memory unit of work: stock, limits, points, replays.

SPEC §6: products have a points price, stock and per-member limits; a flash sale opens at a set
time and never oversells or charges twice; an order is paid, then fulfilled by the warehouse or
cancelled and refunded. The railway preset pays for the mall with activity points.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from jifen.domain.errors import IdempotencyConflict, InsufficientPoints, JifenError
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.mall import (
    InProcessWarehouse,
    PlacedOrder,
    cancel_order,
    define_product,
    place_order,
)
from jifen.storage.mall_repository import Product
from tests.conftest import SHANGHAI
from tests.fakes import FakeUnitOfWork

NOW = datetime(2025, 6, 1, 10, tzinfo=SHANGHAI)


def product(
    sku: str = "mug",
    *,
    price_points: int = 500,
    stock: int = 10,
    per_member_limit: int | None = None,
    sale_starts_at: datetime | None = None,
    kind: str = "goods",
) -> Product:
    coupon_days = 30 if kind == "coupon" else None
    return Product(
        sku, sku, kind, price_points, 0, stock, per_member_limit, sale_starts_at, None,
        coupon_days, True,
    )  # fmt: skip


class Mall:
    """A shop on the in-memory unit of work, and a member with activity points to spend."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.uow = FakeUnitOfWork(program)
        self.member = self.uow.add_member(joined_at=datetime(2025, 1, 6, tzinfo=SHANGHAI))

    def stock(self, *products: Product) -> None:
        for p in products:
            define_product(self.uow, product=p)

    def earn(self, points: int) -> None:
        ledger.credit(
            self.uow,
            key=f"activity:{points}",
            member_id=self.member,
            kind="activity",
            points=points,
            occurred_at=NOW - timedelta(days=1),
            expires_on=date(2026, 5, 31),
        )

    def order(
        self, order_id: str = "o1", sku: str = "mug", quantity: int = 1, *, now: datetime = NOW
    ) -> PlacedOrder:
        return place_order(
            self.uow,
            program=self.program,
            warehouse=InProcessWarehouse(),
            order_id=order_id,
            member_id=self.member,
            sku=sku,
            quantity=quantity,
            now=now,
        )

    def activity(self) -> int:
        """The member's spendable activity points."""
        with self.uow:
            found = self.uow.ledger.balances_of(self.member)
        return sum(b.available for b in found if b.kind == "activity")

    def left(self, sku: str = "mug") -> int:
        with self.uow:
            found = self.uow.mall.get_product(sku)
        assert found is not None
        return found.stock

    def holds(self, order_id: str = "o1") -> bool:
        with self.uow:
            return self.uow.mall.get_hold(order_id) is not None


@pytest.fixture
def mall(railway: Program) -> Mall:
    return Mall(railway)


def test_an_order_takes_its_points_and_its_units(mall: Mall) -> None:
    mall.stock(product(price_points=500, stock=10))
    mall.earn(1200)

    placed = mall.order(quantity=2)

    assert (placed.order.status, placed.order.points, placed.replayed) == ("paid", 1000, False)
    assert placed.order.fulfilment["warehouse"]["request"]["quantity"] == 2
    assert mall.activity() == 200
    assert mall.left() == 8
    assert not mall.holds()


def test_refuses_more_units_than_are_left(mall: Mall) -> None:
    mall.stock(product(stock=1))
    mall.earn(5000)

    with pytest.raises(JifenError) as refused:
        mall.order(quantity=2)

    assert refused.value.code == "out_of_stock"
    assert (refused.value.details["left"], refused.value.details["requested"]) == (1, 2)
    assert (mall.activity(), mall.left()) == (5000, 1)


def test_refuses_an_order_past_the_members_limit(mall: Mall) -> None:
    mall.stock(product(per_member_limit=2))
    mall.earn(5000)
    mall.order("o1", quantity=2)

    with pytest.raises(JifenError) as refused:
        mall.order("o2", quantity=1)

    assert refused.value.code == "limit_reached"
    assert (mall.activity(), mall.left()) == (4000, 8)


def test_refuses_an_order_before_the_flash_sale_opens(mall: Mall) -> None:
    opens = NOW + timedelta(hours=2)
    mall.stock(product(sale_starts_at=opens))
    mall.earn(5000)

    with pytest.raises(JifenError) as refused:
        mall.order()
    placed = mall.order("o2", now=opens)

    assert refused.value.code == "sale_not_open"
    assert placed.order.status == "paid"
    assert mall.left() == 9


def test_without_enough_points_the_units_go_back_on_sale(mall: Mall) -> None:
    mall.stock(product(price_points=500, stock=3))
    mall.earn(999)

    with pytest.raises(InsufficientPoints):
        mall.order(quantity=2)

    assert mall.left() == 3
    assert not mall.holds()
    assert mall.activity() == 999


def test_replay_of_an_order_id_returns_the_order_without_charging_twice(mall: Mall) -> None:
    mall.stock(product(price_points=500, stock=10))
    mall.earn(5000)
    first = mall.order(quantity=2)

    again = mall.order(quantity=2)

    assert again.replayed
    assert again.order == first.order
    assert (mall.activity(), mall.left()) == (4000, 8)


def test_an_order_id_sent_again_for_another_quantity_is_a_conflict(mall: Mall) -> None:
    mall.stock(product(price_points=500, stock=10))
    mall.earn(5000)
    mall.order(quantity=2)

    with pytest.raises(IdempotencyConflict):
        mall.order(quantity=3)

    assert (mall.activity(), mall.left()) == (4000, 8)


def test_a_coupon_product_is_fulfilled_at_once_with_its_codes(mall: Mall) -> None:
    mall.stock(product("voucher", kind="coupon", price_points=100))
    mall.earn(1000)

    placed = mall.order(sku="voucher", quantity=3)

    assert placed.order.status == "fulfilled"
    assert len({c.code for c in placed.coupons}) == 3
    assert {(c.member_id, c.valid_until) for c in placed.coupons} == {
        (mall.member, date(2025, 6, 30))  # 30 days, the day of issue included
    }
    assert mall.activity() == 700


def test_cancelling_a_paid_order_refunds_its_points_and_restocks(mall: Mall) -> None:
    mall.stock(product(price_points=500, stock=10))
    mall.earn(1200)
    mall.order(quantity=2)

    cancelled = cancel_order(
        mall.uow, program=mall.program, order_id="o1", cancel_id="k1", now=NOW + timedelta(hours=1)
    )

    assert cancelled.status == "refunded"
    assert (mall.activity(), mall.left()) == (1200, 10)


def test_a_refunded_order_does_not_count_toward_the_members_limit(mall: Mall) -> None:
    mall.stock(product(per_member_limit=2))
    mall.earn(5000)
    mall.order("o1", quantity=2)
    cancel_order(mall.uow, program=mall.program, order_id="o1", cancel_id="k1", now=NOW)

    again = mall.order("o2", quantity=2)

    assert again.order.status == "paid"
    assert (mall.activity(), mall.left()) == (4000, 8)
