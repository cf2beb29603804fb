"""The staged unit of work undoes a failed event's writes and keeps a committed one's."""

from __future__ import annotations

from collections import deque
from datetime import UTC, date, datetime

from jifen.services import ledger
from jifen.storage.ledger_repository import Balance
from jifen.storage.member_repository import MemberRecord
from jifen.storage.staged import Loaded, Staged, StagedUnitOfWork

T = datetime(2025, 3, 1, tzinfo=UTC)


def _staged() -> Staged:
    loaded = Loaded(
        events={},
        tickets={},
        members={1: MemberRecord(1, "active", T, None, None, None, None, None, None)},
        member_by_hash={},
        unlocked_on={1: None},
        balances={(1, "ride"): Balance(1, "ride", 100, 0, 3)},
        pending={},
        earnings={},
        earnings_since=date(2025, 3, 1),
        campaign_windows=[],
        asked_events=frozenset(),
        asked_tickets=frozenset(),
        asked_members=frozenset({1}),
        asked_hashes=frozenset(),
    )
    ids = {t: deque(range(10, 20)) for t in ("ledger_transactions", "lots", "pending_points")}
    return Staged(loaded, ids)


def _credit(uow: StagedUnitOfWork, key: str) -> None:
    ledger.credit(uow, key=key, member_id=1, kind="ride", points=5, occurred_at=T, expires_on=None)  # type: ignore[arg-type]


def test_an_event_that_does_not_commit_leaves_nothing_behind() -> None:
    staged = _staged()
    uow = StagedUnitOfWork(staged)

    with uow:
        _credit(uow, "a")  # no commit: as if the handler raised

    assert staged.reserved.headers == []
    assert staged.reserved.posted == []
    assert staged.reserved.lots == []
    assert staged.lots == {}
    assert staged.loaded.balances[(1, "ride")] == Balance(1, "ride", 100, 0, 3)
    assert staged.ids["lots"][0] == 10, "the ids it took are given back"


def test_a_committed_event_stays_when_the_next_one_fails() -> None:
    staged = _staged()
    uow = StagedUnitOfWork(staged)
    with uow:
        _credit(uow, "a")
        uow.commit()

    with uow:
        _credit(uow, "b")

    assert [t["idempotency_key"] for t in staged.reserved.headers] == ["a"]
    assert staged.loaded.balances[(1, "ride")] == Balance(1, "ride", 105, 0, 4)
    assert list(staged.lots) == [10]
    assert uow.ledger.find_by_key("a") is not None
    assert uow.ledger.find_by_key("b") is None
