"""Concurrent writers on PostgreSQL: no overdraft, no double posting, every point accounted for."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from jifen.domain.errors import InsufficientPoints
from jifen.domain.ledger import PROGRAM_REDEEMED
from jifen.services import ledger
from jifen.services.ledger_check import check_ledger
from jifen.storage.db import make_engine
from jifen.storage.tables import ledger_entries, ledger_transactions
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0

pytestmark = pytest.mark.postgres_only


def run_together(threads: int, work: Callable[[int], object]) -> list[object]:
    """Start `threads` calls of `work(i)` at the same instant; collect results or errors."""
    barrier = threading.Barrier(threads)

    def one(i: int) -> object:
        barrier.wait()
        try:
            return work(i)
        except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
            return error

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(threads)))


@pytest.fixture
def wide_engine(engine: Engine) -> Engine:
    """The test database with a pool large enough for every thread to hold a connection."""
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=60)
    yield wide
    wide.dispose()


def test_fifty_threads_spending_from_one_member_never_overdraw(wide_engine, new_member):
    uow = SqlUnitOfWork(wide_engine)
    member = new_member()
    for i, expires in enumerate((date(2025, 6, 1), date(2025, 9, 1), date(2026, 1, 1))):
        ledger.credit(
            uow,
            key=f"c{i}",
            member_id=member,
            kind="ride",
            points=1000,
            occurred_at=T0,
            expires_on=expires,
        )

    results = run_together(
        50,
        lambda i: ledger.spend(
            SqlUnitOfWork(wide_engine),
            key=f"s{i}",
            member_id=member,
            kind="ride",
            points=70,
            occurred_at=T0,
        ),
    )

    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"Posted": 42, "InsufficientPoints": 8}  # 42 × 70 = 2,940 of 3,000
    assert all(isinstance(r, ledger.Posted | InsufficientPoints) for r in results)
    with uow:
        [stored] = uow.ledger.balances_of(member)
        lots = uow.ledger.lots_of(member)
    assert stored.available == 3000 - 42 * 70 == sum(lot.remaining for lot in lots)
    assert [lot.remaining for lot in lots] == [0, 0, 60]  # oldest expiry drained first
    with wide_engine.connect() as connection:
        redeemed = connection.execute(
            select(func.sum(ledger_entries.c.points)).where(
                ledger_entries.c.account == PROGRAM_REDEEMED
            )
        ).scalar_one()
    assert redeemed == 42 * 70
    assert check_ledger(uow).ok


def test_one_key_sent_by_twenty_threads_posts_exactly_once(wide_engine, new_member):
    member = new_member()
    results = run_together(
        20,
        lambda _i: ledger.credit(
            SqlUnitOfWork(wide_engine),
            key="same-key",
            member_id=member,
            kind="ride",
            points=500,
            occurred_at=T0,
            expires_on=date(2026, 1, 1),
        ),
    )

    assert all(isinstance(r, ledger.Posted) for r in results), results
    assert len({r.transaction_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    with wide_engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(ledger_transactions))
        assert count.scalar_one() == 1
    uow = SqlUnitOfWork(wide_engine)
    with uow:
        [stored] = uow.ledger.balances_of(member)
    assert stored.available == 500
    assert check_ledger(uow).ok


def test_one_key_raced_with_two_different_requests_posts_one_and_refuses_the_other(
    wide_engine, new_member
):
    member = new_member()
    results = run_together(
        2,
        lambda i: ledger.credit(
            SqlUnitOfWork(wide_engine),
            key="contested",
            member_id=member,
            kind="ride",
            points=100 + i,
            occurred_at=T0,
            expires_on=date(2026, 1, 1),
        ),
    )

    kinds = sorted(type(r).__name__ for r in results)
    assert kinds == ["IdempotencyConflict", "Posted"]
    uow = SqlUnitOfWork(wide_engine)
    with uow:
        [stored] = uow.ledger.balances_of(member)
    assert stored.available in {100, 101}
