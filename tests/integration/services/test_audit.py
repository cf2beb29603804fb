"""Corrections below the API: the audit export, and concurrent adjusters, approvers and closers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from jifen.programs.schema import Program
from jifen.services import adjustments, audit, member_status
from jifen.services.ledger_check import check_ledger
from jifen.storage.audit_repository import AdjustmentRecord
from jifen.storage.db import make_engine
from jifen.storage.tables import audit_log, ledger_transactions
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, T0
from tests.integration.services.test_ledger_concurrency import run_together


def adjust(uow: SqlUnitOfWork, program: Program, member: int, **fields: object) -> AdjustmentRecord:
    request = {
        "adjustment_id": "a1",
        "kind": "goodwill",
        "points": 100,
        "reason": "Checked",
        "actor": "op1",
        "now": T0,
        **fields,
    }
    return adjustments.request_adjustment(uow, program=program, member_id=member, **request)  # type: ignore[arg-type]


def ride_balance(uow: SqlUnitOfWork, member: int) -> int:
    with uow:
        return sum(b.available for b in uow.ledger.balances_of(member) if b.kind == "ride")


class TestExport:
    def test_gives_every_row_of_the_period_oldest_first_in_chunks(self, uow, monkeypatch):
        start = datetime(2025, 3, 1, tzinfo=SHANGHAI)
        with uow:
            for hour in range(7):
                audit.record(
                    uow,
                    at=start + timedelta(hours=hour * 5),
                    actor="op1",
                    action="member.frozen",
                    subject=f"member:{hour}",
                    details={"reason": f"r{hour}", "before": {"status": "active"}},
                )
            uow.commit()
        monkeypatch.setattr(audit, "EXPORT_CHUNK", 2)

        every = list(audit.export_audit(uow, start=None, end=None))
        assert [row["subject"] for row in every] == [f"member:{h}" for h in range(7)]
        assert every[0] == {
            "id": every[0]["id"],
            "at": start.astimezone(UTC).isoformat(),
            "actor": "op1",
            "action": "member.frozen",
            "subject": "member:0",
            "details": {"reason": "r0", "before": {"status": "active"}},
        }
        # 1 March (Shanghai) holds hours 0, 5, 10, 15, 20; the second of March the rest.
        since, until = audit.local_days(
            date(2025, 3, 1), date(2025, 3, 1), timezone="Asia/Shanghai"
        )
        first_day = list(audit.export_audit(uow, start=since, end=until))
        assert [row["subject"] for row in first_day] == [f"member:{h}" for h in range(5)]
        since, _ = audit.local_days(date(2025, 3, 2), None, timezone="Asia/Shanghai")
        later = list(audit.export_audit(uow, start=since, end=None))
        assert [row["subject"] for row in later] == ["member:5", "member:6"]


@pytest.fixture
def wide_engine(engine: Engine) -> Iterator[Engine]:
    """The test database with a pool large enough for every thread to hold a connection."""
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=40)
    yield wide
    wide.dispose()


def count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
        return int(connection.execute(query).scalar_one())


@pytest.mark.postgres_only
class TestConcurrency:
    def test_twenty_resends_of_one_adjustment_post_it_once(self, wide_engine, new_member, railway):
        member = new_member()
        results = run_together(
            20, lambda _i: adjust(SqlUnitOfWork(wide_engine), railway, member, points=300)
        )
        assert all(isinstance(r, AdjustmentRecord) for r in results), results
        assert len({r.transaction_id for r in results}) == 1  # type: ignore[union-attr]
        assert ride_balance(SqlUnitOfWork(wide_engine), member) == 300
        assert count(wide_engine, ledger_transactions) == 1
        assert count(wide_engine, audit_log) == 1
        assert check_ledger(SqlUnitOfWork(wide_engine)).ok

    def test_approvers_racing_post_a_held_adjustment_once(self, wide_engine, new_member, railway):
        member = new_member()
        held = adjust(SqlUnitOfWork(wide_engine), railway, member, points=50_000)
        assert held.status == "pending_approval"

        def decide(i: int) -> object:
            return adjustments.decide_adjustment(
                SqlUnitOfWork(wide_engine),
                program=railway,
                adjustment_id="a1",
                approve=i % 3 != 0,
                decision_id=f"d{i}",
                actor=f"op{i + 2}",
                now=T0,
            )

        results = run_together(12, decide)
        outcomes = Counter(type(r).__name__ for r in results)
        assert outcomes == {"AdjustmentRecord": 1, "AdjustmentDecided": 11}, results
        [winner] = [r for r in results if isinstance(r, AdjustmentRecord)]
        expected = 50_000 if winner.status == "applied" else 0
        assert ride_balance(SqlUnitOfWork(wide_engine), member) == expected
        assert count(wide_engine, ledger_transactions) == (1 if expected else 0)
        assert count(wide_engine, audit_log) == 2  # requested, then the one decision
        assert check_ledger(SqlUnitOfWork(wide_engine)).ok

    def test_adjustments_racing_a_close_never_leave_points_on_a_closed_member(
        self, wide_engine, new_member, railway
    ):
        member = new_member()  # no balance row yet: the close has none to lock

        def work(i: int) -> object:
            if i == 10:
                return member_status.close_member(
                    SqlUnitOfWork(wide_engine),
                    program=railway,
                    member_id=member,
                    reason="Left",
                    actor="op1",
                    now=T0,
                )
            return adjust(SqlUnitOfWork(wide_engine), railway, member, adjustment_id=f"a{i}")

        results = run_together(20, work)
        outcomes = Counter(type(r).__name__ for r in results)
        assert outcomes["StatusChange"] == 1, [
            r for r in results if not isinstance(r, AdjustmentRecord)
        ]
        assert outcomes["AdjustmentRecord"] + outcomes["MemberClosed"] == 19, results
        [closed] = [r for r in results if isinstance(r, member_status.StatusChange)]
        forfeited = 100 * outcomes["AdjustmentRecord"]
        assert closed.forfeited == ({"ride": forfeited} if forfeited else {})
        assert ride_balance(SqlUnitOfWork(wide_engine), member) == 0
        assert check_ledger(SqlUnitOfWork(wide_engine)).ok
