"""Corrections, approvals, freezing and closing members, and the audit log."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Path, Query, Response, status

from jifen.api.deps import ClockDep, PageCursor, ProgramDep, ReadUowDep, UowDep, require
from jifen.api.schemas.adjustments import (
    AdjustmentIn,
    AdjustmentOut,
    Adjustments,
    AuditEntryOut,
    AuditPage,
    DecisionIn,
    StatusIn,
    StatusOut,
    UnfreezeIn,
)
from jifen.api.schemas.common import SANE_DATE, MemberPathId
from jifen.domain.adjustments import AdjustmentState
from jifen.domain.calendar import local_datetime
from jifen.programs.schema import Program
from jifen.services import adjustments, audit, listings, member_status
from jifen.services.adjustments import AdjustmentStatus
from jifen.services.event_schema import PRINTABLE
from jifen.storage.audit_repository import AdjustmentRecord
from jifen.storage.key_repository import StoredKey

router = APIRouter(prefix="/v1", tags=["corrections"])

Operator = Annotated[StoredKey, Depends(require("operator"))]
Admin = Annotated[StoredKey, Depends(require())]
MemberPath = Annotated[MemberPathId, Path(description="The member's id.")]
AdjustmentPath = Annotated[
    str,
    Path(min_length=1, max_length=200, pattern=PRINTABLE, description="The adjustment's id."),
]
Filter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=PRINTABLE)]
Limit = Annotated[int, Query(ge=1, le=500)]


_STATUSES: dict[str, AdjustmentStatus] = {status: status for status in get_args(AdjustmentStatus)}
"""A stored status as its type (a status outside the Literal is a KeyError, not a response)."""


def _out(record: AdjustmentRecord, program: Program) -> AdjustmentOut:
    tz = program.timezone
    return AdjustmentOut(
        adjustment_id=record.id,
        member_id=record.member_id,
        kind=record.kind,
        point_kind=record.point_kind,
        points=record.points,
        reason=record.reason,
        status=_STATUSES[record.status],
        requested_by=record.requested_by,
        requested_at=local_datetime(record.requested_at, tz),
        decided_by=record.decided_by,
        decided_at=None if record.decided_at is None else local_datetime(record.decided_at, tz),
        transaction_id=record.transaction_id,
        balance_before=record.balance_before,
        balance_after=record.balance_after,
    )


# -- adjustments ---------------------------------------------------------------------------------
@router.post(
    "/members/{member_id}/adjustments",
    status_code=status.HTTP_201_CREATED,
    response_model=AdjustmentOut,
    responses={
        202: {"model": AdjustmentOut, "description": "Held for a second operator's approval."},
        404: {"description": "not_found"},
        409: {"description": "insufficient_points, idempotency_conflict, member_closed"},
    },
)
def post_adjustment(
    member_id: MemberPath,
    body: AdjustmentIn,
    *,
    key: Operator,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
    response: Response,
) -> AdjustmentOut:
    """Adjust a member's points (201), or hold a large adjustment for approval (202)."""
    record = adjustments.request_adjustment(
        uow,
        program=program,
        adjustment_id=body.id,
        member_id=member_id,
        kind=body.kind,
        points=body.points,
        reason=body.reason,
        point_kind=body.point_kind,
        actor=key.prefix,
        now=clock.now(),
    )
    if record.status != AdjustmentState.APPLIED:
        response.status_code = status.HTTP_202_ACCEPTED
    return _out(record, program)


@router.get("/members/{member_id}/adjustments", response_model=Adjustments)
def get_member_adjustments(
    member_id: MemberPath,
    _key: Operator,
    uow: ReadUowDep,
    program: ProgramDep,
    limit: Limit = 100,
    cursor: PageCursor = None,
) -> Adjustments:
    """A member's adjustments, newest request first, a page at a time."""
    page = listings.adjustments(uow, member_id=member_id, cursor=cursor, limit=limit)
    return Adjustments(items=[_out(r, program) for r in page.items], next_cursor=page.next_cursor)


@router.get("/adjustments", response_model=Adjustments)
def get_adjustments(
    _key: Operator,
    uow: UowDep,
    program: ProgramDep,
    wanted: Annotated[AdjustmentStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
) -> Adjustments:
    """Every member's adjustments, newest first; `status=pending_approval` is the approval queue."""
    records = adjustments.list_adjustments(uow, status=wanted, limit=limit)
    return Adjustments(items=[_out(r, program) for r in records])


def _decide(
    adjustment_id: str,
    body: DecisionIn,
    *,
    key: StoredKey,
    uow: UowDep,
    program: Program,
    clock: ClockDep,
    approve: bool,
) -> AdjustmentOut:
    record = adjustments.decide_adjustment(
        uow,
        program=program,
        adjustment_id=adjustment_id,
        approve=approve,
        decision_id=body.id,
        note=body.note,
        actor=key.prefix,
        now=clock.now(),
    )
    return _out(record, program)


DECISION_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "forbidden, same_approver"},
    404: {"description": "not_found"},
    409: {
        "description": "adjustment_decided, idempotency_conflict, insufficient_points, "
        "member_closed"
    },
}


@router.post(
    "/adjustments/{adjustment_id}/approve",
    response_model=AdjustmentOut,
    responses=DECISION_ERRORS,
)
def approve_adjustment(
    adjustment_id: AdjustmentPath,
    body: DecisionIn,
    *,
    key: Operator,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> AdjustmentOut:
    """Approve a held adjustment and post it now (another key than the one that asked)."""
    return _decide(
        adjustment_id, body, key=key, uow=uow, program=program, clock=clock, approve=True
    )


@router.post(
    "/adjustments/{adjustment_id}/reject",
    response_model=AdjustmentOut,
    responses=DECISION_ERRORS,
)
def reject_adjustment(
    adjustment_id: AdjustmentPath,
    body: DecisionIn,
    *,
    key: Operator,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> AdjustmentOut:
    """Reject a held adjustment: nothing is posted (another key than the one that asked)."""
    return _decide(
        adjustment_id, body, key=key, uow=uow, program=program, clock=clock, approve=False
    )


# -- member status -------------------------------------------------------------------------------
def _status_out(change: member_status.StatusChange) -> StatusOut:
    return StatusOut(
        member_id=change.member_id,
        status=change.status,
        previous=change.previous,
        changed=change.changed,
        forfeited=change.forfeited,
        voided_pending=change.voided_pending,
    )


STATUS_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not_found"},
    409: {"description": "member_closed"},
}


@router.post("/members/{member_id}/freeze", response_model=StatusOut, responses=STATUS_ERRORS)
def freeze(
    member_id: MemberPath, body: StatusIn, key: Operator, uow: UowDep, clock: ClockDep
) -> StatusOut:
    """Freeze a member: no earning or spending, balance kept. Freezing again changes nothing."""
    change = member_status.freeze_member(
        uow, member_id=member_id, reason=body.reason, actor=key.prefix, now=clock.now()
    )
    return _status_out(change)


@router.post("/members/{member_id}/unfreeze", response_model=StatusOut, responses=STATUS_ERRORS)
def unfreeze(
    member_id: MemberPath,
    key: Operator,
    uow: UowDep,
    clock: ClockDep,
    body: UnfreezeIn | None = None,
) -> StatusOut:
    """Let a frozen member earn and spend again."""
    change = member_status.unfreeze_member(
        uow,
        member_id=member_id,
        reason=None if body is None else body.reason,
        actor=key.prefix,
        now=clock.now(),
    )
    return _status_out(change)


@router.post("/members/{member_id}/close", response_model=StatusOut, responses=STATUS_ERRORS)
def close(
    member_id: MemberPath,
    body: StatusIn,
    *,
    key: Operator,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> StatusOut:
    """Close a member for good: spendable points to `program:forfeited`, pending points voided."""
    change = member_status.close_member(
        uow,
        program=program,
        member_id=member_id,
        reason=body.reason,
        actor=key.prefix,
        now=clock.now(),
    )
    return _status_out(change)


# -- the audit log -------------------------------------------------------------------------------
@router.get("/audit", response_model=AuditPage, tags=["audit"])
def get_audit(
    *,
    _key: Admin,
    uow: UowDep,
    program: ProgramDep,
    start: Annotated[date | None, Query(alias="from", **SANE_DATE)] = None,
    end: Annotated[date | None, Query(alias="to", **SANE_DATE)] = None,
    action: Filter = None,
    subject: Filter = None,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> AuditPage:
    """The audit log of admin and operator actions, newest first (admin only)."""
    since, until = audit.local_days(start, end, timezone=program.timezone)
    rows, next_cursor = audit.audit_page(
        uow,
        start=since,
        end=until,
        action=action,
        subject=subject,
        cursor=cursor,
        limit=limit,
    )
    items = [
        AuditEntryOut(
            id=r.id,
            at=local_datetime(r.at, program.timezone),
            actor=r.actor,
            action=r.action,
            subject=r.subject,
            details=r.details,
        )
        for r in rows
    ]
    return AuditPage(items=items, next_cursor=next_cursor)
