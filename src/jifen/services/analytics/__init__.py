"""Analytics: KPIs, daily series, tiers, cohorts and RFM segments over program-local days.

Every function takes a `UnitOfWork`, the active `Program` and a period of program-local days
(`start`..`end`, both included; at most 3,660 days, else `InvalidRequest`), and returns frozen
dataclasses. Figures are defined in docs/metrics.md. They read two rollups of the ledger
(`refresh_rollups`, a step of the daily job, keeps them up to date) plus, live, every ledger
transaction written since the last refresh — so they are current whether or not the job ran.

Public functions:

- `kpis(uow, program=, start=, end=) -> Kpis` — members total/new/active/repeat; points
  opening, issued, redeemed, expired, forfeited, held, outstanding (which add up exactly);
  redemption, breakage and repurchase rates; the balance sheet's liability in fen at `end`.
- `daily_series(uow, program=, start=, end=) -> tuple[DayFigures, ...]` — one row per day:
  points issued/redeemed/expired/forfeited/held, new members, active members.
- `tier_mix(uow, program=, on=) -> tuple[TierShare, ...]` — members per tier at the end of a day.
- `tier_movement(uow, program=, start=, end=) -> TierMovement` — tier the day before `start` ×
  tier at `end` (`TierMove` rows; `from_code` None for members who joined in the period).
- `cohorts(uow, program=, start=, end=) -> tuple[Cohort, ...]` — members by join month and how
  many of them earned in each month since (`Cohort.retention` as shares).
- `rfm(uow, program=, start=, end=) -> tuple[RfmSegment, ...]` — earners by RFM segment, then
  the `inactive` members.
- `rfm_grid(uow, program=, start=, end=) -> tuple[RfmCell, ...]` — the same earners per
  recency × frequency score (1–5 each), with the segment each cell belongs to.
- `refresh_rollups(uow, program=) -> Refresh` — fold new ledger transactions into the rollups
  (idempotent, chunked, safe beside live writes).
- `report_table(uow, program=, name=, start=, end=) -> ReportTable` and `write_report(table,
  fmt=, out=)` — any report above as columns and rows, written as table, CSV, JSON or Parquet.
"""

from __future__ import annotations

from jifen.services.analytics.export import REPORTS, ReportTable, report_table, write_report
from jifen.services.analytics.members import (
    Cohort,
    RfmCell,
    RfmSegment,
    TierMove,
    TierMovement,
    TierShare,
    cohorts,
    rfm,
    rfm_grid,
    tier_mix,
    tier_movement,
)
from jifen.services.analytics.points import DayFigures, Kpis, PointFlows, daily_series, kpis
from jifen.services.analytics.rollups import Refresh, refresh_rollups

__all__ = [
    "REPORTS",
    "Cohort",
    "DayFigures",
    "Kpis",
    "PointFlows",
    "Refresh",
    "ReportTable",
    "RfmCell",
    "RfmSegment",
    "TierMove",
    "TierMovement",
    "TierShare",
    "cohorts",
    "daily_series",
    "kpis",
    "refresh_rollups",
    "report_table",
    "rfm",
    "rfm_grid",
    "tier_mix",
    "tier_movement",
    "write_report",
]
