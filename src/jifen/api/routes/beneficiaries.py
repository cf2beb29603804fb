"""A member's beneficiaries (受让人)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from jifen.api.deps import ClockDep, ProgramDep, UowDep, VaultDep, require
from jifen.api.schemas.common import SANE_DATE, MemberPathId
from jifen.domain.calendar import local_date
from jifen.services import beneficiaries
from jifen.services.event_schema import PRINTABLE, IdTypeField, IsoDate

router = APIRouter(prefix="/v1/members", tags=["beneficiaries"])
WRITERS = Depends(require("operator", "integrator"))
MemberPath = Annotated[MemberPathId, Path(description="The member's id.")]
BeneficiaryPath = Annotated[int, Path(ge=1, le=2**62, description="The beneficiary's id.")]


class BeneficiaryIn(BaseModel):
    """A person the member may redeem tickets for, under their real-name identity.

    `birth_date` is optional: for ID numbers that carry it (resident ID, residence permit, the
    2023 permanent residence ID) it is read from the number when left out.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "ben-0001",
                    "name": "李四",
                    "id_type": "resident_id",
                    "id_number": "110101198505051238",
                }
            ]
        },
    )

    id: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=PRINTABLE),
    ] = Field(description="The caller's id for this request (the idempotency key).")
    name: Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=PRINTABLE)]
    id_type: IdTypeField
    id_number: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    birth_date: Annotated[IsoDate, Field(**SANE_DATE)] | None = None


class BeneficiaryOut(BaseModel):
    """A beneficiary, ID number masked; `status` is waiting, effective or removed today."""

    beneficiary_id: int
    effective_from: date
    name: str
    id_type: str
    id_number: str = Field(description="Masked, e.g. 1101**********1238.")
    added_on: date
    removed_on: date | None
    status: str


class BeneficiaryList(BaseModel):
    """The member's beneficiaries, oldest first, and how many the program allows."""

    member_id: int
    max_count: int
    items: list[BeneficiaryOut]


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
        today=local_date(clock.now(), program.timezone),
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
        vault=vault,
        member_id=member_id,
        today=local_date(clock.now(), program.timezone),
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
        vault=vault,
        member_id=member_id,
        beneficiary_id=beneficiary_id,
        today=local_date(clock.now(), program.timezone),
    )
    return _out(removed)
