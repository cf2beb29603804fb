"""The segments operators put members in."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SegmentName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
]  # as earning rules name them in `segment_in`


class SegmentsIn(BaseModel):
    """The segments operators put the member in; they replace the last ones set ([] clears)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"segments": ["vip", "business"]}]}
    )

    segments: Annotated[list[SegmentName], Field(max_length=50)]


class SegmentsOut(BaseModel):
    """All the member's segments, those operators set (`assigned`) and the daily job's `rfm`."""

    member_id: int
    segments: list[str]
    assigned: list[str]
    rfm: str | None
