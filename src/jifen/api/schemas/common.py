"""Types every body shares: member ids, sane dates, and examples for the docs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from jifen.services.event_schema import MemberRef

MemberId = MemberRef  # in a body: a JSON integer, as sent (never `true` or "1")
MemberPathId = Annotated[int, Field(ge=1, le=2**62)]  # in a path: text, read as a number
SANE_DATE = {"ge": date(1900, 1, 1), "le": date(2200, 12, 31)}


def examples(*bodies: dict[str, Any]) -> ConfigDict:
    """A model config that forbids unknown fields and shows `bodies` as examples in the docs."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(bodies)})
