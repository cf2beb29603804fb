"""A member's beneficiaries (受让人)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from jifen.api.deps import ClockDep, ProgramDep, UowDep, VaultDep, require
from jifen.api.schemas.beneficiaries import BeneficiaryIn, BeneficiaryList, BeneficiaryOut
from jifen.api.schemas.common import MemberPathId
from jifen.services import beneficiaries

router = APIRouter(prefix="/v1/members", tags=["beneficiaries"])
WRITERS = Depends(require("operator", "integrator"))
MemberPath = Annotated[MemberPathId, Path(description="The member's id.")]
BeneficiaryPath = Annotated[int, Path(ge=1, le=2**62, description="The beneficiary's id.")]


def _out(b: beneficiaries.Beneficiary) -> BeneficiaryOut:
    return BeneficiaryOut(
        beneficiary_id=b.id,
        effective_from=b.effective_from,
        name=b.name,
        id_type=b.id_type,
        id_number=b.id_number,
        added_on=b.added_on,
        removed_on=b.removed_on,
        status=b.status,
    )


@router.post(
    "/{member_id}/beneficiaries",
    status_code=status.HTTP_201_CREATED,
    response_model=BeneficiaryOut,
    dependencies=[WRITERS],
    responses={
        404: {"description": "not_found"},
        409: {"description": "beneficiary_limit, idempotency_conflict, member_not_active"},
        422: {"description": "invalid_identity, beneficiary_is_member, validation_error"},
    },
)
def add_beneficiary(
    member_id: MemberPath,
    body: BeneficiaryIn,
    *,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    clock: ClockDep,
) -> BeneficiaryOut:
    """Name a beneficiary; effective after the program's wait (railway: 60 days).

    `id` is the idempotency key: the same request again answers with the beneficiary it named,
    another request under it is `idempotency_conflict`. A frozen or closed member names no one.
    """
    added = beneficiaries.add_beneficiary(
        uow,
        program=program,
        vault=vault,
        member_id=member_id,
        request_id=body.id,
        name=body.name,
        id_type=body.id_type,
        id_number=body.id_number,
        birth_date=body.birth_date,
        now=clock.now(),
    )
    return _out(added)


@router.get("/{member_id}/beneficiaries", response_model=BeneficiaryList, dependencies=[WRITERS])
def list_beneficiaries(
    member_id: MemberPath,
    *,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    clock: ClockDep,
    include_removed: Annotated[bool, Query()] = False,
) -> BeneficiaryList:
    """The member's beneficiaries (removed ones too with `include_removed=true`)."""
    named = beneficiaries.list_beneficiaries(
        uow,
        program=program,
        vault=vault,
        member_id=member_id,
        now=clock.now(),
        include_removed=include_removed,
    )
    return BeneficiaryList(
        member_id=member_id,
        max_count=program.beneficiaries.max_count,
        items=[_out(b) for b in named],
    )


@router.delete(
    "/{member_id}/beneficiaries/{beneficiary_id}",
    response_model=BeneficiaryOut,
    dependencies=[WRITERS],
    responses={404: {"description": "not_found"}},
)
def remove_beneficiary(
    member_id: MemberPath,
    beneficiary_id: BeneficiaryPath,
    *,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    clock: ClockDep,
) -> BeneficiaryOut:
    """Remove a beneficiary at once (again: the same answer); adding them back starts a new wait."""
    removed = beneficiaries.remove_beneficiary(
        uow,
        program=program,
        vault=vault,
        member_id=member_id,
        beneficiary_id=beneficiary_id,
        now=clock.now(),
    )
    return _out(removed)
