"""Credits posted many at a time leave the ledger as one at a time would, on both databases."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from jifen.domain.errors import NotFound
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.analytics import kpis, refresh_rollups
from jifen.services.bulk import in_one_batch
from jifen.services.ledger.bulk import Credit, credit_many
from jifen.services.ledger.posting import Posted
from jifen.services.ledger_check import check_ledger
from jifen.storage.batch_repository import Wants
from jifen.storage.tables import ledger_transactions
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0

EXPIRES = date(2027, 12, 31)


def _credits(members: list[int], count: int, *, first: int = 0) -> list[Credit]:
    return [
        Credit(
            key=f"award:{n}",
            member_id=members[n % len(members)],
            kind="ride",
            points=10 + n,
            occurred_at=T0,
            expires_on=EXPIRES,
            memo={"n": n},
        )
        for n in range(first, first + count)
    ]


def _balances(uow: SqlUnitOfWork, members: list[int]) -> dict[int, list[tuple[str, int, int]]]:
    with uow:
        return {
            m: [(b.kind, b.available, b.pending) for b in uow.ledger.balances_of(m)]
            for m in members
        }


def test_a_batch_of_credits_is_posted_as_each_credit_alone_would_be(
    uow: SqlUnitOfWork, new_member: Callable[[], int], caplog: pytest.LogCaptureFixture
) -> None:
    members = [new_member() for _ in range(4)]
    ledger.credit(
        uow,
        key="before",
        member_id=members[0],
        kind="ride",
        points=5,
        occurred_at=T0,
        expires_on=EXPIRES,
    )
    batch = [*_credits(members, 30), Credit("stranger", 999_999, "ride", 7, T0, EXPIRES)]

    with caplog.at_level(logging.WARNING, logger="jifen.services.ledger.bulk"):
        results = credit_many(uow, batch)

    assert not caplog.records, "the batch took the bulk path"
    assert all(isinstance(r, Posted) and not r.replayed for r in results[:30])
    assert isinstance(results[30], NotFound)
    expected = {m: sum(10 + n for n in range(30) if n % 4 == i) for i, m in enumerate(members)}
    expected[members[0]] += 5
    assert _balances(uow, members) == {m: [("ride", p, 0)] for m, p in expected.items()}
    with uow:
        lots = {m: sorted(lot.remaining for lot in uow.ledger.lots_of(m)) for m in members}
    assert lots[members[1]] == sorted(10 + n for n in range(30) if n % 4 == 1)
    assert check_ledger(uow).ok


def test_a_resent_batch_replays_and_posts_nothing_new(
    uow: SqlUnitOfWork, new_member: Callable[[], int]
) -> None:
    members = [new_member() for _ in range(3)]
    first = credit_many(uow, _credits(members, 20))
    before = _balances(uow, members)

    again = credit_many(uow, _credits(members, 25))  # the first 20 again, and 5 new ones

    assert [r.transaction_id for r in again[:20]] == [r.transaction_id for r in first]  # type: ignore[union-attr]
    assert all(r.replayed for r in again[:20])  # type: ignore[union-attr]
    assert not any(r.replayed for r in again[20:])  # type: ignore[union-attr]
    with uow:
        count = uow.connection.execute(select(func.count()).select_from(ledger_transactions))
        assert count.scalar() == 25
    assert _balances(uow, members) != before
    assert check_ledger(uow).ok


@pytest.mark.postgres_only
def test_a_rollup_refresh_waits_for_a_batch_holding_unwritten_ids(
    engine: Engine, new_member: Callable[[], int], railway: Program
) -> None:
    members, other = [new_member() for _ in range(2)], new_member()
    for m in [*members, other]:  # balance rows exist: the batch locks them, no one inserts them
        ledger.credit(
            SqlUnitOfWork(engine),
            key=f"seed:{m}",
            member_id=m,
            kind="ride",
            points=1,
            occurred_at=T0,
            expires_on=EXPIRES,
        )
    batch = _credits(members, 10)
    staged, release = threading.Event(), threading.Event()

    def post_then_wait(memory: SqlUnitOfWork) -> list[object]:
        posted = [
            ledger.credit(
                memory,
                key=c.key,
                member_id=c.member_id,
                kind=c.kind,
                points=c.points,
                occurred_at=c.occurred_at,
                expires_on=c.expires_on,
            )
            for c in batch
        ]
        staged.set()
        release.wait(timeout=30)
        return posted

    wants = Wants(
        (),
        (),
        set(members),
        (),
        date.max,
        {"ledger_transactions": 10, "lots": 10, "pending_points": 0},
    )
    bulk = threading.Thread(
        target=in_one_batch, args=(SqlUnitOfWork(engine), wants, post_then_wait)
    )
    bulk.start()
    assert staged.wait(timeout=30)
    ledger.credit(
        SqlUnitOfWork(engine),
        key="later",
        member_id=other,
        kind="ride",
        points=1,
        occurred_at=T0,
        expires_on=EXPIRES,
    )  # a higher id, committed first
    refresh = threading.Thread(
        target=refresh_rollups, args=(SqlUnitOfWork(engine),), kwargs={"program": railway}
    )
    refresh.start()
    time.sleep(0.5)  # lets the refresh reach the ledger's lock before the batch writes
    release.set()
    bulk.join()
    refresh.join()

    issued = kpis(SqlUnitOfWork(engine), program=railway, start=T0.date(), end=T0.date()).issued
    assert issued == 4 + sum(c.points for c in batch)
