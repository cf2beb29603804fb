"""The operators' console (运营后台): one router module per page, gathered into one router."""

from __future__ import annotations

from fastapi import APIRouter

from jifen.web.console import (
    analytics,
    audit,
    campaigns,
    dashboard,
    jobs,
    mall,
    mall_actions,
    member_actions,
    members,
    partners,
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
for module in (campaigns, mall_actions, partners):
    router.include_router(module.router)
    router.include_router(module.writes)
