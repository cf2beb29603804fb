"""Analytics reports (analyst): KPIs, the daily series, tiers, cohorts, RFM, and file exports.

`GET /v1/reports/summary` (SPEC §12) stays in `operations.py`; these sit beside it.
"""

from __future__ import annotations

import io
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from jifen.api.deps import ProgramDep, UowDep, require
from jifen.domain.errors import NotFound
from jifen.services import analytics

router = APIRouter(
    prefix="/v1/reports", tags=["reports"], dependencies=[Depends(require("analyst"))]
)

Day = Annotated[date, Query(ge=date(1900, 1, 1), le=date(2200, 12, 31))]
From = Annotated[date, Query(alias="from", ge=date(1900, 1, 1), le=date(2200, 12, 31))]
To = Annotated[date, Query(alias="to", ge=date(1900, 1, 1), le=date(2200, 12, 31))]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}


@router.get("/kpis", response_model=analytics.Kpis)
def get_kpis(uow: UowDep, program: ProgramDep, start: From, end: To) -> analytics.Kpis:
    """Members, points issued/redeemed/expired/forfeited/outstanding, rates and liability."""
    return analytics.kpis(uow, program=program, start=start, end=end)


@router.get("/daily")
def get_daily(uow: UowDep, program: ProgramDep, start: From, end: To) -> dict[str, Any]:
    """One item per program-local day: points moved, new members, active members."""
    series = analytics.daily_series(uow, program=program, start=start, end=end)
    return {"items": [asdict(day) for day in series]}


@router.get("/tiers")
def get_tiers(uow: UowDep, program: ProgramDep, on: Day) -> dict[str, Any]:
    """Members per tier at the end of the day `on`."""
    mix = analytics.tier_mix(uow, program=program, on=on)
    return {"on": on, "tiers": [asdict(share) for share in mix]}


@router.get("/tier-movement")
def get_tier_movement(uow: UowDep, program: ProgramDep, start: From, end: To) -> dict[str, Any]:
    """Tier the day before `from` × tier at the end of `to` (`from_code` null: joined since)."""
    return asdict(analytics.tier_movement(uow, program=program, start=start, end=end))


@router.get("/cohorts")
def get_cohorts(uow: UowDep, program: ProgramDep, start: From, end: To) -> dict[str, Any]:
    """Members by join month, and how many of them earned in each month since."""
    found = analytics.cohorts(uow, program=program, start=start, end=end)
    return {"cohorts": [{**asdict(c), "retention": list(c.retention)} for c in found]}


@router.get("/rfm")
def get_rfm(uow: UowDep, program: ProgramDep, start: From, end: To) -> dict[str, Any]:
    """Members who earned in the period by RFM segment, then the inactive ones."""
    found = analytics.rfm(uow, program=program, start=start, end=end)
    return {"segments": [asdict(s) for s in found]}


@router.get("/{name}/export")
def export_report(
    name: str,
    *,
    uow: UowDep,
    program: ProgramDep,
    start: From,
    end: To,
    fmt: Annotated[Literal["csv", "json", "parquet"], Query(alias="format")] = "csv",
) -> Response:
    """The report `name` (kpis, daily, tiers, tier-movement, cohorts, rfm) as a file."""
    if name not in analytics.REPORTS:
        raise NotFound(
            f"No report {name!r}; choose one of: {', '.join(analytics.REPORTS)}.", report=name
        )
    table = analytics.report_table(uow, program=program, name=name, start=start, end=end)
    text, binary = io.StringIO(), io.BytesIO()
    analytics.write_report(table, fmt=fmt, text=text, binary=binary)
    body = binary.getvalue() if fmt == "parquet" else text.getvalue().encode()
    filename = f"{name}_{start}_{end}.{fmt}"
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
