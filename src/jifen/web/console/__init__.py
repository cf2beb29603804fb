"""The operators' console (运营后台): sign-in, dashboard, members, program, mall, audit and jobs."""

from __future__ import annotations

from fastapi import APIRouter

from jifen.web.console import (
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
for module in (sign_in, dashboard, members, member_actions, program, rules, mall, audit, jobs):
    router.include_router(module.router)
