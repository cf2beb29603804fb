"""The member's redemptions: tickets and seat upgrades paid in points, mall orders, coupons."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.domain.calendar import local_datetime
from jifen.services import mall
from jifen.services.views import portal as portal_view
from jifen.web.portal.context import now, page
from jifen.web.session import PortalMemberDep

router = APIRouter(prefix="/portal")


@router.get("/redemptions")
def redemptions(
    request: Request, member_id: PortalMemberDep, uow: UowDep, program: ProgramDep
) -> Response:
    """Ticket redemptions, mall orders and coupons, newest first."""
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
        {"line": line, "created": local_datetime(line.order.created_at, tz)}
        for line in portal_view.member_orders(uow, member_id=member_id)
    ]
    coupons = [
        {"coupon": c, "status": mall.coupon_status(c, program=program, now=now(request))}
        for c in mall.member_coupons(uow, member_id=member_id)
    ]
    context = {"tickets": tickets, "orders": orders, "coupons": coupons}
    return page(request, member_id, "portal/redemptions.html", context)
