"""Redemptions and freezes reach the outbox over HTTP, once each (SPEC §8).

A committed redemption is `redemption.issued`, a cancelled one `redemption.cancelled` (its
points coming back are not `points.credited`: they were the member's already), a released one
says nothing; an operator's freeze is `member.frozen`, and the freeze's reason stays internal.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from jifen.storage.tables import notifications
from tests.e2e.api.test_api_contract import Http, local
from tests.e2e.api.test_api_redemptions import held, http, rider, step

__all__ = ["http"]  # the fixture, shared with the redemption tests


def outbox(engine: Engine, *topics: str) -> list[tuple[str, dict[str, Any]]]:
    """`(topic, payload)` of the outbox rows of these topics, oldest first."""
    n = notifications.c
    query = select(n.topic, n.payload).where(n.topic.in_(topics)).order_by(n.id)
    with engine.connect() as connection:
        return [(t, dict(p)) for t, p in connection.execute(query)]


REDEMPTION_TOPICS = ("redemption.issued", "redemption.cancelled", "points.credited")


def test_an_issued_then_cancelled_ticket_is_told_once_each(http: Http, engine: Engine) -> None:
    member = rider(http, 701)
    credited_before = outbox(engine, "points.credited")
    held(http, "r-1", member)
    step(http, "r-1", "commit", {"id": "r-1-commit"})
    step(http, "r-1", "commit", {"id": "r-1-commit"})  # resent
    http.set_clock(local(2025, 6, 15, 10))
    step(http, "r-1", "cancel", {"id": "r-1-cancel", "reason": "railway_fault"})
    step(http, "r-1", "cancel", {"id": "r-1-cancel", "reason": "railway_fault"})  # resent

    told = outbox(engine, *REDEMPTION_TOPICS)[len(credited_before) :]

    assert [topic for topic, _ in told] == ["redemption.issued", "redemption.cancelled"]
    issued, cancelled = (payload for _, payload in told)
    assert issued["member_id"] == member
    assert issued["redemption_id"] == "r-1"
    assert issued["points"] == 3000
    assert issued["passenger"] == {"member_id": member, "beneficiary_id": None}
    assert cancelled["reason"] == "railway_fault"
    assert cancelled["points_returned"] == 3000
    assert cancelled["expires_on"] == "2026-06-15"


def test_a_released_hold_is_not_told(http: Http, engine: Engine) -> None:
    member = rider(http, 702)
    before = outbox(engine, *REDEMPTION_TOPICS)
    held(http, "r-2", member)

    step(http, "r-2", "release", {"id": "r-2-release"})

    assert outbox(engine, *REDEMPTION_TOPICS) == before


def test_a_freeze_is_told_once_without_the_operators_note(http: Http, engine: Engine) -> None:
    member = http.enrol(serial=703)
    reason = {"reason": "Earn-then-refund pattern under review"}

    frozen = http.post(f"/v1/members/{member}/freeze", reason, role="operator")
    again = http.post(f"/v1/members/{member}/freeze", reason, role="operator")

    assert (frozen.status_code, again.status_code) == (200, 200)
    [(topic, payload)] = outbox(engine, "member.frozen")
    assert topic == "member.frozen"
    assert payload["member_id"] == member
    assert "reason" not in payload
    assert "refund" not in str(payload)
