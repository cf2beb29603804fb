"""Bodies of the points-mall routes: products, orders, the warehouse, coupons and donations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

from jifen.api.schemas.common import MemberId
from jifen.services.event_schema import PRINTABLE, Moment

CallerId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE)
]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=PRINTABLE)]
Count = Annotated[StrictInt, Field(ge=0, le=10**12)]


class Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ProductIn(Body):
    """A product (upsert by sku: every field is replaced, `stock` set to what is left to sell)."""

    sku: Sku
    name: Label
    price_points: Annotated[StrictInt, Field(ge=1, le=10**12)]
    stock: Annotated[StrictInt, Field(ge=0, le=10**9)]
    per_member_limit: Annotated[StrictInt, Field(ge=1, le=10**6)] | None = None
    sale_starts_at: Moment | None = None
    sale_ends_at: Moment | None = None
    cash_fen: Count = 0
    kind: Literal["goods", "coupon"] = "goods"
    coupon_valid_days: Annotated[StrictInt, Field(ge=1, le=3650)] | None = None
    active: StrictBool = True


class ProductOut(BaseModel):
    """A product with its stock left and sale window."""

    sku: str
    name: str
    kind: str
    price_points: int
    cash_fen: int
    stock: int
    per_member_limit: int | None
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    coupon_valid_days: int | None
    active: bool


class Products(BaseModel):
    """Active products, by sku."""

    items: list[ProductOut]


class StockIn(Body):
    """A relative stock change: `id` is the caller's (the idempotency key); negative takes off."""

    id: CallerId
    change: Annotated[StrictInt, Field(ge=-(10**9), le=10**9)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=PRINTABLE)]


class StockAdjustmentOut(BaseModel):
    """A stock adjustment: the units added (negative: taken off), the stock it left, who, when."""

    id: str
    sku: str
    change: int
    stock_after: int
    reason: str
    actor: str
    at: datetime


class StockAdjusted(BaseModel):
    """The product as it stands and the adjustment (the first one, when the id was used before)."""

    product: ProductOut
    adjustment: StockAdjustmentOut


class StockAdjustments(BaseModel):
    """A page of a product's stock adjustments, newest first; pass `next_cursor` for the next."""

    items: list[StockAdjustmentOut]
    next_cursor: str | None


class OrderIn(Body):
    """An order: `id` is the caller's (the idempotency key)."""

    id: CallerId
    member_id: MemberId
    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=100)]


class StepIn(Body):
    """A step on something that exists: `id` is the caller's."""

    id: CallerId


class CouponOut(BaseModel):
    """A coupon: `status` is active, used or expired; valid through `valid_until`."""

    code: str
    type: str
    member_id: int
    source: str
    issued_at: datetime
    valid_until: date
    status: str
    used_at: datetime | None
    used_by: str | None


class Coupons(BaseModel):
    """A page of a member's coupons, newest first; pass `next_cursor` back for the next page."""

    items: list[CouponOut]
    next_cursor: str | None = None


class OrderOut(BaseModel):
    """An order: paid → fulfilled, or cancelled → refunded; coupons it issued."""

    order_id: str
    member_id: int
    sku: str
    quantity: int
    points: int
    cash_fen: int
    status: str
    created_at: datetime
    updated_at: datetime
    fulfilment: dict[str, Any]
    coupons: list[CouponOut]


class WarehouseReport(Body):
    """What the warehouse reports about an order."""

    order_id: CallerId
    status: Literal["shipped", "delivered"]
    tracking: Annotated[str, StringConstraints(max_length=100, pattern=PRINTABLE)] | None = None


class GrantIn(Body):
    """A coupon given without points (a benefit); `id` is the caller's."""

    id: CallerId
    type: Code
    valid_days: Annotated[StrictInt, Field(ge=1, le=3650)]


class RedeemIn(Body):
    """A coupon's single use; `id` is the integrator's redemption id."""

    id: CallerId


class DonationIn(Body):
    """Points given to a charity of the program; `id` is the caller's."""

    id: CallerId
    charity: Code
    points: Annotated[StrictInt, Field(ge=1, le=10**9)]


class Receipt(BaseModel):
    """The receipt of a donation."""

    donation_id: str
    receipt_no: str
    member_id: int
    charity: str
    points: int
    at: datetime


class Orders(BaseModel):
    """A page of a member's orders, newest first; pass `next_cursor` back for the next page."""

    items: list[OrderOut]
    next_cursor: str | None
