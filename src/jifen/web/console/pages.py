"""Console pages (the console helper replaces this placeholder dashboard)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jifen.web.session import ConsoleUserDep
from jifen.web.templating import render

router = APIRouter(prefix="/console")


@router.get("")
def dashboard(request: Request, user: ConsoleUserDep) -> Response:
    """The dashboard."""
    return render(request, "console/dashboard.html", {"user": user})
