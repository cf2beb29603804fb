"""Accounting for finance: breakage estimates, the points liability and the daily GL journal."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from jifen.api.deps import ProgramDep, UowDep, require
from jifen.api.schemas.accounting import (
    EstimateIn,
    EstimateOut,
    JournalDayOut,
    JournalOut,
    LiabilityOut,
    LineOut,
)
from jifen.api.schemas.common import SANE_DATE
from jifen.domain.accounting import JournalDay, JournalLine
from jifen.services import accounting
from jifen.storage.accounting_repository import StoredEstimate

router = APIRouter(prefix="/v1/accounting", tags=["accounting"])

Day = Annotated[date, Query(**SANE_DATE)]


def _estimate(stored: StoredEstimate | None) -> EstimateOut | None:
    if stored is None:
        return None
    return EstimateOut(
        version=stored.version,
        key=stored.key,
        as_of=stored.as_of,
        method=stored.method,
        rate_bps=stored.rate_bps,
        numerator=stored.numerator,
        denominator=stored.denominator,
        inputs=stored.inputs,
    )


@router.get(
    "/estimates", response_model=list[EstimateOut], dependencies=[Depends(require("analyst"))]
)
def get_estimates(uow: UowDep) -> list[EstimateOut]:
    """Every breakage estimate, oldest version first."""
    return [e for e in map(_estimate, accounting.list_estimates(uow)) if e is not None]


@router.post("/estimates", response_model=EstimateOut, dependencies=[Depends(require())])
def post_estimate(body: EstimateIn, uow: UowDep, program: ProgramDep) -> EstimateOut | None:
    """Estimate breakage as of a day and store it as a new version (admin; safe to retry)."""
    return _estimate(accounting.estimate(uow, program=program, as_of=body.as_of, key=body.key))


@router.get("/liability", response_model=LiabilityOut, dependencies=[Depends(require("analyst"))])
def get_liability(uow: UowDep, program: ProgramDep, as_of: Day) -> LiabilityOut:
    """The points liability at the end of `as_of` and the breakage estimate it used."""
    report = accounting.liability(uow, program=program, as_of=as_of)
    f = report.figures
    return LiabilityOut(
        as_of=report.as_of,
        point_kinds=list(report.kinds),
        points_per_yuan=report.points_per_yuan,
        outstanding_points=f.outstanding,
        value_fen=f.value_fen,
        breakage_bps=f.rate_bps,
        expected_breakage_fen=f.expected_breakage_fen,
        liability_fen=f.liability_fen,
        estimate=_estimate(report.estimate),
    )


def _line(day: JournalDay, n: int, li: JournalLine) -> LineOut:
    return LineOut(
        entry=f"JF-{day.day:%Y%m%d}-{n:02d}",
        debit_account=li.debit.code,
        debit_name=li.debit.name,
        credit_account=li.credit.code,
        credit_name=li.credit.name,
        amount_fen=li.amount_fen,
        description=li.description,
        points=li.points,
    )


def _day(day: JournalDay, version: int | None, points_per_yuan: int) -> JournalDayOut:
    return JournalDayOut(
        date=day.day,
        points=day.flows,
        value_fen=accounting.face_values(day.flows, points_per_yuan=points_per_yuan),
        estimate_version=version,
        breakage_bps=day.bps,
        opening_liability_fen=day.opening_liability_fen,
        closing_liability_fen=day.closing_liability_fen,
        debits_fen=day.debits_fen,
        credits_fen=day.debits_fen,
        lines=[_line(day, n, li) for n, li in enumerate(day.lines, start=1)],
    )


@router.get(
    "/journal",
    response_model=JournalOut,
    dependencies=[Depends(require("analyst"))],
    responses={200: {"content": {"text/csv": {}}}},
)
def get_journal(
    uow: UowDep,
    program: ProgramDep,
    start: Annotated[date, Query(alias="from", **SANE_DATE)],
    end: Annotated[date, Query(alias="to", **SANE_DATE)],
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Any:
    """The daily journal (JSON, or CSV for a general ledger with `format=csv`), at most 366 days."""
    journal = accounting.journal(uow, program=program, start=start, end=end)
    if output == "csv":
        return Response(
            accounting.journal_csv(journal),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="jifen-journal-{start}-{end}.csv"'
            },
        )
    return JournalOut(
        **{"from": journal.start, "to": journal.end},
        points_per_yuan=journal.points_per_yuan,
        days=[
            _day(day, version, journal.points_per_yuan)
            for day, version in zip(journal.days, journal.versions, strict=True)
        ],
    )
