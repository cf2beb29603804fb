"""The segments operators put members in."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

SegmentName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
]  # as earning rules name them in `segment_in`
