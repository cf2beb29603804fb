"""The points mall (积分商城) for members: products with price, stock and sale time; buying."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.api.routes.mall import WarehouseDep
from jifen.domain.calendar import local_datetime
from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services import mall
from jifen.services.views import member as member_view
from jifen.storage.uow import SqlUnitOfWork
from jifen.web.portal.context import friendly, now, page, words
from jifen.web.security import check_csrf
from jifen.web.session import PortalMemberDep

router = APIRouter(prefix="/portal/mall")
ORDER_PREFIX = "portal-"


def _shop(
    request: Request,
    uow: SqlUnitOfWork,
    *,
    program: Program,
    member_id: int,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    moment = now(request)
    summary = member_view.member_summary(uow, program=program, member_id=member_id, now=moment)
    kinds = program.redemption.mall_kinds
    products = [
        {
            "product": p,
            "on_sale": (p.sale_starts_at is None or moment >= p.sale_starts_at)
            and (p.sale_ends_at is None or moment < p.sale_ends_at),
            "starts": p.sale_starts_at and local_datetime(p.sale_starts_at, program.timezone),
            "ends": p.sale_ends_at and local_datetime(p.sale_ends_at, program.timezone),
        }
        for p in mall.products_on_offer(uow)
    ]
    context = {
        "products": products,
        "mall_points": sum(summary.available.get(k, 0) for k in kinds),
        "mall_kinds": kinds,
        # A fresh id per page: submitting the same form twice places one order.
        "order_id": ORDER_PREFIX + secrets.token_hex(16),
        **words(request, program),
        **(extra or {}),
    }
    return page(request, member_id, "portal/mall.html", context, status_code=status_code)


@router.get("")
def shop(
    request: Request, *, member_id: PortalMemberDep, uow: UowDep, program: ProgramDep
) -> Response:
    """Products on offer and the member's points that pay for them."""
    return _shop(request, uow, program=program, member_id=member_id)


@router.post("/orders", dependencies=[Depends(check_csrf)])
def buy(
    request: Request,
    *,
    member_id: PortalMemberDep,
    uow: UowDep,
    program: ProgramDep,
    warehouse: WarehouseDep,
    sku: Annotated[str, Form(max_length=64)],
    quantity: Annotated[str, Form(max_length=6)],
    order_id: Annotated[str, Form(min_length=8, max_length=100, pattern=r"^portal-[0-9a-f]+$")],
) -> Response:
    """Buy `quantity` of `sku` with points; a repeated form returns the first order."""
    try:
        digits = quantity.strip()
        units = int(digits) if digits.isascii() and digits.isdigit() else 0
        mall.place_order(
            uow,
            program=program,
            warehouse=warehouse,
            order_id=order_id,
            member_id=member_id,
            sku=sku,
            quantity=units,  # out of range: InvalidRequest, shown like any refusal
            now=now(request),
        )
    except JifenError as error:
        extra = {"messages": [{"kind": "error", "text": friendly(request, error)}]}
        return _shop(
            request, uow, program=program, member_id=member_id, extra=extra, status_code=400
        )
    return RedirectResponse(f"/portal/mall?bought={order_id}", status_code=303)
