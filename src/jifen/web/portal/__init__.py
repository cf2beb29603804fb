"""The member portal (会员中心): sign-in, balance and tier, history, beneficiaries, mall, orders."""

from __future__ import annotations

from fastapi import APIRouter

from jifen.web.portal import beneficiaries, history, home, mall, redeem, redemptions, sign_in

router = APIRouter(include_in_schema=False)
for part in (sign_in, home, history, beneficiaries, mall, redeem, redemptions):
    router.include_router(part.router)
