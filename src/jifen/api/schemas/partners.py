"""Bodies of the partner routes: partners, awards, miles exchanges, reversals and settlement."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from jifen.api.schemas.common import MemberId, examples
from jifen.services.event_schema import PRINTABLE
from jifen.services.partners.terms import MAX_POINTS, PartnerStatus

CallerId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE)
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=PRINTABLE)]
Points = Annotated[StrictInt, Field(ge=1, le=MAX_POINTS)]


class Rate(BaseModel):
    """`points` points for every `miles` miles; fractions of a point are dropped."""

    model_config = ConfigDict(extra="forbid")

    miles: Points
    points: Points


class PartnerIn(BaseModel):
    """A partner's terms; limits count points credited by awards and exchanges."""

    model_config = examples(
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

    model_config = examples({"status": "suspended", "reason": "Contract ended"})

    status: PartnerStatus
    reason: Text


class AwardIn(BaseModel):
    """Points a partner gives a member; `id` is the partner's idempotency key."""

    model_config = examples(
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

    model_config = examples({"id": "mx-0001", "member_id": 42, "miles": 1005})

    id: CallerId
    member_id: MemberId
    miles: Points


class ReversalIn(BaseModel):
    """Take back an award or exchange (by its `id`) whose points the member has not spent."""

    model_config = examples(
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
