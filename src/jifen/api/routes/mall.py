"""The points mall (积分商城): products, orders, coupons, donations."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["mall"])
