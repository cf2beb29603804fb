"""The ledger's use cases on SQLite and PostgreSQL: credit, pending, spend, reverse, expire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from jifen.domain.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidRequest,
    LotNotExpirable,
    NotFound,
    NotReversible,
    PendingAlreadySettled,
)
from jifen.domain.ledger import MEMBER_AVAILABLE, PROGRAM_EXPIRED, PROGRAM_REDEEMED
from jifen.services import ledger
from jifen.services.ledger_check import check_ledger
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0

NEXT_YEAR = date(2026, 1, 6)


def balance(uow: SqlUnitOfWork, member_id: int, kind: str = "ride") -> tuple[int, int]:
    with uow:
        for b in uow.ledger.balances_of(member_id):
            if b.kind == kind:
                return b.available, b.pending
    return 0, 0


def remaining(uow: SqlUnitOfWork, member_id: int) -> list[int]:
    with uow:
        return [lot.remaining for lot in uow.ledger.lots_of(member_id)]


def give(uow: SqlUnitOfWork, member_id: int, points: int, *, key: str, expires_on: date) -> int:
    posted = ledger.credit(
        uow,
        key=key,
        member_id=member_id,
        kind="ride",
        points=points,
        occurred_at=T0,
        expires_on=expires_on,
    )
    return posted.lot_ids[0]


def assert_ledger_ok(uow: SqlUnitOfWork) -> None:
    report = check_ledger(uow)
    assert report.ok, report.violations


class TestCredit:
    def test_credit_opens_a_lot_and_raises_the_balance(self, uow, new_member):
        member = new_member()
        lot_id = give(uow, member, 2768, key="c1", expires_on=NEXT_YEAR)
        assert balance(uow, member) == (2768, 0)
        with uow:
            lot = uow.ledger.get_lot(lot_id)
        assert (lot.credited_on, lot.expires_on, lot.remaining) == (T0.date(), NEXT_YEAR, 2768)
        assert_ledger_ok(uow)

    def test_refuses_points_that_are_not_positive_whole_numbers(self, uow, new_member):
        member = new_member()
        for bad in (0, -5, 1.5, True):
            with pytest.raises(InvalidRequest):
                give(uow, member, bad, key=f"bad-{bad}", expires_on=NEXT_YEAR)
        assert balance(uow, member) == (0, 0)

    def test_refuses_an_unknown_member_and_writes_nothing(self, uow):
        with pytest.raises(NotFound):
            give(uow, 999, 10, key="ghost", expires_on=NEXT_YEAR)
        assert check_ledger(uow).counts["transactions"] == 0


class TestIdempotency:
    def test_same_key_same_request_returns_first_result_and_changes_nothing(self, uow, new_member):
        member = new_member()
        first = ledger.credit(
            uow,
            key="k",
            member_id=member,
            kind="ride",
            points=100,
            occurred_at=T0,
            expires_on=NEXT_YEAR,
        )
        again = ledger.credit(
            uow,
            key="k",
            member_id=member,
            kind="ride",
            points=100,
            occurred_at=T0,
            expires_on=NEXT_YEAR,
        )
        assert again.replayed
        assert not first.replayed
        assert (again.transaction_id, again.entries) == (first.transaction_id, first.entries)
        assert balance(uow, member) == (100, 0)

    def test_same_key_different_request_is_an_idempotency_conflict(self, uow, new_member):
        member = new_member()
        give(uow, member, 100, key="k", expires_on=NEXT_YEAR)
        with pytest.raises(IdempotencyConflict) as caught:
            give(uow, member, 101, key="k", expires_on=NEXT_YEAR)
        assert caught.value.code == "idempotency_conflict"
        assert balance(uow, member) == (100, 0)

    def test_a_refused_request_does_not_burn_its_key(self, uow, new_member):
        member = new_member()
        with pytest.raises(InsufficientPoints):
            ledger.spend(uow, key="s", member_id=member, kind="ride", points=5, occurred_at=T0)
        give(uow, member, 10, key="c", expires_on=NEXT_YEAR)
        ledger.spend(uow, key="s", member_id=member, kind="ride", points=5, occurred_at=T0)
        assert balance(uow, member) == (5, 0)


class TestPending:
    def test_confirm_turns_pending_points_into_a_lot(self, uow, new_member):
        member = new_member()
        pending = ledger.add_pending(
            uow,
            key="p",
            member_id=member,
            kind="ride",
            points=500,
            occurred_at=T0,
            reference="ticket-1",
        )
        assert balance(uow, member) == (0, 500)
        confirmed = ledger.confirm_pending(
            uow,
            key="c",
            pending_id=pending.pending_id,
            occurred_at=T0 + timedelta(days=2),
            expires_on=NEXT_YEAR,
        )
        assert balance(uow, member) == (500, 0)
        assert len(confirmed.lot_ids) == 1
        assert_ledger_ok(uow)

    def test_void_returns_pending_points_to_the_program(self, uow, new_member):
        member = new_member()
        pending = ledger.add_pending(
            uow, key="p", member_id=member, kind="ride", points=500, occurred_at=T0
        )
        ledger.void_pending(uow, key="v", pending_id=pending.pending_id, occurred_at=T0)
        assert balance(uow, member) == (0, 0)
        with pytest.raises(PendingAlreadySettled):
            ledger.confirm_pending(
                uow, key="c", pending_id=pending.pending_id, occurred_at=T0, expires_on=NEXT_YEAR
            )
        assert_ledger_ok(uow)


class TestSpend:
    def test_prefers_the_lot_that_expires_first(self, uow, new_member):
        member = new_member()
        give(uow, member, 300, key="late", expires_on=date(2026, 6, 1))
        give(uow, member, 200, key="early", expires_on=date(2025, 12, 1))
        posted = ledger.spend(
            uow, key="s", member_id=member, kind="ride", points=250, occurred_at=T0
        )
        taken = {e.lot_id: -e.points for e in posted.entries if e.account == MEMBER_AVAILABLE}
        assert sorted(taken.values()) == [50, 200]
        assert remaining(uow, member) == [250, 0]
        assert [e.points for e in posted.entries if e.account == PROGRAM_REDEEMED] == [250]
        assert_ledger_ok(uow)

    def test_refuses_to_overdraw_and_changes_nothing(self, uow, new_member):
        member = new_member()
        give(uow, member, 100, key="c", expires_on=NEXT_YEAR)
        with pytest.raises(InsufficientPoints) as caught:
            ledger.spend(uow, key="s", member_id=member, kind="ride", points=101, occurred_at=T0)
        assert caught.value.details == {
            "member_id": member,
            "kind": "ride",
            "needed": 101,
            "available": 100,
        }
        assert balance(uow, member) == (100, 0)

    def test_does_not_spend_a_lot_past_its_expiry_date(self, uow, new_member):
        member = new_member()
        give(uow, member, 100, key="c", expires_on=date(2025, 2, 1))
        with pytest.raises(InsufficientPoints):
            ledger.spend(
                uow,
                key="s",
                member_id=member,
                kind="ride",
                points=1,
                occurred_at=T0.replace(month=2, day=1),
            )


class TestReverse:
    def test_reversing_a_spend_restores_the_lots_it_took(self, uow, new_member):
        member = new_member()
        give(uow, member, 100, key="a", expires_on=date(2025, 6, 1))
        give(uow, member, 100, key="b", expires_on=date(2025, 9, 1))
        spent = ledger.spend(
            uow, key="s", member_id=member, kind="ride", points=150, occurred_at=T0
        )
        ledger.reverse(uow, key="r", transaction_id=spent.transaction_id, occurred_at=T0)
        assert remaining(uow, member) == [100, 100]
        assert balance(uow, member) == (200, 0)
        assert_ledger_ok(uow)

    def test_a_transaction_is_reversed_only_once(self, uow, new_member):
        member = new_member()
        give(uow, member, 100, key="a", expires_on=NEXT_YEAR)
        spent = ledger.spend(uow, key="s", member_id=member, kind="ride", points=10, occurred_at=T0)
        ledger.reverse(uow, key="r1", transaction_id=spent.transaction_id, occurred_at=T0)
        with pytest.raises(NotReversible):
            ledger.reverse(uow, key="r2", transaction_id=spent.transaction_id, occurred_at=T0)
        assert balance(uow, member) == (100, 0)

    def test_a_credit_already_spent_from_cannot_be_reversed(self, uow, new_member):
        member = new_member()
        credited = ledger.credit(
            uow,
            key="a",
            member_id=member,
            kind="ride",
            points=100,
            occurred_at=T0,
            expires_on=NEXT_YEAR,
        )
        ledger.spend(uow, key="s", member_id=member, kind="ride", points=10, occurred_at=T0)
        with pytest.raises(NotReversible):
            ledger.reverse(uow, key="r", transaction_id=credited.transaction_id, occurred_at=T0)
        assert balance(uow, member) == (90, 0)


class TestExpire:
    def test_expiry_moves_what_is_left_of_a_lot_to_program_expired(self, uow, new_member):
        member = new_member()
        lot = give(uow, member, 100, key="a", expires_on=date(2025, 3, 1))
        ledger.spend(uow, key="s", member_id=member, kind="ride", points=30, occurred_at=T0)
        posted = ledger.expire_lot(uow, key="e", lot_id=lot, occurred_at=T0.replace(month=3, day=1))
        assert [e.points for e in posted.entries if e.account == PROGRAM_EXPIRED] == [70]
        assert balance(uow, member) == (0, 0)
        assert_ledger_ok(uow)

    def test_a_lot_is_not_expired_before_its_date(self, uow, new_member):
        member = new_member()
        lot = give(uow, member, 100, key="a", expires_on=date(2025, 3, 1))
        with pytest.raises(LotNotExpirable):
            ledger.expire_lot(uow, key="e", lot_id=lot, occurred_at=T0.replace(month=2, day=28))
        assert balance(uow, member) == (100, 0)


def test_system_accounts_have_no_stored_balance(uow, new_member: Callable[[], int]):
    member = new_member()
    give(uow, member, 100, key="a", expires_on=NEXT_YEAR)
    with uow:
        kinds = {(b.member_id, b.kind) for b in uow.ledger.balances_of(member)}
    assert kinds == {(member, "ride")}


def test_check_names_a_pending_balance_without_open_items_behind_it(uow, engine, new_member):
    member = new_member()
    ledger.add_pending(uow, key="p", member_id=member, kind="ride", points=40, occurred_at=T0)
    with engine.begin() as connection:
        connection.execute(text("UPDATE pending_points SET status = 'voided'"))
    [violation] = check_ledger(uow).violations
    assert violation.check == "pending balance = open pending items"
    assert (violation.subject, violation.expected, violation.actual) == (
        f"member:{member}:pending (ride)",
        0,
        40,
    )
