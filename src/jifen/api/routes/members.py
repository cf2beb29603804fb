"""Members: enrol, look up by identity or phone, change the phone, statement and tier history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from jifen.api.deps import ClockDep, ProgramDep, ReadUowDep, UowDep, VaultDep, require
from jifen.api.schemas.common import MemberPathId
from jifen.api.schemas.members import (
    Balances,
    Contact,
    ContactChange,
    Enrolled,
    Enrolment,
    Expiring,
    Found,
    Lookup,
    MemberOut,
    NextTier,
    Statement,
    StatementItem,
    Tier,
    TierChangeOut,
    TierHistory,
)
from jifen.domain.calendar import local_datetime
from jifen.domain.identity import mask_id_number, mask_phone
from jifen.services import members
from jifen.services.views import member as member_view
from jifen.storage.crypto import IdentityVault
from jifen.storage.key_repository import StoredKey
from jifen.storage.member_repository import MemberRecord

router = APIRouter(prefix="/v1/members", tags=["members"])
MemberPath = Annotated[MemberPathId, Path(description="The member's id.")]
READERS = Depends(require("operator", "integrator"))
Writer = Annotated[StoredKey, Depends(require("operator", "integrator"))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Enrolled,
    dependencies=[READERS],
    responses={
        409: {"description": "member_exists"},
        422: {"description": "invalid_identity, under_age, validation_error"},
    },
)
def enrol_member(
    body: Enrolment, uow: UowDep, program: ProgramDep, vault: VaultDep, clock: ClockDep
) -> Enrolled:
    """Enrol a member under their real-name identity; they start in the join tier."""
    enrolled = members.enrol(
        uow,
        program=program,
        vault=vault,
        name=body.name,
        id_type=body.id_type,
        id_number=body.id_number,
        birth_date=body.birth_date,
        phone=body.phone,
        joined_at=clock.now(),
    )
    return Enrolled(
        member_id=enrolled.member_id,
        tier=Tier(code=enrolled.tier.code, valid_until=enrolled.tier.valid_until),
    )


@router.post(
    "/lookup",
    response_model=Found,
    dependencies=[READERS],
    responses={
        404: {"description": "member_not_found"},
        409: {"description": "phone_shared"},
    },
)
def lookup(body: Lookup, uow: ReadUowDep, vault: VaultDep) -> Found:
    """The member id of whoever is enrolled under an ID number or gave a phone.

    A POST, so that identities never sit in URLs, access logs or caches.
    """
    member_id = members.lookup_member(
        uow, vault=vault, id_type=body.id_type, id_number=body.id_number, phone=body.phone
    )
    return Found(member_id=member_id)


@router.patch(
    "/{member_id}",
    response_model=Contact,
    responses={
        404: {"description": "not_found"},
        409: {"description": "member_closed"},
        422: {"description": "invalid_identity (the phone), validation_error"},
    },
)
def patch_member(
    member_id: MemberPath,
    body: ContactChange,
    *,
    key: Writer,
    uow: UowDep,
    vault: VaultDep,
    clock: ClockDep,
) -> Contact:
    """Change the member's phone (audited); name and ID cannot change."""
    change = members.change_phone(
        uow, vault=vault, member_id=member_id, phone=body.phone, actor=key.prefix, now=clock.now()
    )
    return Contact(member_id=change.member_id, phone=change.phone, changed=change.changed)


def _tier(member: MemberRecord, join_tier: str) -> Tier:
    if member.tier is None:
        return Tier(code=join_tier, valid_until=None)
    return Tier(code=member.tier.code, valid_until=member.tier.valid_until)


def _masked(vault: IdentityVault, token: str | None, mask: Callable[[str], str]) -> str | None:
    return None if token is None else mask(vault.decrypt(token))


@router.get("/{member_id}", response_model=MemberOut, dependencies=[READERS])
def get_member(
    member_id: MemberPath, uow: ReadUowDep, program: ProgramDep, vault: VaultDep, clock: ClockDep
) -> MemberOut:
    """A member's balances, tier, and the points that lapse in the next 90 days."""
    view = member_view.member_summary(uow, program=program, member_id=member_id, now=clock.now())
    m = view.member
    return MemberOut(
        member_id=m.id,
        status=m.status,
        name=m.name,
        id_type=m.id_type,
        id_number=_masked(vault, m.id_number_enc, mask_id_number),
        phone=_masked(vault, m.phone_enc, mask_phone),
        joined_at=m.joined_at,
        tier=_tier(m, program.tiers.join_tier),
        balances=Balances(
            **view.available, pending=view.pending, upgrade_12m=view.qualifying_points
        ),
        redemption_unlocked=view.redemption_unlocked,
        expiring=[Expiring(date=d, kind=k, points=p) for d, k, p in view.expiring],
        next_tier=None
        if view.progress is None
        else NextTier(code=view.progress.next_code, points_needed=view.progress.points_needed),
        segments=list(view.segments),
    )


@router.get("/{member_id}/ledger", response_model=Statement, dependencies=[READERS])
def get_ledger(
    member_id: MemberPath,
    uow: ReadUowDep,
    program: ProgramDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Statement:
    """The member's ledger, newest first, a page at a time, with the rules behind each credit."""
    lines, next_cursor = member_view.statement(uow, member_id=member_id, cursor=cursor, limit=limit)
    items = [
        StatementItem(
            at=local_datetime(line.at, program.timezone),
            kind=line.kind,
            points=line.points,
            type=line.type,
            account=line.account.split(":", 1)[1],
            transaction_id=line.transaction_id,
            event_id=line.memo.get("event_id"),
            rules=line.memo.get("rules", []),
            reason=line.memo.get("reason"),
            ticket_id=line.memo.get("ticket_id"),
            redemption_id=line.memo.get("redemption_id"),
        )
        for line in lines
    ]
    return Statement(items=items, next_cursor=next_cursor)


@router.get("/{member_id}/tiers", response_model=TierHistory, dependencies=[READERS])
def get_tiers(member_id: MemberPath, uow: ReadUowDep, program: ProgramDep) -> TierHistory:
    """The member's tier history with the reason and figures of each change."""
    member, changes = member_view.tier_history(uow, member_id=member_id)
    return TierHistory(
        member_id=member.id,
        tier=_tier(member, program.tiers.join_tier),
        items=[
            TierChangeOut(
                decided_on=c.decided_on,
                old=c.old_code,
                new=c.new_code,
                valid_until=c.valid_until,
                reason=c.reason,
                qualifying_points=c.qualifying_points,
            )
            for c in changes
        ],
    )
