"""The summary report of SPEC §12: members, points, rates and liability over a period.

Its figures are the analytics KPIs (`jifen.services.analytics.kpis`, defined in docs/metrics.md),
read from the ledger's rollups plus the transactions since their last refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from jifen.programs.schema import Program
from jifen.services.analytics import kpis
from jifen.services.analytics.period import MAX_DAYS
from jifen.storage.uow import UnitOfWork

__all__ = ["MAX_DAYS", "Summary", "summary"]


@dataclass(frozen=True, slots=True)
class Summary:
    """The summary report of SPEC §12; definitions in docs/metrics.md."""

    members_total: int
    members_new: int
    members_active: int
    issued: int
    redeemed: int
    expired: int
    outstanding: int
    repurchase_rate: float
    breakage_rate: float
    liability_fen: int
    tiers: dict[str, int]


def summary(uow: UnitOfWork, *, program: Program, start: date, end: date) -> Summary:
    """Members, points and rates for `start`..`end` (program-local days, both included).

    Liability values the points outstanding at the end at the redemption value (100 points =
    ¥1 in the presets), less the share the period's breakage says will never be redeemed.
    `tiers` counts members per tier now, as SPEC §12 says.
    """
    k = kpis(uow, program=program, start=start, end=end)
    with uow:
        tiers = uow.reports.tier_counts()
    return Summary(
        k.members_total,
        k.members_new,
        k.members_active,
        k.issued,
        k.redeemed,
        k.expired,
        k.outstanding,
        k.repurchase_rate,
        k.breakage_rate,
        k.liability_fen,
        {level.code: tiers.get(level.code, 0) for level in program.tiers.levels},
    )
