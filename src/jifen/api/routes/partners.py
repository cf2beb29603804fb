"""Partners over HTTP: terms (admin), awards, exchanges and reversals (partner keys), settlement."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from jifen.api.deps import ClockDep, Forbidden, ProgramDep, UowDep, require
from jifen.api.schemas.common import MemberId
from jifen.domain.calendar import local_datetime
from jifen.domain.partners import MilesRate
from jifen.programs.schema import Program
from jifen.services import partners
from jifen.services.event_schema import PRINTABLE
from jifen.services.partners.terms import MAX_POINTS, PartnerStatus
from jifen.storage.key_repository import StoredKey
from jifen.storage.partner_repository import OperationRecord, PartnerRecord, SettlementLine

router = APIRouter(prefix="/v1", tags=["partners"])

Admin = Annotated[StoredKey, Depends(require())]
Reader = Annotated[StoredKey, Depends(require("operator", "analyst", "partner"))]
Settler = Annotated[StoredKey, Depends(require("analyst", "partner"))]
PartnerKey = Annotated[StoredKey, Depends(require("partner"))]
CallerId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE)
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=PRINTABLE)]
Code = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{1,23}$", description="Partner code.")]
Points = Annotated[StrictInt, Field(ge=1, le=MAX_POINTS)]
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2025-11"])]


def _model(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class Rate(BaseModel):
    """`points` points for every `miles` miles; fractions of a point are dropped."""

    model_config = ConfigDict(extra="forbid")

    miles: Points
    points: Points


class PartnerIn(BaseModel):
    """A partner's terms; limits count points credited by awards and exchanges."""

    model_config = _model(
        {
            "code": "hotel",
            "name": "Jinjiang Hotels",
            "point_kind": "activity",
            "max_points_per_award": 5000,
            "max_points_per_member_day": 8000,
            "max_points_per_month": 1000000,
            "price_per_1000_points_fen": 7500,
            "exchange": {"miles": 10, "points": 7},
            "min_miles": 100,
        }
    )

    code: Annotated[str, StringConstraints(min_length=2, max_length=24)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]
    point_kind: Annotated[str, StringConstraints(min_length=1, max_length=24)] = "activity"
    max_points_per_award: Points
    max_points_per_member_day: Points
    max_points_per_month: Points
    price_per_1000_points_fen: Annotated[StrictInt, Field(ge=0, le=MAX_POINTS)]
    exchange: Rate | None = None
    min_miles: Points = 1


class PartnerOut(BaseModel):
    """A partner's terms and status."""

    code: str
    name: str
    point_kind: str
    max_points_per_award: int
    max_points_per_member_day: int
    max_points_per_month: int
    price_per_1000_points_fen: int
    exchange: Rate | None
    min_miles: int
    status: str
    created_at: datetime


class Partners(BaseModel):
    """Partners by code."""

    items: list[PartnerOut]


class StatusIn(BaseModel):
    """Suspend a partner (its awards and exchanges are refused) or make it active again."""

    model_config = _model({"status": "suspended", "reason": "Contract ended"})

    status: PartnerStatus
    reason: Text


class AwardIn(BaseModel):
    """Points a partner gives a member; `id` is the partner's idempotency key."""

    model_config = _model(
        {
            "id": "stay-20251103-0042",
            "member_id": 42,
            "points": 3000,
            "reason": "2 nights, Shanghai Bund",
        }
    )

    id: CallerId
    member_id: MemberId
    points: Points
    reason: Text


class ExchangeIn(BaseModel):
    """Partner miles a member turns into points at the partner's rate, rounded down."""

    model_config = _model({"id": "mx-0001", "member_id": 42, "miles": 1005})

    id: CallerId
    member_id: MemberId
    miles: Points


class ReversalIn(BaseModel):
    """Take back an award or exchange (by its `id`) whose points the member has not spent."""

    model_config = _model(
        {"id": "undo-0001", "operation_id": "stay-20251103-0042", "reason": "Stay cancelled"}
    )

    id: CallerId
    operation_id: CallerId
    reason: Text


class OperationOut(BaseModel):
    """An award, exchange or reversal as recorded; `day` is the program-local day it counts on."""

    operation_id: str
    partner: str
    type: str
    member_id: int
    points: int
    miles: int | None
    reason: str | None
    reverses: str | None
    transaction_id: int
    day: date
    at: datetime


class LineOut(BaseModel):
    """Operations of one type in the month."""

    count: int
    points: int


class ExchangeLineOut(LineOut):
    """Exchanges in the month, with the miles they took."""

    miles: int


class SettlementOut(BaseModel):
    """A partner's month: `amount_fen` = net points × price per 1,000 points ÷ 1,000, half-up."""

    partner: str
    name: str
    month: str
    awards: LineOut
    exchanges: ExchangeLineOut
    reversals: LineOut
    net_points: int
    price_per_1000_points_fen: int
    amount_fen: int


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
