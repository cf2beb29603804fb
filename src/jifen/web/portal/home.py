"""The portal's home page: balances, the tier card, entitlements left, points expiring soon."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jifen.api.deps import ProgramDep, UowDep
from jifen.domain.entitlements import EntitlementState
from jifen.services.entitlements import member_entitlements
from jifen.services.views import member as member_view
from jifen.services.views import portal as portal_view
from jifen.web.portal.context import now, page, words
from jifen.web.session import PortalMemberDep

router = APIRouter(prefix="/portal")
SOON_DAYS = 30


@router.get("")
def home(
    request: Request, *, member_id: PortalMemberDep, uow: UowDep, program: ProgramDep
) -> Response:
    """Balance, tier progress, entitlements with what is left, what lapses in the next 90 days."""
    summary = member_view.member_summary(
        uow, program=program, member_id=member_id, now=now(request)
    )
    outlook = portal_view.tier_outlook(uow, program=program, summary=summary)
    soon = summary.today + timedelta(days=SOON_DAYS)
    expiring: list[dict[str, Any]] = [
        {
            "last_day": day - timedelta(days=1),
            "kind": kind,
            "points": points,
            "soon": day <= soon + timedelta(days=1),
        }
        for day, kind, points in summary.expiring
    ]
    held = member_entitlements(uow, program=program, member_id=member_id, now=now(request))
    context = {
        "summary": summary,
        "benefits": [h.entitlement for h in held if h.state is EntitlementState.ACTIVE],
        "member": summary.member,
        "spendable": sum(summary.available.values()),
        "outlook": outlook,
        "expiring": expiring,
        "expiring_30": sum(e["points"] for e in expiring if e["soon"]),
        "expiring_90": sum(e["points"] for e in expiring),
        "soon_days": SOON_DAYS,
        "unlock_points": program.redemption.eligibility_threshold,
        "window_days": member_view.EXPIRING_DAYS,
        **words(request, program),
    }
    return page(request, member_id, "portal/home.html", context)
