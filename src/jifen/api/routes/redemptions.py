"""Ticket redemptions and seat upgrades (兑换, 升席)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/redemptions", tags=["redemptions"])
