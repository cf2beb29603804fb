"""The member's redemptions: tickets and seat upgrades paid in points, mall orders, coupons.

A paid mall order not yet shipped, and paid in points only, can be cancelled here after a confirm
step that shows the points coming back; a redeemed ticket cannot (it is never refunded; only the
railway cancels its train).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.domain.calendar import local_datetime
from jifen.domain.errors import JifenError, NotFound
from jifen.domain.orders import OrderState
from jifen.programs.schema import Program
from jifen.services import mall, member_self
from jifen.services.views import portal as portal_view
from jifen.storage.uow import SqlUnitOfWork
from jifen.web.portal.context import friendly, now, page
from jifen.web.security import check_csrf
from jifen.web.session import PortalMemberDep

router = APIRouter(prefix="/portal")
OrderPath = Annotated[str, Path(min_length=1, max_length=200)]
CANCEL_ID = r"^[0-9a-f]{32}$"


def _listing(
    request: Request,
    uow: SqlUnitOfWork,
    *,
    program: Program,
    member_id: int,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    tz = program.timezone
    tickets = [
        {
            "record": r,
            "train": str(r.train.get("number", "")),
            "departure": local_datetime(r.departure_at, tz),
            "created": local_datetime(r.created_at, tz),
        }
        for r in portal_view.member_redemptions(uow, member_id=member_id)
    ]
    orders = [
        {
            "line": line,
            "created": local_datetime(line.order.created_at, tz),
            "cancellable": line.order.status == OrderState.PAID and not line.order.cash_fen,
        }
        for line in portal_view.member_orders(uow, member_id=member_id)
    ]
    coupons = [
        {"coupon": c, "status": mall.coupon_status(c, program=program, now=now(request))}
        for c in mall.member_coupons(uow, member_id=member_id)
    ]
    context = {"tickets": tickets, "orders": orders, "coupons": coupons, **(extra or {})}
    return page(request, member_id, "portal/redemptions.html", context, status_code=status_code)


@router.get("/redemptions")
def redemptions(
    request: Request, member_id: PortalMemberDep, uow: UowDep, program: ProgramDep
) -> Response:
    """Ticket redemptions, mall orders and coupons, newest first."""
    return _listing(request, uow, program=program, member_id=member_id)


@router.get("/orders/{order_id}/cancel")
def confirm_cancel(
    request: Request, *, member_id: PortalMemberDep, uow: UowDep, order_id: OrderPath
) -> Response:
    """Ask before cancelling a paid order, showing the points that come back (there is no fee)."""
    try:
        placed = member_self.own_order(uow, member_id=member_id, order_id=order_id)
    except NotFound:
        return RedirectResponse("/portal/redemptions", status_code=303)
    if placed.order.status != OrderState.PAID or placed.order.cash_fen:
        return RedirectResponse("/portal/redemptions", status_code=303)
    context = {
        "order": placed.order,
        "product_name": mall.get_product(uow, placed.order.sku).name,
        "cancel_id": secrets.token_hex(16),  # a resent form cancels once
    }
    return page(request, member_id, "portal/order_cancel.html", context)


@router.post("/orders/{order_id}/cancel", dependencies=[Depends(check_csrf)])
def cancel(
    request: Request,
    *,
    member_id: PortalMemberDep,
    uow: UowDep,
    program: ProgramDep,
    order_id: OrderPath,
    cancel_id: Annotated[str, Form(pattern=CANCEL_ID)],
) -> Response:
    """Cancel the member's paid order: points and stock go back; then the list again."""
    try:
        member_self.cancel_order(
            uow,
            program=program,
            member_id=member_id,
            order_id=order_id,
            cancel_id=cancel_id,
            now=now(request),
        )
    except NotFound:  # not this member's: nothing to cancel
        return RedirectResponse("/portal/redemptions", status_code=303)
    except JifenError as error:
        extra = {"messages": [{"kind": "error", "text": friendly(request, error)}]}
        return _listing(
            request, uow, program=program, member_id=member_id, extra=extra, status_code=400
        )
    return RedirectResponse("/portal/redemptions?cancelled=1", status_code=303)
