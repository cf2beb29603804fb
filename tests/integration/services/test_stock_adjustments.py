"""Stock adjustments by the caller's id, on SQLite and PostgreSQL: applied once, refused whole.

An adjustment's row, the stock and its audit record commit together; the same id with the same
request answers the first adjustment again, another request under it is a conflict; concurrent
orders and adjustments never lose or invent a unit; replay rebuilds them from the journal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from jifen.domain.errors import IdempotencyConflict, InvalidRequest, NotFound
from jifen.programs.schema import Program
from jifen.services import mall
from jifen.services.programs import install_program
from jifen.services.replay import replay
from jifen.storage.crypto import IdentityVault
from jifen.storage.db import make_engine
from jifen.storage.journal_repository import JournalEntry
from jifen.storage.mall_repository import Product
from jifen.storage.tables import audit_log, journal, stock_adjustments
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0
from tests.integration.services import test_replay
from tests.integration.services.test_ledger_concurrency import run_together
from tests.integration.services.test_mall_concurrency import Shop

NOW = T0 + timedelta(days=30)
target = test_replay.target


def mug(stock: int = 10) -> Product:
    return Product("MUG", "Mug", "goods", 100, 0, stock, None, None, None, None, True)


@pytest.fixture
def stocked(uow: SqlUnitOfWork) -> SqlUnitOfWork:
    """The mug on sale with 10 units."""
    mall.define_product(uow, product=mug())
    return uow


def adjust(uow: SqlUnitOfWork, adjustment_id: str, change: int, **kw: Any) -> mall.StockAdjusted:
    given = {"sku": "MUG", "reason": "Recount", "actor": "op1", "now": NOW, **kw}
    return mall.adjust_stock(uow, adjustment_id=adjustment_id, change=change, **given)


def written(engine: Engine) -> dict[str, int]:
    """The stock and how many adjustments, audit records and journal entries there are."""
    with engine.connect() as connection:
        count = {
            t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (stock_adjustments, audit_log, journal)
        }
    with SqlUnitOfWork(engine) as uow:
        product = uow.mall.get_product("MUG")
    assert product is not None
    return {"stock": product.stock, **count}


def test_an_adjustment_changes_the_stock_and_is_recorded_audited_and_journaled(stocked, engine):
    before = written(engine)

    added = adjust(stocked, "s1", 5, reason="  Delivery 42  ")

    assert (added.product.stock, added.adjustment.stock_after, added.replayed) == (15, 15, False)
    assert (added.adjustment.reason, added.adjustment.actor) == ("Delivery 42", "op1")
    assert written(engine) == {
        "stock": 15,
        "stock_adjustments": 1,
        "audit_log": before["audit_log"] + 1,
        "journal": before["journal"] + 1,
    }
    with stocked:
        [entry] = stocked.audit_log.entries(
            since=None, until=None, subject="product:MUG", newest_first=False, limit=5
        )
    assert (entry.action, entry.actor) == ("product.stock_adjusted", "op1")


def test_the_same_id_again_changes_nothing_and_answers_the_first_adjustment(stocked, engine):
    first = adjust(stocked, "s1", -3)
    after = written(engine)

    again = adjust(stocked, "s1", -3, actor="op2", now=NOW + timedelta(hours=1))

    assert again.replayed
    assert again.adjustment == first.adjustment
    assert again.product.stock == 7
    assert written(engine) == after


def test_another_request_under_a_used_id_is_a_conflict_and_changes_nothing(stocked, engine):
    adjust(stocked, "s1", 5)
    mall.define_product(stocked, product=replace(mug(), sku="CUP"))
    after = written(engine)

    for other in ({"change": 6}, {"change": 5, "reason": "Other"}, {"change": 5, "sku": "CUP"}):
        with pytest.raises(IdempotencyConflict):
            adjust(stocked, "s1", **{"change": 5, **other})

    assert written(engine) == after


def test_taking_off_more_than_is_left_is_refused_and_changes_nothing(stocked, engine):
    before = written(engine)

    with pytest.raises(mall.StockBelowZero) as refused:
        adjust(stocked, "s1", -11)

    assert (refused.value.status, refused.value.code) == (409, "stock_below_zero")
    assert refused.value.details == {"sku": "MUG", "change": -11, "stock": 10}
    assert written(engine) == before
    assert adjust(stocked, "s1", -10).product.stock == 0  # the id was not used up by the refusal


def test_an_unknown_product_a_zero_change_and_a_blank_reason_are_refused(stocked, engine):
    before = written(engine)

    with pytest.raises(NotFound):
        adjust(stocked, "s1", 5, sku="NOPE")
    with pytest.raises(InvalidRequest):
        adjust(stocked, "s2", 0)
    with pytest.raises(InvalidRequest):
        adjust(stocked, "s3", 5, reason="  ")

    assert written(engine) == before


def test_replay_adjusts_the_stock_again_from_the_journal_older_entries_too(
    uow, target, railway: Program, vault: IdentityVault
):
    install_program(uow, program=railway, source="preset:railway")
    mall.define_product(uow, product=mug())
    adjust(uow, "s1", 5)
    adjust(uow, "s1", 5)  # a repeat: not journaled
    with uow:  # journaled before adjustments had ids
        args = {"sku": "MUG", "change": -2, "reason": "Old", "actor": "op0"}
        uow.journal.add(JournalEntry("adjust_stock", args, NOW + timedelta(hours=1)))
        uow.commit()

    report = replay(uow, target, vault=vault)

    assert report.refused == []
    with target:
        product = target.mall.get_product("MUG")
        kept = target.mall.stock_adjustments_of("MUG", before=None, limit=10)
    assert product is not None
    assert product.stock == 13
    assert [(a.change, a.stock_after, a.reason) for a in kept] == [
        (-2, 13, "Old"),
        (5, 15, "Recount"),
    ]
    assert kept[1].id == "s1"


# -- concurrency, on PostgreSQL -------------------------------------------------------------------
@pytest.fixture
def shop(engine: Engine, railway: Program, new_member: Callable[[], int]) -> Iterator[Shop]:
    """Members, products and orders on a pool of 40 connections that threads queue for."""
    url = engine.url.render_as_string(hide_password=False)
    wide = make_engine(url, pool_size=40, max_overflow=0, pool_timeout=120)
    yield Shop(wide, railway, new_member)
    wide.dispose()


@pytest.mark.postgres_only
def test_orders_and_adjustments_at_once_keep_every_unit(shop: Shop):
    members = [shop.member(1000) for _ in range(10)]
    shop.product("MIX", stock=10, price=100)

    def work(i: int) -> object:
        if i % 3:
            return shop.order(f"o{i}", members[i % 10], "MIX")
        change = 4 if i % 2 else -6  # takes off more than a rush may leave
        uow = SqlUnitOfWork(shop.engine)
        return mall.adjust_stock(
            uow, adjustment_id=f"s{i}", sku="MIX", change=change, reason="Recount", actor="op",
            now=NOW,
        )  # fmt: skip

    results = run_together(36, work)

    outcomes = Counter(type(r).__name__ for r in results)
    assert set(outcomes) <= {"PlacedOrder", "OutOfStock", "StockAdjusted", "StockBelowZero"}
    applied = [r.adjustment for r in results if isinstance(r, mall.StockAdjusted)]
    sold = outcomes["PlacedOrder"]
    assert shop.stock("MIX") == 10 + sum(a.change for a in applied) - sold
    with shop.engine.connect() as connection:
        rows = connection.execute(select(stock_adjustments.c.id, stock_adjustments.c.change))
        assert sorted(rows) == sorted((a.id, a.change) for a in applied)
    assert len(shop.orders()) == sold
    shop.ledger_ok()


@pytest.mark.postgres_only
def test_one_adjustment_id_sent_by_20_threads_changes_the_stock_once(shop: Shop):
    shop.product("ONE", stock=10, price=100)

    results = run_together(
        20,
        lambda _i: mall.adjust_stock(
            SqlUnitOfWork(shop.engine), adjustment_id="same", sku="ONE", change=-3,
            reason="Broken", actor="op", now=NOW,
        ),
    )  # fmt: skip

    assert Counter(type(r).__name__ for r in results) == {"StockAdjusted": 20}, results
    assert sum(not r.replayed for r in results) == 1
    assert {r.adjustment.stock_after for r in results} == {7}
    assert shop.stock("ONE") == 7
