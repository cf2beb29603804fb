"""Postings built by the domain's pure functions: balanced, refusing what makes no sense."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from jifen.domain import postings
from jifen.domain.errors import (
    InsufficientPoints,
    InvalidRequest,
    LotNotExpirable,
    NotReversible,
    PendingAlreadySettled,
    UnbalancedTransaction,
)
from jifen.domain.ledger import Entry, Lot, TransactionType
from jifen.domain.postings import Header, OpensLot, PendingItem, Posting

AT = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)


def _header(key: str = "k") -> Header:
    return Header(key, "hash", AT)


def _lot(lot_id: int, remaining: int, expires_on: date | None, original: int = 100) -> Lot:
    return Lot(lot_id, 7, "ride", date(2025, 1, 1), expires_on, original, remaining)


def test_a_credit_opens_a_lot_funded_by_the_member_leg() -> None:
    posting = postings.credit(
        _header(),
        member_id=7,
        kind="ride",
        points=50,
        expires_on=date(2027, 1, 1),
        source="program:issued",
    )

    assert [(e.account, e.points) for e in posting.legs] == [
        ("program:issued", -50),
        ("member:available", 50),
    ]
    assert posting.opens == OpensLot(AT.date(), date(2027, 1, 1))
    assert posting.legs[posting.funding].member_id == 7
    assert posting.locks == ((7, "ride"),)


def test_legs_that_do_not_sum_to_zero_are_refused() -> None:
    legs = (Entry("program:issued", "ride", -5), Entry("member:available", "ride", 4, 7))

    with pytest.raises(UnbalancedTransaction):
        Posting(_header(), TransactionType.CREDIT, 7, legs)


def test_a_posting_that_opens_a_lot_no_leg_funds_is_refused() -> None:
    legs = (Entry("program:issued", "ride", -5), Entry("program:expired", "ride", 5))

    with pytest.raises(InvalidRequest):
        Posting(_header(), TransactionType.CREDIT, None, legs, opens=OpensLot(AT.date(), None))


def test_a_spend_takes_the_soonest_expiring_lot_first_and_skips_lapsed_ones() -> None:
    lots = [
        _lot(1, 30, None),
        _lot(2, 20, date(2025, 12, 31)),
        _lot(3, 90, date(2025, 5, 1)),  # lapsed before the spend's day
    ]

    posting = postings.spend(
        _header(), lots, member_id=7, kind="ride", points=40, to_account="program:redeemed"
    )

    assert [(e.lot_id, e.points) for e in posting.legs] == [(2, -20), (1, -20), (None, 40)]


def test_a_spend_beyond_the_spendable_lots_is_refused() -> None:
    with pytest.raises(InsufficientPoints):
        postings.spend(
            _header(),
            [_lot(1, 30, None)],
            member_id=7,
            kind="ride",
            points=31,
            to_account="program:redeemed",
        )


def test_a_spend_into_a_member_account_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        postings.spend(
            _header(),
            [_lot(1, 30, None)],
            member_id=7,
            kind="ride",
            points=5,
            to_account="member:available",
        )


def test_confirming_turns_pending_points_into_a_lot_and_settles_the_item() -> None:
    item = PendingItem(4, 7, "ride", 120, "open")

    posting = postings.confirm(_header(), item, expires_on=None)

    assert [(e.account, e.points, e.pending_id) for e in posting.legs] == [
        ("member:pending", -120, 4),
        ("member:available", 120, None),
    ]
    assert posting.settles == (4, "confirmed")


@pytest.mark.parametrize("status", ["confirmed", "voided"])
def test_settled_pending_points_cannot_be_settled_again(status: str) -> None:
    item = PendingItem(4, 7, "ride", 120, status)

    with pytest.raises(PendingAlreadySettled):
        postings.void(_header(), item)


def test_a_void_gives_the_promise_back_to_the_program() -> None:
    posting = postings.void(_header(), PendingItem(4, 7, "ride", 120, "open"))

    assert [(e.account, e.points) for e in posting.legs] == [
        ("member:pending", -120),
        ("program:issued", 120),
    ]
    assert posting.settles == (4, "voided")


def test_expiry_takes_what_is_left_of_a_lot_due_that_day() -> None:
    posting = postings.expiry(_header(), _lot(9, 35, AT.date()))

    assert [(e.account, e.points, e.lot_id) for e in posting.legs] == [
        ("member:available", -35, 9),
        ("program:expired", 35, None),
    ]


@pytest.mark.parametrize(
    "lot", [_lot(9, 35, date(2025, 6, 2)), _lot(9, 0, AT.date()), _lot(9, 5, None)]
)
def test_a_lot_not_due_or_empty_does_not_expire(lot: Lot) -> None:
    with pytest.raises(LotNotExpirable):
        postings.expiry(_header(), lot)


def test_a_reversal_mirrors_the_legs_on_the_same_lots() -> None:
    legs = (
        Entry("member:available", "ride", -20, 7, lot_id=2),
        Entry("program:redeemed", "ride", 20),
    )

    posting = postings.reversal(
        _header(),
        transaction_id=11,
        type_="spend",
        member_id=7,
        legs=legs,
        lots={2: _lot(2, 0, None, 20)},
    )

    assert [(e.points, e.lot_id) for e in posting.legs] == [(20, 2), (-20, None)]
    assert posting.reverses_id == 11


def test_a_credit_already_spent_from_cannot_be_reversed() -> None:
    legs = (
        Entry("program:issued", "ride", -50),
        Entry("member:available", "ride", 50, 7, lot_id=3),
    )

    with pytest.raises(NotReversible):
        postings.reversal(
            _header(),
            transaction_id=11,
            type_="credit",
            member_id=7,
            legs=legs,
            lots={3: _lot(3, 49, None, 50)},
        )


def test_pending_points_and_reversals_are_not_reversed() -> None:
    pending = (
        Entry("program:issued", "ride", -5),
        Entry("member:pending", "ride", 5, 7, pending_id=1),
    )
    with pytest.raises(NotReversible):
        postings.reversal(
            _header(), transaction_id=1, type_="pending", member_id=7, legs=pending, lots={}
        )
    credit = (Entry("program:issued", "ride", 5), Entry("program:adjusted", "ride", -5))
    with pytest.raises(NotReversible):
        postings.reversal(
            _header(), transaction_id=2, type_="reversal", member_id=None, legs=credit, lots={}
        )


def test_a_transfer_needs_two_different_system_accounts() -> None:
    with pytest.raises(InvalidRequest):
        postings.transfer(
            _header(), from_account="program:held", to_account="program:held", kind="ride", points=5
        )


def test_legs_of_two_members_lock_in_member_then_kind_order() -> None:
    legs = (
        Entry("member:available", "ride", -5, 9, lot_id=1),
        Entry("member:available", "bonus", -5, 3, lot_id=2),
        Entry("member:available", "ride", -5, 3, lot_id=3),
        Entry("program:redeemed", "ride", 10),
        Entry("program:redeemed", "bonus", 5),
    )

    posting = Posting(_header(), TransactionType.SPEND, None, legs)

    assert posting.locks == ((3, "bonus"), (3, "ride"), (9, "ride"))


@pytest.mark.parametrize("key", ["", "x" * 201])
def test_a_key_must_have_1_to_200_characters(key: str) -> None:
    with pytest.raises(InvalidRequest):
        _header(key)
