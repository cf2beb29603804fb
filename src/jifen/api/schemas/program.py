"""The body of the program route: the program being served."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ProgramOut(BaseModel):
    """The active program as this worker serves it (a new version within seconds, no restart)."""

    code: str
    version: int
    program: dict[str, Any]
