"""Events' times guarded, and refunds or changes that come before their purchase, on both paths."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from jifen.programs.schema import Program
from jifen.services.events import EventResult, apply_event
from jifen.services.events.batch import apply_batch
from jifen.services.ledger_check import check_ledger
from jifen.storage.crypto import IdentityVault
from jifen.storage.tables import pending_points, tickets
from jifen.storage.uow import SqlUnitOfWork
from tests.integration.services.test_events import at, ticket

DAY = date(2025, 5, 10)
DEPARTS = at(DAY)  # 09:00, arriving 14:00
NEW_DEPARTS = at(DAY + timedelta(days=2))


def change(old: str, new: str, *, departure: datetime = NEW_DEPARTS) -> dict[str, Any]:
    """改签 of `old` to `new`: ¥100 (500 points) departing `departure`."""
    return {
        "ticket_id": old,
        "new_ticket_id": new,
        "fare_fen": 10000,
        "departure_at": departure.isoformat(),
        "arrival_at": (departure + timedelta(hours=2)).isoformat(),
    }


class Sender:
    """Send events one at a time or through the bulk path; read what a member holds."""

    def __init__(
        self, uow: SqlUnitOfWork, program: Program, vault: IdentityVault, path: str
    ) -> None:
        self.uow, self.program, self.vault, self.path = uow, program, vault, path
        self.n = 0

    def send(
        self, type_: str, when: datetime, data: dict[str, Any], *, received: datetime | None = None
    ) -> EventResult:
        """Send an event dated `when` that reaches Jifen at `received` (by default, `when`)."""
        self.n += 1
        raw = {"id": f"e{self.n}", "type": type_, "occurred_at": when.isoformat(), "data": data}
        where = {"program": self.program, "vault": self.vault, "received_at": received or when}
        if self.path == "bulk":
            [result] = apply_batch(self.uow, raw_events=[raw], **where)
            return result
        return apply_event(self.uow, raw=raw, **where)

    def buy(self, member: int, ticket_id: str, *, departure: datetime = DEPARTS) -> EventResult:
        data = ticket(ticket_id, departure=departure, passenger={"member_id": member})
        return self.send("ticket.purchased", departure - timedelta(days=3), data)

    def balances(self, member: int) -> dict[str, tuple[int, int]]:
        with self.uow:
            return {b.kind: (b.available, b.pending) for b in self.uow.ledger.balances_of(member)}

    def status(self, ticket_id: str) -> str | None:
        with self.uow:
            return self.uow.connection.execute(
                select(tickets.c.status).where(tickets.c.id == ticket_id)
            ).scalar()


@pytest.fixture(params=["one_at_a_time", "bulk"])
def rail(request: pytest.FixtureRequest, uow, railway, vault) -> Sender:
    return Sender(uow, railway, vault, request.param)


def code(result: EventResult) -> str | None:
    return (result.error or {}).get("code")


# -- a travel or claim before departure --------------------------------------------------------


def test_a_travel_dated_before_departure_is_rejected_and_the_points_stay_pending(
    rail, enrol_member
):
    member = enrol_member()
    rail.buy(member, "T1")

    early = rail.send("ticket.travelled", DEPARTS - timedelta(minutes=1), {"ticket_id": "T1"})

    assert (early.status, code(early)) == ("rejected", "invalid_event_time")
    assert early.error["details"]["ticket_id"] == "T1"
    assert rail.balances(member) == {"ride": (0, 2768)}
    on_time = rail.send("ticket.travelled", DEPARTS, {"ticket_id": "T1"})
    assert on_time.status == "applied", on_time.error
    assert rail.balances(member) == {"ride": (2768, 0), "upgrade": (2768, 0)}


def test_a_claim_dated_before_departure_is_rejected(rail, enrol_member):
    member = enrol_member()
    claim = ticket("C1", departure=DEPARTS, passenger={"member_id": member})

    result = rail.send("ticket.travelled", DEPARTS - timedelta(hours=2), claim)

    assert (result.status, code(result)) == ("rejected", "invalid_event_time")
    assert rail.balances(member) == {}
    assert rail.status("C1") is None


def test_an_early_travel_dated_before_departure_is_refused_when_the_purchase_comes(
    rail, enrol_member
):
    member = enrol_member()
    early = rail.send("ticket.travelled", DEPARTS - timedelta(hours=1), {"ticket_id": "T1"})
    assert early.outcome == {"ticket_id": "T1", "awaiting_purchase": True}

    bought = rail.buy(member, "T1")

    assert bought.status == "applied", bought.error
    assert bought.outcome["early_travel_refused"]["code"] == "invalid_event_time"
    assert rail.balances(member) == {"ride": (0, 2768)}  # promised, not earned
    assert rail.status("T1") == "purchased"
    travelled = rail.send("ticket.travelled", DEPARTS + timedelta(hours=6), {"ticket_id": "T1"})
    assert travelled.status == "applied", travelled.error
    assert rail.balances(member) == {"ride": (2768, 0), "upgrade": (2768, 0)}


# -- events from the future --------------------------------------------------------------------


def test_an_event_dated_beyond_the_tolerance_after_the_clock_is_rejected_as_in_the_future(
    rail, enrol_member
):
    member = enrol_member()
    now = at(DAY, 12)
    activity = {"member_id": member, "activity": "app_checkin", "points": 100}

    far = rail.send(
        "activity.completed", datetime(2199, 1, 1, 9, tzinfo=now.tzinfo), activity, received=now
    )
    beyond = rail.send("activity.completed", now + timedelta(minutes=11), activity, received=now)
    within = rail.send("activity.completed", now + timedelta(minutes=9), activity, received=now)

    assert (far.status, code(far)) == ("rejected", "event_in_future")
    assert (beyond.status, code(beyond)) == ("rejected", "event_in_future")
    assert beyond.error["details"]["tolerance_seconds"] == 600
    assert within.status == "applied", within.error
    assert rail.balances(member) == {"activity": (100, 0)}


# -- the claim window runs to the day the claim reaches Jifen ----------------------------------


def test_a_claim_that_reaches_jifen_after_its_window_is_too_late_whatever_its_date(
    rail, enrol_member
):
    member = enrol_member()
    dated = DEPARTS + timedelta(days=10)  # inside the 90 days

    late = rail.send(
        "ticket.travelled",
        dated,
        ticket("C1", departure=DEPARTS, passenger={"member_id": member}),
        received=DEPARTS + timedelta(days=245),
    )
    in_time = rail.send(
        "ticket.travelled",
        dated,
        ticket("C2", departure=DEPARTS, passenger={"member_id": member}),
        received=DEPARTS + timedelta(days=90),
    )

    assert (late.status, code(late)) == ("rejected", "claim_too_late")
    assert late.error["details"]["days"] == 245
    assert in_time.status == "applied", in_time.error
    assert rail.balances(member)["ride"] == (2768, 0)


# -- refunds and changes before their purchase -------------------------------------------------


def test_a_refund_before_its_purchase_leaves_the_ticket_refunded_with_nothing_promised(
    rail, enrol_member
):
    member = enrol_member()
    refund = rail.send("ticket.refunded", DEPARTS - timedelta(days=1), {"ticket_id": "T1"})
    assert refund.outcome == {"ticket_id": "T1", "awaiting_purchase": True}

    bought = rail.buy(member, "T1")

    assert bought.status == "applied", bought.error
    assert bought.outcome == {"ticket_id": "T1", "refunded": True}
    assert rail.status("T1") == "refunded"
    assert rail.balances(member) == {}
    with rail.uow:
        promised = rail.uow.connection.execute(
            select(pending_points).where(pending_points.c.member_id == member)
        ).all()
    assert promised == []
    after = [
        rail.send("ticket.travelled", DEPARTS + timedelta(hours=6), {"ticket_id": "T1"}),
        rail.send("ticket.refunded", DEPARTS - timedelta(hours=1), {"ticket_id": "T1"}),
        rail.send("ticket.changed", DEPARTS - timedelta(hours=1), change("T1", "T3")),
    ]
    assert [(r.status, code(r)) for r in after] == [("rejected", "ticket_conflict")] * 3
    assert check_ledger(rail.uow).ok


def test_a_change_before_its_purchase_opens_the_new_tickets_pending_points(rail, enrol_member):
    member = enrol_member()
    changed = rail.send("ticket.changed", DEPARTS - timedelta(days=1), change("T1", "T2"))
    assert changed.outcome == {"ticket_id": "T1", "awaiting_purchase": True}

    bought = rail.buy(member, "T1")

    assert bought.status == "applied", bought.error
    assert bought.outcome["changed_to"]["ticket_id"] == "T2"
    assert bought.outcome["changed_to"]["pending"] == {"ride": 500, "upgrade": 500}
    assert (rail.status("T1"), rail.status("T2")) == ("changed", "purchased")
    assert rail.balances(member) == {"ride": (0, 500)}
    old = [
        rail.send("ticket.travelled", DEPARTS + timedelta(hours=6), {"ticket_id": "T1"}),
        rail.send("ticket.refunded", DEPARTS - timedelta(hours=1), {"ticket_id": "T1"}),
    ]
    assert [code(r) for r in old] == ["ticket_conflict"] * 2
    new = rail.send("ticket.travelled", NEW_DEPARTS + timedelta(hours=3), {"ticket_id": "T2"})
    assert new.status == "applied", new.error
    assert rail.balances(member) == {"ride": (500, 0), "upgrade": (500, 0)}
    assert check_ledger(rail.uow).ok


def test_the_new_tickets_travel_and_the_change_before_the_purchase_are_settled_by_it(
    rail, enrol_member
):
    member = enrol_member()
    rail.send("ticket.travelled", NEW_DEPARTS + timedelta(hours=3), {"ticket_id": "T2"})
    rail.send("ticket.changed", DEPARTS - timedelta(days=1), change("T1", "T2"))

    bought = rail.buy(member, "T1")

    assert bought.status == "applied", bought.error
    assert bought.outcome["changed_to"]["credited"] == {"ride": 500, "upgrade": 500}
    assert (rail.status("T1"), rail.status("T2")) == ("changed", "travelled")
    assert rail.balances(member) == {"ride": (500, 0), "upgrade": (500, 0)}
