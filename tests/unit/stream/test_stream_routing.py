"""Events are routed to partitions by rider, and a ticket's later events follow its purchase."""

from __future__ import annotations

from typing import Any

from jifen.stream.routing import Router, partition_of, rider_key


def _purchase(ticket: str, passenger: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{ticket}-buy",
        "type": "ticket.purchased",
        "data": {"ticket_id": ticket, "passenger": passenger},
    }


def test_a_riders_events_share_a_partition_whatever_the_id_type_claimed() -> None:
    router = Router(partitions=64)
    by_passport = _purchase("T1", {"id_type": "passport", "id_number": "e1234567"})
    by_resident_id = _purchase("T2", {"id_type": "resident_id", "id_number": "E1234567 "})
    assert router.partition(by_passport) == router.partition(by_resident_id)


def test_a_travel_and_a_change_follow_their_tickets_purchase() -> None:
    router = Router(partitions=64)
    bought = router.partition(_purchase("T9", {"member_id": 42}))
    changed = {
        "id": "c",
        "type": "ticket.changed",
        "data": {"ticket_id": "T9", "new_ticket_id": "T10"},
    }
    travelled = {"id": "t", "type": "ticket.travelled", "data": {"ticket_id": "T10"}}
    assert router.partition(changed) == bought
    assert router.partition(travelled) == bought


def test_partitions_are_stable_across_processes_and_in_range() -> None:
    assert partition_of("m:42", 8) == partition_of("m:42", 8)
    assert {partition_of(f"m:{i}", 8) for i in range(200)} == set(range(8))


def test_an_activity_is_routed_by_its_member() -> None:
    event = {"id": "a", "type": "activity.completed", "data": {"member_id": 7, "activity": "x"}}
    assert rider_key(event) == "m:7"
    assert rider_key({"id": "t", "data": {"ticket_id": "T"}}) is None


def test_forgets_the_oldest_tickets_beyond_its_memory() -> None:
    router = Router(partitions=8, remember=2)
    for ticket in ("A", "B", "C"):
        router.partition(_purchase(ticket, {"member_id": 1}))
    assert list(router.tickets) == ["B", "C"]
