"""Entitlements (权益): a member's countable tier benefits, and using one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from jifen.api.deps import ClockDep, ProgramDep, UowDep, require
from jifen.api.schemas.common import MemberPathId
from jifen.api.schemas.entitlements import EntitlementOut, Entitlements, Name, UseIn, UseOut
from jifen.domain.calendar import local_datetime
from jifen.domain.entitlements import Entitlement, EntitlementState
from jifen.programs.schema import Program
from jifen.services import entitlements
from jifen.storage.key_repository import StoredKey

router = APIRouter(prefix="/v1", tags=["entitlements"])
READERS = Depends(require("operator", "integrator"))
Integrator = Annotated[StoredKey, Depends(require("integrator"))]
MemberPath = Annotated[MemberPathId, Path(description="The member's id.")]
EntitlementPath = Annotated[int, Path(ge=1, le=2**62, description="The entitlement's id.")]


def _out(e: Entitlement, state: EntitlementState, program: Program) -> EntitlementOut:
    names = {d.code: d.name for d in program.entitlements}
    name = names.get(e.code)
    return EntitlementOut(
        entitlement_id=e.id,
        member_id=e.member_id,
        code=e.code,
        name=Name(zh=name.zh, en=name.en) if name else Name(zh=e.code, en=e.code),
        tier=e.tier_code,
        trigger=str(e.trigger),
        quantity=e.quantity,
        used=e.used,
        remaining=e.remaining,
        issued_on=e.issued_on,
        valid_until=e.valid_until,
        lapsed_on=e.lapsed_on,
        status=str(state),
    )


@router.get(
    "/members/{member_id}/entitlements",
    response_model=Entitlements,
    dependencies=[READERS],
    responses={404: {"description": "not_found"}},
)
def list_entitlements(
    member_id: MemberPath, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> Entitlements:
    """The member's entitlements, newest first, each with what is left and its status today."""
    held = entitlements.member_entitlements(
        uow, program=program, member_id=member_id, now=clock.now()
    )
    return Entitlements(items=[_out(h.entitlement, h.state, program) for h in held])


@router.post(
    "/entitlements/{entitlement_id}/use",
    status_code=status.HTTP_201_CREATED,
    response_model=UseOut,
    responses={
        404: {"description": "not_found"},
        409: {"description": "entitlement_used_up, entitlement_not_valid, idempotency_conflict"},
    },
)
def use_entitlement(
    entitlement_id: EntitlementPath,
    body: UseIn,
    *,
    key: Integrator,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> UseOut:
    """Use one of an entitlement (a lounge visit); the same `id` again returns the first use."""
    now = clock.now()
    used = entitlements.use_entitlement(
        uow,
        program=program,
        entitlement_id=entitlement_id,
        use_id=body.id,
        at=body.at,
        location=body.location,
        actor=key.prefix,
        now=now,
    )
    return UseOut(
        use_id=used.use.id,
        at=local_datetime(used.use.used_at, program.timezone),
        location=used.use.location,
        entitlement=_out(used.entitlement, used.state, program),
    )
