"""Bodies of the program drafts routes: a proposal, a draft with its diff, a what-if preview."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from jifen.api.schemas.adjustments import CallerId
from jifen.api.schemas.common import SANE_DATE, examples
from jifen.services.event_schema import IsoDate

YamlText = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=200_000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
    ),
]


class DraftIn(BaseModel):
    """A whole program document in YAML, as `jifen init --program FILE` reads it."""

    model_config = examples({"id": "rules-2025-06", "yaml": "code: railway\nname: ..."})

    id: CallerId
    yaml: YamlText


class DraftOut(BaseModel):
    """A program draft: who proposed it on which version, where it stands, and its diff."""

    id: str
    status: str = Field(description="proposed, activated, rejected or withdrawn")
    based_on_version: int = Field(description="The active program version it was proposed on.")
    stale: bool = Field(description="Another version became active since: it cannot be activated.")
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    version: int | None = Field(description="The program version it became once activated.")
    previewed_at: datetime | None = Field(
        description="When its what-if last ran; a draft is activated only after one."
    )
    yaml: str
    diff: str | None = Field(
        None, description="Unified diff of the active program against the draft, both as YAML."
    )


class Drafts(BaseModel):
    """The most recently proposed drafts, newest first."""

    items: list[DraftOut]


class PreviewIn(BaseModel):
    """The past period to re-price, both days included (default: the 30 days up to yesterday)."""

    model_config = examples({"start": "2025-05-01", "end": "2025-05-31"})

    start: Annotated[IsoDate, Field(**SANE_DATE)] | None = None
    end: Annotated[IsoDate, Field(**SANE_DATE)] | None = None


class KindChange(BaseModel):
    """Points of one kind the period earned under the active rules and would under the draft."""

    kind: str
    live: int
    draft: int
    change: int


class PreviewOut(BaseModel):
    """What the draft would have credited over the period, against the active program."""

    start: date
    end: date
    priced: int = Field(description="Trips, activities and orders re-priced.")
    members_affected: int
    points: list[KindChange]
    live_cost_fen: int
    draft_cost_fen: int
    cost_change_fen: int
