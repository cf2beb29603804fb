"""Events racing each other on PostgreSQL: a ticket's purchase and travel arriving at once."""

from __future__ import annotations

from datetime import date

import pytest

from jifen.services.events import apply_event
from jifen.services.ledger_check import check_ledger
from jifen.storage.db import make_engine
from jifen.storage.uow import UnitOfWork
from tests.integration.test_events import at, ticket
from tests.integration.test_ledger_concurrency import run_together

pytestmark = pytest.mark.postgres_only

DAY = date(2025, 5, 10)


def test_a_purchase_and_its_travel_sent_at_once_are_both_applied(
    engine, railway, vault, enrol_member
):
    member = enrol_member()
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=20)
    trips = 8
    events = []
    for n in range(trips):
        data = ticket(f"T{n}", departure=at(DAY), passenger={"member_id": member})
        events.append(
            {
                "id": f"buy-{n}",
                "type": "ticket.purchased",
                "occurred_at": at(DAY, 7).isoformat(),
                "data": data,
            }
        )
        events.append(
            {
                "id": f"ride-{n}",
                "type": "ticket.travelled",
                "occurred_at": at(DAY, 16).isoformat(),
                "data": {"ticket_id": f"T{n}"},
            }
        )

    results = run_together(
        len(events),
        lambda i: apply_event(UnitOfWork(wide), program=railway, vault=vault, raw=events[i]),
    )

    assert [r.status for r in results] == ["applied"] * len(events), [
        r.error for r in results if r.status != "applied"
    ]
    uow = UnitOfWork(wide)
    with uow:
        balances = {b.kind: (b.available, b.pending) for b in uow.ledger.balances_of(member)}
    assert balances == {"ride": (trips * 2768, 0), "upgrade": (trips * 2768, 0)}
    assert check_ledger(uow).ok
    wide.dispose()
