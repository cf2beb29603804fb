"""A flash sale on PostgreSQL: 1,000 orders arrive at once for 100 units, placed in threads.

Every order comes from its own member (demo members with activity points to pay with), through
the mall's `place_order` use case. All orders arrive at the same instant, so an order's latency
runs from that instant to its answer: the wait for a free thread and connection is part of what
a buyer in the rush sees. The reference is the same order placed one at a time, uncontended, in
the same run.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select, text

from benchmarks.databases import Postgres, install_railway
from benchmarks.dataset import enrol_all
from benchmarks.report import Check, Results, console, median, percentile
from benchmarks.sizes import Sizes
from jifen.demo import people
from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services import ledger, mall
from jifen.services.ledger_check import check_ledger
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine
from jifen.storage.mall_repository import Product
from jifen.storage.tables import mall_orders
from jifen.storage.uow import SqlUnitOfWork

NOW = datetime(2025, 11, 11, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PRICE = 1_000
SINGLES = 20  # uncontended orders for the reference


@dataclass(frozen=True, slots=True)
class Order:
    """One order's answer: when it started and finished (seconds since the rush began)."""

    outcome: str
    started: float
    finished: float


class Shop:
    """A database with the railway program, members who can pay, and the mall's use cases."""

    def __init__(self, engine: Engine, program: Program, members: list[int]) -> None:
        self.engine, self.program, self.members = engine, program, members

    def product(self, sku: str, stock: int) -> None:
        """Put a goods product on sale at PRICE points, no per-member limit, no sale window."""
        product = Product(sku, sku, "goods", PRICE, 0, stock, None, None, None, None, True)
        mall.define_product(SqlUnitOfWork(self.engine), product=product)

    def order(self, order_id: str, member_id: int, sku: str, t0: float) -> Order:
        """Place one order; its outcome is `placed` or the refusal's code."""
        started = perf_counter() - t0
        try:
            mall.place_order(
                SqlUnitOfWork(self.engine),
                program=self.program,
                warehouse=mall.InProcessWarehouse(),
                order_id=order_id,
                member_id=member_id,
                sku=sku,
                quantity=1,
                now=NOW,
            )
            outcome = "placed"
        except JifenError as error:
            outcome = error.code
        return Order(outcome, started, perf_counter() - t0)


def _shop(url: str, sizes: Sizes) -> Shop:
    engine = make_engine(url, pool_size=sizes.flash_threads, max_overflow=0, pool_timeout=300)
    program = install_railway(engine)
    vault = IdentityVault([IdentityVault.generate_key()], IdentityVault.generate_key())
    cast = people.members(
        count=sizes.flash_members,
        seed=11,
        joined_from=NOW.date().replace(year=2024),
        joined_to=NOW.date().replace(day=1),
    )
    members = enrol_all(engine, program=program, vault=vault, cast=list(cast))

    uow = SqlUnitOfWork(engine)
    with uow:  # set-up: one transaction, the credits join it
        for member_id in members:
            ledger.credit(
                uow,
                key=f"fund:{member_id}",
                member_id=member_id,
                kind="activity",
                points=3 * PRICE,
                occurred_at=NOW.replace(month=10),
                expires_on=None,
            )
        uow.commit()
    return Shop(engine, program, members)


def _warm(shop: Shop, threads: int) -> None:
    """Open every pooled connection before the rush, so no order pays for a connect."""

    def touch(_: int) -> None:
        with shop.engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(0.05)"))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(touch, range(threads)))


def run_flash_sale(results: Results, sizes: Sizes, pg: Postgres) -> None:
    """`flash_sale`: exactly `flash_units` orders succeed; latency p50/p99 from the rush's start."""
    began = perf_counter()
    url = pg.create()
    shop = _shop(url, sizes)
    console.print(f"  {len(shop.members):,} members with points ({perf_counter() - began:.1f} s)")
    try:
        _warm(shop, sizes.flash_threads)
        shop.product("calm", stock=SINGLES)
        singles = [
            shop.order(f"calm-{n}", member, "calm", perf_counter())
            for n, member in enumerate(shop.members[:SINGLES])
        ]
        single = median([o.finished - o.started for o in singles])
        shop.product("flash", stock=sizes.flash_units)
        members = shop.members
        with ThreadPoolExecutor(max_workers=sizes.flash_threads) as pool:
            t0 = perf_counter()
            futures = [
                pool.submit(shop.order, f"flash-{n}", members[n % len(members)], "flash", t0)
                for n in range(sizes.flash_orders)
            ]
            orders = [f.result() for f in futures]
        _report(results, sizes, shop, orders, single=single)
    finally:
        shop.engine.dispose()
        pg.drop(url)


def _report(
    results: Results, sizes: Sizes, shop: Shop, orders: list[Order], *, single: float
) -> None:
    outcomes = Counter(o.outcome for o in orders)
    latency = [o.finished for o in orders]
    service = [o.finished - o.started for o in orders]
    with shop.engine.connect() as connection:
        stored = connection.execute(
            select(func.count()).where(mall_orders.c.sku == "flash")
        ).scalar_one()
    placed = outcomes["placed"]
    ledger_ok = check_ledger(SqlUnitOfWork(shop.engine)).ok
    results.record(
        flash_sale_orders=placed,
        flash_sale_orders_stored=stored,
        flash_sale_units=sizes.flash_units,
        flash_sale_attempts=len(orders),
        flash_sale_out_of_stock=outcomes["out_of_stock"],
        flash_sale_p50_ms=percentile(latency, 0.5) * 1000,
        flash_sale_p99_ms=percentile(latency, 0.99) * 1000,
        flash_sale_service_p99_ms=percentile(service, 0.99) * 1000,
        flash_sale_seconds=max(latency),
        flash_sale_threads=sizes.flash_threads,
        flash_sale_single_order_ms=single * 1000,
        flash_sale_ledger_ok=int(ledger_ok),
    )
    console.print(f"  flash_sale: {dict(outcomes)} in {max(latency):.2f} s; {stored} stored")
    exact = placed == stored == sizes.flash_units
    if not exact:
        results.problem(
            f"flash_sale: {placed} orders placed, {stored} stored, for {sizes.flash_units} units"
        )
    if not ledger_ok:
        results.problem("flash_sale: `jifen ledger check` fails after the rush")
    if set(outcomes) - {"placed", "out_of_stock"}:
        results.problem(f"flash_sale: unexpected outcomes {dict(outcomes)}")
    results.check(
        Check(
            f"flash_sale orders ({len(orders):,} for {sizes.flash_units} units)",
            placed,
            "orders",
            f"exactly {sizes.flash_units}",
            exact,
        )
    )
    results.check(
        Check(
            "flash_sale p99 (ms, from the rush's start)",
            percentile(latency, 0.99) * 1000,
            "ms",
            "reported",
            None,
            reference="one order alone",
            reference_value=single * 1000,
            ratio_style="×",
        )
    )
