"""The operators' console (运营后台): sign-in, dashboard, members, program, mall, audit and jobs."""

from __future__ import annotations

from fastapi import APIRouter

from jifen.web.console import pages, sign_in

router = APIRouter(include_in_schema=False)
router.include_router(sign_in.router)
router.include_router(pages.router)
