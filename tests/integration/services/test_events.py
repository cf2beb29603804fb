"""Railway ticket events through the rules into the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from jifen.services.events import EventResult, apply_event
from jifen.services.ledger_check import check_ledger
from jifen.storage.tables import metadata
from tests.conftest import SHANGHAI, resident_id


def ticket(
    ticket_id: str,
    *,
    fare_fen: int = 55350,
    departure: datetime,
    passenger: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    train = {"number": "G1", "participating": True, "international": False, "tourist": False}
    train.update(extra.pop("train", {}))
    return {
        "ticket_id": ticket_id,
        "passenger": passenger,
        "fare_fen": fare_fen,
        "ticket_type": "adult",
        "real_name": True,
        "payment": "cash",
        "issue": "normal",
        "train": train,
        "departure_at": departure.isoformat(),
        "arrival_at": (departure + timedelta(hours=5)).isoformat(),
        **extra,
    }


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


class Railway:
    """Send events and read a member's balances, as an integrator and a member would see them."""

    def __init__(self, uow, railway, vault) -> None:
        self.uow, self.program, self.vault = uow, railway, vault
        self.n = 0

    def send(
        self, type_: str, when: datetime, data: dict[str, Any], event_id: str | None = None
    ) -> EventResult:
        self.n += 1
        raw = {
            "id": event_id or f"e{self.n}",
            "type": type_,
            "occurred_at": when.isoformat(),
            "data": data,
        }
        return apply_event(
            self.uow, program=self.program, vault=self.vault, raw=raw, received_at=when
        )

    def balances(self, member_id: int) -> dict[str, tuple[int, int]]:
        with self.uow:
            return {
                b.kind: (b.available, b.pending) for b in self.uow.ledger.balances_of(member_id)
            }

    def trip(self, member_id: int, ticket_id: str, departure: datetime, **kw: Any) -> None:
        data = ticket(ticket_id, departure=departure, passenger={"member_id": member_id}, **kw)
        assert (
            self.send("ticket.purchased", departure - timedelta(days=3), data).status == "applied"
        )
        result = self.send(
            "ticket.travelled", departure + timedelta(hours=6), {"ticket_id": ticket_id}
        )
        assert result.status == "applied", result


@pytest.fixture
def rail(uow, railway, vault) -> Railway:
    return Railway(uow, railway, vault)


DAY = date(2025, 5, 10)


def test_purchase_promises_and_travel_confirms_2768_points_for_553_yuan(rail, enrol_member):
    member = enrol_member(date(1990, 3, 7))
    data = ticket("T1", departure=at(DAY), passenger={"member_id": member})
    bought = rail.send("ticket.purchased", at(DAY - timedelta(days=2)), data)
    assert bought.status == "applied"
    assert rail.balances(member) == {"ride": (0, 2768)}
    travelled = rail.send("ticket.travelled", at(DAY, 15), {"ticket_id": "T1"})
    assert travelled.outcome["credited"] == {"ride": 2768, "upgrade": 2768}
    assert rail.balances(member) == {"ride": (2768, 0), "upgrade": (2768, 0)}
    assert "553.50" in travelled.outcome["rules"][0]["explanation"]
    with rail.uow:
        [ride_lot] = [lot for lot in rail.uow.ledger.lots_of(member) if lot.kind == "ride"]
    assert (ride_lot.credited_on, ride_lot.expires_on) == (DAY, date(2026, 5, 10))
    assert check_ledger(rail.uow).ok


def test_rider_found_by_real_name_identity(rail, enrol_member):
    number = resident_id(date(1990, 3, 7), 777)
    member = enrol_member(date(1990, 3, 7), id_number=number)
    passenger = {"id_type": "resident_id", "id_number": number}
    rail.send("ticket.purchased", at(DAY), ticket("T1", departure=at(DAY), passenger=passenger))
    assert rail.balances(member) == {"ride": (0, 2768)}


def test_seniors_earn_15x_from_april_2025_but_not_on_tourist_trains(rail, enrol_member):
    senior = enrol_member(date(1960, 1, 15))
    rail.trip(senior, "before", at(date(2025, 3, 31)))
    rail.trip(senior, "after", at(date(2025, 4, 1)))
    rail.trip(senior, "tourist", at(date(2025, 4, 2)), train={"tourist": True})
    assert rail.balances(senior)["ride"] == (2768 + 8303 + 2768, 0)


def test_passport_holders_get_no_age_bonus(rail, enrol_member):
    member = enrol_member(date(1960, 1, 15), id_type="passport", id_number="E12345678")
    rail.trip(member, "T1", at(DAY))
    assert rail.balances(member)["ride"] == (2768, 0)


def test_youth_earn_10x_from_october_20_2025_except_on_student_tickets(rail, enrol_member):
    youth = enrol_member(date(2000, 6, 1))
    rail.trip(youth, "T1", at(date(2025, 10, 20)))
    rail.trip(youth, "T2", at(date(2025, 10, 21)), ticket_type="student")
    assert rail.balances(youth)["ride"] == (5535 + 2768, 0)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"train": {"participating": False}}, "non-participating train"),
        ({"train": {"international": True}}, "international train"),
        ({"payment": "points"}, "paid with points"),
        ({"issue": "substitute"}, "substitute ticket"),
        ({"issue": "on_board"}, "bought on board"),
        ({"real_name": False}, "not real-name"),
    ],
)
def test_excluded_tickets_earn_nothing(rail, enrol_member, change, why):
    member = enrol_member()
    rail.trip(member, "T1", at(DAY), **change)
    assert rail.balances(member).get("ride", (0, 0)) == (0, 0), why


def test_refund_before_travel_voids_the_pending_points(rail, enrol_member):
    member = enrol_member()
    rail.send(
        "ticket.purchased",
        at(DAY),
        ticket("T1", departure=at(DAY), passenger={"member_id": member}),
    )
    assert rail.send("ticket.refunded", at(DAY, 8), {"ticket_id": "T1"}).status == "applied"
    assert rail.balances(member) == {"ride": (0, 0)}
    late = rail.send("ticket.travelled", at(DAY, 18), {"ticket_id": "T1"})
    assert late.status == "rejected"
    assert late.error["code"] == "ticket_conflict"
    assert check_ledger(rail.uow).ok


def test_change_moves_pending_points_to_the_new_ticket_and_fare(rail, enrol_member):
    member = enrol_member()
    rail.send(
        "ticket.purchased",
        at(DAY),
        ticket("T1", departure=at(DAY), passenger={"member_id": member}),
    )
    new_departure = at(DAY + timedelta(days=1))
    changed = rail.send(
        "ticket.changed",
        at(DAY, 7),
        {
            "ticket_id": "T1",
            "new_ticket_id": "T2",
            "fare_fen": 10000,
            "departure_at": new_departure.isoformat(),
            "arrival_at": (new_departure + timedelta(hours=2)).isoformat(),
        },
    )
    assert changed.status == "applied", changed.error
    assert rail.balances(member) == {"ride": (0, 500)}
    assert rail.send("ticket.travelled", at(DAY, 20), {"ticket_id": "T1"}).status == "rejected"
    rail.send("ticket.travelled", new_departure + timedelta(hours=3), {"ticket_id": "T2"})
    assert rail.balances(member) == {"ride": (500, 0), "upgrade": (500, 0)}


def test_travel_that_arrives_before_its_purchase_is_credited_when_the_purchase_comes(
    rail, enrol_member
):
    member = enrol_member()
    early = rail.send("ticket.travelled", at(DAY, 15), {"ticket_id": "T1"})
    assert early.status == "applied"
    assert early.outcome == {"ticket_id": "T1", "awaiting_purchase": True}
    rail.send(
        "ticket.purchased",
        at(DAY, 16),
        ticket("T1", departure=at(DAY), passenger={"member_id": member}),
    )
    assert rail.balances(member) == {"ride": (2768, 0), "upgrade": (2768, 0)}


def test_claims_are_accepted_within_90_days_of_departure_and_refused_after(rail, enrol_member):
    member = enrol_member()
    passenger = {"member_id": member}
    inside = rail.send(
        "ticket.travelled",
        at(DAY + timedelta(days=90)),
        ticket("C1", departure=at(DAY), passenger=passenger),
    )
    assert inside.status == "applied"
    assert inside.outcome["claim"] is True
    outside = rail.send(
        "ticket.travelled",
        at(DAY + timedelta(days=91)),
        ticket("C2", departure=at(DAY), passenger=passenger),
    )
    assert outside.status == "rejected"
    assert outside.error["code"] == "claim_too_late"
    assert rail.balances(member)["ride"] == (2768, 0)


def test_trips_before_joining_and_riders_who_are_not_members_earn_nothing(rail, enrol_member):
    member = enrol_member(joined_at=at(DAY))
    rail.trip(member, "T1", at(DAY - timedelta(days=1)))
    assert rail.balances(member).get("ride", (0, 0)) == (0, 0)
    stranger = {"id_type": "resident_id", "id_number": resident_id(date(1980, 1, 1), 999)}
    result = rail.send(
        "ticket.purchased", at(DAY), ticket("T9", departure=at(DAY), passenger=stranger)
    )
    assert result.status == "rejected"
    assert result.error["code"] == "rider_not_member"


def test_an_event_sent_twice_is_a_duplicate_and_a_reused_id_is_refused(rail, enrol_member):
    member = enrol_member()
    data = ticket("T1", departure=at(DAY), passenger={"member_id": member})
    assert rail.send("ticket.purchased", at(DAY), data, event_id="same").status == "applied"
    assert rail.send("ticket.purchased", at(DAY), data, event_id="same").status == "duplicate"
    other = rail.send("ticket.purchased", at(DAY), {**data, "fare_fen": 1}, event_id="same")
    assert other.status == "rejected"
    assert other.error["code"] == "idempotency_conflict"
    assert rail.balances(member) == {"ride": (0, 2768)}


def test_a_bad_event_is_rejected_with_the_field_named_and_nothing_written(rail, enrol_member):
    member = enrol_member()
    data = ticket("T1", departure=at(DAY), passenger={"member_id": member}, fare_fen=-5)
    result = rail.send("ticket.purchased", at(DAY), data)
    assert result.status == "rejected"
    assert result.error["code"] == "invalid_event"
    assert "data.fare_fen" in result.error["message"]
    assert rail.balances(member) == {}
    assert check_ledger(rail.uow).counts["transactions"] == 0


def test_activity_points_are_credited_as_activity_points(rail, enrol_member):
    member = enrol_member()
    done = rail.send(
        "activity.completed", at(DAY), {"member_id": member, "activity": "survey", "points": 120}
    )
    assert done.status == "applied", done
    assert rail.balances(member) == {"activity": (120, 0)}


def test_no_table_keeps_an_id_number_in_full(rail, enrol_member, engine):
    number = resident_id(date(1990, 3, 7), 778)
    member = enrol_member(date(1990, 3, 7), id_number=number)
    passenger = {"id_type": "resident_id", "id_number": number}
    rail.send("ticket.purchased", at(DAY), ticket("T1", departure=at(DAY), passenger=passenger))
    rail.send("ticket.travelled", at(DAY, 18), ticket("T2", departure=at(DAY), passenger=passenger))
    assert rail.balances(member)["ride"] == (2768, 2768)
    again = rail.send(
        "ticket.purchased",
        at(DAY),
        ticket("T1", departure=at(DAY), passenger=passenger),
        event_id="e1",
    )
    assert again.status == "duplicate"

    with engine.connect() as connection:
        dump = "\n".join(
            repr(row)
            for table in metadata.sorted_tables
            for row in connection.execute(select(table))
        )
    assert number not in dump
    assert number[:4] + "*" * 10 + number[-4:] in dump  # masked copies are kept for people
