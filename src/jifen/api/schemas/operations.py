"""The daily job, the summary report and the sandbox clock."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from jifen.api.schemas.common import SANE_DATE, examples
from jifen.services.event_schema import IsoDate, Moment


class DailyJobIn(BaseModel):
    """The day to run the daily job for (program-local)."""

    model_config = examples({"as_of": "2025-12-01"})

    as_of: Annotated[IsoDate, Field(**SANE_DATE)]


class DailyJobOut(BaseModel):
    """Figures per step; `skipped` steps had already run for the day."""

    as_of: date
    steps: dict[str, dict[str, Any]]
    skipped: list[str]


class MemberCounts(BaseModel):
    """Members joined by the end, new in the period, and active (earned) in it."""

    total: int
    new: int
    active: int


class PointTotals(BaseModel):
    """Spendable points over the period; they add up exactly (definitions in docs/metrics.md).

    `opening + issued − redeemed − expired − forfeited − held = outstanding`.
    """

    issued: int
    redeemed: int = Field(description="Committed redemptions and donations, net of refunds.")
    expired: int
    outstanding: int = Field(description="Members' spendable balances at the period's end.")
    forfeited: int = Field(description="Points of members closed in the period.")
    held: int = Field(description="Points held by open redemptions at the period's end.")
    opening: int = Field(
        description="Points members held (spendable or held) when the period began; 0 from "
        "the program's first day."
    )


class SummaryOut(BaseModel):
    """The summary report (definitions in docs/api.md)."""

    members: MemberCounts
    points: PointTotals
    repurchase_rate: float
    breakage_rate: float
    liability_fen: int
    tiers: dict[str, int]


class ClockIn(BaseModel):
    """The time the sandbox server should use from now on."""

    model_config = examples({"now": "2026-01-15T09:00:00+08:00"})

    now: Moment


class ClockOut(BaseModel):
    """The server's time."""

    now: datetime
    simulated: bool
