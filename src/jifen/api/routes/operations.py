"""Events in, the daily job, reports, and the sandbox clock."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query

from jifen.api import metrics
from jifen.api.deps import ClockDep, ProgramDep, StateDep, UowDep, VaultDep, require
from jifen.api.routes.events import accept_async, prefers_async
from jifen.api.schemas.errors import Error
from jifen.api.schemas.events import AcceptedResults, EventBatch, EventResultOut, EventResults
from jifen.api.schemas.operations import (
    ClockIn,
    ClockOut,
    DailyJobIn,
    DailyJobOut,
    MemberCounts,
    PointTotals,
    SummaryOut,
)
from jifen.domain.errors import NotFound
from jifen.services.clock import SandboxClock
from jifen.services.daily import run_daily
from jifen.services.events import apply_events
from jifen.services.events.batch import apply_batch
from jifen.services.reports import summary

router = APIRouter(prefix="/v1")


@router.post(
    "/events",
    response_model=EventResults,
    tags=["events"],
    dependencies=[Depends(require("integrator"))],
    responses={202: {"model": AcceptedResults, "description": "Put on the stream (async)."}},
)
def post_events(
    body: EventBatch,
    *,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    app: StateDep,
    prefer: Annotated[str | None, Header()] = None,
) -> Any:
    """Apply a batch of events; each has its own result, and one bad event sinks no other.

    They reach Jifen now, by the server's clock (the sandbox's, where one is set). With a stream
    configured and `Prefer: respond-async`, they are put on the stream instead: 202, and
    `GET /v1/events/{event_id}` tells each one's outcome once a consumer has applied it.
    """
    received_at, tolerance = app.clock.now(), app.event_future_tolerance
    if app.stream is not None and prefers_async(prefer):
        return accept_async(app.stream, body.events, received_at=received_at)
    if len(body.events) == 1 and app.committer is not None:  # with others waiting, at once
        results = [
            app.committer.apply(
                body.events[0], program=program, received_at=received_at, tolerance=tolerance
            )
        ]
    else:
        apply = apply_batch if len(body.events) > 1 else apply_events  # the bulk path
        results = apply(
            uow,
            program=program,
            vault=vault,
            raw_events=body.events,
            received_at=received_at,
            future_tolerance=tolerance,
        )
    metrics.count_events(body.events, results)
    return EventResults(
        results=[
            EventResultOut(
                id=r.id,
                status=r.status,
                error=Error(**r.error) if r.error else None,
            )
            for r in results
        ]
    )


@router.post(
    "/jobs/daily", response_model=DailyJobOut, tags=["jobs"], dependencies=[Depends(require())]
)
def post_daily_job(body: DailyJobIn, uow: UowDep, program: ProgramDep) -> DailyJobOut:
    """Run the daily job for a day: expire lots, evaluate tiers, queue reminders. Safe twice."""
    with metrics.daily_job_timer() as timer:
        report = run_daily(uow, program=program, as_of=body.as_of, progress=timer.progress)
    return DailyJobOut(as_of=report.as_of, steps=report.steps, skipped=list(report.skipped))


@router.get(
    "/reports/summary",
    response_model=SummaryOut,
    tags=["reports"],
    dependencies=[Depends(require("analyst"))],
)
def get_summary(
    uow: UowDep,
    program: ProgramDep,
    start: Annotated[date, Query(alias="from", ge=date(1900, 1, 1), le=date(2200, 12, 31))],
    end: Annotated[date, Query(alias="to", ge=date(1900, 1, 1), le=date(2200, 12, 31))],
) -> SummaryOut:
    """Members, points issued/redeemed/expired/forfeited/held/outstanding, rates and liability.

    The points add up: `opening + issued − redeemed − expired − forfeited − held = outstanding`;
    `liability_fen` is `GET /v1/accounting/liability?as_of=` the period's last day.
    """
    s = summary(uow, program=program, start=start, end=end)
    return SummaryOut(
        members=MemberCounts(total=s.members_total, new=s.members_new, active=s.members_active),
        points=PointTotals(
            issued=s.issued,
            redeemed=s.redeemed,
            expired=s.expired,
            outstanding=s.outstanding,
            forfeited=s.forfeited,
            held=s.held,
            opening=s.opening,
        ),
        repurchase_rate=s.repurchase_rate,
        breakage_rate=s.breakage_rate,
        liability_fen=s.liability_fen,
        tiers=s.tiers,
    )


@router.get(
    "/clock",
    response_model=ClockOut,
    tags=["clock"],
    dependencies=[Depends(require("operator", "integrator", "analyst", "partner"))],
)
def get_clock(clock: ClockDep) -> ClockOut:
    """The time the server uses."""
    return ClockOut(now=clock.now(), simulated=clock.simulated)


@router.post(
    "/clock",
    response_model=ClockOut,
    tags=["clock"],
    dependencies=[Depends(require())],
    responses={404: {"model": Error}},
)
def set_clock(body: ClockIn, clock: ClockDep) -> ClockOut:
    """Set the sandbox time (a server started with `--simulated-clock` only; 404 otherwise)."""
    if not isinstance(clock, SandboxClock):
        raise NotFound(
            "This server runs on real time; start it with --simulated-clock to set the time."
        )
    clock.set(body.now)
    return ClockOut(now=clock.now(), simulated=True)
