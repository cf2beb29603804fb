"""Ticket redemption (兑换) on the in-memory unit of work: hold, commit, release, change, cancel.

Railway preset (SPEC §6): 100 points = ¥1, so a fare costs one point per fen; redeeming opens once
the balance has reached 10,000 points; a redemption is held, then committed when the ticket is
issued, or released; a change (改签) of a dearer fare costs the difference plus 1,000 points; a
railway cancellation returns every point as a new lot valid 12 months; five redemptions a day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from jifen.domain.errors import IdempotencyConflict, InsufficientPoints, JifenError
from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.redemption import (
    TicketRequest,
    Train,
    cancel_ticket,
    change_ticket,
    commit,
    get_redemption,
    redeem_ticket,
    release,
)
from tests.conftest import SHANGHAI
from tests.fakes import FakeUnitOfWork

NOW = datetime(2025, 6, 1, 10, tzinfo=SHANGHAI)
DEPARTS = datetime(2025, 6, 20, 8, tzinfo=SHANGHAI)
LOT_EXPIRES = date(2026, 6, 1)


class Desk:
    """A member with ride points, and the ticket office redeeming tickets for them."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.uow = FakeUnitOfWork(program)
        self.member = self.uow.add_member(joined_at=datetime(2025, 1, 6, tzinfo=SHANGHAI))

    def earn(self, points: int, *, key: str = "earned") -> None:
        ledger.credit(
            self.uow,
            key=key,
            member_id=self.member,
            kind="ride",
            points=points,
            occurred_at=NOW - timedelta(days=1),
            expires_on=LOT_EXPIRES,
        )

    def redeem(
        self, redemption_id: str = "R1", *, fare_fen: int = 55350, **request: object
    ) -> dict[str, object]:
        fields: dict[str, object] = {
            "id": redemption_id,
            "member_id": self.member,
            "fare_fen": fare_fen,
            "train": Train("G1"),
            "departure_at": DEPARTS,
            "passenger_member_id": self.member,
            **request,
        }
        ticket = TicketRequest(**fields)  # type: ignore[arg-type]
        return redeem_ticket(self.uow, program=self.program, request=ticket, now=NOW)

    def change(self, key: str, *, fare_fen: int, departure_at: datetime) -> dict[str, object]:
        return change_ticket(
            self.uow,
            program=self.program,
            redemption_id="R1",
            key=key,
            fare_fen=fare_fen,
            departure_at=departure_at,
            now=NOW,
        )

    def ride(self) -> int:
        """The member's spendable ride points."""
        with self.uow:
            return sum(b.available for b in self.uow.ledger.balances_of(self.member))

    def status(self, redemption_id: str = "R1") -> str:
        return get_redemption(self.uow, redemption_id).status


@pytest.fixture
def desk(railway: Program) -> Desk:
    return Desk(railway)


def code_of(error: pytest.ExceptionInfo[JifenError]) -> str:
    return error.value.code


def test_holds_the_fare_in_points_out_of_the_spendable_balance(desk: Desk) -> None:
    desk.earn(60000)

    held = desk.redeem(fare_fen=55350)

    assert held == {
        "redemption_id": "R1",
        "points": 55350,
        "status": "held",
        "paid": {"ride": 55350},
    }
    assert desk.ride() == 4650
    assert desk.status() == "held"


def test_refuses_a_member_whose_balance_never_reached_10000(desk: Desk) -> None:
    desk.earn(9999)

    with pytest.raises(JifenError) as refused:
        desk.redeem(fare_fen=5000)

    assert code_of(refused) == "redemption_locked"
    assert desk.ride() == 9999


def test_refuses_a_ticket_dearer_than_the_balance_and_holds_nothing(desk: Desk) -> None:
    desk.earn(10000)

    with pytest.raises(InsufficientPoints):
        desk.redeem(fare_fen=10001)

    assert desk.ride() == 10000
    with pytest.raises(JifenError, match="No redemption"):
        get_redemption(desk.uow, "R1")


def test_refuses_a_train_that_does_not_take_points(desk: Desk) -> None:
    desk.earn(60000)

    with pytest.raises(JifenError) as refused:
        desk.redeem(train=Train("K9", international=True))

    assert code_of(refused) == "train_not_redeemable"
    assert desk.ride() == 60000


def test_refuses_a_ticket_for_someone_who_is_not_a_beneficiary(desk: Desk) -> None:
    desk.earn(60000)

    with pytest.raises(JifenError) as refused:
        desk.redeem(passenger_member_id=desk.member + 1)

    assert code_of(refused) == "passenger_not_allowed"


def test_refuses_a_sixth_redemption_on_one_day(desk: Desk) -> None:
    desk.earn(60000)
    for n in range(5):
        desk.redeem(f"R{n}", fare_fen=1000)

    with pytest.raises(JifenError) as refused:
        desk.redeem("R5", fare_fen=1000)

    assert code_of(refused) == "velocity_limit"
    assert desk.ride() == 55000


def test_replay_of_same_redemption_id_returns_the_first_hold(desk: Desk) -> None:
    desk.earn(60000)
    first = desk.redeem(fare_fen=55350)

    again = desk.redeem(fare_fen=55350)

    assert again == first
    assert desk.ride() == 4650


def test_same_redemption_id_with_another_fare_is_a_conflict(desk: Desk) -> None:
    desk.earn(60000)
    desk.redeem(fare_fen=55350)

    with pytest.raises(IdempotencyConflict):
        desk.redeem(fare_fen=50000)

    assert desk.ride() == 4650


def test_commit_issues_the_ticket_and_keeps_the_points_spent(desk: Desk) -> None:
    desk.earn(60000)
    desk.redeem(fare_fen=55350)

    issued = commit(desk.uow, program=desk.program, redemption_id="R1", key="c1", now=NOW)

    assert issued == {"redemption_id": "R1", "points": 55350, "status": "committed"}
    assert desk.ride() == 4650
    with desk.uow:
        moved = desk.uow.ledger.find_by_key("redemption:R1:commit:ride")
    assert moved is not None
    assert {(e.account, e.points) for e in moved.entries} == {
        ("program:held", -55350),
        ("program:redeemed", 55350),
    }


def test_release_puts_the_points_back_into_the_lots_they_came_from(desk: Desk) -> None:
    desk.earn(30000, key="first")
    desk.earn(30000, key="second")
    desk.redeem(fare_fen=55350)

    released = release(desk.uow, program=desk.program, redemption_id="R1", key="r1", now=NOW)

    assert released["status"] == "released"
    assert released["points_returned"] == 55350
    assert desk.ride() == 60000
    with desk.uow:
        lots = desk.uow.ledger.lots_of(desk.member)
    assert [(lot.remaining, lot.expires_on) for lot in lots] == [(30000, LOT_EXPIRES)] * 2


def test_commit_after_release_is_refused(desk: Desk) -> None:
    desk.earn(60000)
    desk.redeem(fare_fen=55350)
    release(desk.uow, program=desk.program, redemption_id="R1", key="r1", now=NOW)

    with pytest.raises(JifenError) as refused:
        commit(desk.uow, program=desk.program, redemption_id="R1", key="c1", now=NOW)

    assert code_of(refused) == "invalid_redemption_state"
    assert desk.status() == "released"
    assert desk.ride() == 60000


def test_commit_after_the_train_left_is_refused(desk: Desk) -> None:
    desk.earn(60000)
    desk.redeem(fare_fen=55350)
    late = DEPARTS + timedelta(minutes=1)

    with pytest.raises(JifenError) as refused:
        commit(desk.uow, program=desk.program, redemption_id="R1", key="c1", now=late)

    assert code_of(refused) == "departure_passed"
    assert desk.status() == "held"


def test_change_to_a_dearer_fare_costs_the_difference_and_the_fee(desk: Desk) -> None:
    desk.earn(60000)
    desk.redeem(fare_fen=50000)
    commit(desk.uow, program=desk.program, redemption_id="R1", key="c1", now=NOW)

    changed = desk.change("ch1", fare_fen=52000, departure_at=DEPARTS + timedelta(days=1))

    assert changed["points_charged"] == 2000 + 1000
    assert changed["points"] == 53000
    assert desk.ride() == 60000 - 53000


def test_a_second_change_is_refused(desk: Desk) -> None:
    desk.earn(60000)
    desk.redeem(fare_fen=50000)
    commit(desk.uow, program=desk.program, redemption_id="R1", key="c1", now=NOW)
    desk.change("ch1", fare_fen=40000, departure_at=DEPARTS)

    with pytest.raises(JifenError) as refused:
        desk.change("ch2", fare_fen=40000, departure_at=DEPARTS)

    assert code_of(refused) == "change_not_allowed"
    assert desk.ride() == 10000  # the cheaper fare gave nothing back


def test_a_railway_cancellation_returns_every_point_as_a_lot_valid_12_months(desk: Desk) -> None:
    desk.earn(60000)
    desk.redeem(fare_fen=55350)
    commit(desk.uow, program=desk.program, redemption_id="R1", key="c1", now=NOW)
    later = datetime(2025, 6, 21, 12, tzinfo=SHANGHAI)

    cancelled = cancel_ticket(
        desk.uow,
        program=desk.program,
        redemption_id="R1",
        key="x1",
        reason="railway_fault",
        now=later,
    )

    assert cancelled["points_returned"] == 55350
    assert cancelled["expires_on"] == "2026-06-21"
    assert desk.ride() == 60000
    assert desk.status() == "cancelled"
