"""Rollup refreshes running while members earn and reports read (real threads, PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine

from jifen.programs.schema import Program
from jifen.services import ledger
from jifen.services.analytics import kpis, refresh_rollups
from jifen.storage.db import make_engine
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0
from tests.integration.services.test_ledger_concurrency import run_together

pytestmark = pytest.mark.postgres_only

WRITERS, CREDITS = 4, 25
PERIOD = {"start": date(2025, 1, 1), "end": date(2025, 12, 31)}


@pytest.fixture
def wide_engine(engine: Engine) -> Engine:
    wide = make_engine(engine.url.render_as_string(hide_password=False), pool_size=20)
    yield wide
    wide.dispose()


def test_refreshes_beside_writers_and_readers_count_every_point_once(
    wide_engine: Engine, new_member, railway: Program
) -> None:
    members = [new_member() for _ in range(WRITERS)]
    seen: dict[int, list[int]] = {i: [] for i in range(WRITERS, WRITERS + 4)}

    def work(i: int) -> object:
        uow = SqlUnitOfWork(wide_engine)
        if i < WRITERS:  # a member earning 1, 2, … points, one credit per transaction
            for n in range(1, CREDITS + 1):
                ledger.credit(
                    uow,
                    key=f"w{i}:{n}",
                    member_id=members[i],
                    kind="ride",
                    points=n,
                    occurred_at=T0 + timedelta(hours=n),
                    expires_on=date(2026, 6, 1),
                )
            return None
        for _ in range(8):  # refreshers and readers interleaved
            if i % 2:
                refresh_rollups(uow, program=railway, chunk=7)
            else:
                seen[i].append(kpis(uow, program=railway, **PERIOD).issued)
        return None

    errors = [r for r in run_together(WRITERS + 4, work) if isinstance(r, Exception)]
    assert errors == []
    per_member = CREDITS * (CREDITS + 1) // 2
    for reads in seen.values():  # each reader: never more than was written, never going back
        assert all(0 <= n <= WRITERS * per_member for n in reads)
        assert reads == sorted(reads)
    uow = SqlUnitOfWork(wide_engine)
    live = kpis(uow, program=railway, **PERIOD)
    refresh_rollups(uow, program=railway)
    folded = kpis(uow, program=railway, **PERIOD)
    assert live == folded
    assert (folded.issued, folded.outstanding) == (WRITERS * per_member,) * 2
    assert (folded.members_active, folded.members_repeat) == (WRITERS, WRITERS)
