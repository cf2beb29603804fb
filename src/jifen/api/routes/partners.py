"""Partners over HTTP: terms (admin), awards, exchanges and reversals (partner keys), settlement."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from jifen.api.deps import ClockDep, Forbidden, ProgramDep, UowDep, require
from jifen.api.schemas.partners import (
    AwardIn,
    ExchangeIn,
    ExchangeLineOut,
    LineOut,
    OperationOut,
    PartnerIn,
    PartnerOut,
    Partners,
    Rate,
    ReversalIn,
    SettlementOut,
    StatusIn,
)
from jifen.domain.calendar import local_datetime
from jifen.domain.partners import MilesRate
from jifen.programs.schema import Program
from jifen.services import partners
from jifen.storage.key_repository import StoredKey
from jifen.storage.partner_repository import OperationRecord, PartnerRecord, SettlementLine

router = APIRouter(prefix="/v1", tags=["partners"])

Admin = Annotated[StoredKey, Depends(require())]
Reader = Annotated[StoredKey, Depends(require("operator", "analyst", "partner"))]
Settler = Annotated[StoredKey, Depends(require("analyst", "partner"))]
PartnerKey = Annotated[StoredKey, Depends(require("partner"))]
Code = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{1,23}$", description="Partner code.")]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2025-11"])]


def _partner_out(p: PartnerRecord, program: Program) -> PartnerOut:
    rate = None
    if p.exchange_miles is not None and p.exchange_points is not None:
        rate = Rate(miles=p.exchange_miles, points=p.exchange_points)
    return PartnerOut(
        code=p.code,
        name=p.name,
        point_kind=p.point_kind,
        max_points_per_award=p.max_points_per_award,
        max_points_per_member_day=p.max_points_per_member_day,
        max_points_per_month=p.max_points_per_month,
        price_per_1000_points_fen=p.price_per_1000_points_fen,
        exchange=rate,
        min_miles=p.min_miles,
        status=p.status,
        created_at=local_datetime(p.created_at, program.timezone),
    )


def _operation_out(r: OperationRecord, program: Program) -> OperationOut:
    return OperationOut(
        operation_id=r.op_id,
        partner=r.partner_code,
        type=r.type,
        member_id=r.member_id,
        points=r.points,
        miles=r.miles,
        reason=r.reason,
        reverses=r.reverses_op_id,
        transaction_id=r.transaction_id,
        day=r.day,
        at=local_datetime(r.at, program.timezone),
    )


def _own_partner(key: StoredKey) -> str:
    """The partner a key acts for; a key bound to none may not act as a partner."""
    if key.role != "partner" or key.partner_code is None:
        raise Forbidden(
            "Only a partner key bound to a partner may do this; make one with "
            "`jifen keys create --role partner --partner CODE`.",
            role=key.role,
        )
    return key.partner_code


# -- terms ---------------------------------------------------------------------------------------
@router.post(
    "/partners",
    status_code=status.HTTP_201_CREATED,
    response_model=PartnerOut,
    responses={409: {"description": "partner_exists"}, 422: {"description": "invalid_request"}},
)
def post_partner(
    body: PartnerIn, key: Admin, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> PartnerOut:
    """Add a partner (admin). The same terms again return it; other terms are `partner_exists`."""
    rate = None if body.exchange is None else MilesRate(body.exchange.miles, body.exchange.points)
    terms = partners.PartnerTerms(
        code=body.code,
        name=body.name,
        point_kind=body.point_kind,
        max_points_per_award=body.max_points_per_award,
        max_points_per_member_day=body.max_points_per_member_day,
        max_points_per_month=body.max_points_per_month,
        price_per_1000_points_fen=body.price_per_1000_points_fen,
        rate=rate,
        min_miles=body.min_miles,
    )
    record = partners.add_partner(
        uow, program=program, terms=terms, actor=key.prefix, now=clock.now()
    )
    return _partner_out(record, program)


@router.get("/partners", response_model=Partners)
def get_partners(key: Reader, uow: UowDep, program: ProgramDep) -> Partners:
    """Every partner (a partner key sees only its own)."""
    code = _own_partner(key) if key.role == "partner" else None
    found = partners.list_partners(uow, code=code)
    return Partners(items=[_partner_out(p, program) for p in found])


@router.post(
    "/partners/{code}/status",
    response_model=PartnerOut,
    responses={404: {"description": "not_found"}},
)
def post_partner_status(
    code: Code, body: StatusIn, *, key: Admin, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> PartnerOut:
    """Suspend a partner or make it active again (admin; audited)."""
    record = partners.set_partner_status(
        uow,
        code=code,
        status=body.status,
        reason=body.reason,
        actor=key.prefix,
        now=clock.now(),
    )
    return _partner_out(record, program)


# -- what a partner does -------------------------------------------------------------------------
OPERATION_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "forbidden (not a key bound to a partner)"},
    404: {"description": "not_found"},
    409: {
        "description": "partner_limit_exceeded, partner_inactive, member_not_active, "
        "idempotency_conflict, exchange_not_offered, not_reversible"
    },
    422: {"description": "miles_below_minimum"},
}


@router.post(
    "/partner/awards",
    status_code=status.HTTP_201_CREATED,
    response_model=OperationOut,
    responses=OPERATION_ERRORS,
)
def post_award(
    body: AwardIn, key: PartnerKey, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> OperationOut:
    """Award points of the partner's kind to a member, within the partner's limits."""
    record = partners.award(
        uow,
        program=program,
        partner_code=_own_partner(key),
        op_id=body.id,
        member_id=body.member_id,
        points=body.points,
        reason=body.reason,
        actor=key.prefix,
        now=clock.now(),
    )
    return _operation_out(record, program)


@router.post(
    "/partner/exchanges",
    status_code=status.HTTP_201_CREATED,
    response_model=OperationOut,
    responses=OPERATION_ERRORS,
)
def post_exchange(
    body: ExchangeIn, key: PartnerKey, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> OperationOut:
    """Exchange a member's partner miles into points at the partner's rate, rounded down."""
    record = partners.exchange(
        uow,
        program=program,
        partner_code=_own_partner(key),
        op_id=body.id,
        member_id=body.member_id,
        miles=body.miles,
        actor=key.prefix,
        now=clock.now(),
    )
    return _operation_out(record, program)


@router.post(
    "/partner/reversals",
    status_code=status.HTTP_201_CREATED,
    response_model=OperationOut,
    responses=OPERATION_ERRORS,
)
def post_reversal(
    body: ReversalIn, key: PartnerKey, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> OperationOut:
    """Reverse one of the partner's awards or exchanges (points the member has not spent)."""
    record = partners.reverse(
        uow,
        program=program,
        partner_code=_own_partner(key),
        op_id=body.id,
        reverses_op_id=body.operation_id,
        reason=body.reason,
        actor=key.prefix,
        now=clock.now(),
    )
    return _operation_out(record, program)


# -- settlement ----------------------------------------------------------------------------------
def _line(line: SettlementLine) -> LineOut:
    return LineOut(count=line.count, points=line.points)


@router.get(
    "/partners/{code}/settlement",
    response_model=SettlementOut,
    responses={403: {"description": "forbidden"}, 404: {"description": "not_found"}},
)
def get_settlement(code: Code, month: Month, key: Settler, uow: UowDep) -> SettlementOut:
    """A partner's program-local month (admin, analyst, or that partner's own key)."""
    if key.role == "partner" and _own_partner(key) != code:
        raise Forbidden("A partner key sees only its own partner's settlement.", partner=code)
    found = partners.settlement(uow, code=code, month=month)
    exchanges = found.exchanges
    return SettlementOut(
        partner=found.partner,
        name=found.name,
        month=found.month,
        awards=_line(found.awards),
        exchanges=ExchangeLineOut(
            count=exchanges.count, points=exchanges.points, miles=exchanges.miles
        ),
        reversals=_line(found.reversals),
        net_points=found.net_points,
        price_per_1000_points_fen=found.price_per_1000_points_fen,
        amount_fen=found.amount_fen,
    )
