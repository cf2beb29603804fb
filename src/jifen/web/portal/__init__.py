"""The member portal (会员中心): balance, tier progress, expiring points, beneficiaries, mall."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jifen.web.session import PortalMemberDep
from jifen.web.templating import render

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.get("")
def home(request: Request, member_id: PortalMemberDep) -> Response:
    """The member's home page (the portal helper replaces this placeholder)."""
    return render(request, "portal/home.html", {"member_id": member_id})


@router.get("/login")
def login_page(request: Request) -> Response:
    """Sign-in (placeholder)."""
    return render(request, "portal/login.html")
