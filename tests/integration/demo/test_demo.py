"""The demo simulation fills a railway program and is safe to run again."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from jifen.demo.run import run_demo
from jifen.services import analytics
from jifen.services.ledger_check import check_ledger
from jifen.services.programs import install_program
from jifen.storage.tables import donations, mall_orders


def test_demo_simulates_a_season_and_a_rerun_adds_nothing(uow, railway, vault):
    first = run_demo(
        uow,
        program=railway,
        vault=vault,
        members=25,
        start=date(2025, 9, 1),
        end=date(2025, 9, 30),
        seed=3,
    )
    assert first.members == 25
    assert first.events["applied"] > 100
    assert first.days == 30
    report = check_ledger(uow)
    assert report.ok, report.violations
    with uow:
        earned = sum(
            b.available + b.pending
            for m in range(1, 26)
            for b in uow.ledger.balances_of(m)
            if b.kind == "ride"
        )
    assert earned > 0

    again = run_demo(
        uow,
        program=railway,
        vault=vault,
        members=25,
        start=date(2025, 9, 1),
        end=date(2025, 9, 30),
        seed=3,
    )
    assert again.members == 0
    assert set(again.events) <= {"duplicate", "rejected"}
    assert check_ledger(uow).counts == report.counts


def test_demo_season_redeems_buys_donates_and_lets_points_expire(uow, railway, vault):
    """A small season already gives every dashboard figure something to show."""
    install_program(uow, program=railway, source="preset:railway")  # as `jifen init` does
    summary = run_demo(
        uow,
        program=railway,
        vault=vault,
        members=40,
        start=date(2025, 9, 1),
        end=date(2025, 10, 15),
        seed=5,
    )
    assert summary.spent["redeemed"] > 0, summary.spent
    assert summary.spent["ordered"] > 0
    assert summary.spent["donated"] > 0, summary.spent
    kpis = analytics.kpis(uow, program=railway, start=date(2025, 9, 1), end=date(2025, 10, 15))
    assert kpis.redeemed > 0
    assert kpis.expired > 0
    assert 0 < kpis.breakage_rate < 1
    with uow:
        orders = uow.connection.execute(select(func.count()).select_from(mall_orders)).scalar()
        gifts = uow.connection.execute(select(func.count()).select_from(donations)).scalar()
    assert orders > 0
    assert gifts > 0
    assert check_ledger(uow).ok
