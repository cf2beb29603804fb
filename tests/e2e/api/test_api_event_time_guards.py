"""POST /v1/events measures an event's date against the server's clock (the sandbox's here)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tests.conftest import SHANGHAI
from tests.integration.services.test_events import at, ticket

NOW = datetime(2025, 5, 10, 12, 0, tzinfo=SHANGHAI)


def activity(event_id: str, when: datetime, member: int) -> dict:
    return {
        "id": event_id,
        "type": "activity.completed",
        "occurred_at": when.isoformat(),
        "data": {"member_id": member, "activity": "app_checkin", "points": 100},
    }


def test_an_event_dated_beyond_the_tolerance_after_the_sandbox_clock_is_rejected_as_in_the_future(
    api, enrol_member
):
    member = enrol_member()
    assert api.post("/v1/clock", {"now": NOW.isoformat()}).status_code == 200
    events = [
        activity("in-2199", datetime(2199, 1, 1, 9, tzinfo=SHANGHAI), member),
        activity("eleven-minutes", NOW + timedelta(minutes=11), member),
        activity("nine-minutes", NOW + timedelta(minutes=9), member),
    ]

    sent = api.post("/v1/events", {"events": events}, role="integrator")

    assert sent.status_code == 200, sent.text
    results = sent.json()["results"]
    assert [(r["status"], (r["error"] or {}).get("code")) for r in results] == [
        ("rejected", "event_in_future"),
        ("rejected", "event_in_future"),
        ("applied", None),
    ]
    assert results[1]["error"]["details"]["tolerance_seconds"] == 600
    assert api.get(f"/v1/members/{member}").json()["balances"]["activity"] == 100
    # Once the clock has come that far, the same event, under the same id, is applied.
    api.post("/v1/clock", {"now": (NOW + timedelta(minutes=2)).isoformat()})
    again = api.post("/v1/events", {"events": events[1:2]}, role="integrator").json()
    assert again["results"][0]["status"] == "applied"


def test_a_travel_dated_before_departure_is_rejected_through_the_api(api, enrol_member):
    member = enrol_member()
    day = date(2025, 5, 10)
    api.post("/v1/clock", {"now": at(day, 18).isoformat()})
    bought = {
        "id": "buy",
        "type": "ticket.purchased",
        "occurred_at": at(day, 7).isoformat(),
        "data": ticket("T1", departure=at(day), passenger={"member_id": member}),
    }
    early = {
        "id": "ride",
        "type": "ticket.travelled",
        "occurred_at": at(day, 8).isoformat(),
        "data": {"ticket_id": "T1"},
    }

    results = api.post("/v1/events", {"events": [bought, early]}, role="integrator").json()

    assert [r["status"] for r in results["results"]] == ["applied", "rejected"]
    assert results["results"][1]["error"]["code"] == "invalid_event_time"
    balances = api.get(f"/v1/members/{member}").json()["balances"]
    assert (balances["ride"], balances["pending"]) == (0, 2768)
