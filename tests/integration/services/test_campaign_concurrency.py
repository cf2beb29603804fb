"""A campaign's budget under a rush of travel events on PostgreSQL: never overspent, all booked."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from jifen.services.campaigns import CampaignDraft, create_campaign, get_campaign
from jifen.services.campaigns.definitions import repository
from jifen.services.events import apply_event
from jifen.services.ledger_check import check_ledger
from jifen.storage.db import make_engine
from jifen.storage.tables import campaign_trips
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, T0
from tests.integration.services.test_events import at, ticket
from tests.integration.services.test_ledger_concurrency import run_together

pytestmark = pytest.mark.postgres_only

SATURDAY = date(2025, 6, 7)
BASE, HALF = 2768, 1384
MEMBERS, TRIPS_EACH = 12, 3  # 36 bonuses of 1,384 wanted: 49,824 points
RECEIVED = at(SATURDAY + timedelta(days=TRIPS_EACH))  # after every trip: the travels reach Jifen


def event(event_id: str, type_: str, when, data) -> dict:
    return {"id": event_id, "type": type_, "occurred_at": when.isoformat(), "data": data}


@pytest.mark.parametrize(
    "case",
    [
        # 7 full bonuses and one cut to 10,000 − 7 × 1,384 = 312; the trips after it not recorded
        {"budget": 10_000, "given": 10_000, "bonuses": 8, "status": "exhausted"},
        # room for all: every bonus given, none lost to a race
        {"budget": 1_000_000, "given": 36 * HALF, "bonuses": 36, "status": "active"},
    ],
    ids=["small-budget", "large-budget"],
)
def test_concurrent_travels_never_spend_more_than_the_budget(
    engine, railway, vault, enrol_member, case
):
    budget, given, bonuses, status = case["budget"], case["given"], case["bonuses"], case["status"]
    members = [enrol_member() for _ in range(MEMBERS)]
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=40)
    uow = SqlUnitOfWork(wide)
    create_campaign(
        uow,
        program=railway,
        draft=CampaignDraft(
            id="rush",
            name="Rush",
            starts_at=datetime(2025, 6, 1, tzinfo=SHANGHAI),
            ends_at=datetime(2025, 7, 1, tzinfo=SHANGHAI),
            budget_points=budget,
            effect={"kind": "ride", "percent": 50},
            target={},
            control_percent=0,
        ),
        actor="test",
        now=T0,
    )
    travels = []
    for member in members:
        for n in range(TRIPS_EACH):
            ticket_id = f"T{member}-{n}"
            departure = at(SATURDAY + timedelta(days=n))
            data = ticket(ticket_id, departure=departure, passenger={"member_id": member})
            bought = event(f"buy-{ticket_id}", "ticket.purchased", departure, data)
            result = apply_event(
                uow, program=railway, vault=vault, raw=bought, received_at=departure
            )
            assert result.status == "applied"
            travels.append(
                event(f"ride-{ticket_id}", "ticket.travelled", departure, {"ticket_id": ticket_id})
            )

    results = run_together(
        len(travels),
        lambda i: apply_event(
            SqlUnitOfWork(wide), program=railway, vault=vault, raw=travels[i], received_at=RECEIVED
        ),
    )

    assert [r.status for r in results] == ["applied"] * len(travels), [
        r.error for r in results if r.status != "applied"
    ]
    campaign = get_campaign(uow, "rush")
    assert (campaign.spent_points, campaign.status) == (given, status)
    with uow:
        ledger_total = repository(uow).ledger_bonus_total("rush")
        recorded = uow.connection.execute(
            select(func.sum(campaign_trips.c.bonus_points), func.count())
        ).one()
        ride = sum(
            b.available for m in members for b in uow.ledger.balances_of(m) if b.kind == "ride"
        )
    assert ledger_total == recorded[0] == given
    assert ride == MEMBERS * TRIPS_EACH * BASE + given
    assert recorded[1] == bonuses
    assert check_ledger(uow).ok
    wide.dispose()
