"""A first pass through the API: keys, enrol, events, member view, on both databases."""

from __future__ import annotations

from datetime import date

from tests.conftest import resident_id
from tests.integration.services.test_events import at, ticket


def test_enrol_send_events_and_see_the_points(api):
    assert api.client.get("/v1/members/1").status_code == 401
    number = resident_id(date(1990, 3, 7), 321)
    body = {
        "name": "张三",
        "id_type": "resident_id",
        "id_number": number,
        "birth_date": "1990-03-07",
        "phone": "13812345678",
    }
    assert api.post("/v1/members", body, role="analyst").status_code == 403
    api.post("/v1/clock", {"now": "2025-05-01T09:00:00+08:00"})
    created = api.post("/v1/members", body, role="integrator")
    assert created.status_code == 201, created.text
    member = created.json()["member_id"]
    assert created.json()["tier"] == {"code": "star2", "valid_until": None}
    assert api.post("/v1/members", body).json()["error"]["code"] == "member_exists"

    day = date(2025, 5, 10)
    events = [
        {
            "id": "e1",
            "type": "ticket.purchased",
            "occurred_at": at(day, 7).isoformat(),
            "data": ticket("T1", departure=at(day), passenger={"member_id": member}),
        },
        {
            "id": "e2",
            "type": "ticket.travelled",
            "occurred_at": at(day, 16).isoformat(),
            "data": {"ticket_id": "T1"},
        },
        {
            "id": "e3",
            "type": "ticket.travelled",
            "occurred_at": at(day, 16).isoformat(),
            "data": {"ticket_id": "NOPE", "fare_fen": "x"},
        },
    ]
    api.post("/v1/clock", {"now": at(day, 17).isoformat()})  # the events have happened
    results = api.post("/v1/events", {"events": events}, role="integrator").json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied", "rejected"]
    assert results[2]["error"]["code"] == "invalid_event"

    api.post("/v1/clock", {"now": "2025-05-11T09:00:00+08:00"})
    seen = api.get(f"/v1/members/{member}", role="operator").json()
    assert seen["balances"] == {"ride": 2768, "activity": 0, "pending": 0, "upgrade_12m": 2768}
    assert seen["id_number"] == number[:4] + "*" * 10 + number[-4:]
    assert seen["phone"] == "138****5678"
    assert seen["expiring"] == []
