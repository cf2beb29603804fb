"""Redemption opens with any posting that lifts the spendable balance to the threshold (10,000).

Not only events: a partner's award, an approved adjustment, a bulk credit or a cancelled
redemption's return unlock in the same transaction, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

from jifen.domain.partners import MilesRate
from jifen.programs.schema import Program
from jifen.services import adjustments, ledger, partners
from jifen.services.ledger.bulk import Credit, credit_many
from jifen.services.ledger_check import check_ledger
from jifen.services.programs import install_program
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI

NOV3 = datetime(2025, 11, 3, 10, 0, tzinfo=SHANGHAI)
AIRLINE = partners.PartnerTerms(
    code="air",
    name="China Eastern",
    point_kind="ride",
    max_points_per_award=20_000,
    max_points_per_member_day=50_000,
    max_points_per_month=1_000_000,
    price_per_1000_points_fen=7_500,
    rate=MilesRate(10, 7),
    min_miles=100,
)


@pytest.fixture
def member(uow: SqlUnitOfWork, railway: Program, enrol_member: Callable[..., int]) -> int:
    install_program(uow, program=railway, source="preset:railway")
    return enrol_member(date(1990, 3, 7))


def unlocked_on(uow: SqlUnitOfWork, member_id: int) -> date | None:
    with uow:
        return uow.statements.unlocked_on(member_id)


def test_a_partner_award_reaching_the_threshold_unlocks_redemption(uow, railway, member):
    partners.add_partner(uow, program=railway, terms=AIRLINE, actor="op", now=NOV3)
    partners.award(
        uow,
        program=railway,
        partner_code="air",
        op_id="flight-1",
        member_id=member,
        points=12_100,
        reason="PVG-PEK",
        actor="pk1",
        now=NOV3,
    )
    assert unlocked_on(uow, member) == date(2025, 11, 3)
    assert check_ledger(uow).ok


def test_a_partner_award_below_the_threshold_leaves_redemption_locked(uow, railway, member):
    partners.add_partner(uow, program=railway, terms=AIRLINE, actor="op", now=NOV3)
    partners.award(
        uow,
        program=railway,
        partner_code="air",
        op_id="flight-1",
        member_id=member,
        points=9_999,
        reason="PVG-PEK",
        actor="pk1",
        now=NOV3,
    )
    assert unlocked_on(uow, member) is None


def test_an_approved_adjustment_reaching_the_threshold_unlocks_redemption(uow, railway, member):
    held = adjustments.request_adjustment(
        uow,
        program=railway,
        adjustment_id="goodwill-1",
        member_id=member,
        kind="goodwill",
        points=40_098,
        reason="lost trips of 2024",
        actor="op1",
        now=NOV3,
    )
    assert held.status == "pending_approval"
    assert unlocked_on(uow, member) is None
    adjustments.decide_adjustment(
        uow,
        program=railway,
        adjustment_id="goodwill-1",
        approve=True,
        decision_id="d-1",
        actor="op2",
        now=NOV3 + timedelta(days=1),
    )
    assert unlocked_on(uow, member) == date(2025, 11, 4)


def test_a_bulk_credit_reaching_the_threshold_unlocks_redemption(uow, member):
    batch = [
        Credit(
            key=f"migration:{n}",
            member_id=member,
            kind="ride",
            points=5_000,
            occurred_at=NOV3 + timedelta(days=n),
            expires_on=date(2027, 1, 1),
        )
        for n in range(3)
    ]
    credit_many(uow, batch)
    assert unlocked_on(uow, member) == date(2025, 11, 4)  # 10,000 with the second credit
    assert check_ledger(uow).ok


def test_points_of_a_kind_that_cannot_be_spent_do_not_unlock(uow, member):
    ledger.credit(
        uow,
        key="tier-only",
        member_id=member,
        kind="upgrade",
        points=20_000,
        occurred_at=NOV3,
        expires_on=None,
    )
    assert unlocked_on(uow, member) is None


def test_a_program_with_a_lower_threshold_unlocks_on_the_next_posting(uow, railway, member):
    ledger.credit(
        uow, key="a", member_id=member, kind="ride", points=6_000, occurred_at=NOV3, expires_on=None
    )
    redemption = railway.redemption.model_copy(update={"eligibility_threshold": 6_000})
    lower = railway.model_copy(update={"redemption": redemption})
    install_program(uow, program=lower, source="test")
    later = NOV3 + timedelta(days=2)
    ledger.credit(
        uow,
        key="b",
        member_id=member,
        kind="activity",
        points=1,
        occurred_at=later,
        expires_on=None,
    )
    assert unlocked_on(uow, member) == date(2025, 11, 5)
