"""The operators' console (运营后台): dashboard, analytics, members, program, mall, audit, jobs."""

from __future__ import annotations

from fastapi import APIRouter

from jifen.web.console import (
    analytics,
    audit,
    dashboard,
    jobs,
    mall,
    member_actions,
    members,
    program,
    rules,
    sign_in,
)

router = APIRouter(include_in_schema=False)
for module in (
    sign_in,
    dashboard,
    analytics,
    members,
    member_actions,
    program,
    rules,
    mall,
    audit,
    jobs,
):
    router.include_router(module.router)
