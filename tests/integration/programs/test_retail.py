"""The retail preset: points on orders, tier and birthday multipliers, activity caps."""

from __future__ import annotations

from datetime import date

import pytest

from jifen.programs.loader import load_preset
from jifen.services.events import apply_event
from jifen.services.members import enrol
from tests.conftest import T0, resident_id
from tests.integration.services.test_events import at


@pytest.fixture
def retail():
    return load_preset("retail")


def test_orders_earn_a_point_a_yuan_doubled_in_the_birthday_month_and_reviews_are_capped(
    uow, retail, vault
):
    birth = date(1992, 6, 15)
    member = enrol(
        uow,
        program=retail,
        vault=vault,
        name="王五",
        id_type="resident_id",
        id_number=resident_id(birth),
        birth_date=birth,
        phone=None,
        joined_at=T0,
    ).member_id

    def send(event_id, type_, day, data):
        raw = {"id": event_id, "type": type_, "occurred_at": at(day).isoformat(), "data": data}
        result = apply_event(uow, program=retail, vault=vault, raw=raw, received_at=at(day))
        assert result.status == "applied", result
        return result.outcome["credited"].get("points", 0)

    assert (
        send(
            "o1",
            "order.paid",
            date(2025, 5, 3),
            {"order_id": "A", "member_id": member, "amount_fen": 12_345},
        )
        == 123
    )
    assert (
        send(
            "o2",
            "order.paid",
            date(2025, 6, 3),
            {"order_id": "B", "member_id": member, "amount_fen": 10_000},
        )
        == 200
    )
    reviews = [
        send(
            f"r{n}",
            "activity.completed",
            date(2025, 5, 4),
            {"member_id": member, "activity": "review"},
        )
        for n in range(7)
    ]
    assert sum(reviews) == 50  # 10 a review, 50 a day at most
    with uow:
        [lot] = [x for x in uow.ledger.lots_of(member) if x.credited_on == date(2025, 5, 3)]
    assert lot.expires_on == date(2027, 1, 1)  # valid to the end of the next calendar year
