"""The error body every failure answers with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Error(BaseModel):
    """`{"code", "message", "details"}`: `code` is stable; `message` says what to do next."""

    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    """Every failure has this body."""

    error: Error
