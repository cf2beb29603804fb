"""A flash sale decides the stock ahead of the payment: a failed or broken payment loses no unit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from jifen.domain.errors import IdempotencyConflict, InsufficientPoints
from jifen.programs.schema import Program
from jifen.services import ledger, mall
from jifen.services.daily import run_daily
from jifen.services.ledger_check import check_ledger
from jifen.services.mall.orders import order_fingerprint
from jifen.services.member_status import freeze_member
from jifen.services.members import MemberNotActive
from jifen.services.programs import install_program
from jifen.storage.mall_repository import LIVE_ORDER_STATUSES, Product, StockHold
from jifen.storage.tables import ledger_transactions, mall_orders, mall_products, stock_holds
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, T0

NOW = T0 + timedelta(days=30)


def stocked(engine: Engine, sku: str) -> int:
    """Stock plus units sold — in live orders and in holds not settled yet — in one statement.

    One statement reads one snapshot, so a sale in flight is seen wholly or not at all.
    """
    ordered = select(func.coalesce(func.sum(mall_orders.c.quantity), 0)).where(
        mall_orders.c.sku == sku, mall_orders.c.status.in_(LIVE_ORDER_STATUSES)
    )
    held = select(func.coalesce(func.sum(stock_holds.c.quantity), 0)).where(
        stock_holds.c.sku == sku
    )
    query = select(
        mall_products.c.stock + ordered.scalar_subquery() + held.scalar_subquery()
    ).where(mall_products.c.sku == sku)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


class Mall:
    """Members with activity points, goods on sale, and orders placed as the service places them."""

    def __init__(self, engine: Engine, program: Program, new_member: Callable[[], int]) -> None:
        self.engine, self.program, self.new_member = engine, program, new_member

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def member(self, points: int) -> int:
        member_id = self.new_member()
        self.credit(member_id, points)
        return member_id

    def credit(self, member_id: int, points: int) -> None:
        ledger.credit(
            self.uow(),
            key=f"credit-{member_id}-{points}",
            member_id=member_id,
            kind="activity",
            points=points,
            occurred_at=T0,
            expires_on=None,
        )

    def product(self, sku: str, *, stock: int, price: int) -> None:
        product = Product(sku, sku, "goods", price, 0, stock, None, None, None, None, True)
        mall.define_product(self.uow(), product=product)

    def order(self, order_id: str, member_id: int, sku: str, quantity: int = 1) -> Any:
        return mall.place_order(
            self.uow(),
            program=self.program,
            warehouse=mall.InProcessWarehouse(),
            order_id=order_id,
            member_id=member_id,
            sku=sku,
            quantity=quantity,
            now=NOW,
        )

    def hold_and_crash(
        self, order_id: str, member_id: int, sku: str, *, at: datetime = NOW
    ) -> None:
        """Take an order's units as its first transaction does, and never pay for them."""
        request_hash = order_fingerprint(member_id=member_id, sku=sku, quantity=1)
        uow = self.uow()
        with uow:
            assert uow.mall.hold_stock(StockHold(order_id, sku, 1, member_id, request_hash, at))
            uow.commit()

    def stock(self, sku: str) -> int:
        uow = self.uow()
        with uow:
            product = uow.mall.get_product(sku)
        assert product is not None
        return product.stock

    def held(self) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.scalars(select(stock_holds.c.order_id).order_by("order_id")))

    def ordered(self) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.scalars(select(mall_orders.c.id).order_by(mall_orders.c.id)))

    def available(self, member_id: int) -> int:
        uow = self.uow()
        with uow:
            return sum(b.available for b in uow.ledger.balances_of(member_id))

    def spends(self) -> int:
        query = select(func.count()).where(ledger_transactions.c.type == "spend")
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one()

    def ledger_ok(self) -> None:
        report = check_ledger(self.uow())
        assert report.ok, report.violations


@pytest.fixture
def shop(engine: Engine, railway: Program, new_member: Callable[[], int]) -> Mall:
    return Mall(engine, railway, new_member)


def test_a_winner_who_cannot_pay_is_refused_and_the_unit_goes_back_on_sale(shop: Mall):
    poor, rich = shop.member(50), shop.member(1000)
    shop.product("LAST", stock=1, price=100)

    with pytest.raises(InsufficientPoints):
        shop.order("poor-1", poor, "LAST")

    assert shop.stock("LAST") == 1
    assert shop.held() == []
    assert shop.ordered() == []
    assert (shop.available(poor), shop.spends()) == (50, 0)
    assert shop.order("rich-1", rich, "LAST").order.points == 100  # the unit is really back
    assert shop.stock("LAST") == 0
    shop.ledger_ok()


def test_a_member_frozen_while_holding_a_unit_is_refused_and_the_unit_returned(shop: Mall):
    member = shop.member(1000)
    shop.product("MUG", stock=3, price=100)
    shop.hold_and_crash("o", member, "MUG")
    freeze_member(shop.uow(), member_id=member, reason="test", actor="test", now=NOW)

    with pytest.raises(MemberNotActive):
        shop.order("o", member, "MUG")

    assert (shop.stock("MUG"), shop.held(), shop.ordered()) == (3, [], [])
    assert shop.available(member) == 1000
    shop.ledger_ok()


def test_stock_plus_units_sold_stays_what_was_stocked_through_every_outcome(shop: Mall):
    rich, poor = shop.member(10_000), shop.member(150)
    shop.product("LAMP", stock=10, price=100)

    shop.order("a", rich, "LAMP", 3)
    assert stocked(shop.engine, "LAMP") == 10
    with pytest.raises(InsufficientPoints):
        shop.order("b", poor, "LAMP", 2)
    assert stocked(shop.engine, "LAMP") == 10
    shop.hold_and_crash("c", rich, "LAMP")
    assert (shop.stock("LAMP"), stocked(shop.engine, "LAMP")) == (6, 10)
    mall.cancel_order(shop.uow(), program=shop.program, order_id="a", cancel_id="x", now=NOW)
    assert (shop.stock("LAMP"), stocked(shop.engine, "LAMP")) == (9, 10)
    shop.order("c", rich, "LAMP")
    assert (shop.stock("LAMP"), stocked(shop.engine, "LAMP"), shop.held()) == (9, 10, [])
    shop.ledger_ok()


def test_an_order_retried_after_its_payment_failed_takes_one_unit_and_charges_once(shop: Mall):
    member = shop.member(50)
    shop.product("BOX", stock=5, price=100)
    with pytest.raises(InsufficientPoints):
        shop.order("o", member, "BOX")
    shop.credit(member, 100)

    placed = shop.order("o", member, "BOX")
    again = shop.order("o", member, "BOX")

    assert (placed.replayed, again.replayed, again.order) == (False, True, placed.order)
    assert (shop.stock("BOX"), shop.held(), shop.ordered()) == (4, [], ["o"])
    assert (shop.available(member), shop.spends()) == (50, 1)
    shop.ledger_ok()


def test_an_order_retried_after_a_crash_pays_for_the_unit_it_held(shop: Mall):
    member = shop.member(1000)
    shop.product("BOX", stock=5, price=100)
    shop.hold_and_crash("o", member, "BOX")
    assert (shop.stock("BOX"), shop.held()) == (4, ["o"])

    placed = shop.order("o", member, "BOX")

    assert not placed.replayed
    assert (shop.stock("BOX"), shop.held(), shop.ordered()) == (4, [], ["o"])
    assert shop.order("o", member, "BOX").replayed
    assert (shop.available(member), shop.spends()) == (900, 1)
    shop.ledger_ok()


def test_another_request_under_a_held_order_id_is_a_conflict_and_leaves_the_hold(shop: Mall):
    member = shop.member(1000)
    shop.product("BOX", stock=5, price=100)
    shop.hold_and_crash("o", member, "BOX")

    with pytest.raises(IdempotencyConflict):
        shop.order("o", member, "BOX", 2)

    assert (shop.stock("BOX"), shop.held()) == (4, ["o"])
    assert shop.order("o", member, "BOX").order.quantity == 1  # the first request still buys
    assert shop.stock("BOX") == 4


def test_the_daily_job_returns_a_hold_a_crash_left_and_keeps_one_in_flight(shop: Mall):
    install_program(shop.uow(), program=shop.program, source="preset:railway")
    member = shop.member(1000)
    shop.product("BOX", stock=5, price=100)
    as_of = NOW.date()  # the day just ended: the job runs a little after its midnight
    midnight = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    shop.hold_and_crash("stale", member, "BOX", at=midnight - timedelta(minutes=16))
    shop.hold_and_crash("fresh", member, "BOX", at=midnight - timedelta(minutes=14))

    report = run_daily(shop.uow(), program=shop.program, as_of=as_of)

    assert report.steps["stock_holds"] == {"holds_released": 1, "units_released": 1}
    assert (shop.stock("BOX"), shop.held()) == (4, ["fresh"])
    assert stocked(shop.engine, "BOX") == 5
    shop.order("stale", member, "BOX")  # retried after the sweep: takes a unit afresh
    assert (shop.stock("BOX"), shop.held(), shop.ordered()) == (3, ["fresh"], ["stale"])
    assert run_daily(shop.uow(), program=shop.program, as_of=as_of).skipped
    shop.ledger_ok()
