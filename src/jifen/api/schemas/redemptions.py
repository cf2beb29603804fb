"""Bodies of the redemption routes: tickets and seat upgrades, their steps and states."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from jifen.api.schemas.common import MemberId
from jifen.services.event_schema import PRINTABLE, Id, Moment

# Redemption ids appear in paths, so they keep to characters a path carries as they are.
CALLER_ID = r"^[A-Za-z0-9][A-Za-z0-9._:~-]*$"
CallerId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=CALLER_ID)]
Fare = Annotated[StrictInt, Field(ge=1, le=10_000_000_00, description="Fare in fen (分).")]
BeneficiaryId = Annotated[StrictInt, Field(ge=1, le=2**62)]


class Strict(BaseModel):
    """Bodies refuse fields they do not know."""

    model_config = ConfigDict(extra="forbid")


class TrainIn(Strict):
    """The train: points pay only on a redeemable, participating, domestic train."""

    number: Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=PRINTABLE)]
    redeemable: StrictBool = True
    participating: StrictBool = True
    international: StrictBool = False
    tourist: StrictBool = False


class PassengerIn(Strict):
    """Who rides: the member (`member_id`, their own) or one of their `beneficiary_id`s."""

    member_id: MemberId | None = None
    beneficiary_id: BeneficiaryId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.member_id is None) == (self.beneficiary_id is None):
            msg = "give member_id or beneficiary_id, not both"
            raise ValueError(msg)
        return self


class TicketIn(Strict):
    """A whole ticket paid in points, for the member or an effective beneficiary."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "rdm-0001",
                    "member_id": 1,
                    "type": "ticket",
                    "passenger": {"member_id": 1},
                    "fare_fen": 55350,
                    "train": {"number": "G1", "redeemable": True},
                    "departure_at": "2026-03-01T08:00:00+08:00",
                }
            ]
        },
    )

    id: CallerId
    member_id: MemberId
    type: Literal["ticket"]
    passenger: PassengerIn
    fare_fen: Fare
    train: TrainIn
    departure_at: Moment


class SeatUpgradeIn(Strict):
    """An upgrade of the member's own ticket from `departure_at`, paid for the fare difference."""

    id: CallerId
    member_id: MemberId
    type: Literal["seat_upgrade"]
    ticket_id: Id
    fare_fen: Fare
    train: TrainIn
    departure_at: Moment


RedemptionIn = Annotated[TicketIn | SeatUpgradeIn, Field(discriminator="type")]


class StepIn(Strict):
    """The caller's id for the step; when left out, the step is keyed by the redemption."""

    id: CallerId | None = None


class ChangeIn(Strict):
    """改签: the new fare and departure."""

    id: CallerId
    fare_fen: Fare
    departure_at: Moment


class CancelIn(Strict):
    """The railway cancelled the train."""

    id: CallerId
    reason: Literal["force_majeure", "railway_fault"]


class Held(BaseModel):
    """A new redemption: its points are held (out of the member's balance) until commit."""

    redemption_id: str
    points: int
    status: str
    paid: dict[str, int] = Field(description="Points held per point kind.")


class Committed(BaseModel):
    """The ticket is issued; the held points are redeemed."""

    redemption_id: str
    points: int
    status: str


class Released(BaseModel):
    """The hold is undone: the points are back in the lots they came from."""

    redemption_id: str
    points_returned: int
    status: str


class Changed(BaseModel):
    """The ticket after its one change; `points_charged` is the difference plus the fee."""

    redemption_id: str
    status: str
    fare_fen: int
    departure_at: datetime
    changes: int
    points_charged: int
    points: int = Field(description="Everything the redemption has cost so far.")
    paid: dict[str, int]


class Cancelled(BaseModel):
    """Every point the redemption cost is back, as a new lot that lapses on `expires_on`."""

    redemption_id: str
    status: str
    reason: str
    points_returned: int
    expires_on: date | None


class PassengerOut(BaseModel):
    """Who rides."""

    member_id: int | None = None
    beneficiary_id: int | None = None


class RedemptionOut(BaseModel):
    """A redemption as it stands; `points` is everything it has cost so far."""

    redemption_id: str
    member_id: int
    type: str
    passenger: PassengerOut
    ticket_id: str | None
    fare_fen: int
    points: int
    status: str
    changes: int
    train: dict[str, Any]
    departure_at: datetime
    created_at: datetime


class Redemptions(BaseModel):
    """A page of a member's redemptions, newest first; pass `next_cursor` back for the next."""

    items: list[RedemptionOut]
    next_cursor: str | None
