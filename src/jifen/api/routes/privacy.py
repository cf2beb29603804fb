"""Privacy rights: a member's data export and erasure (SPEC §3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from jifen.api.deps import ClockDep, ProgramDep, UowDep, VaultDep, require
from jifen.api.schemas.common import MemberPathId
from jifen.api.schemas.privacy import ErasureIn, ErasureOut, MemberExport
from jifen.services import privacy
from jifen.storage.key_repository import StoredKey

router = APIRouter(prefix="/v1/members", tags=["privacy"])
Operator = Annotated[StoredKey, Depends(require("operator"))]
Admin = Annotated[StoredKey, Depends(require())]
MemberPath = Annotated[MemberPathId, Path(description="The member's id.")]


@router.get(
    "/{member_id}/export",
    response_model=MemberExport,
    responses={404: {"description": "not_found"}},
)
def export(
    member_id: MemberPath,
    *,
    key: Operator,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    clock: ClockDep,
) -> Any:
    """Everything held about the member, ID number and phone in full (audited)."""
    return privacy.export_member(
        uow, program=program, vault=vault, member_id=member_id, actor=key.prefix, now=clock.now()
    )


@router.post(
    "/{member_id}/erase",
    response_model=ErasureOut,
    responses={404: {"description": "not_found"}, 409: {"description": "open_redemptions"}},
)
def erase(
    member_id: MemberPath,
    body: ErasureIn,
    *,
    key: Admin,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    clock: ClockDep,
) -> ErasureOut:
    """Erase the member's identity (closing them first); ledger amounts are kept (admin)."""
    erasure = privacy.erase_member(
        uow,
        program=program,
        vault=vault,
        member_id=member_id,
        reason=body.reason,
        actor=key.prefix,
        now=clock.now(),
    )
    return ErasureOut(
        member_id=erasure.member_id,
        status="closed",
        name=erasure.name,
        previous=erasure.previous,
        changed=erasure.changed,
        beneficiaries=erasure.beneficiaries,
        forfeited=erasure.forfeited,
        voided_pending=erasure.voided_pending,
    )
