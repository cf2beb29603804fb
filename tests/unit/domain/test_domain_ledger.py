"""The ledger's pure rules: account names, lots, spending order, allocation and balance checks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jifen.domain.errors import InsufficientPoints, InvalidRequest, UnbalancedTransaction
from jifen.domain.ledger import (
    MEMBER_AVAILABLE,
    PROGRAM_ISSUED,
    PROGRAM_REDEEMED,
    Allocation,
    Entry,
    Lot,
    account_name,
    allocate,
    check_balanced,
    require_positive,
    spend_entries,
    spending_order,
)

TODAY = date(2025, 6, 1)
MEMBER = 42


def lot(
    lot_id: int, remaining: int, *, expires_on: date | None = None, original: int = 1_000
) -> Lot:
    return Lot(lot_id, MEMBER, "ride", date(2025, 1, 1), expires_on, original, remaining)


def spend(lots: list[Lot], points: int, on: date = TODAY) -> list[Allocation]:
    return allocate(lots, member_id=MEMBER, kind="ride", points=points, on=on)


# -- account names ---------------------------------------------------------------------------


def test_a_member_account_is_read_with_the_member_between_owner_and_bucket() -> None:
    assert account_name(MEMBER_AVAILABLE, 42) == "member:42:available"
    assert account_name("member:pending", 7) == "member:7:pending"


def test_a_system_account_is_read_as_it_is() -> None:
    assert account_name(PROGRAM_ISSUED, None) == "program:issued"


# -- entries ---------------------------------------------------------------------------------


def test_a_reversed_entry_moves_the_same_points_back_on_the_same_lot() -> None:
    entry = Entry(MEMBER_AVAILABLE, "ride", 300, MEMBER, lot_id=5, pending_id=9)

    assert entry.reversed() == Entry(MEMBER_AVAILABLE, "ride", -300, MEMBER, lot_id=5, pending_id=9)


@given(points=st.integers(-(10**9), 10**9), lot_id=st.none() | st.integers(1, 10**6))
def test_reversing_an_entry_twice_gives_it_back(points: int, lot_id: int | None) -> None:
    entry = Entry(MEMBER_AVAILABLE, "activity", points, MEMBER, lot_id=lot_id)

    assert entry.reversed().reversed() == entry
    assert entry.points + entry.reversed().points == 0


def test_an_entry_is_a_value_that_cannot_be_changed() -> None:
    entry = Entry(PROGRAM_ISSUED, "ride", -10)

    with pytest.raises(AttributeError):
        entry.points = 10  # type: ignore[misc]


# -- lots ------------------------------------------------------------------------------------


def test_a_lot_can_be_spent_until_the_day_before_it_expires() -> None:
    expiring = lot(1, 100, expires_on=TODAY)

    assert expiring.spendable_on(TODAY - timedelta(days=1))
    assert not expiring.spendable_on(TODAY)
    assert expiring.expirable_on(TODAY)
    assert not expiring.expirable_on(TODAY - timedelta(days=1))


def test_a_lot_that_never_expires_can_always_be_spent_and_never_expires() -> None:
    forever = lot(1, 100)

    assert forever.spendable_on(date.max)
    assert not forever.expirable_on(date.max)


def test_a_used_up_lot_can_be_neither_spent_nor_expired() -> None:
    empty = lot(1, 0, expires_on=TODAY)

    assert not empty.spendable_on(TODAY - timedelta(days=1))
    assert not empty.expirable_on(TODAY + timedelta(days=1))


@given(
    remaining=st.integers(1, 10_000),
    expires_on=st.dates(date(2000, 1, 1), date(2100, 1, 1)),
    day=st.dates(date(2000, 1, 1), date(2100, 1, 1)),
)
def test_a_lot_with_points_left_is_either_spendable_or_expirable_never_both(
    remaining: int, expires_on: date, day: date
) -> None:
    held = lot(1, remaining, expires_on=expires_on)

    assert held.spendable_on(day) != held.expirable_on(day)


# -- amounts ---------------------------------------------------------------------------------


def test_a_positive_whole_number_of_points_is_accepted_as_it_is() -> None:
    assert require_positive(1) == 1
    assert require_positive(10**12) == 10**12


@pytest.mark.parametrize("points", [0, -1, True, 1.0, 2.5, "5", None])
def test_zero_negative_or_non_integer_points_are_refused(points: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        require_positive(points)  # type: ignore[arg-type]

    assert caught.value.code == "invalid_request"
    assert repr(points) in caught.value.message


# -- spending order --------------------------------------------------------------------------


def test_lots_are_spent_soonest_expiry_first_and_never_expiring_lots_last() -> None:
    forever = lot(1, 10)
    late = lot(2, 10, expires_on=date(2026, 1, 1))
    soon = lot(3, 10, expires_on=date(2025, 7, 1))
    also_soon = lot(4, 10, expires_on=date(2025, 7, 1))

    ordered = sorted([forever, also_soon, late, soon], key=spending_order)

    assert [x.id for x in ordered] == [3, 4, 2, 1]  # equal expiry: the older lot (lower id) first


# -- allocation ------------------------------------------------------------------------------


def test_a_spend_takes_from_the_lot_that_expires_soonest() -> None:
    lots = [lot(1, 500, expires_on=date(2026, 1, 1)), lot(2, 500, expires_on=date(2025, 9, 1))]

    assert spend(lots, 200) == [Allocation(2, 200)]


def test_a_spend_larger_than_one_lot_drains_it_and_moves_on_to_the_next() -> None:
    lots = [lot(1, 300, expires_on=date(2025, 9, 1)), lot(2, 500), lot(3, 100)]

    assert spend(lots, 450) == [Allocation(1, 300), Allocation(2, 150)]


def test_a_spend_of_the_whole_balance_empties_every_spendable_lot() -> None:
    lots = [lot(1, 300, expires_on=date(2025, 9, 1)), lot(2, 500)]

    assert spend(lots, 800) == [Allocation(1, 300), Allocation(2, 500)]


def test_expired_and_empty_lots_are_passed_over() -> None:
    lots = [lot(1, 900, expires_on=TODAY), lot(2, 0, expires_on=date(2025, 7, 1)), lot(3, 50)]

    assert spend(lots, 50) == [Allocation(3, 50)]


def test_a_spend_beyond_the_spendable_points_is_refused_with_what_there_is() -> None:
    lots = [lot(1, 900, expires_on=TODAY), lot(2, 100), lot(3, 20, expires_on=date(2025, 7, 1))]

    with pytest.raises(InsufficientPoints) as caught:
        spend(lots, 121)

    assert caught.value.details == {
        "member_id": MEMBER,
        "kind": "ride",
        "needed": 121,
        "available": 120,  # the expired lot's 900 do not count
    }


def test_a_member_without_lots_cannot_spend() -> None:
    with pytest.raises(InsufficientPoints) as caught:
        spend([], 1)

    assert caught.value.details["available"] == 0


@pytest.mark.parametrize("points", [0, -5])
def test_a_spend_of_no_points_is_refused_before_any_lot_is_looked_at(points: int) -> None:
    with pytest.raises(InvalidRequest):
        spend([], points)


lots_strategy = st.lists(
    st.tuples(
        st.integers(0, 500),
        st.none() | st.dates(date(2025, 5, 1), date(2025, 8, 1)),
    ),
    max_size=8,
).map(lambda rows: [lot(i, left, expires_on=exp) for i, (left, exp) in enumerate(rows, 1)])


@given(lots=lots_strategy, points=st.integers(1, 4_000))
def test_an_allocation_takes_exactly_the_points_in_spending_order_or_refuses(
    lots: list[Lot], points: int
) -> None:
    spendable = sorted((x for x in lots if x.spendable_on(TODAY)), key=spending_order)
    available = sum(x.remaining for x in spendable)
    if available < points:
        with pytest.raises(InsufficientPoints):
            spend(lots, points)
        return

    allocations = spend(lots, points)

    assert sum(a.points for a in allocations) == points
    assert all(a.points > 0 for a in allocations)
    # The lots taken are the first spendable ones in spending order, each drained but the last.
    taken = spendable[: len(allocations)]
    assert [a.lot_id for a in allocations] == [x.id for x in taken]
    assert all(a.points == x.remaining for a, x in zip(allocations[:-1], taken, strict=False))
    assert allocations[-1].points <= taken[-1].remaining


# -- balance ---------------------------------------------------------------------------------


def test_a_transaction_whose_legs_cancel_out_is_balanced() -> None:
    check_balanced(
        [
            Entry(PROGRAM_ISSUED, "ride", -500),
            Entry(MEMBER_AVAILABLE, "ride", 500, MEMBER),
            Entry(PROGRAM_ISSUED, "activity", -20),
            Entry(MEMBER_AVAILABLE, "activity", 20, MEMBER),
        ]
    )


@pytest.mark.parametrize(
    "entries",
    [[], [Entry(PROGRAM_ISSUED, "ride", 0)]],
    ids=["no entries", "one entry"],
)
def test_a_transaction_needs_at_least_two_entries(entries: list[Entry]) -> None:
    with pytest.raises(UnbalancedTransaction):
        check_balanced(entries)


def test_a_transaction_that_creates_points_from_nothing_is_refused() -> None:
    with pytest.raises(UnbalancedTransaction) as caught:
        check_balanced(
            [Entry(PROGRAM_ISSUED, "ride", -500), Entry(MEMBER_AVAILABLE, "ride", 501, MEMBER)]
        )

    assert caught.value.details == {"totals": {"ride": 1}}


def test_points_of_one_kind_cannot_pay_for_points_of_another() -> None:
    # The grand total is zero, but ride points would turn into activity points.
    with pytest.raises(UnbalancedTransaction) as caught:
        check_balanced(
            [
                Entry(MEMBER_AVAILABLE, "ride", -100, MEMBER),
                Entry(MEMBER_AVAILABLE, "activity", 100, MEMBER),
            ]
        )

    assert caught.value.details == {"totals": {"ride": -100, "activity": 100}}


@given(
    legs=st.lists(
        st.tuples(st.sampled_from(["ride", "activity"]), st.integers(-(10**6), 10**6)), max_size=6
    )
)
def test_any_legs_closed_by_one_counter_leg_per_kind_are_balanced(
    legs: list[tuple[str, int]],
) -> None:
    entries = [Entry(MEMBER_AVAILABLE, kind, points, MEMBER) for kind, points in legs]
    entries += [
        Entry(PROGRAM_ISSUED, kind, -sum(p for k, p in legs if k == kind))
        for kind in ("ride", "activity")
    ]

    check_balanced(entries)


# -- spend legs ------------------------------------------------------------------------------


def test_a_spend_debits_each_lot_taken_and_credits_the_receiving_account_once() -> None:
    legs = spend_entries(
        [Allocation(3, 200), Allocation(8, 50)],
        member_id=MEMBER,
        kind="ride",
        to_account=PROGRAM_REDEEMED,
    )

    assert legs == [
        Entry(MEMBER_AVAILABLE, "ride", -200, MEMBER, lot_id=3),
        Entry(MEMBER_AVAILABLE, "ride", -50, MEMBER, lot_id=8),
        Entry(PROGRAM_REDEEMED, "ride", 250),
    ]


@given(lots=lots_strategy, points=st.integers(1, 4_000))
def test_the_legs_of_any_spend_that_fits_are_balanced(lots: list[Lot], points: int) -> None:
    try:
        allocations = spend(lots, points)
    except InsufficientPoints:
        return

    legs = spend_entries(allocations, member_id=MEMBER, kind="ride", to_account=PROGRAM_REDEEMED)

    check_balanced(legs)
    assert legs[-1] == Entry(PROGRAM_REDEEMED, "ride", points)
