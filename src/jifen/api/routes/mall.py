"""The points mall (积分商城): products, orders, the warehouse webhook, coupons, donations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import (
    ValidationError,
)

from jifen.api.deps import (
    ClockDep,
    PageCursor,
    PageLimit,
    ProgramDep,
    ReadUowDep,
    UowDep,
    require,
)
from jifen.api.schemas.common import MemberPathId
from jifen.api.schemas.mall import (
    CouponOut,
    Coupons,
    DonationIn,
    GrantIn,
    OrderIn,
    OrderOut,
    Orders,
    ProductIn,
    ProductOut,
    Products,
    Receipt,
    RedeemIn,
    StepIn,
    StockAdjusted,
    StockAdjustmentOut,
    StockAdjustments,
    StockIn,
    WarehouseReport,
)
from jifen.domain.calendar import local_datetime
from jifen.programs.schema import Program
from jifen.services import listings, mall
from jifen.services.event_schema import PRINTABLE
from jifen.storage.key_repository import StoredKey
from jifen.storage.mall_repository import Coupon, MallOrder, Product, StockAdjustment

router = APIRouter(prefix="/v1", tags=["mall"])

ADMIN = Depends(require())
ANYONE = Depends(require("operator", "integrator", "analyst", "partner"))
SELLERS = Depends(require("operator", "integrator"))
OPERATORS = Depends(require("operator"))


def _local(moment: datetime | None, program: Program) -> datetime | None:
    return None if moment is None else local_datetime(moment, program.timezone)


def _product(p: Product, program: Program) -> ProductOut:
    return ProductOut(
        sku=p.sku,
        name=p.name,
        kind=p.kind,
        price_points=p.price_points,
        cash_fen=p.cash_fen,
        stock=p.stock,
        per_member_limit=p.per_member_limit,
        sale_starts_at=_local(p.sale_starts_at, program),
        sale_ends_at=_local(p.sale_ends_at, program),
        coupon_valid_days=p.coupon_valid_days,
        active=p.active,
    )


def _coupon(c: Coupon, program: Program, now: datetime) -> CouponOut:
    return CouponOut(
        code=c.code,
        type=c.type,
        member_id=c.member_id,
        source=c.source,
        issued_at=local_datetime(c.issued_at, program.timezone),
        valid_until=c.valid_until,
        status=mall.coupon_status(c, program=program, now=now),
        used_at=_local(c.used_at, program),
        used_by=c.used_by,
    )


def order_out(placed: mall.PlacedOrder, program: Program, now: datetime) -> OrderOut:
    """An order as the API shows it, with the coupons it issued."""
    o: MallOrder = placed.order
    return OrderOut(
        order_id=o.id,
        member_id=o.member_id,
        sku=o.sku,
        quantity=o.quantity,
        points=o.points,
        cash_fen=o.cash_fen,
        status=o.status,
        created_at=local_datetime(o.created_at, program.timezone),
        updated_at=local_datetime(o.updated_at, program.timezone),
        fulfilment=o.fulfilment,
        coupons=[_coupon(c, program, now) for c in placed.coupons],
    )


# -- products ---------------------------------------------------------------------------------
@router.post(
    "/mall/products",
    status_code=status.HTTP_201_CREATED,
    response_model=ProductOut,
    responses={200: {"model": ProductOut, "description": "The product with this sku, replaced."}},
)
def put_product(
    body: ProductIn,
    *,
    key: Annotated[StoredKey, ADMIN],
    uow: UowDep,
    clock: ClockDep,
    program: ProgramDep,
    response: Response,
) -> ProductOut:
    """Create a product (201) or replace the one with this sku (200), stock included; audited."""
    product, created = mall.set_product(
        uow, product=Product(**body.model_dump()), actor=key.prefix, now=clock.now()
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _product(product, program)


@router.get("/mall/products", response_model=Products, dependencies=[ANYONE])
def list_products(uow: UowDep, program: ProgramDep) -> Products:
    """Active products with what is left in stock and their sale windows."""
    return Products(items=[_product(p, program) for p in mall.products_on_offer(uow)])


SkuPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="The product's sku.")
]


def _stock_adjustment(a: StockAdjustment, program: Program) -> StockAdjustmentOut:
    return StockAdjustmentOut(
        id=a.id,
        sku=a.sku,
        change=a.change,
        stock_after=a.stock_after,
        reason=a.reason,
        actor=a.actor,
        at=local_datetime(a.at, program.timezone),
    )


@router.post(
    "/mall/products/{sku}/stock",
    response_model=StockAdjusted,
    responses={409: {"description": "stock_below_zero, idempotency_conflict"}},
)
def adjust_stock(
    sku: SkuPath,
    body: StockIn,
    *,
    key: Annotated[StoredKey, ADMIN],
    uow: UowDep,
    clock: ClockDep,
    program: ProgramDep,
) -> StockAdjusted:
    """Add units to the stock or take them off; the same `id` again changes nothing; audited."""
    adjusted = mall.adjust_stock(
        uow,
        adjustment_id=body.id,
        sku=sku,
        change=body.change,
        reason=body.reason,
        actor=key.prefix,
        now=clock.now(),
    )
    return StockAdjusted(
        product=_product(adjusted.product, program),
        adjustment=_stock_adjustment(adjusted.adjustment, program),
    )


@router.get(
    "/mall/products/{sku}/stock-adjustments",
    response_model=StockAdjustments,
    dependencies=[OPERATORS],
)
def list_stock_adjustments(
    sku: SkuPath,
    *,
    uow: ReadUowDep,
    program: ProgramDep,
    limit: PageLimit = 100,
    cursor: PageCursor = None,
) -> StockAdjustments:
    """The product's stock adjustments, newest first, a page at a time."""
    page = listings.stock_adjustments(uow, sku=sku, cursor=cursor, limit=limit)
    return StockAdjustments(
        items=[_stock_adjustment(a, program) for a in page.items], next_cursor=page.next_cursor
    )


# -- orders -----------------------------------------------------------------------------------
def warehouse() -> mall.WarehouseAdapter:
    """The warehouse orders are posted to (the in-process one unless overridden)."""
    return mall.InProcessWarehouse()


WarehouseDep = Annotated[mall.WarehouseAdapter, Depends(warehouse)]
OrderPath = Annotated[
    str, Path(min_length=1, max_length=200, pattern=PRINTABLE, description="The order's id.")
]


@router.post(
    "/mall/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderOut,
    dependencies=[SELLERS],
    responses={409: {"description": "out_of_stock, limit_reached, sale_not_open, ..."}},
)
def post_order(
    body: OrderIn, uow: UowDep, program: ProgramDep, clock: ClockDep, adapter: WarehouseDep
) -> OrderOut:
    """Buy with points; the same `id` and body again returns the first order."""
    now = clock.now()
    placed = mall.place_order(
        uow,
        program=program,
        warehouse=adapter,
        order_id=body.id,
        member_id=body.member_id,
        sku=body.sku,
        quantity=body.quantity,
        now=now,
    )
    return order_out(placed, program, now)


@router.get("/mall/orders/{order_id}", response_model=OrderOut, dependencies=[SELLERS])
def get_order(order_id: OrderPath, uow: UowDep, program: ProgramDep, clock: ClockDep) -> OrderOut:
    """An order, its fulfilment record and the coupons it issued."""
    return order_out(mall.get_order(uow, order_id=order_id), program, clock.now())


@router.post("/mall/orders/{order_id}/cancel", response_model=OrderOut, dependencies=[SELLERS])
def cancel_order(
    order_id: OrderPath, body: StepIn, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> OrderOut:
    """Cancel a paid order: stock back on sale, points back to their lots; ends `refunded`."""
    now = clock.now()
    mall.cancel_order(uow, program=program, order_id=order_id, cancel_id=body.id, now=now)
    return order_out(mall.get_order(uow, order_id=order_id), program, now)


async def raw_body(request: Request) -> bytes:
    """The body exactly as sent (the signature covers these bytes)."""
    return await request.body()


@router.post(
    "/mall/webhooks/warehouse",
    response_model=OrderOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": WarehouseReport.model_json_schema()}},
        }
    },
    responses={401: {"description": "bad_signature, signature_expired"}},
)
def warehouse_webhook(
    *,
    body: Annotated[bytes, Depends(raw_body)],
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
    x_jifen_timestamp: Annotated[str | None, Header()] = None,
    x_jifen_signature: Annotated[str | None, Header()] = None,
) -> OrderOut:
    """The warehouse reports `shipped` or `delivered`, signed with the shared secret.

    `X-Jifen-Signature` is the hex HMAC-SHA256 of `X-Jifen-Timestamp + "." + body`. Its
    5-minute window is checked against real time, even on a sandbox server (replays happen in
    real time); the report itself is recorded at the server's clock.
    """
    mall.verify_signature(
        secret=mall.warehouse_secret(),
        timestamp=x_jifen_timestamp,
        signature=x_jifen_signature,
        body=body,
        received_at=clock.real_now(),
    )
    now = clock.now()
    try:
        report = WarehouseReport.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    mall.record_warehouse_report(
        uow,
        program=program,
        order_id=report.order_id,
        status=report.status,
        tracking=report.tracking,
        now=now,
    )
    return order_out(mall.get_order(uow, order_id=report.order_id), program, now)


# -- coupons ----------------------------------------------------------------------------------
MemberPath = Annotated[MemberPathId, Path(description="The member's id.")]


@router.get("/members/{member_id}/coupons", response_model=Coupons, dependencies=[SELLERS])
def list_coupons(
    member_id: MemberPath,
    *,
    uow: ReadUowDep,
    program: ProgramDep,
    clock: ClockDep,
    limit: PageLimit = 100,
    cursor: PageCursor = None,
) -> Coupons:
    """The member's coupons and vouchers, newest first, a page at a time."""
    now = clock.now()
    page = listings.coupons(uow, member_id=member_id, cursor=cursor, limit=limit)
    return Coupons(
        items=[_coupon(c, program, now) for c in page.items], next_cursor=page.next_cursor
    )


@router.get("/members/{member_id}/orders", response_model=Orders, dependencies=[SELLERS])
def list_orders(
    member_id: MemberPath,
    *,
    uow: ReadUowDep,
    program: ProgramDep,
    clock: ClockDep,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> Orders:
    """The member's mall orders with the coupons each issued, newest first, a page at a time."""
    now = clock.now()
    page = listings.orders(uow, member_id=member_id, cursor=cursor, limit=limit)
    return Orders(
        items=[order_out(o, program, now) for o in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/members/{member_id}/coupons",
    status_code=status.HTTP_201_CREATED,
    response_model=CouponOut,
    dependencies=[OPERATORS],
)
def grant_coupon(
    member_id: MemberPath, body: GrantIn, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> CouponOut:
    """Give the member a coupon without points; the same `id` again returns the same coupon."""
    now = clock.now()
    coupon = mall.grant_coupon(
        uow,
        program=program,
        member_id=member_id,
        type=body.type,
        valid_days=body.valid_days,
        source=f"grant:{body.id}",
        now=now,
    )
    return _coupon(coupon, program, now)


@router.post("/coupons/{code}/redeem", response_model=CouponOut, dependencies=[SELLERS])
def redeem_coupon(
    code: Annotated[str, Path(pattern=r"^[A-Za-z0-9 -]{1,40}$", description="The coupon code.")],
    body: RedeemIn,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> CouponOut:
    """Use a coupon once; the same `id` again is a repeat, another one gets `coupon_used`."""
    now = clock.now()
    redeemed = mall.redeem_coupon(uow, program=program, code=code, redemption_id=body.id, now=now)
    return _coupon(redeemed.coupon, program, now)


# -- donations --------------------------------------------------------------------------------
@router.post(
    "/members/{member_id}/donations",
    status_code=status.HTTP_201_CREATED,
    response_model=Receipt,
    dependencies=[SELLERS],
)
def post_donation(
    member_id: MemberPath, body: DonationIn, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> Receipt:
    """Donate points to a charity of the program; the same `id` again returns the receipt."""
    donated = mall.donate(
        uow,
        program=program,
        donation_id=body.id,
        member_id=member_id,
        charity=body.charity,
        points=body.points,
        now=clock.now(),
    )
    d = donated.donation
    return Receipt(
        donation_id=d.id,
        receipt_no=d.receipt_no,
        member_id=d.member_id,
        charity=d.charity,
        points=d.points,
        at=local_datetime(d.at, program.timezone),
    )
