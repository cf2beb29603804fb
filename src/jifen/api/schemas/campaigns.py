"""Bodies of the campaign routes: targets, effects, campaigns and their uplift report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from jifen.api.schemas.common import MemberId
from jifen.api.schemas.segments import SegmentName
from jifen.services.campaigns import CampaignDraft
from jifen.services.event_schema import PRINTABLE, Moment

CampaignId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]
Prefix = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,20}$")]
TierCode = Annotated[str, StringConstraints(min_length=1, max_length=24, pattern=PRINTABLE)]
Weekday = Annotated[StrictInt, Field(ge=1, le=7)]  # ISO: Monday is 1


class Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Hours(Body):
    """Departure hours `[from, to)` on the program's clock: `{"from": 10, "to": 16}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Annotated[StrictInt, Field(ge=0, le=23, alias="from")]
    end: Annotated[StrictInt, Field(ge=1, le=24, alias="to")]


class TargetIn(Body):
    """Who and which trips: every field left out does not restrict."""

    member_ids: Annotated[list[MemberId], Field(min_length=1, max_length=100_000)] | None = None
    tiers: Annotated[list[TierCode], Field(min_length=1, max_length=20)] | None = None
    segments: Annotated[list[SegmentName], Field(min_length=1, max_length=50)] | None = None
    trains: Annotated[list[Prefix], Field(min_length=1, max_length=100)] | None = None
    weekdays: Annotated[list[Weekday], Field(min_length=1)] | None = None
    hours: Hours | None = None


class EffectIn(Body):
    """The bonus: `percent` of the trip's base points of `kind` (half-up), or fixed `points`."""

    kind: TierCode = "ride"
    percent: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = None
    points: Annotated[StrictInt, Field(ge=1, le=10_000_000)] | None = None


class CampaignIn(Body):
    """A campaign; `id` is the caller's (the idempotency key)."""

    id: CampaignId
    name: Label
    starts_at: Moment
    ends_at: Moment
    budget_points: Annotated[StrictInt, Field(ge=1, le=10**12)]
    effect: EffectIn
    target: TargetIn = TargetIn()
    control_percent: Annotated[StrictInt, Field(ge=0, le=50)] = 10

    def draft(self) -> CampaignDraft:
        """The campaign as `services.campaigns` takes it."""
        return CampaignDraft(
            id=self.id,
            name=self.name,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            budget_points=self.budget_points,
            effect=self.effect.model_dump(),
            target=self.target.model_dump(by_alias=True),
            control_percent=self.control_percent,
        )


CampaignStatus = Literal["active", "paused", "stopped", "exhausted"]


class CampaignOut(BaseModel):
    """A campaign with its status (active, paused, stopped or exhausted) and budget spent so far."""

    campaign_id: str
    name: str
    status: CampaignStatus
    starts_at: datetime
    ends_at: datetime
    target: dict[str, object]
    effect: dict[str, object]
    control_percent: int
    budget_points: int
    spent_points: int
    remaining_points: int
    created_at: datetime
    stopped_at: datetime | None


class Campaigns(BaseModel):
    """Every campaign, latest window first."""

    items: list[CampaignOut]


class ArmOut(BaseModel):
    """One arm: members aimed at, and the targeted trips recorded for them."""

    members: int
    members_with_trips: int
    trips: int
    spend_fen: int
    bonus_points: int


class UpliftOut(BaseModel):
    """Per member: treated mean, control mean, the difference and its 95% interval."""

    treated_per_member: float
    control_per_member: float
    uplift: float
    ci95: tuple[float, float] | None
    relative: float | None


class ReportOut(BaseModel):
    """Cost against budget, and the effect on trips and spend against the control group."""

    campaign: CampaignOut
    cost_points: int
    cost_fen: int
    treated: ArmOut
    control: ArmOut
    trips: UpliftOut
    spend_fen: UpliftOut
    method: str
