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
from jifen.services.unit_of_work import UnitOfWork

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
    forfeited: int
    held: int
    opening: int


def summary(uow: UnitOfWork, *, program: Program, start: date, end: date) -> Summary:
    """Members, points and rates for `start`..`end` (program-local days, both included).

    The points add up: `opening + issued − redeemed − expired − forfeited − held =
    outstanding`. Liability is the balance sheet's at the end of `end` (what members hold then,
    spendable or held, at redemption value less the stored breakage estimate in force), the
    same figure as `GET /v1/accounting/liability?as_of=end`. `tiers` counts members per tier
    now, as SPEC §12 says.
    """
    k = kpis(uow, program=program, start=start, end=end)
    with uow:
        tiers = uow.reports.tier_counts()
    return Summary(
        members_total=k.members_total,
        members_new=k.members_new,
        members_active=k.members_active,
        issued=k.issued,
        redeemed=k.redeemed,
        expired=k.expired,
        outstanding=k.outstanding,
        repurchase_rate=k.repurchase_rate,
        breakage_rate=k.breakage_rate,
        liability_fen=k.liability_fen,
        tiers={level.code: tiers.get(level.code, 0) for level in program.tiers.levels},
        forfeited=k.forfeited,
        held=k.held,
        opening=k.opening,
    )
