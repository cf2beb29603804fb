"""Flash-sale rushes on PostgreSQL: never oversold, never charged twice, never overdrawn."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from jifen.bootstrap import create_app
from jifen.config import Settings
from jifen.domain.errors import InsufficientPoints, JifenError
from jifen.domain.ledger import PROGRAM_REDEEMED
from jifen.programs.schema import Program
from jifen.services import ledger, mall
from jifen.services.keys import create_key
from jifen.services.ledger_check import check_ledger
from jifen.services.programs import install_program
from jifen.storage.db import make_engine
from jifen.storage.mall_repository import Product
from jifen.storage.tables import ledger_entries, ledger_transactions, mall_orders, stock_holds
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0
from tests.integration.services.test_flash_sale import stocked
from tests.integration.services.test_ledger_concurrency import run_together

pytestmark = pytest.mark.postgres_only

NOW = T0 + timedelta(days=30)


@pytest.fixture
def wide_engine(engine: Engine) -> Iterator[Engine]:
    """The test database with a pool of 40 connections that threads queue for."""
    url = engine.url.render_as_string(hide_password=False)
    wide = make_engine(url, pool_size=40, max_overflow=0, pool_timeout=120)
    yield wide
    wide.dispose()


@pytest.fixture
def shop(wide_engine: Engine, railway: Program, new_member: Callable[[], int]) -> Shop:
    return Shop(wide_engine, railway, new_member)


class Shop:
    """Members with activity points, products, and orders placed as the service places them."""

    def __init__(self, engine: Engine, program: Program, new_member: Callable[[], int]) -> None:
        self.engine, self.program, self.new_member = engine, program, new_member

    def member(self, points: int) -> int:
        member_id = self.new_member()
        if not points:
            return member_id
        ledger.credit(
            SqlUnitOfWork(self.engine),
            key=f"credit-{member_id}",
            member_id=member_id,
            kind="activity",
            points=points,
            occurred_at=T0,
            expires_on=None,
        )
        return member_id

    def product(self, sku: str, *, stock: int, price: int, limit: int | None = None) -> None:
        product = Product(sku, sku, "goods", price, 0, stock, limit, None, None, None, True)
        mall.define_product(SqlUnitOfWork(self.engine), product=product)

    def order(self, order_id: str, member_id: int, sku: str, quantity: int = 1) -> Any:
        return mall.place_order(
            SqlUnitOfWork(self.engine),
            program=self.program,
            warehouse=mall.InProcessWarehouse(),
            order_id=order_id,
            member_id=member_id,
            sku=sku,
            quantity=quantity,
            now=NOW,
        )

    def available(self, member_id: int) -> int:
        uow = SqlUnitOfWork(self.engine)
        with uow:
            return sum(b.available for b in uow.ledger.balances_of(member_id))

    def stock(self, sku: str) -> int:
        uow = SqlUnitOfWork(self.engine)
        with uow:
            product = uow.mall.get_product(sku)
        assert product is not None
        return product.stock

    def orders(self) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(mall_orders).order_by(mall_orders.c.id)))

    def redeemed_for_orders(self) -> int:
        """Points in `program:redeemed` from the spends that paid the stored orders."""
        query = (
            select(func.coalesce(func.sum(ledger_entries.c.points), 0))
            .select_from(
                ledger_entries.join(
                    mall_orders, mall_orders.c.transaction_id == ledger_entries.c.transaction_id
                )
            )
            .where(ledger_entries.c.account == PROGRAM_REDEEMED)
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one()

    def spends(self) -> int:
        query = select(func.count()).where(ledger_transactions.c.type == "spend")
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one()

    def ledger_ok(self) -> None:
        report = check_ledger(SqlUnitOfWork(self.engine))
        assert report.ok, report.violations


def outcomes(results: list[object]) -> Counter[str]:
    return Counter(type(r).__name__ for r in results)


def test_240_buyers_of_a_flash_sale_of_20_get_exactly_20_orders(shop: Shop):
    members = [shop.member(1000) for _ in range(60)]
    shop.product("FLASH", stock=20, price=100)

    results = run_together(240, lambda i: shop.order(f"o{i}", members[i % 60], "FLASH"))

    assert outcomes(results) == {"PlacedOrder": 20, "OutOfStock": 220}, results
    placed = [r for r in results if isinstance(r, mall.PlacedOrder)]
    assert not any(p.replayed for p in placed)
    assert shop.stock("FLASH") == 0
    stored = shop.orders()
    assert sorted(o.id for o in stored) == sorted(p.order.id for p in placed)
    assert sum(o.points for o in stored) == 2000
    assert shop.redeemed_for_orders() == 2000
    assert shop.spends() == 20
    wins = Counter(p.order.member_id for p in placed)
    for member_id in members:
        assert shop.available(member_id) == 1000 - 100 * wins[member_id]
    shop.ledger_ok()


@contextmanager
def sampling(read: Callable[[], int]) -> Iterator[list[int]]:
    """Call `read` again and again in a thread while the block runs; what it read."""
    samples: list[int] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            samples.append(read())

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def wait_until_an_order_waits_for_a_lock(engine: Engine) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 30
    while True:
        with engine.connect() as connection:  # a new transaction: the view is read once in each
            if connection.execute(query).scalar_one():
                return
        assert time.monotonic() < deadline, "the order never came to wait for the member's lock"
        time.sleep(0.01)


def test_1000_buyers_of_100_units_hear_out_of_stock_while_a_winner_is_still_paying(shop: Shop):
    """The stock is decided ahead of the payment, so nobody too late queues behind a payer.

    The first winner's payment is held up (its member's balance rows are locked, as by a spend
    in flight); the other 999 orders, 32 threads at a time, must all be answered meanwhile.
    """
    slow, *members = [shop.member(1000) for _ in range(100)]
    shop.product("RUSH", stock=100, price=100)
    answers: dict[int, tuple[str, float]] = {}

    def order(i: int, member_id: int) -> None:
        try:
            outcome = type(shop.order(f"o{i}", member_id, "RUSH")).__name__
        except JifenError as error:
            outcome = type(error).__name__
        answers[i] = outcome, time.perf_counter()

    gate = SqlUnitOfWork(shop.engine)
    with (
        sampling(lambda: stocked(shop.engine, "RUSH")) as samples,
        ThreadPoolExecutor(max_workers=32) as pool,
        gate,  # the gate opens first
    ):
        gate.ledger.lock_balances([(slow, "activity")])
        first = pool.submit(order, 0, slow)
        wait_until_an_order_waits_for_a_lock(shop.engine)  # it has its unit and waits to pay
        rest = [pool.submit(order, i, members[i % 99]) for i in range(1, 1000)]
        answered, _ = wait(rest, timeout=60)
        assert len(answered) == 999, f"{len(answered)} of 999 answered while a winner paid"
        assert (shop.stock("RUSH"), stocked(shop.engine, "RUSH")) == (0, 100)
        with shop.engine.connect() as connection:
            assert list(connection.scalars(select(stock_holds.c.order_id))) == ["o0"]
        gate.connection.rollback()
    first.result()

    assert Counter(o for o, _ in answers.values()) == {"PlacedOrder": 100, "OutOfStock": 900}
    last_loser = max(t for o, t in answers.values() if o == "OutOfStock")
    assert answers[0][0] == "PlacedOrder"
    assert last_loser < answers[0][1]  # the losers did not queue behind the slow winner
    assert set(samples) == {100}, Counter(samples)
    assert len(shop.orders()) == 100
    assert shop.redeemed_for_orders() == 100 * 100
    assert shop.spends() == 100
    shop.ledger_ok()


def test_one_member_buying_and_donating_at_once_never_overdraws(shop: Shop):
    member = shop.member(1000)
    shop.product("A", stock=100, price=70)
    shop.product("B", stock=100, price=70)

    def work(i: int) -> object:
        if i % 3 == 2:
            return mall.donate(
                SqlUnitOfWork(shop.engine),
                program=shop.program,
                donation_id=f"d{i}",
                member_id=member,
                charity="red_cross",
                points=70,
                now=NOW,
            )
        return shop.order(f"o{i}", member, "A" if i % 3 == 0 else "B")

    results = run_together(60, work)

    counts = outcomes(results)
    assert counts["InsufficientPoints"] == 60 - 14, results
    assert counts["PlacedOrder"] + counts["Donated"] == 14  # 14 × 70 = 980 of 1,000
    assert all(isinstance(r, mall.PlacedOrder | mall.Donated | InsufficientPoints) for r in results)
    assert shop.available(member) == 20
    assert shop.stock("A") + shop.stock("B") == 200 - counts["PlacedOrder"]
    shop.ledger_ok()


def test_a_rush_of_one_member_stops_at_the_per_member_limit(shop: Shop):
    members = [shop.member(10_000) for _ in range(5)]
    shop.product("LIMITED", stock=100, price=10, limit=2)

    results = run_together(50, lambda i: shop.order(f"o{i}", members[i % 5], "LIMITED"))

    assert outcomes(results) == {"PlacedOrder": 10, "LimitReached": 40}, results
    assert Counter(o.member_id for o in shop.orders()) == dict.fromkeys(members, 2)
    assert shop.stock("LIMITED") == 90
    shop.ledger_ok()


def test_one_order_id_sent_by_20_threads_is_placed_and_charged_once(shop: Shop):
    member = shop.member(1000)
    shop.product("ONE", stock=50, price=100)

    results = run_together(20, lambda _i: shop.order("same", member, "ONE", 2))

    assert outcomes(results) == {"PlacedOrder": 20}, results
    assert sum(not r.replayed for r in results) == 1
    assert all(r.order == results[0].order for r in results)
    assert shop.stock("ONE") == 48
    assert shop.available(member) == 800
    assert shop.spends() == 1
    shop.ledger_ok()


def test_one_order_id_sent_by_20_threads_for_the_last_units_is_placed_for_all_of_them(
    shop: Shop,
):
    member = shop.member(1000)
    shop.product("TWO", stock=2, price=100)

    results = run_together(20, lambda _i: shop.order("same", member, "TWO", 2))

    assert outcomes(results) == {"PlacedOrder": 20}, results  # none hears its own units gone
    assert sum(not r.replayed for r in results) == 1
    assert (shop.stock("TWO"), shop.available(member), shop.spends()) == (0, 800, 1)
    shop.ledger_ok()


def test_one_order_id_sent_by_20_threads_that_cannot_pay_leaves_the_stock_whole(shop: Shop):
    member = shop.member(150)
    shop.product("TWO", stock=3, price=100)

    results = run_together(20, lambda _i: shop.order("same", member, "TWO", 2))

    # Mostly InsufficientPoints; a copy that read the stock while another held it: OutOfStock.
    assert set(outcomes(results)) <= {"InsufficientPoints", "OutOfStock"}, results
    assert outcomes(results)["InsufficientPoints"] >= 1
    assert (shop.stock("TWO"), shop.orders(), shop.spends()) == (3, [], 0)
    with shop.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(stock_holds)).scalar_one() == 0
    assert shop.available(member) == 150
    shop.ledger_ok()


def test_concurrent_cancels_refund_once(shop: Shop):
    member = shop.member(1000)
    shop.product("BOX", stock=5, price=300)
    shop.order("o", member, "BOX", 2)

    results = run_together(
        10,
        lambda i: mall.cancel_order(
            SqlUnitOfWork(shop.engine),
            program=shop.program,
            order_id="o",
            cancel_id=f"c{i}",
            now=NOW,
        ),
    )

    assert {r.status for r in results} == {"refunded"}, results
    assert shop.stock("BOX") == 5
    assert shop.available(member) == 1000
    with shop.engine.connect() as connection:
        query = select(func.count()).where(ledger_transactions.c.type == "reversal")
        assert connection.execute(query).scalar_one() == 1
    shop.ledger_ok()


def test_a_coupon_redeemed_by_20_tills_at_once_is_used_once(shop: Shop):
    member = shop.member(0)
    coupon = mall.grant_coupon(
        SqlUnitOfWork(shop.engine),
        program=shop.program,
        member_id=member,
        type="tea",
        valid_days=30,
        source="grant:g",
        now=NOW,
    )

    results = run_together(
        20,
        lambda i: mall.redeem_coupon(
            SqlUnitOfWork(shop.engine),
            program=shop.program,
            code=coupon.code,
            redemption_id=f"till-{i}",
            now=NOW,
        ),
    )

    assert outcomes(results) == {"Redeemed": 1, "CouponUsed": 19}, results


def test_a_hot_product_holds_up_only_its_own_orders(shop: Shop):
    buyer, other = shop.member(1000), shop.member(1000)
    shop.product("HOT", stock=10, price=10)
    shop.product("COLD", stock=10, price=10)
    holder = SqlUnitOfWork(shop.engine)
    with ThreadPoolExecutor(max_workers=2) as pool, holder:  # the holder lets go first
        shop.order("hot-0", buyer, "HOT")  # committed: the product row is free again
        assert holder.mall.take_stock("HOT", 1)  # an order in flight holds the HOT row
        hot = pool.submit(shop.order, "hot-1", other, "HOT")
        cold = pool.submit(shop.order, "cold-1", other, "COLD")
        assert cold.result(timeout=10).order.status == "paid"  # not held up by HOT
        assert not hot.done()  # queued behind the order in flight
        holder.connection.rollback()
        assert hot.result(timeout=10).order.points == 10
    assert shop.stock("HOT") == 8
    shop.ledger_ok()


def test_an_order_queued_for_the_last_unit_another_takes_is_out_of_stock_and_holds_nothing(
    shop: Shop,
):
    buyer = shop.member(1000)
    shop.product("LAST", stock=1, price=10)
    holder = SqlUnitOfWork(shop.engine)
    with ThreadPoolExecutor(max_workers=1) as pool, holder:
        assert holder.mall.take_stock("LAST", 1)  # another order in flight takes the last unit
        queued = pool.submit(shop.order, "late", buyer, "LAST")  # read 1 left, waits for the row
        wait_until_an_order_waits_for_a_lock(shop.engine)
        holder.commit()
        with pytest.raises(mall.OutOfStock) as refused:
            queued.result(timeout=10)
    assert refused.value.details["left"] == 0
    assert shop.stock("LAST") == 0
    with shop.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(stock_holds)).scalar_one() == 0
    assert shop.available(buyer) == 1000


def test_a_rush_over_http_never_oversells_or_fails(
    engine: Engine, railway: Program, vault_keys: tuple[str, str], new_member: Callable[[], int]
):
    install_program(SqlUnitOfWork(engine), program=railway, source="preset:railway")
    key = create_key(SqlUnitOfWork(engine), role="integrator", label="test", now=T0).token
    admin = create_key(SqlUnitOfWork(engine), role="admin", label="test", now=T0).token
    shop = Shop(engine, railway, new_member)
    members = [shop.member(1000) for _ in range(20)]
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        vault_keys=vault_keys[0],
        hash_key=vault_keys[1],
        max_in_flight=60,  # every buyer is let in: this is about the stock, not about shedding
    )
    app = create_app(settings)  # the wall clock: the sandbox clock is not made for threads
    with TestClient(app, raise_server_exceptions=False) as client:
        product = {"sku": "HTTP", "name": "rush", "price_points": 100, "stock": 10}
        headers = {"Authorization": f"Bearer {admin}"}
        assert client.post("/v1/mall/products", json=product, headers=headers).status_code == 201
        barrier = threading.Barrier(60)

        def buy(i: int) -> Any:
            body = {"id": f"h{i}", "member_id": members[i % 20], "sku": "HTTP", "quantity": 1}
            barrier.wait()
            response = client.post(
                "/v1/mall/orders", json=body, headers={"Authorization": f"Bearer {key}"}
            )
            return response.status_code, response.json()

        with ThreadPoolExecutor(max_workers=60) as pool:
            answers = list(pool.map(buy, range(60)))
    app.state.jifen.engine.dispose()

    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 10, 409: 50}, answers
    assert {b["error"]["code"] for s, b in answers if s == 409} == {"out_of_stock"}
    assert shop.stock("HTTP") == 0
    assert shop.redeemed_for_orders() == 1000
    shop.ledger_ok()
