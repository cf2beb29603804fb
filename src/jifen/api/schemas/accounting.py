"""Bodies of the accounting routes: breakage estimates, liability and the journal."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from jifen.api.schemas.common import SANE_DATE
from jifen.services.event_schema import PRINTABLE, IsoDate


class EstimateOut(BaseModel):
    """One stored breakage estimate (a version; never changed once stored)."""

    version: int
    key: str
    as_of: date
    method: str = Field(description="closed_cohorts, history_to_date or no_history")
    rate_bps: int = Field(description="Expected breakage in basis points (2,500 = 25%).")
    numerator: int = Field(description="Points never redeemed (expired or forfeited).")
    denominator: int = Field(description="Points settled (redeemed, expired or forfeited).")
    inputs: dict[str, Any]


class EstimateIn(BaseModel):
    """Estimate breakage from the ledger as of a day; `key` makes a retry safe."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"as_of": "2025-06-30"}]}
    )

    as_of: Annotated[IsoDate, Field(**SANE_DATE)]
    key: (
        Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)] | None
    ) = None


class LiabilityOut(BaseModel):
    """Outstanding points valued at redemption value, less expected breakage, in fen."""

    as_of: date
    point_kinds: list[str]
    points_per_yuan: int
    outstanding_points: int
    value_fen: int
    breakage_bps: int
    expected_breakage_fen: int
    liability_fen: int
    estimate: EstimateOut | None = Field(description="The estimate used; null means rate 0.")


class LineOut(BaseModel):
    """One double entry of the journal, in fen."""

    entry: str
    debit_account: str
    debit_name: str
    credit_account: str
    credit_name: str
    amount_fen: int
    description: str
    points: int


class JournalDayOut(BaseModel):
    """A day: points by flow, face values, the liability before and after, balanced lines."""

    date: date
    points: dict[str, int]
    value_fen: dict[str, int] = Field(description="Each flow at redemption value, half up.")
    estimate_version: int | None
    breakage_bps: int
    opening_liability_fen: int
    closing_liability_fen: int
    debits_fen: int
    credits_fen: int
    lines: list[LineOut]


class JournalOut(BaseModel):
    """The journal for `from`..`to` (program-local days)."""

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    points_per_yuan: int
    days: list[JournalDayOut]
