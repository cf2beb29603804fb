"""The segments a member is in: operators set theirs; the daily job's RFM segment is shown too."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from jifen.api.deps import ClockDep, UowDep, require
from jifen.api.schemas.common import MemberPathId
from jifen.api.schemas.segments import SegmentsIn, SegmentsOut
from jifen.services.segments import MemberSegments, assign_segments, member_segments
from jifen.storage.key_repository import StoredKey

router = APIRouter(prefix="/v1/members", tags=["members"])
MemberPath = Annotated[MemberPathId, Path(description="The member's id.")]
Operator = Annotated[StoredKey, Depends(require("operator"))]


ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "not_found"}}


def _out(found: MemberSegments) -> SegmentsOut:
    return SegmentsOut(
        member_id=found.member_id,
        segments=list(found.segments),
        assigned=list(found.assigned),
        rfm=found.rfm,
    )


@router.put("/{member_id}/segments", response_model=SegmentsOut, responses=ERRORS)
def put_segments(
    member_id: MemberPath, body: SegmentsIn, key: Operator, uow: UowDep, clock: ClockDep
) -> SegmentsOut:
    """Set the member's segments (audited); sending the same set again changes nothing."""
    found = assign_segments(
        uow, member_id=member_id, segments=body.segments, actor=key.prefix, now=clock.now()
    )
    return _out(found)


@router.get(
    "/{member_id}/segments",
    response_model=SegmentsOut,
    responses=ERRORS,
    dependencies=[Depends(require("operator", "analyst"))],
)
def get_segments(member_id: MemberPath, uow: UowDep) -> SegmentsOut:
    """The member's segments and where each comes from."""
    return _out(member_segments(uow, member_id=member_id))
