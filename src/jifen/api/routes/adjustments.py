"""Corrections, approvals, freezing and closing members, and the audit log."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["corrections"])
