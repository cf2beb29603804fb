"""Events racing each other on PostgreSQL: a ticket's purchase and travel arriving at once."""

from __future__ import annotations

import random
from datetime import date

import pytest

from jifen.services.events import apply_event
from jifen.services.ledger_check import check_ledger
from jifen.storage.db import make_engine
from jifen.storage.uow import SqlUnitOfWork
from tests.integration.services.test_events import at, ticket
from tests.integration.services.test_ledger_concurrency import run_together

pytestmark = pytest.mark.postgres_only

DAY = date(2025, 5, 10)
TRIP_POINTS = 2768  # ¥553.50 at 5×, the railway base rate


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
        lambda i: apply_event(
            SqlUnitOfWork(wide),
            program=railway,
            vault=vault,
            raw=events[i],
            received_at=at(DAY, 16),
        ),
    )

    assert [r.status for r in results] == ["applied"] * len(events), [
        r.error for r in results if r.status != "applied"
    ]
    uow = SqlUnitOfWork(wide)
    with uow:
        balances = {b.kind: (b.available, b.pending) for b in uow.ledger.balances_of(member)}
    assert balances == {"ride": (trips * 2768, 0), "upgrade": (trips * 2768, 0)}
    assert check_ledger(uow).ok
    wide.dispose()


def test_many_tickets_bought_and_travelled_at_once_each_end_travelled_and_credited_once(
    engine, railway, vault, enrol_member
):
    members = [enrol_member(date(1980 + n, 3, 7)) for n in range(3)]
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=40)
    events, tickets = [], {}
    for member in members:
        for n in range(6):
            ticket_id = f"M{member}T{n}"
            tickets[ticket_id] = member
            data = ticket(ticket_id, departure=at(DAY), passenger={"member_id": member})
            bought = at(DAY, 7).isoformat()
            events.append(
                {"id": f"buy-{ticket_id}", "type": "ticket.purchased", "occurred_at": bought}
                | {"data": data}
            )
            events.append(
                {"id": f"ride-{ticket_id}", "type": "ticket.travelled"}
                | {"occurred_at": at(DAY, 16).isoformat(), "data": {"ticket_id": ticket_id}}
            )
    random.Random(8).shuffle(events)  # a travel often arrives before its purchase

    results = run_together(
        len(events),
        lambda i: apply_event(
            SqlUnitOfWork(wide),
            program=railway,
            vault=vault,
            raw=events[i],
            received_at=at(DAY, 16),
        ),
    )

    assert [getattr(r, "status", r) for r in results] == ["applied"] * len(events), [
        getattr(r, "error", r) for r in results if getattr(r, "status", None) != "applied"
    ]
    uow = SqlUnitOfWork(wide)
    with uow:
        statuses = {t: uow.events.ticket(t).status for t in tickets}
        balances = {
            m: {b.kind: (b.available, b.pending) for b in uow.ledger.balances_of(m)}
            for m in members
        }
    assert set(statuses.values()) == {"travelled"}
    trips = 6 * TRIP_POINTS
    assert balances == {m: {"ride": (trips, 0), "upgrade": (trips, 0)} for m in members}
    assert check_ledger(uow).ok
    wide.dispose()
