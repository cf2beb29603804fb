"""A member's beneficiaries (受让人)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/members", tags=["beneficiaries"])
