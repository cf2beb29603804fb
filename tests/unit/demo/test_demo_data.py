"""Demo data: seeded members and a time-ordered stream of their railway events."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from jifen.demo.people import DemoMember, members
from jifen.demo.trips import events, write_jsonl
from jifen.domain.identity import age_on, validate_identity, validate_phone

START, END = date(2025, 1, 1), date(2025, 3, 31)  # 90 days, 春运 included
AGES = {"commuter": (22, 55), "occasional": (18, 75), "senior": (60, 85), "student": (14, 24)}
FOLLOW_UPS = {"ticket.travelled", "ticket.refunded", "ticket.changed"}


def demo_members(*, count: int = 200, seed: int = 11) -> list[DemoMember]:
    return list(
        members(count=count, seed=seed, joined_from=date(2024, 6, 1), joined_to=date(2025, 2, 15))
    )


def demo_events(people: list[DemoMember], *, seed: int = 11) -> list[dict[str, Any]]:
    return list(events(people, seed=seed, start=START, end=END))


@pytest.fixture(scope="module")
def people() -> list[DemoMember]:
    return demo_members()


@pytest.fixture(scope="module")
def stream(people: list[DemoMember]) -> list[dict[str, Any]]:
    return demo_events(people)


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def is_claim(event: dict[str, Any]) -> bool:
    return event["type"] == "ticket.travelled" and "passenger" in event["data"]


def passenger(event: dict[str, Any]) -> tuple[str, str]:
    rider = event["data"]["passenger"]
    return rider["id_type"], rider["id_number"]


def test_same_seed_gives_the_same_members_and_events(
    people: list[DemoMember], stream: list[dict[str, Any]]
) -> None:
    again = demo_members()
    assert again == people
    assert demo_events(again) == stream


def test_different_seeds_give_different_members_and_events(
    people: list[DemoMember], stream: list[dict[str, Any]]
) -> None:
    other = demo_members(seed=12)
    assert [m.id_number for m in other] != [m.id_number for m in people]
    assert demo_events(people, seed=12) != stream


def test_every_identity_and_phone_is_valid_and_unique(people: list[DemoMember]) -> None:
    for member in people:
        body = member.enrolment()
        validate_identity(
            name=body["name"],
            id_type=body["id_type"],
            id_number=body["id_number"],
            birth_date=date.fromisoformat(body["birth_date"]),
        )
        assert validate_phone(body["phone"]) == member.phone
    assert len({m.id_number for m in people}) == len(people)
    assert len({m.phone for m in people}) == len(people)
    assert len({m.key for m in people}) == len(people)


def test_identity_numbers_stay_unique_when_many_share_a_birth_period() -> None:
    crowd = list(
        members(count=20_000, seed=5, joined_from=date(2025, 1, 1), joined_to=date(2025, 1, 2))
    )
    assert len({m.id_number for m in crowd}) == len(crowd)
    assert len({m.phone for m in crowd}) == len(crowd)


def test_most_members_hold_resident_ids_and_a_few_passports() -> None:
    kinds = Counter(m.id_type for m in demo_members(count=2_000))
    assert set(kinds) == {"resident_id", "passport"}
    assert 20 <= kinds["passport"] <= 110


def test_members_are_at_least_twelve_and_of_their_profile_age_on_joining(
    people: list[DemoMember],
) -> None:
    for member in people:
        age = age_on(member.birth_date, member.joined_at.date())
        youngest, oldest = AGES[member.profile]
        assert age >= 12
        assert youngest <= age <= oldest + 1  # a full birth date moves one day earlier
    assert {m.profile for m in people} == set(AGES)


def test_members_join_in_order_within_the_period(people: list[DemoMember]) -> None:
    joins = [m.joined_at for m in people]
    assert joins == sorted(joins)
    assert joins[0].date() >= date(2024, 6, 1)
    assert joins[-1].date() <= date(2025, 2, 15)
    assert all(
        j.utcoffset() is not None and j.utcoffset().total_seconds() == 8 * 3600 for j in joins
    )


def test_enrolment_is_the_members_api_body(people: list[DemoMember]) -> None:
    body = people[0].enrolment()
    assert set(body) == {"name", "id_type", "id_number", "birth_date", "phone"}
    assert body["birth_date"] == people[0].birth_date.isoformat()


def test_events_come_in_time_order_within_the_period(stream: list[dict[str, Any]]) -> None:
    times = [at(e) for e in stream]
    assert times == sorted(times)
    assert times[0].date() >= START
    assert times[-1].date() <= END
    assert all(e["occurred_at"].endswith("+08:00") for e in stream)


def test_event_and_ticket_ids_are_unique(stream: list[dict[str, Any]]) -> None:
    assert len({e["id"] for e in stream}) == len(stream)
    sold = [e["data"]["ticket_id"] for e in stream if e["type"] == "ticket.purchased"]
    sold += [e["data"]["new_ticket_id"] for e in stream if e["type"] == "ticket.changed"]
    assert len(set(sold)) == len(sold)


def test_every_follow_up_refers_to_a_ticket_sold_earlier(stream: list[dict[str, Any]]) -> None:
    sold: set[str] = set()
    for event in stream:
        data = event["data"]
        if event["type"] == "ticket.purchased":
            sold.add(data["ticket_id"])
        elif event["type"] in FOLLOW_UPS and not is_claim(event):
            assert data["ticket_id"] in sold, event
        if event["type"] == "ticket.changed":
            sold.add(data["new_ticket_id"])


def test_a_ticket_has_one_outcome_after_its_purchase(stream: list[dict[str, Any]]) -> None:
    outcomes = Counter(
        e["data"]["ticket_id"] for e in stream if e["type"] in FOLLOW_UPS and not is_claim(e)
    )
    assert max(outcomes.values()) == 1


def test_claims_carry_the_full_ticket_and_come_days_after_departure(
    stream: list[dict[str, Any]],
) -> None:
    purchases = {
        e["data"]["ticket_id"]: e["data"] for e in stream if e["type"] == "ticket.purchased"
    }
    claims = [e for e in stream if is_claim(e)]
    assert claims
    for claim in claims:
        assert claim["data"] == purchases[claim["data"]["ticket_id"]]
        departed = datetime.fromisoformat(claim["data"]["departure_at"])
        assert 5 <= (at(claim) - departed).days <= 120


def test_refunds_and_changes_come_before_departure(stream: list[dict[str, Any]]) -> None:
    departures = {
        e["data"]["ticket_id"]: datetime.fromisoformat(e["data"]["departure_at"])
        for e in stream
        if e["type"] == "ticket.purchased"
    }
    for event in stream:
        if event["type"] in {"ticket.refunded", "ticket.changed"}:
            assert at(event) < departures[event["data"]["ticket_id"]]
        if event["type"] == "ticket.changed":
            assert at(event) < datetime.fromisoformat(event["data"]["departure_at"])


def test_no_event_comes_before_the_rider_joined(
    people: list[DemoMember], stream: list[dict[str, Any]]
) -> None:
    joined = {(m.id_type, m.id_number): m.joined_at for m in people}
    for event in stream:
        if "passenger" in event["data"]:
            assert at(event) > joined[passenger(event)]


def test_tickets_have_the_purchase_shape(stream: list[dict[str, Any]]) -> None:
    ticket = next(e["data"] for e in stream if e["type"] == "ticket.purchased")
    assert set(ticket) == {
        "ticket_id", "passenger", "fare_fen", "ticket_type", "real_name", "payment", "issue",
        "train", "departure_at", "arrival_at",
    }  # fmt: skip
    assert set(ticket["train"]) == {"number", "participating", "international", "tourist"}
    assert ticket["real_name"] is True
    assert isinstance(ticket["fare_fen"], int)
    assert ticket["arrival_at"] > ticket["departure_at"]


def test_volumes_are_roughly_as_designed(
    people: list[DemoMember], stream: list[dict[str, Any]]
) -> None:
    kinds = Counter("claim" if is_claim(e) else e["type"] for e in stream)
    bought = kinds["ticket.purchased"]
    assert 2_000 <= bought <= 5_000  # commuters ride twice a workday; the rest a few times
    assert 0.02 <= kinds["ticket.refunded"] / bought <= 0.06
    assert 0.03 <= kinds["ticket.changed"] / bought <= 0.07
    assert 0.8 <= kinds["ticket.travelled"] / bought <= 0.95
    assert 0.002 <= kinds["claim"] / bought <= 0.02
    assert kinds["activity.completed"] < 100
    tickets = [e["data"] for e in stream if e["type"] == "ticket.purchased"]
    assert 0.01 <= sum(t["payment"] == "points" for t in tickets) / bought <= 0.05
    # A commuter rides one route, so a non-participating route moves the share in steps.
    assert 0 < sum(not t["train"]["participating"] for t in tickets) / bought <= 0.1
    assert sum(t["ticket_type"] == "student" for t in tickets) > 0


def test_commuters_ride_most_and_pay_short_fares(
    people: list[DemoMember], stream: list[dict[str, Any]]
) -> None:
    profiles = {(m.id_type, m.id_number): m.profile for m in people}
    fares: dict[str, list[int]] = {}
    for event in stream:
        if event["type"] == "ticket.purchased":
            fares.setdefault(profiles[passenger(event)], []).append(event["data"]["fare_fen"])
    assert len(fares["commuter"]) > len(fares["occasional"])
    assert all(2_000 <= fare <= 8_000 for fare in fares["commuter"])
    assert all(15_000 <= fare <= 90_000 for fare in fares["occasional"])


def test_spring_festival_brings_more_long_journeys(
    people: list[DemoMember], stream: list[dict[str, Any]]
) -> None:
    occasional = {(m.id_type, m.id_number) for m in people if m.profile != "commuter"}
    months = Counter(
        e["data"]["departure_at"][:7]
        for e in stream
        if e["type"] == "ticket.purchased" and passenger(e) in occasional
    )
    assert months["2025-02"] > months["2025-03"] * 1.2


def test_members_are_generated_lazily() -> None:
    began = time.perf_counter()
    huge = members(count=10**9, seed=1, joined_from=date(2000, 1, 1), joined_to=date(2025, 1, 1))
    first = list(itertools.islice(huge, 3))
    assert len(first) == 3
    assert time.perf_counter() - began < 1.0


def test_events_stream_for_many_members_without_keeping_them() -> None:
    crowd = members(count=10**7, seed=2, joined_from=date(2001, 1, 1), joined_to=date(2040, 1, 1))
    began = time.perf_counter()
    stream = events(crowd, seed=2, start=date(2001, 1, 1), end=date(2001, 1, 31))
    first = next(stream)
    assert first["occurred_at"].startswith("2001-01")
    assert time.perf_counter() - began < 2.0


def test_twenty_thousand_members_stream_a_month_of_events() -> None:
    crowd = members(
        count=20_000, seed=3, joined_from=date(2024, 1, 1), joined_to=date(2024, 12, 31)
    )
    count = sum(1 for _ in events(crowd, seed=3, start=date(2025, 3, 1), end=date(2025, 3, 30)))
    assert 100_000 <= count <= 400_000


def test_write_jsonl_writes_one_event_a_line(tmp_path: Path, stream: list[dict[str, Any]]) -> None:
    path = tmp_path / "events.jsonl"
    assert write_jsonl(path, iter(stream[:50])) == 50
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == stream[:50]


def test_a_period_that_ends_before_it_starts_is_refused(people: list[DemoMember]) -> None:
    with pytest.raises(ValueError, match="before it starts"):
        events(people, seed=1, start=END, end=START)
