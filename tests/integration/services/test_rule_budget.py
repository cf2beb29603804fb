"""An earning rule's `budget_points` is never overshot: the last award is cut to what is left and
the rule stops once spent, one event at a time, in batches, and under concurrent events.

Trips count against the budget when they are promised (bought), and a refund gives it back.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from jifen.programs.schema import EarningRule, Program
from jifen.services.daily import run_daily
from jifen.services.events import apply_event
from jifen.services.events.batch import apply_batch
from jifen.services.ledger_check import check_ledger
from jifen.storage.db import make_engine
from jifen.storage.tables import earnings, pending_points
from jifen.storage.uow import SqlUnitOfWork
from tests.integration.services.test_events import at, ticket
from tests.integration.services.test_ledger_concurrency import run_together

DAY = date(2025, 3, 10)
SURVEY_BONUS = EarningRule.model_validate(
    {
        "code": "survey_bonus",
        "name": "Survey bonus, 320 points in all",
        "on": "activity.completed",
        "effect": {"kind": "activity", "fixed_points": 50},
        "budget_points": 320,
    }
)


def with_rules(railway: Program, *rules: EarningRule) -> Program:
    return railway.model_copy(update={"earning_rules": (*railway.earning_rules, *rules)})


def budgeted_ride(railway: Program, budget: int) -> Program:
    """Railway with a budget on its 5× ride rule (2,768 points for ¥553.50)."""
    rules = tuple(
        r.model_copy(update={"budget_points": budget}) if r.code == "ride_base_5x" else r
        for r in railway.earning_rules
    )
    return railway.model_copy(update={"earning_rules": rules})


class Sender:
    def __init__(self, uow: SqlUnitOfWork, program: Program, vault: Any) -> None:
        self.uow, self.program, self.vault, self.n = uow, program, vault, 0

    def raw(self, type_: str, when: datetime, data: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        return {"id": f"e{self.n}", "type": type_, "occurred_at": when.isoformat(), "data": data}

    def send(self, type_: str, when: datetime, data: dict[str, Any]) -> dict[str, Any]:
        result = apply_event(
            self.uow,
            program=self.program,
            vault=self.vault,
            raw=self.raw(type_, when, data),
            received_at=when,
        )
        assert result.status == "applied", result
        assert result.outcome is not None
        return result.outcome

    def survey(self, member: int) -> dict[str, Any]:
        return self.raw(
            "activity.completed",
            at(DAY, 12),
            {"member_id": member, "activity": "survey", "points": 1},
        )


def given_by(engine: Engine, rule: str) -> int:
    with engine.connect() as connection:
        query = select(func.coalesce(func.sum(earnings.c.points), 0)).where(
            earnings.c.rule_code == rule
        )
        return int(connection.execute(query).scalar_one())


def bonus_of(outcome: dict[str, Any]) -> list[tuple[int, str]]:
    return [
        (r["points"], r["explanation"]) for r in outcome["rules"] if r["rule"] == "survey_bonus"
    ]


def test_the_last_award_is_cut_to_the_budget_and_the_rule_then_stops(
    engine, uow, railway, vault, enrol_member
):
    sender = Sender(uow, with_rules(railway, SURVEY_BONUS), vault)
    member = enrol_member()
    data = sender.survey(member)["data"]
    outcomes = [sender.send("activity.completed", at(DAY, 12), data) for _ in range(8)]

    awards = [bonus_of(o) for o in outcomes]
    assert [a[0][0] for a in awards[:7]] == [50] * 6 + [20]
    assert "budget" in awards[6][0][1]
    assert awards[7] == [], "a spent rule gives nothing, not a line of 0 points"
    assert given_by(engine, "survey_bonus") == 320
    assert check_ledger(uow).ok


def test_a_batch_spends_the_budget_exactly(engine, uow, railway, vault, enrol_member):
    program = with_rules(railway, SURVEY_BONUS)
    sender = Sender(uow, program, vault)
    members = [enrol_member() for _ in range(4)]
    batch = [sender.survey(members[n % 4]) for n in range(10)]

    results = apply_batch(
        uow, program=program, vault=vault, raw_events=batch, received_at=at(DAY, 13)
    )

    assert [r.status for r in results] == ["applied"] * 10
    assert given_by(engine, "survey_bonus") == 320


def pending_of(engine: Engine, ticket_id: str) -> int:
    with engine.connect() as connection:
        query = select(func.coalesce(func.sum(pending_points.c.points), 0)).where(
            pending_points.c.reference == ticket_id, pending_points.c.kind == "ride"
        )
        return int(connection.execute(query).scalar_one())


def buy(sender: Sender, member: int, ticket_id: str) -> dict[str, Any]:
    data = ticket(ticket_id, departure=at(DAY), passenger={"member_id": member})
    return sender.send("ticket.purchased", at(DAY, 7), data)


def test_points_promised_for_bought_tickets_count_against_the_budget(
    engine, uow, railway, vault, enrol_member
):
    sender = Sender(uow, budgeted_ride(railway, 4_000), vault)
    first, second = enrol_member(), enrol_member()
    buy(sender, first, "T-1")
    buy(sender, second, "T-2")
    assert (pending_of(engine, "T-1"), pending_of(engine, "T-2")) == (2_768, 4_000 - 2_768)
    for ticket_id in ("T-1", "T-2"):
        sender.send("ticket.travelled", at(DAY, 16), {"ticket_id": ticket_id})
    assert given_by(engine, "ride_base_5x") == 4_000
    assert check_ledger(uow).ok


def test_a_refund_gives_its_promise_back_to_the_budget(engine, uow, railway, vault, enrol_member):
    sender = Sender(uow, budgeted_ride(railway, 2_768), vault)
    member = enrol_member()
    buy(sender, member, "T-1")
    assert buy(sender, member, "T-2")["pending"] == {}, "the budget is spent"
    sender.send("ticket.refunded", at(DAY, 8), {"ticket_id": "T-1"})
    assert buy(sender, member, "T-3")["pending"]["ride"] == 2_768


def test_a_no_show_voided_by_the_daily_job_gives_its_promise_back_to_the_budget(
    engine, uow, railway, vault, enrol_member
):
    program = budgeted_ride(railway, 2_768)
    sender = Sender(uow, program, vault)
    member = enrol_member()
    buy(sender, member, "T-1")
    assert buy(sender, member, "T-2")["pending"] == {}, "the budget is spent"

    # Nothing can confirm T-1 once the claim window after its departure has passed.
    report = run_daily(uow, program=program, as_of=DAY + timedelta(days=92))

    assert report.steps["no_shows"]["points_voided"] == 2_768
    assert buy(sender, member, "T-3")["pending"]["ride"] == 2_768
    assert check_ledger(uow).ok


@pytest.mark.postgres_only
def test_concurrent_events_never_spend_more_than_the_budget(engine, railway, vault, enrol_member):
    program = with_rules(railway, SURVEY_BONUS)
    members = [enrol_member() for _ in range(12)]
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=20)
    try:
        sender = Sender(SqlUnitOfWork(wide), program, vault)
        events = [sender.survey(m) for m in members]

        def one(i: int) -> object:
            return apply_event(
                SqlUnitOfWork(wide),
                program=program,
                vault=vault,
                raw=events[i],
                received_at=at(DAY, 13),
            )

        results = run_together(len(events), one)
        assert all(getattr(r, "status", None) == "applied" for r in results), results
        assert given_by(wide, "survey_bonus") == 320
    finally:
        wide.dispose()
