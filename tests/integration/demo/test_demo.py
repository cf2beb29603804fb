"""The demo simulation fills a railway program and is safe to run again."""

from __future__ import annotations

from datetime import date

from jifen.demo.run import run_demo
from jifen.services.ledger_check import check_ledger


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
