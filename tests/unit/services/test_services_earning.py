"""Earning on the in-memory unit of work: railway ticket events and activities into the ledger.

Expected points come from the railway preset (SPEC §4): ride points are the fare in yuan × 5,
half-up, promised on purchase and credited on travel, with as many upgrade points; a lot is valid
12 calendar months from the day it is credited; redemption opens at 10,000 points (SPEC §6).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from jifen.programs.schema import Program
from jifen.services.events import EventResult, apply_event
from jifen.storage.crypto import IdentityVault
from tests.conftest import SHANGHAI
from tests.fakes import FakeUnitOfWork

JOINED = datetime(2025, 1, 6, 9, 30, tzinfo=SHANGHAI)
DAY = date(2025, 5, 10)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def ticket(ticket_id: str, *, member_id: int, departure: datetime, fare_fen: int) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "passenger": {"member_id": member_id},
        "fare_fen": fare_fen,
        "ticket_type": "adult",
        "real_name": True,
        "payment": "cash",
        "issue": "normal",
        "train": {"number": "G1", "participating": True, "international": False, "tourist": False},
        "departure_at": departure.isoformat(),
        "arrival_at": (departure + timedelta(hours=5)).isoformat(),
    }


class Rail:
    """A ticketing system sending events, and what the member's account shows."""

    def __init__(self, program: Program, vault: IdentityVault) -> None:
        self.uow = FakeUnitOfWork(program)
        self.program, self.vault = program, vault

    def send(self, event_id: str, type_: str, when: datetime, data: dict[str, Any]) -> EventResult:
        raw = {"id": event_id, "type": type_, "occurred_at": when.isoformat(), "data": data}
        return apply_event(
            self.uow, program=self.program, vault=self.vault, raw=raw, received_at=when
        )

    def buy(self, event_id: str, member_id: int, ticket_id: str, *, fare_fen: int) -> EventResult:
        data = ticket(ticket_id, member_id=member_id, departure=at(DAY), fare_fen=fare_fen)
        return self.send(event_id, "ticket.purchased", at(DAY - timedelta(days=2)), data)

    def balances(self, member_id: int) -> dict[str, tuple[int, int]]:
        """(available, pending) per kind, as `GET /v1/members/{id}` reports them."""
        with self.uow:
            found = self.uow.ledger.balances_of(member_id)
        return {b.kind: (b.available, b.pending) for b in found}


def code(result: EventResult) -> str | None:
    """The error code an event was rejected with."""
    return None if result.error is None else result.error["code"]


@pytest.fixture
def rail(railway: Program, vault: IdentityVault) -> Rail:
    return Rail(railway, vault)


def test_purchase_promises_pending_points_for_the_fare(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)

    bought = rail.buy("e1", member, "T1", fare_fen=55350)

    assert bought.status == "applied"
    assert rail.balances(member) == {"ride": (0, 2768)}  # ¥553.50 × 5 = 2767.5, half-up


def test_credits_points_after_travel_into_a_lot_valid_twelve_months(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    rail.buy("e1", member, "T1", fare_fen=55350)

    travelled = rail.send("e2", "ticket.travelled", at(DAY, 15), {"ticket_id": "T1"})

    assert travelled.status == "applied"
    assert travelled.outcome is not None
    assert travelled.outcome["credited"] == {"ride": 2768, "upgrade": 2768}
    assert rail.balances(member) == {"ride": (2768, 0), "upgrade": (2768, 0)}
    with rail.uow:
        [lot] = [lot for lot in rail.uow.ledger.lots_of(member) if lot.kind == "ride"]
    assert (lot.credited_on, lot.expires_on, lot.remaining) == (DAY, date(2026, 5, 10), 2768)


def test_refund_before_travel_voids_the_pending_points(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    rail.buy("e1", member, "T1", fare_fen=55350)

    refunded = rail.send("e2", "ticket.refunded", at(DAY - timedelta(days=1)), {"ticket_id": "T1"})

    assert refunded.status == "applied"
    assert rail.balances(member) == {"ride": (0, 0)}


def test_travel_after_a_refund_is_refused_as_a_ticket_conflict(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    rail.buy("e1", member, "T1", fare_fen=55350)
    rail.send("e2", "ticket.refunded", at(DAY - timedelta(days=1)), {"ticket_id": "T1"})

    travelled = rail.send("e3", "ticket.travelled", at(DAY, 15), {"ticket_id": "T1"})

    assert travelled.status == "rejected"
    assert code(travelled) == "ticket_conflict"
    assert rail.balances(member) == {"ride": (0, 0)}


def test_change_moves_the_pending_points_to_the_new_fare(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    rail.buy("e1", member, "T1", fare_fen=55350)
    change = {
        "ticket_id": "T1",
        "new_ticket_id": "T2",
        "fare_fen": 10000,
        "departure_at": at(DAY + timedelta(days=1)).isoformat(),
        "arrival_at": at(DAY + timedelta(days=1), 14).isoformat(),
    }

    changed = rail.send("e2", "ticket.changed", at(DAY - timedelta(days=1)), change)
    travelled = rail.send(
        "e3", "ticket.travelled", at(DAY + timedelta(days=1), 15), {"ticket_id": "T2"}
    )

    assert (changed.status, travelled.status) == ("applied", "applied")
    assert rail.balances(member) == {"ride": (500, 0), "upgrade": (500, 0)}  # ¥100 × 5, once


def test_the_same_event_sent_twice_is_a_duplicate_and_credits_once(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    first = rail.buy("e1", member, "T1", fare_fen=55350)

    again = rail.buy("e1", member, "T1", fare_fen=55350)

    assert again.status == "duplicate"
    assert again.outcome == first.outcome
    assert rail.balances(member) == {"ride": (0, 2768)}


def test_an_event_id_sent_again_with_other_data_is_a_conflict(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    rail.buy("e1", member, "T1", fare_fen=55350)

    other = rail.buy("e1", member, "T1", fare_fen=60000)

    assert other.status == "rejected"
    assert code(other) == "idempotency_conflict"
    assert rail.balances(member) == {"ride": (0, 2768)}


def test_a_rider_who_is_not_a_member_earns_nothing(rail: Rail) -> None:
    result = rail.buy("e1", 404, "T1", fare_fen=55350)

    assert result.status == "rejected"
    assert code(result) == "rider_not_member"
    assert rail.uow.commits == 0


def test_a_frozen_member_earns_nothing(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED, status="frozen")

    result = rail.buy("e1", member, "T1", fare_fen=55350)

    assert code(result) == "member_not_active"
    assert rail.balances(member) == {}


def test_a_trip_departing_before_the_member_joined_earns_nothing(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=at(DAY, 12))  # joined after the 09:00 departure

    rail.buy("e1", member, "T1", fare_fen=55350)
    travelled = rail.send("e2", "ticket.travelled", at(DAY, 15), {"ticket_id": "T1"})

    assert travelled.status == "applied"
    assert travelled.outcome == {"ticket_id": "T1", "credited": {}, "rules": []}
    assert rail.balances(member) == {}


def test_a_claim_within_ninety_days_of_departure_credits_the_trip(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    data = ticket("T1", member_id=member, departure=at(DAY), fare_fen=55350)

    claim = rail.send("e1", "ticket.travelled", at(DAY + timedelta(days=90)), data)

    assert claim.status == "applied"
    assert rail.balances(member) == {"ride": (2768, 0), "upgrade": (2768, 0)}


def test_a_claim_later_than_ninety_days_is_refused(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    data = ticket("T1", member_id=member, departure=at(DAY), fare_fen=55350)

    claim = rail.send("e1", "ticket.travelled", at(DAY + timedelta(days=91)), data)

    assert code(claim) == "claim_too_late"
    assert rail.balances(member) == {}


def test_an_event_dated_after_the_clock_is_refused_and_leaves_nothing(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    raw = {
        "id": "e1",
        "type": "activity.completed",
        "occurred_at": at(DAY, 10).isoformat(),
        "data": {"member_id": member, "activity": "review", "points": 30},
    }

    result = apply_event(
        rail.uow, program=rail.program, vault=rail.vault, raw=raw, received_at=at(DAY, 9)
    )

    assert code(result) == "event_in_future"
    assert rail.balances(member) == {}
    assert rail.uow.commits == 0


def test_credits_activity_points_as_reported(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    data = {"member_id": member, "activity": "review", "points": 30}

    result = rail.send("e1", "activity.completed", at(DAY), data)

    assert result.status == "applied"
    assert rail.balances(member) == {"activity": (30, 0)}


def test_redemption_opens_the_day_a_travel_lifts_the_balance_to_10000(rail: Rail) -> None:
    member = rail.uow.add_member(joined_at=JOINED)
    rail.buy("e1", member, "T1", fare_fen=200000)  # ¥2,000 × 5 = 10,000 ride points

    with rail.uow:
        assert rail.uow.statements.unlocked_on(member) is None  # pending points do not count
    rail.send("e2", "ticket.travelled", at(DAY, 15), {"ticket_id": "T1"})

    with rail.uow:
        assert rail.uow.statements.unlocked_on(member) == DAY
