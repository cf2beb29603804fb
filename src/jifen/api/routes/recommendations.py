"""Recommendations for a member: mall items and off-peak trips, from what they bought and rode."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from jifen.api.deps import ClockDep, ProgramDep, UowDep, require
from jifen.api.schemas.common import MemberPathId
from jifen.api.schemas.recommendations import MallItem, RecommendationsOut, Trip
from jifen.services.recommendations import DailyOffPeak, recommend_for_member

router = APIRouter(prefix="/v1", tags=["recommendations"])

OPERATORS = Depends(require("operator"))


@router.get(
    "/members/{member_id}/recommendations",
    response_model=RecommendationsOut,
    dependencies=[OPERATORS],
)
def get_recommendations(
    member_id: Annotated[MemberPathId, Path(description="The member's id.")],
    *,
    request: Request,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> RecommendationsOut:
    """Up to `limit` mall items (not already bought, on offer) and `limit` off-peak trips."""
    now = clock.now()
    quiet = _off_peak(request).profile(uow, program=program, now=now)
    found = recommend_for_member(
        uow, program=program, member_id=member_id, now=now, limit=limit, quiet=quiet
    )
    return RecommendationsOut(
        mall=[MallItem(sku=m.sku, name=m.name, score=m.score) for m in found.mall],
        trips=[
            Trip(route=t.route, suggested_departure=t.suggested_departure, reason=t.reason)
            for t in found.trips
        ],
    )


def _off_peak(request: Request) -> DailyOffPeak:
    """The worker's off-peak profile, read once per local day (it scans a year of tickets)."""
    kept: DailyOffPeak | None = getattr(request.app.state, "recommend_off_peak", None)
    if kept is None:
        kept = DailyOffPeak()
        request.app.state.recommend_off_peak = kept
    return kept
