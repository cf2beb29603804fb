"""The member's beneficiaries (受让人): the list with effective dates, add, and remove."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from jifen.api.deps import ProgramDep, UowDep, VaultDep
from jifen.domain.errors import JifenError, NotFound
from jifen.programs.schema import Program
from jifen.services import beneficiaries
from jifen.storage.crypto import IdentityVault
from jifen.storage.uow import SqlUnitOfWork
from jifen.web.portal.context import friendly, now, page
from jifen.web.security import check_csrf
from jifen.web.session import PortalMemberDep

router = APIRouter(prefix="/portal/beneficiaries")
BeneficiaryPath = Annotated[int, Path(ge=1, le=2**62)]


def _listing(
    request: Request,
    uow: SqlUnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    member_id: int,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    named = beneficiaries.list_beneficiaries(
        uow, program=program, vault=vault, member_id=member_id, now=now(request)
    )
    context = {
        "beneficiaries": named,
        "max_count": program.beneficiaries.max_count,
        "wait_days": program.beneficiaries.wait_days,
        "id_types": program.enrolment.id_types,
        "request_id": secrets.token_hex(16),
        "form": {},
        **(extra or {}),
    }
    return page(request, member_id, "portal/beneficiaries.html", context, status_code=status_code)


@router.get("")
def list_page(
    request: Request,
    *,
    member_id: PortalMemberDep,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
) -> Response:
    """The member's beneficiaries and the form to add one."""
    return _listing(request, uow, program=program, vault=vault, member_id=member_id)


@router.post("", dependencies=[Depends(check_csrf)])
def add(
    request: Request,
    *,
    member_id: PortalMemberDep,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    name: Annotated[str, Form(max_length=50)],
    id_type: Annotated[str, Form(max_length=24)],
    id_number: Annotated[str, Form(max_length=40)],
    request_id: Annotated[str, Form(max_length=100)],
) -> Response:
    """Name a beneficiary; the page then shows the day they become effective."""
    try:
        added = beneficiaries.add_beneficiary(
            uow,
            program=program,
            vault=vault,
            member_id=member_id,
            request_id=request_id,
            name=name.strip(),
            id_type=id_type,
            id_number=id_number.strip(),
            birth_date=None,
            now=now(request),
        )
    except JifenError as error:
        extra = {
            "messages": [{"kind": "error", "text": friendly(request, error)}],
            "form": {"name": name, "id_type": id_type},  # the ID number is never echoed back
        }
        return _listing(
            request,
            uow,
            program=program,
            vault=vault,
            member_id=member_id,
            extra=extra,
            status_code=400,
        )
    return _listing(
        request, uow, program=program, vault=vault, member_id=member_id, extra={"added": added}
    )


@router.get("/{beneficiary_id}/remove")
def confirm_removal(
    request: Request,
    *,
    member_id: PortalMemberDep,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    beneficiary_id: BeneficiaryPath,
) -> Response:
    """Ask before removing a beneficiary (adding them back starts a new wait)."""
    named = beneficiaries.list_beneficiaries(
        uow, program=program, vault=vault, member_id=member_id, now=now(request)
    )
    chosen = next((b for b in named if b.id == beneficiary_id), None)
    if chosen is None or chosen.status == "removed":
        return RedirectResponse("/portal/beneficiaries", status_code=303)
    context = {"beneficiary": chosen, "wait_days": program.beneficiaries.wait_days}
    return page(request, member_id, "portal/beneficiary_remove.html", context)


@router.post("/{beneficiary_id}/remove", dependencies=[Depends(check_csrf)])
def remove(
    request: Request,
    *,
    member_id: PortalMemberDep,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    beneficiary_id: BeneficiaryPath,
) -> Response:
    """Remove the beneficiary from today and go back to the list."""
    try:
        beneficiaries.remove_beneficiary(
            uow,
            program=program,
            vault=vault,
            member_id=member_id,
            beneficiary_id=beneficiary_id,
            now=now(request),
        )
    except NotFound:  # not this member's: nothing to remove
        return RedirectResponse("/portal/beneficiaries", status_code=303)
    return RedirectResponse("/portal/beneficiaries?removed=1", status_code=303)
