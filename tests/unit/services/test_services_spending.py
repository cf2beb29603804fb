"""Spending, reversal and expiry through the ledger's one door, on the in-memory unit of work.

SPEC §2: lots are spent oldest expiry first (先入先出); a lot past its expiry date cannot be spent;
a reversal of a spend restores the lots it took; no spendable balance goes negative; the same key
twice changes nothing the second time and returns the first result.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from jifen.domain.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    LotNotExpirable,
    NotFound,
    NotReversible,
)
from jifen.programs.schema import Program
from jifen.services import ledger
from tests.conftest import SHANGHAI
from tests.fakes import FakeUnitOfWork

NOW = datetime(2025, 6, 1, 10, tzinfo=SHANGHAI)


@pytest.fixture
def uow(railway: Program) -> FakeUnitOfWork:
    return FakeUnitOfWork(railway)


@pytest.fixture
def member(uow: FakeUnitOfWork) -> int:
    return uow.add_member(joined_at=datetime(2025, 1, 6, tzinfo=SHANGHAI))


def credit(uow: FakeUnitOfWork, member: int, key: str, points: int, expires_on: date) -> int:
    """Credit a ride lot expiring on `expires_on`; returns the lot's id."""
    posted = ledger.credit(
        uow,
        key=key,
        member_id=member,
        kind="ride",
        points=points,
        occurred_at=NOW,
        expires_on=expires_on,
    )
    [lot_id] = [e.lot_id for e in posted.entries if e.lot_id is not None]
    return lot_id


def spend(uow: FakeUnitOfWork, member: int, key: str, points: int) -> ledger.Posted:
    return ledger.spend(uow, key=key, member_id=member, kind="ride", points=points, occurred_at=NOW)


def lots(uow: FakeUnitOfWork, member: int) -> dict[int, int]:
    """What is left in each of the member's lots."""
    with uow:
        return {lot.id: lot.remaining for lot in uow.ledger.lots_of(member)}


def available(uow: FakeUnitOfWork, member: int) -> int:
    with uow:
        return sum(b.available for b in uow.ledger.balances_of(member) if b.kind == "ride")


def test_spends_the_lot_that_expires_first_before_older_credits(
    uow: FakeUnitOfWork, member: int
) -> None:
    later = credit(uow, member, "c1", 100, date(2026, 3, 1))  # credited first, expires last
    sooner = credit(uow, member, "c2", 50, date(2025, 9, 1))

    spend(uow, member, "s1", 70)

    assert lots(uow, member) == {later: 80, sooner: 0}
    assert available(uow, member) == 80


def test_refuses_spend_beyond_balance_and_changes_nothing(uow: FakeUnitOfWork, member: int) -> None:
    lot = credit(uow, member, "c1", 100, date(2026, 3, 1))

    with pytest.raises(InsufficientPoints) as refused:
        spend(uow, member, "s1", 101)

    assert refused.value.code == "insufficient_points"
    assert (refused.value.details["needed"], refused.value.details["available"]) == (101, 100)
    assert lots(uow, member) == {lot: 100}
    with uow:
        assert uow.ledger.find_by_key("s1") is None


def test_does_not_spend_a_lot_on_or_after_its_expiry_date(uow: FakeUnitOfWork, member: int) -> None:
    credit(uow, member, "c1", 100, date(2025, 6, 1))  # void from NOW's day on, job or not
    fresh = credit(uow, member, "c2", 30, date(2026, 6, 1))

    with pytest.raises(InsufficientPoints):
        spend(uow, member, "s1", 50)
    spend(uow, member, "s2", 30)

    assert lots(uow, member)[fresh] == 0


def test_replay_of_same_key_returns_stored_result(uow: FakeUnitOfWork, member: int) -> None:
    credit(uow, member, "c1", 100, date(2026, 3, 1))
    first = spend(uow, member, "s1", 40)

    again = spend(uow, member, "s1", 40)

    assert again.replayed
    assert (again.transaction_id, again.entries) == (first.transaction_id, first.entries)
    assert available(uow, member) == 60


def test_same_key_with_another_request_is_an_idempotency_conflict(
    uow: FakeUnitOfWork, member: int
) -> None:
    credit(uow, member, "c1", 100, date(2026, 3, 1))
    spend(uow, member, "s1", 40)

    with pytest.raises(IdempotencyConflict) as refused:
        spend(uow, member, "s1", 41)

    assert refused.value.code == "idempotency_conflict"
    assert available(uow, member) == 60


def test_refuses_points_for_a_member_that_does_not_exist(uow: FakeUnitOfWork) -> None:
    with pytest.raises(NotFound):
        ledger.credit(
            uow, key="c1", member_id=99, kind="ride", points=5, occurred_at=NOW, expires_on=None
        )

    with uow:
        assert uow.ledger.find_by_key("c1") is None


def test_reversing_a_spend_puts_the_points_back_into_the_lots_it_took(
    uow: FakeUnitOfWork, member: int
) -> None:
    later = credit(uow, member, "c1", 100, date(2026, 3, 1))
    sooner = credit(uow, member, "c2", 50, date(2025, 9, 1))
    spent = spend(uow, member, "s1", 70)

    ledger.reverse(uow, key="r1", transaction_id=spent.transaction_id, occurred_at=NOW)

    assert lots(uow, member) == {later: 100, sooner: 50}
    assert available(uow, member) == 150


def test_a_reversal_cannot_be_reversed(uow: FakeUnitOfWork, member: int) -> None:
    credit(uow, member, "c1", 100, date(2026, 3, 1))
    spent = spend(uow, member, "s1", 70)
    reversal = ledger.reverse(uow, key="r1", transaction_id=spent.transaction_id, occurred_at=NOW)

    with pytest.raises(NotReversible):
        ledger.reverse(uow, key="r2", transaction_id=reversal.transaction_id, occurred_at=NOW)

    assert available(uow, member) == 100


def test_expiry_moves_what_is_left_of_a_due_lot_out_of_the_balance(
    uow: FakeUnitOfWork, member: int
) -> None:
    due = credit(uow, member, "c1", 100, date(2025, 6, 1))
    kept = credit(uow, member, "c2", 30, date(2026, 6, 1))

    posted = ledger.expire_lot(uow, key="x1", lot_id=due, occurred_at=NOW)

    assert lots(uow, member) == {due: 0, kept: 30}
    assert available(uow, member) == 30
    assert {(e.account, e.points) for e in posted.entries} == {
        ("member:available", -100),
        ("program:expired", 100),
    }


def test_refuses_to_expire_a_lot_before_its_expiry_date(uow: FakeUnitOfWork, member: int) -> None:
    lot = credit(uow, member, "c1", 100, date(2025, 6, 2))

    with pytest.raises(LotNotExpirable):
        ledger.expire_lot(uow, key="x1", lot_id=lot, occurred_at=NOW)

    assert lots(uow, member) == {lot: 100}


def test_a_batch_the_door_refuses_writes_none_of_its_postings(
    uow: FakeUnitOfWork, member: int
) -> None:
    credit(uow, member, "c1", 100, date(2026, 3, 1))
    gift = ledger.Credit(
        key="c2", member_id=member, kind="ride", points=10, occurred_at=NOW, expires_on=None
    )
    to_nobody = ledger.Credit(
        key="c3", member_id=member + 1, kind="ride", points=10, occurred_at=NOW, expires_on=None
    )

    with pytest.raises(NotFound):
        ledger.post(uow, [ledger.ready(gift.posting()), ledger.ready(to_nobody.posting())])

    assert available(uow, member) == 100
    with uow:
        assert uow.ledger.find_by_key("c2") is None


def test_a_posting_inside_a_use_case_goes_when_the_use_case_does_not_commit(
    uow: FakeUnitOfWork, member: int
) -> None:
    credit(uow, member, "c1", 100, date(2026, 3, 1))

    with uow:  # an enclosing use case that fails after spending
        spend(uow, member, "s1", 40)
        assert available(uow, member) == 60  # seen inside its own transaction

    assert available(uow, member) == 100
    with uow:
        assert [lot.remaining for lot in uow.ledger.lots_of(member)] == [100]
        assert uow.ledger.find_by_key("s1") is None
